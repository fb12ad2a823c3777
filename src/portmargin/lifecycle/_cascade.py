"""Cascade simulator: margin-call feedback loops of many accounts (``lifecycle.md`` §9).

A shock moves the underlyings; every round re-margins all surviving accounts at the round's
prices in one batch, liquidates those below maintenance, executes their net flow at the
average price of the impact model, nets penalties and deficits into the insurance fund and
moves the price by the impact. Multi-underlying: each underlying has its own price, net flow
and impact model (no cross-impact); an account holding several underlyings is liquidated as a
whole and its flow feeds each underlying's impact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency, Future, Perpetual, Settlement
from portmargin.lifecycle._cascade_results import (
    FATES,
    AccountFate,
    CascadeOutcomes,
    CascadeParams,
    CascadeResult,
    CascadeRound,
    frozen_prices,
)
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._impact import CascadeMarket
from portmargin.lifecycle._liquidator import (
    FullClose,
    Liquidator,
    closing_trades,
    delta_one_columns,
)
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._states import open_positions
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, Book, moved_market, resolve_instruments

__all__ = ["run_cascade"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Columns:
    """Per-column facts of the cascade's book."""

    delta_one: NDArray[np.bool_]
    inverse: NDArray[np.bool_]
    underlyings: tuple[str, ...]  # shocked or held by a future or perpetual, sorted
    underlying: NDArray[np.intp]  # index into ``underlyings``, -1 for currency columns
    held: NDArray[np.bool_]  # futures and perpetuals someone holds
    settle: NDArray[np.intp]  # column of the settlement currency, -1 elsewhere
    settle_code: tuple[str, ...]  # settlement currency per column ("" elsewhere)


def _prepared(
    holdings: Holdings, shocked: Iterable[str]
) -> tuple[Holdings, _Columns, dict[str, str]]:
    """Rows sorted by account id, a currency column for every settlement currency, facts
    per column, and the accounts holding instruments the cascade does not trade."""
    book = holdings.book
    names = np.array(book.accounts, dtype=object)
    order = np.argsort(names, kind="stable")
    instruments = list(book.instruments)
    derivatives = [i if isinstance(i, Future | Perpetual) else None for i in instruments]
    settle_code = tuple("" if i is None else i.settlement_currency for i in derivatives)
    have = {i.name for i in instruments}
    extra = sorted({c for c in settle_code if c} - have)
    instruments += [Currency(code=c) for c in extra]
    q = book.quantities[order]
    q = sp.csr_array((q.data, q.indices, q.indptr), shape=(len(book.accounts), len(instruments)))
    sorted_book = Book(
        accounts=tuple(book.accounts[i] for i in order.tolist()),
        instruments=tuple(instruments),
        quantities=q,
    )
    reference = np.concatenate([holdings.reference, np.full(len(extra), np.nan)])
    prepared = Holdings(book=sorted_book, reference=reference)
    d1 = delta_one_columns(sorted_book)
    currency = np.array([isinstance(i, Currency) for i in instruments], dtype=bool)
    column = {i.name: k for k, i in enumerate(instruments)}
    settle = np.array([column.get(c, -1) if c else -1 for c in settle_code], dtype=np.intp)
    settle = np.concatenate([settle, np.full(len(extra), -1, dtype=np.intp)])
    inverse = np.array(
        [
            isinstance(i, Future | Perpetual) and i.settlement is Settlement.INVERSE
            for i in instruments
        ],
        dtype=bool,
    )
    bases = [*("" if i is None else i.underlying for i in derivatives), *("" for _ in extra)]
    held = d1 & (np.diff(q.tocsc().indptr) > 0)
    underlyings = tuple(sorted(set(shocked) | {bases[c] for c in np.flatnonzero(held).tolist()}))
    position = {u: k for k, u in enumerate(underlyings)}
    cols = _Columns(
        delta_one=d1,
        inverse=inverse,
        underlyings=underlyings,
        underlying=np.array([position.get(u, -1) for u in bases], dtype=np.intp),
        held=held,
        settle=settle,
        settle_code=(*settle_code, *("" for _ in extra)),
    )
    errors: dict[str, str] = {}
    other = np.flatnonzero(~d1 & ~currency)
    if other.size:
        qa = sorted_book.quantities
        for row in np.flatnonzero(sorted_book.holders(other)).tolist():
            row_cols = qa.indices[qa.indptr[row] : qa.indptr[row + 1]]
            first = int(row_cols[np.isin(row_cols, other)][0])
            errors[sorted_book.accounts[row]] = (
                f"holds {instruments[first].name}: a cascade trades futures and perpetuals "
                "(with currency balances) only"
            )
    return prepared, cols, errors


