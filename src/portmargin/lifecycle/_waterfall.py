"""Default waterfall of bankrupt accounts: insurance fund, auto-deleveraging at the
bankruptcy price, socialised loss (``lifecycle.md`` §7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.lifecycle._fund import FundBook
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._params import LifecycleParams, LossMutualisation
from portmargin.lifecycle._slippage import Slippage
from portmargin.lifecycle._trades import (
    Columns,
    notional_usd,
    price_trades,
    trade_cash,
    value_at_mark,
)
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = [
    "AdlTrade",
    "BankruptcyEvent",
    "bankruptcy_prices",
    "resolve_bankruptcies",
    "socialised_haircut",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdlTrade:
    """One counterparty's position closed against a bankrupt account at its bankruptcy price.

    Attributes
    ----------
    counterparty
        Account giving up part of its position.
    instrument
        Instrument name.
    quantity
        Units taken off the counterparty's position, > 0.
    price
        Bankruptcy price, settlement currency per unit.
    give_up_usd
        What the counterparty loses against the mark, USD, >= 0.
    """

    counterparty: str
    instrument: str
    quantity: float
    price: float
    give_up_usd: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BankruptcyEvent:
    """How one bankrupt account's deficit was covered (USD).

    Attributes
    ----------
    account
        Bankrupt account.
    equity_usd
        ``E`` when the waterfall started (<= 0).
    estimated_deficit_usd
        ``X_est = max(-E_after_close, 0)``: closing what can be traded in the market.
    resolution
        ``"market"`` (closed in the market, deficit to the fund then socialised) or ``"adl"``
        (futures and perpetuals closed against counterparties at the bankruptcy price).
    deficit_usd
        Deficit left after closing (``X``), covered by the fund and then mutualised.
    fund_paid_usd
        Paid by the insurance fund.
    adl
        Auto-deleveraging trades.
    haircut
        Socialised haircut rate ``h = min(1, X' / sum profits)`` (0 if none).
    mutualised_loss_usd
        Moved to other accounts: ADL give-ups plus socialised charges.
    unrecovered_usd
        Deficit nobody covered (no fund left and no profits to haircut).
    """

    account: str
    equity_usd: float
    estimated_deficit_usd: float
    resolution: str
    deficit_usd: float
    fund_paid_usd: float
    adl: tuple[AdlTrade, ...]
    haircut: float
    mutualised_loss_usd: float
    unrecovered_usd: float


def socialised_haircut(deficit_usd: float, profits_usd: NDArray[np.float64]) -> float:
    """``h = min(1, X' / sum of positive profits)`` (0 without deficit or profits)."""
    total = float(np.sum(np.maximum(profits_usd, 0.0)))
    if not (deficit_usd > 0 and total > 0):
        return 0.0
    return min(1.0, deficit_usd / total)


class _State:
    """Every account's holdings as a sparse matrix changed event by event, with cached
    equities, the run's fixed inputs, and who may be a counterparty or bear a socialised
    charge (``eligible``: not bankrupt, not in error)."""

    def __init__(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        cols: Columns,
        params: LifecycleParams,
        excluded: frozenset[str],
    ) -> None:
        self.holdings = holdings
        self.q = sp.csr_array(holdings.book.quantities, copy=True)
        self.market = market
        self.cols = cols
        self.params = params
        self.index = {a: k for k, a in enumerate(holdings.accounts)}
        self.cached = np.zeros(len(holdings.accounts))
        self.stale = np.ones(len(holdings.accounts), dtype=bool)
        accounts = np.array(holdings.accounts, dtype=object)
        self.rank = np.argsort(np.argsort(accounts, kind="stable"), kind="stable")
        self.eligible = ~np.isin(accounts, np.array(sorted(excluded), dtype=object))

    def current(self) -> Holdings:
        """The holdings as they are now."""
        q = sp.csr_array(self.q)
        q.eliminate_zeros()
        q.sort_indices()
        book = self.holdings.book
        return Holdings(
            book=Book(accounts=book.accounts, instruments=book.instruments, quantities=q),
            reference=self.holdings.reference,
        )

    def add(
        self, rows: NDArray[np.intp], columns: NDArray[np.intp], amounts: NDArray[np.float64]
    ) -> None:
        """Add ``amounts`` at ``(rows, columns)`` (repeats summed)."""
        change = sp.coo_array((amounts, (rows, columns)), shape=self.q.shape).tocsr()
        self.q = sp.csr_array(self.q + change)
        self.stale[rows] = True

    def row(self, r: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Columns and quantities of the stored entries of row ``r``."""
        span = slice(int(self.q.indptr[r]), int(self.q.indptr[r + 1]))
        return self.q.indices[span].astype(np.intp), np.asarray(self.q.data[span], dtype=np.float64)

    def equity(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Haircut-adjusted equity of ``rows`` now, USD, shape ``(len(rows),)`` (rows changed
        since they were last valued are valued again)."""
        stale = rows[self.stale[rows]]
        if stale.size:
            stale = np.unique(stale)
            book = self.holdings.book
            sub = Book(
                accounts=tuple(book.accounts[r] for r in stale.tolist()),
                instruments=book.instruments,
                quantities=sp.csr_array(self.q[stale]),
            )
            values = account_values(
                Holdings(book=sub, reference=self.holdings.reference),
                self.market,
                self.params.collateral,
            )
            self.cached[stale] = values.equity
            self.stale[stale] = False
        result: NDArray[np.float64] = self.cached[rows]
        return result

    def credit(self, r: int, amount_usd: float) -> None:
        """Credit ``amount_usd`` to the account's lowest balance by USD value (the first
        settlement currency of its positions if it holds no balance)."""
        if not amount_usd > 0:
            return
        columns, data = self.row(r)
        balance = columns[self.cols.settle_column[columns] < 0]
        if balance.size:
            value = data[self.cols.settle_column[columns] < 0] * self.cols.usd_rate[balance]
            c = int(balance[int(np.argmin(value))])
        else:
            c = int(self.cols.settle_column[columns[0]])
        self.add(np.array([r]), np.array([c]), np.array([amount_usd / self.cols.usd_rate[c]]))


def resolve_bankruptcies(
    holdings: Holdings,
    market: MarketSnapshot,
    cols: Columns,
    params: LifecycleParams,
    *,
    fund: FundBook,
    slippage: Slippage,
    bankrupt: Sequence[str],
    isolated: frozenset[str],
    excluded: frozenset[str],
) -> tuple[Holdings, list[BankruptcyEvent]]:
    """Resolve every bankrupt account (sorted ids), one after the other (§7).

    1. ``X_est``: the deficit left by closing every tradable position in the market.
    2. Fund ``>= X_est`` (or ``socialised`` mode, or an isolated position): close in the
       market; the fund pays the deficit ``X`` up to its balance; the rest ``X'`` is charged
       to every account with positive P&L as ``h = min(1, X' / sum profits)`` of it.
    3. Otherwise (``adl``): options close in the market, futures and perpetuals against the
       opposite positions of profitable counterparties at the bankruptcy price (ranked by
       ``(uPnL / |entry notional|) (notional / E)``, ties by account id); a remainder without
       counterparties closes in the market and any deficit left goes to step 2's fund and
       socialisation.

    Counterparties and socialised charges skip bankrupt accounts and ``excluded`` ones.
    Instruments without a usable mark stay open. Profits (ADL ``uPnL``, socialised P&L) are
    the unrealised P&L of futures and perpetuals since the holdings' reference prices (the
    last settlement), and the entry notional is taken at the reference price.
    """
    state = _State(holdings, market, cols, params, excluded | frozenset(bankrupt))
    events = []
    for account in sorted(bankrupt):
        events.append(_resolve(state, account, fund, slippage, isolated))
    return state.current(), events


def _resolve(
    state: _State, account: str, fund: FundBook, slippage: Slippage, isolated: frozenset[str]
) -> BankruptcyEvent:
    cols, params = state.cols, state.params.liquidation
    r = state.index[account]
    own = np.array([r], dtype=np.intp)
    e0 = float(state.equity(own)[0])
    columns, q = state.row(r)
    tradable = cols.tradable[columns]
    columns, q = columns[tradable], q[tradable]
    close_cash = _market_close(state, columns, q, slippage)
    x_est = max(-_equity_after(state, r, columns, -q, close_cash), 0.0)
    use_adl = (
        params.loss_mutualisation is LossMutualisation.ADL
        and account not in isolated
        and fund.balance_usd < x_est
        and bool(np.any(cols.delta_one[columns]))
    )
    adl: list[AdlTrade] = []
    if use_adl:
        option = cols.option[columns]
        _execute(state, r, columns[option], -q[option], close_cash[option])
        equity = float(state.equity(own)[0])
        adl = _deleverage(state, r, equity, columns[~option], q[~option], slippage)
    else:
        _execute(state, r, columns, -q, close_cash)
    deficit = max(-float(state.equity(own)[0]), 0.0)
    paid = fund.deficit(account, deficit)
    state.credit(r, paid)
    rest = deficit - paid
    h, charged = _socialise(state, rest)
    state.credit(r, charged)
    give_up = float(sum(t.give_up_usd for t in adl))
    return BankruptcyEvent(
        account=account,
        equity_usd=e0,
        estimated_deficit_usd=x_est,
        resolution="adl" if use_adl else "market",
        deficit_usd=deficit,
        fund_paid_usd=paid,
        adl=tuple(adl),
        haircut=h,
        mutualised_loss_usd=give_up + charged,
        unrecovered_usd=max(rest - charged, 0.0),
    )


def _market_close(
    state: _State, columns: NDArray[np.intp], q: NDArray[np.float64], slippage: Slippage
) -> NDArray[np.float64]:
    """Settlement-currency cash of closing ``q`` of ``columns`` in the market."""
    cols = state.cols
    delta = -q
    s = slippage.rates(
        [cols.names[c] for c in columns.tolist()],
        [cols.underlyings[c] for c in columns.tolist()],
        notional_usd(cols, columns, delta),
    )
    return price_trades(cols, columns, delta, s, state.params.liquidation).cash


def _equity_after(
    state: _State,
    r: int,
    columns: NDArray[np.intp],
    delta: NDArray[np.float64],
    cash: NDArray[np.float64],
) -> float:
    """Equity of row ``r`` (USD) if ``delta`` of ``columns`` were traded for ``cash``."""
    cols = state.cols
    own, data = state.row(r)
    rows = np.zeros(len(own) + 2 * len(columns), dtype=np.intp)
    book = Book.from_arrays(
        (state.holdings.accounts[r],),
        state.holdings.book.instruments,
        rows,
        np.concatenate([own, columns, cols.settle_column[columns]]),
        np.concatenate([data, delta, cash]),
    )
    values = account_values(
        Holdings(book=book, reference=state.holdings.reference),
        state.market,
        state.params.collateral,
    )
    return float(values.equity[0])


def _execute(
    state: _State,
    r: int,
    columns: NDArray[np.intp],
    delta: NDArray[np.float64],
    cash: NDArray[np.float64],
) -> None:
    """Trade ``delta`` of ``columns`` in row ``r`` for ``cash`` (settlement currency)."""
    if columns.size:
        rows = np.full(2 * len(columns), r, dtype=np.intp)
        state.add(
            rows,
            np.concatenate([columns, state.cols.settle_column[columns]]),
            np.concatenate([delta, cash]),
        )


def bankruptcy_prices(
    cols: Columns, columns: NDArray[np.intp], q: NDArray[np.float64], equity_usd: float
) -> NDArray[np.float64]:
    """Prices at which closing ``q`` of ``columns`` (futures, perpetuals) brings the equity
    ``equity_usd`` to exactly 0, the deficit shared by USD notional (other prices fixed).

    Linear ``P_b = mark - E w / (q rate)`` (one position: ``mark - E / q``); inverse
    ``P_b = mark / (1 + E w mark / (q reference rate))`` (NaN where no finite price
    does it).
    """
    notional = notional_usd(cols, columns, q)
    weight = notional / notional.sum()
    mark, ref, rate = cols.mark[columns], cols.reference[columns], cols.usd_rate[columns]
    share = equity_usd * weight
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = mark - share / (q * rate)
        denom = 1.0 + share * mark / (q * ref * rate)
        inverse = np.where(denom > 0, mark / denom, np.nan)
    result: NDArray[np.float64] = np.where(cols.inverse[columns], inverse, linear)
    return result


def _deleverage(
    state: _State,
    r: int,
    equity_usd: float,
    columns: NDArray[np.intp],
    q: NDArray[np.float64],
    slippage: Slippage,
) -> list[AdlTrade]:
    """Close ``q`` of ``columns`` (futures, perpetuals) of row ``r`` against counterparties at
    the bankruptcy prices; what finds no counterparty closes in the market."""
    cols = state.cols
    prices = bankruptcy_prices(cols, columns, q, equity_usd)
    accounts = state.holdings.accounts
    rank = state.rank
    eligible = state.eligible.copy()
    eligible[r] = False
    by_column = sp.csc_array(state.q)
    trades: list[AdlTrade] = []
    for c, qb, pb in zip(columns.tolist(), q.tolist(), prices.tolist(), strict=True):
        span = slice(int(by_column.indptr[c]), int(by_column.indptr[c + 1]))
        rows = by_column.indices[span].astype(np.intp)
        qj = np.asarray(by_column.data[span], dtype=np.float64)
        col = np.full(len(rows), c, dtype=np.intp)
        rate = cols.usd_rate[c]
        upnl = value_at_mark(cols, col, qj) * rate
        ok = eligible[rows] & (np.sign(qj) == -np.sign(qb)) & (upnl > 0) & np.isfinite(pb)
        rows, qj, upnl, col = rows[ok], qj[ok], upnl[ok], col[ok]
        ej = state.equity(rows)
        ok = ej > 0
        rows, qj, upnl, ej, col = rows[ok], qj[ok], upnl[ok], ej[ok], col[ok]
        entry = np.where(
            cols.inverse[c], np.abs(qj) * cols.reference[c], np.abs(qj) * cols.reference[c] * rate
        )
        score = (upnl / entry) * (notional_usd(cols, col, qj) / ej)
        order = np.lexsort((rank[rows], -score))
        rows, qj, col = rows[order], qj[order], col[order]
        before = np.concatenate([[0.0], np.cumsum(np.abs(qj))[:-1]])
        take = np.clip(abs(qb) - before, 0.0, np.abs(qj))
        live = take > 0
        rows, qj, col, take = rows[live], qj[live], col[live], take[live]
        price = np.full(len(rows), pb)
        dq = -np.sign(qj) * take
        dq = np.where(take >= np.abs(qj), -qj, dq)
        cash = trade_cash(cols, col, dq, price)
        give_up = -(value_at_mark(cols, col, dq) + cash) * rate
        taken = float(take.sum())
        own = -qb if taken >= abs(qb) else -float(np.sign(qb)) * taken
        if taken > 0:
            own_cash = trade_cash(cols, np.array([c]), np.array([own]), np.array([pb]))
            state.add(
                np.concatenate([rows, rows, [r, r]]).astype(np.intp),
                np.concatenate([col, cols.settle_column[col], [c, cols.settle_column[c]]]).astype(
                    np.intp
                ),
                np.concatenate([dq, cash, [own], own_cash]),
            )
        trades.extend(
            AdlTrade(
                counterparty=accounts[j],
                instrument=cols.names[c],
                quantity=float(t),
                price=float(pb),
                give_up_usd=float(g),
            )
            for j, t, g in zip(rows.tolist(), take.tolist(), give_up.tolist(), strict=True)
        )
        rest = np.array([qb + own])  # without counterparties: closed in the market
        if rest[0] != 0:
            cash_rest = _market_close(state, np.array([c]), rest, slippage)
            _execute(state, r, np.array([c]), -rest, cash_rest)
    return trades


def _socialise(state: _State, amount_usd: float) -> tuple[float, float]:
    """Charge ``amount_usd`` to the accounts with positive P&L (unrealised futures and
    perpetual P&L since the reference prices) as ``h`` of it; return ``h`` and the total
    charged, USD."""
    if not amount_usd > 0:
        return 0.0, 0.0
    cols = state.cols
    coo = state.q.tocoo()
    rows, col = coo.row.astype(np.intp), coo.col.astype(np.intp)
    d1 = cols.delta_one[col] & cols.tradable[col]
    rows, col, qty = rows[d1], col[d1], coo.data[d1]
    pnl = value_at_mark(cols, col, qty) * cols.usd_rate[col]
    n = len(state.holdings.accounts)
    eligible = state.eligible
    profit = np.where(eligible, np.maximum(np.bincount(rows, weights=pnl, minlength=n), 0.0), 0.0)
    h = socialised_haircut(amount_usd, profit)
    if h == 0.0:
        return 0.0, 0.0
    charge = h * profit
    positive = np.where(profit[rows] > 0, np.maximum(pnl, 0.0), 0.0)
    total = np.bincount(rows, weights=positive, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(positive > 0, charge[rows] * positive / total[rows], 0.0)
    hit = part > 0
    settle = cols.settle_column[col[hit]]
    state.add(rows[hit], settle, -part[hit] / cols.usd_rate[col[hit]])
    return h, float(charge.sum())