def _subset(holdings: Holdings, mask: NDArray[np.bool_]) -> Holdings:
    if bool(np.all(mask)):
        return holdings
    return Holdings(book=holdings.book.select_accounts(mask), reference=holdings.reference)


def _usd_rates(cols: _Columns, market: MarketSnapshot) -> NDArray[np.float64]:
    """USD per unit of each column's settlement currency (1 for stablecoins), 0 elsewhere."""
    rates = {c: 1.0 if c in STABLECOINS else market.index(c) for c in set(cols.settle_code) if c}
    return np.array([rates.get(c, 0.0) for c in cols.settle_code], dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Execution:
    flow: NDArray[np.float64]  # per underlying
    impact: NDArray[np.float64]
    multiplier: NDArray[np.float64]  # average execution price / S_r per underlying
    book: Book  # the liquidated accounts after the trades and penalties
    equity_end: NDArray[np.float64]
    penalty: NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Round:
    """Everything one round's execution needs, fixed before the flow is known."""

    book: Book
    trades: sp.csr_array
    row_flow: NDArray[np.float64]  # (n_liquidated, n_underlyings), USD sold
    unit_usd: NDArray[np.float64]  # USD notional per coin traded, per column
    mark: NDArray[np.float64]
    usd_rate: NDArray[np.float64]


class _Engine:
    """State of one cascade run."""

    def __init__(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        params: CascadeParams,
        impact: CascadeMarket,
        liquidator: Liquidator,
    ) -> None:
        self.holdings, self.cols, errors = _prepared(holdings, params.shock)
        book = self.holdings.book
        self.underlyings = self.cols.underlyings
        traded = set(self.cols.underlying[self.cols.held].tolist())
        self.models = [
            impact.model(u) if k in traded else None for k, u in enumerate(self.underlyings)
        ]
        self.s0 = np.array([market.index(u) for u in self.underlyings], dtype=np.float64)
        self.factor = np.array([1.0 + params.shock.get(u, 0.0) for u in self.underlyings])
        self.shocked = self.factor.copy()
        self.market, self.margining, self.params = market, margining, params
        self.resilience, self.liquidator = impact.resilience, liquidator
        n = len(book.accounts)
        self.errors = errors
        self.alive = np.array([a not in errors for a in book.accounts], dtype=bool)
        self.fate = np.where(self.alive, 0, FATES.index(AccountFate.ERROR)).astype(np.int8)
        self.first_round = np.zeros(n, dtype=np.int64)
        self.equity_liq = np.full(n, np.nan)
        self.equity_end = np.full(n, np.nan)
        self.deficit = np.zeros(n)
        self.penalty = np.zeros(n)
        self.offbook = np.zeros(n, dtype=bool)
        self.fund = self.fund_min = params.fund_usd

    def moved(self) -> MarketSnapshot:
        moves = {u: float(f - 1.0) for u, f in zip(self.underlyings, self.factor, strict=True)}
        return moved_market(self.market, moves)

    def assess(
        self, market: MarketSnapshot, number: int
    ) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
        """Rows (of the full book) below maintenance, with their ``E`` and ``MM``."""
        rows = np.flatnonzero(self.alive)
        if rows.size == 0:
            return rows, np.zeros(0), np.zeros(0)
        sub = _subset(self.holdings, self.alive)
        values = account_values(sub, market, self.params.collateral)
        req = self.margining.requirements(sub.book, market)
        errors = {**values.errors, **req.errors}
        bad = np.array([a in errors for a in sub.accounts], dtype=bool)
        if np.any(bad):
            for a in np.array(sub.accounts, dtype=object)[bad].tolist():
                self.errors[a] = f"round {number}: {errors[a]}"
            self.alive[rows[bad]] = False
            self.fate[rows[bad]] = FATES.index(AccountFate.ERROR)
        e, mm = values.equity, req.maintenance_margin
        with np.errstate(invalid="ignore"):
            liq = ~bad & open_positions(sub.book) & (e < mm)
        return rows[liq], e[liq], mm[liq]

    def trades(
        self, book: Book, market: MarketSnapshot, e: NDArray[np.float64], mm: NDArray[np.float64]
    ) -> sp.csr_array:
        """Full close for ``E <= 0`` (and in full mode), the liquidator's trades otherwise."""
        full = closing_trades(book)
        pos = e > 0
        if isinstance(self.liquidator, FullClose) or not np.any(pos):
            return full
        sub = Holdings(book=book.select_accounts(pos), reference=self.holdings.reference)
        chosen = sp.csr_array(
            self.liquidator.trades(sub, market, self.margining, e[pos], mm[pos]), copy=True
        )
        chosen.eliminate_zeros()
        _check_reduce_only(chosen, sub.book, self.cols.delta_one)
        keep = sp.diags_array((~pos).astype(np.float64))
        place = sp.csr_array(
            (np.ones(int(pos.sum())), (np.flatnonzero(pos), np.arange(int(pos.sum())))),
            shape=(len(pos), int(pos.sum())),
        )
        return sp.csr_array(keep @ full + place @ chosen)

    def prepare(self, book: Book, trades: sp.csr_array, market: MarketSnapshot) -> _Round:
        """Marks, USD notional per coin (linear: mark × USD rate of the quote; inverse: the
        USD face, the reference price) and the USD each account sells per underlying."""
        table = resolve_instruments(book.instruments, market)
        cols = self.cols
        rate = _usd_rates(cols, market)
        mark = np.where(cols.delta_one, table.forward, np.nan)
        unit = np.where(
            cols.delta_one, np.where(cols.inverse, self.holdings.reference, mark * rate), 0.0
        )
        unit = np.nan_to_num(unit, nan=0.0)
        d1 = np.flatnonzero(cols.delta_one & (cols.underlying >= 0))
        by_underlying = sp.csr_array(
            (unit[d1], (d1, cols.underlying[d1])), shape=(len(unit), len(self.underlyings))
        )
        row_flow = np.asarray((-trades) @ by_underlying.toarray(), dtype=np.float64)
        return _Round(
            book=book, trades=trades, row_flow=row_flow, unit_usd=unit, mark=mark, usd_rate=rate
        )

    def execute(
        self, rnd: _Round, include: NDArray[np.bool_], market: MarketSnapshot
    ) -> _Execution:
        """Trades of the ``include`` rows at the average price of their net flow; the other
        rows' trades are left out (their results are not used)."""
        flow = rnd.row_flow[include].sum(axis=0)
        impact = np.array(
            [
                0.0 if m is None or q == 0 else m.impact(float(q))
                for m, q in zip(self.models, flow.tolist(), strict=True)
            ]
        )
        if np.any(impact >= 1.0):
            k = int(np.flatnonzero(impact >= 1.0)[0])
            raise ValidationError(
                f"impact of the net flow {float(flow[k]):,.0f} USD in {self.underlyings[k]}",
                float(impact[k]),
                "a relative move < 1 (the price would reach 0): the market model is too "
                "shallow for this population",
            )
        share = np.array([0.0 if m is None else m.execution_share for m in self.models])
        multiplier = 1.0 - share * impact
        cols = self.cols
        t = sp.csr_array(sp.diags_array(include.astype(np.float64)) @ rnd.trades).tocoo()
        r, c, x = t.row, t.col, t.data
        exec_price = rnd.mark[c] * multiplier[cols.underlying[c]]
        ref = self.holdings.reference[c]
        cash = np.where(cols.inverse[c], -x * (1.0 - ref / exec_price), -x * (exec_price - ref))
        base_entry = np.abs(x) * rnd.unit_usd[c]
        n = rnd.trades.shape[0]
        base = np.bincount(r, weights=base_entry, minlength=n)
        q = rnd.book.quantities.tocoo()
        after = _book_from(rnd.book, (q.row, r, r), (q.col, c, cols.settle[c]), (q.data, x, cash))
        values = account_values(
            Holdings(book=after, reference=self.holdings.reference),
            market,
            self.params.collateral,
        )
        penalty = np.minimum(self.params.penalty * base, np.maximum(values.equity, 0.0))
        if not np.any(penalty > 0):
            return _Execution(
                flow=flow,
                impact=impact,
                multiplier=multiplier,
                book=after,
                equity_end=values.equity,
                penalty=penalty,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            share_entry = np.where(base[r] > 0, base_entry / base[r], 0.0)
        charge = -penalty[r] * share_entry / rnd.usd_rate[c]
        a = after.quantities.tocoo()
        charged = _book_from(after, (a.row, r), (a.col, cols.settle[c]), (a.data, charge))
        end = account_values(
            Holdings(book=charged, reference=self.holdings.reference),
            market,
            self.params.collateral,
        )
        return _Execution(
            flow=flow,
            impact=impact,
            multiplier=multiplier,
            book=charged,
            equity_end=end.equity,
            penalty=penalty,
        )

    def liquidate(
        self,
        number: int,
        market: MarketSnapshot,
        rows: NDArray[np.intp],
        e: NDArray[np.float64],
        mm: NDArray[np.float64],
    ) -> CascadeRound:
        """Liquidate ``rows`` (with ``E`` and ``MM`` at ``market``), settle the fund, update
        the accounts and move the prices; the round's record."""
        mask = np.zeros(len(self.alive), dtype=bool)
        mask[rows] = True
        book = self.holdings.book.select_accounts(mask)
        rnd = self.prepare(book, self.trades(book, market, e, mm), market)
        everyone = np.ones(len(rows), dtype=bool)
        done = self.execute(rnd, everyone, market)
        closed = ~open_positions(done.book)
        offbook = np.zeros(len(rows), dtype=bool)
        if self.params.adl_offbook:
            short = closed & (done.equity_end < 0)
            deficit = np.where(short, -done.equity_end, 0.0)
            covered = np.cumsum(deficit) <= self.fund
            offbook = short & ~covered
            if np.any(offbook):
                done = self.execute(rnd, ~offbook, market)
                closed = ~open_positions(done.book) | offbook
        market_close = closed & ~offbook
        penalty = np.where(offbook, 0.0, done.penalty)
        deficit = np.where(market_close, np.maximum(-done.equity_end, 0.0), 0.0)
        bankrupt = (closed & (deficit > 0)) | offbook | (closed & (e <= 0))
        income = self.params.fund_share * float(penalty.sum())
        deficits = float(deficit.sum())
        give_up = float(np.maximum(-e[offbook], 0.0).sum())
        fund = self.fund + income - deficits
        shortfall = max(-fund, 0.0)
        self.fund = max(fund, 0.0)
        self.fund_min = min(self.fund_min, self.fund)
        # per-account outcomes
        self.first_round[rows] = np.where(
            self.first_round[rows] == 0, number, self.first_round[rows]
        )
        self.equity_liq[rows] = e
        self.penalty[rows] += penalty
        self.deficit[rows] += deficit
        self.offbook[rows] = offbook
        self.equity_end[rows] = np.where(closed, np.where(offbook, 0.0, done.equity_end), np.nan)
        code = np.where(
            bankrupt,
            FATES.index(AccountFate.BANKRUPT),
            np.where(closed, FATES.index(AccountFate.CLOSED), FATES.index(AccountFate.REDUCED)),
        )
        self.fate[rows] = code
        self.alive[rows[closed]] = False
        if not np.all(closed):
            self.holdings = _replace_rows(self.holdings, rows[~closed], done.book, ~closed)
        # prices
        s_r = self.s0 * self.factor
        post = self.factor * (1.0 - done.impact)
        self.factor = post + self.resilience * (self.shocked - post)
        ids = np.array(book.accounts, dtype=object)
        u = self.underlyings
        return CascadeRound(
            number=number,
            price=frozen_prices(dict(zip(u, s_r.tolist(), strict=True))),
            liquidated=tuple(book.accounts),
            flow_usd=frozen_prices(dict(zip(u, done.flow.tolist(), strict=True))),
            impact=frozen_prices(dict(zip(u, done.impact.tolist(), strict=True))),
            execution_price=frozen_prices(
                dict(zip(u, (s_r * done.multiplier).tolist(), strict=True))
            ),
            next_price=frozen_prices(dict(zip(u, (self.s0 * self.factor).tolist(), strict=True))),
            bankrupt=tuple(ids[bankrupt].tolist()),
            offbook=tuple(ids[offbook].tolist()),
            penalty_income=income,
            deficits=deficits,
            mutualised_loss=shortfall + give_up,
            fund_end=self.fund,
        )


def _book_from(
    book: Book,
    rows: tuple[NDArray[Any], ...],
    cols: tuple[NDArray[Any], ...],
    values: tuple[NDArray[Any], ...],
) -> Book:
    return Book.from_arrays(
        book.accounts,
        book.instruments,
        np.concatenate(rows).astype(np.intp),
        np.concatenate(cols).astype(np.intp),
        np.concatenate(values).astype(np.float64),
    )


def _replace_rows(
    holdings: Holdings, rows: NDArray[np.intp], new: Book, pick: NDArray[np.bool_]
) -> Holdings:
    """``holdings`` with its ``rows`` replaced by the ``pick`` rows of ``new``."""
    q = holdings.book.quantities
    n = q.shape[0]
    keep = np.ones(n)
    keep[rows] = 0.0
    sources = np.flatnonzero(pick)
    place = sp.csr_array((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(n, len(rows)))
    moved = sp.csr_array(sp.diags_array(keep) @ q + place @ new.quantities[sources])
    moved.sort_indices()
    moved.eliminate_zeros()
    book = Book(
        accounts=holdings.book.accounts, instruments=holdings.book.instruments, quantities=moved
    )
    return Holdings(book=book, reference=holdings.reference)


def _check_reduce_only(trades: sp.csr_array, book: Book, delta_one: NDArray[np.bool_]) -> None:
    if trades.shape != book.quantities.shape:
        raise ValidationError("liquidator trades", trades.shape, f"shape {book.quantities.shape}")
    t = trades.tocoo()
    held = np.asarray(book.quantities[t.row, t.col]).ravel()
    bad = ~delta_one[t.col] | (t.data * held > 0) | (np.abs(t.data) > np.abs(held) * (1 + 1e-12))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"liquidator trade of {book.instruments[t.col[k]].name} in account "
            f"{book.accounts[t.row[k]]}",
            float(t.data[k]),
            f"a reducing trade of a future or perpetual position {float(held[k]):g}",
        )


def run_cascade(
    holdings: Holdings,
    market: MarketSnapshot,
    margining: Margining,
    params: CascadeParams,
    impact: CascadeMarket,
    liquidator: Liquidator | None = None,
) -> CascadeResult:
    """Run a liquidation cascade (``lifecycle.md`` §9).

    ``S_1 = S_0 (1 + shock)``; each round ``r``: every surviving account is valued
    (:func:`account_values`) and margined (``margining.requirements``, one batch over the
    book) at ``S_r``; those with ``E < MM`` holding positions are liquidated (``liquidator``,
    full close by default; ``E <= 0`` always closed in full); the net flow ``Q_r`` per
    underlying is executed at the average price ``S_r (1 - share I)`` of the impact model;
    realised P&L goes to the accounts' balances; penalties (a fraction of the notional at
    ``S_r``, capped at the positive equity after the trades) and deficits of closed accounts
    are netted into the fund; a shortfall is mutualised and the fund set to 0; then
    ``S_{r+1} = S_r (1 - I)`` (recovering ``resilience`` of the cumulative impact). The run
    stops at the first round without liquidations or after ``max_rounds``.

    Reproducible: accounts are processed in sorted id order and nothing is random, so equal
    inputs give bit-identical results.

    Parameters
    ----------
    holdings
        The population: futures, perpetuals (linear or inverse) and currency balances.
        Accounts holding other instruments (options, spot pairs) are set aside (reported in
        ``outcomes.errors``), as are accounts the market cannot value or margin.
    market
        The market before the shock (``S_0`` = its index prices).
    margining
        Requirement model, re-run every round.
    params, impact
        Shock, fund, penalty, rounds; the price-impact model per underlying.
    liquidator
        :class:`~portmargin.lifecycle.Liquidator`; default :class:`FullClose`.

    Raises
    ------
    ValidationError
        An underlying held or shocked has no index in ``market``, or a held underlying has
        no impact model; a liquidator returned a trade that is not reduce-only; a round's
        net flow has an impact >= 1 (the price would reach 0).
    """
    engine = _Engine(holdings, market, margining, params, impact, liquidator or FullClose())
    rounds: list[CascadeRound] = []
    truncated = False
    for number in range(1, params.max_rounds + 2):
        current = engine.moved()
        rows, e, mm = engine.assess(current, number)
        if rows.size == 0:
            break
        if number > params.max_rounds:
            truncated = True
            break
        rounds.append(engine.liquidate(number, current, rows, e, mm))
    u = engine.underlyings
    outcomes = CascadeOutcomes(
        accounts=engine.holdings.accounts,
        fate=engine.fate,
        first_round=engine.first_round,
        equity_at_liquidation=engine.equity_liq,
        equity_end=engine.equity_end,
        deficit=engine.deficit,
        penalty=engine.penalty,
        offbook=engine.offbook,
        errors=MappingProxyType(dict(sorted(engine.errors.items()))),
    )
    return CascadeResult(
        margining=margining.name,
        mode=engine.liquidator.mode,
        initial_price=frozen_prices(dict(zip(u, engine.s0.tolist(), strict=True))),
        shocked_price=frozen_prices(
            dict(zip(u, (engine.s0 * engine.shocked).tolist(), strict=True))
        ),
        final_price=frozen_prices(dict(zip(u, (engine.s0 * engine.factor).tolist(), strict=True))),
        rounds=tuple(rounds),
        truncated=truncated,
        fund_start=params.fund_usd,
        fund_end=engine.fund,
        fund_min=engine.fund_min,
        outcomes=outcomes,
    )
