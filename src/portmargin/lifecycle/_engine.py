"""The partial liquidation engine (``lifecycle.md`` §6): dense quantities of the accounts
being liquidated, one batch of candidate slices per step for all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.lifecycle._fund import FundBook
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._liquidation_results import (
    AccountLiquidation,
    LiquidationOutcome,
    LiquidationStep,
)
from portmargin.lifecycle._params import LifecycleParams
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._slippage import Slippage
from portmargin.lifecycle._trades import (
    Columns,
    Trades,
    notional_usd,
    price_trades,
    slice_size,
)
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["LiquidationEngine"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Candidates:
    """Candidate trades of one step: ``legs`` of ``k`` legs, candidate ``group`` of each leg
    (single slices first, one group each, then one pro-rata group per account), and the
    account (local row) of each group."""

    legs: Trades
    group: NDArray[np.intp]
    group_row: NDArray[np.intp]
    single: NDArray[np.bool_]


class LiquidationEngine:
    """Mutable state of one run: dense quantities of the liquidating accounts."""

    def __init__(
        self,
        *,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        params: LifecycleParams,
        slippage: Slippage,
        cols: Columns,
        fund: FundBook,
        rows: NDArray[np.intp],
        equity: NDArray[np.float64],
        maintenance: NDArray[np.float64],
    ) -> None:
        self.holdings = holdings
        self.market = market
        self.margining = margining
        self.params = params
        self.slippage = slippage
        self.cols = cols
        self.fund = fund
        self.rows = rows
        self.ids = tuple(holdings.accounts[r] for r in rows.tolist())
        self.q = np.asarray(holdings.book.quantities[rows].toarray(), dtype=np.float64)
        self.equity0 = equity.copy()
        self.mm0 = maintenance.copy()
        self.equity = equity.copy()
        n = len(rows)
        self.outcome: list[LiquidationOutcome | None] = [None] * n
        self.mm_end = maintenance.copy()
        self.step_count = np.zeros(n, dtype=np.int64)
        self.errors: dict[str, str] = {}
        self.records: list[dict[str, float | str | int]] = []
        self.record_row: list[int] = []
        self.open_records: dict[int, list[int]] = {}

    def run(self) -> None:
        """Liquidate until every account is restored, unrestored, bankrupt or in error."""
        active = np.ones(len(self.rows), dtype=bool)
        target = self.params.states.liq_target
        while np.any(active):
            a = np.flatnonzero(active)
            cand = self._candidates(a)
            mm_now, mm_cand, bad = self._requirements(a, cand)
            self._close_records(a, mm_now)
            self.mm_end[a] = mm_now
            e_now = self.equity[a]
            for k in np.flatnonzero(bad).tolist():
                active[a[k]] = False
            has_trade = np.zeros(len(a), dtype=bool)
            has_trade[cand.group_row] = True
            done = (e_now <= 0) | (e_now >= target * mm_now) | ~has_trade
            for k in np.flatnonzero(done & ~bad).tolist():
                r = int(a[k])
                active[r] = False
                self.outcome[r] = (
                    LiquidationOutcome.BANKRUPT
                    if e_now[k] <= 0
                    else LiquidationOutcome.RESTORED
                    if e_now[k] >= target * mm_now[k]
                    else LiquidationOutcome.UNRESTORED
                )
            go = ~done & ~bad
            if not np.any(go):
                break
            self._execute(a, go, cand, mm_now, mm_cand)

    def _candidates(self, a: NDArray[np.intp]) -> _Candidates:
        """Single slices of every tradable position of accounts ``a`` and their pro-rata
        slices (local rows index into ``a``)."""
        cols, params = self.cols, self.params.liquidation
        sub = self.q[a][:, cols.tradable]
        local, k = np.nonzero(sub)
        column = np.flatnonzero(cols.tradable)[k]
        q = sub[local, k]
        size = np.minimum(np.abs(q), slice_size(cols, column, params.slice_notional_usd))
        single_delta = np.where(size >= np.abs(q), -q, -np.sign(q) * size)
        gross = np.bincount(local, weights=notional_usd(cols, column, q), minlength=len(a))
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.minimum(1.0, params.slice_notional_usd / gross)[local]
        pro_delta = np.where(fraction >= 1.0, -q, -q * fraction)
        n_single = len(q)
        held = np.unique(local)
        pro_group = n_single + np.searchsorted(held, local)
        column_all = np.concatenate([column, column])
        delta_all = np.concatenate([single_delta, pro_delta])
        s = self.slippage.rates(
            [cols.names[c] for c in column_all.tolist()],
            [cols.underlyings[c] for c in column_all.tolist()],
            notional_usd(cols, column_all, delta_all),
        )
        legs = price_trades(cols, column_all, delta_all, s, params)
        group = np.concatenate([np.arange(n_single), pro_group])
        group_row = np.concatenate([local, held]).astype(np.intp)
        single = np.zeros(n_single + len(held), dtype=bool)
        single[:n_single] = True
        return _Candidates(legs=legs, group=group, group_row=group_row, single=single)

    def _requirements(
        self, a: NDArray[np.intp], cand: _Candidates
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """MM now of accounts ``a`` and after every candidate group, from one batch; mask of
        accounts whose MM now cannot be computed (recorded as errors)."""
        cols, legs = self.cols, cand.legs
        now = sp.csr_array(self.q[a])
        n_groups = len(cand.group_row)
        change = sp.coo_array(
            (
                np.concatenate([legs.delta, legs.cash]),
                (
                    np.concatenate([cand.group, cand.group]),
                    np.concatenate([legs.column, cols.settle_column[legs.column]]),
                ),
            ),
            shape=(n_groups, self.q.shape[1]),
        ).tocsr()
        # a closing slice is exactly -q, so the sum leaves no rounding residue
        after = now[cand.group_row] + change
        stacked = sp.vstack([now, after], format="csr")
        stacked.eliminate_zeros()
        labels = (*(self.ids[r] for r in a.tolist()), *(f"\x1f{g}" for g in range(n_groups)))
        book = Book(accounts=labels, instruments=self.holdings.book.instruments, quantities=stacked)
        req = self.margining.requirements(book, self.market)
        mm = req.maintenance_margin
        mm_now, mm_cand = mm[: len(a)], mm[len(a) :]
        bad = ~np.isfinite(mm_now)
        for k in np.flatnonzero(bad).tolist():
            account = self.ids[int(a[k])]
            self.errors[account] = req.errors.get(account, "no maintenance margin")
        return mm_now, mm_cand, bad

    def _execute(
        self,
        a: NDArray[np.intp],
        go: NDArray[np.bool_],
        cand: _Candidates,
        mm_now: NDArray[np.float64],
        mm_cand: NDArray[np.float64],
    ) -> None:
        """Pick and execute one candidate for every account ``a[go]``."""
        cols, legs = self.cols, cand.legs
        group_leg_cost = np.bincount(cand.group, weights=legs.cost_usd, minlength=len(cand.single))
        gain = mm_now[cand.group_row] - mm_cand
        valid = cand.single & np.isfinite(gain) & (gain > 0) & go[cand.group_row]
        with np.errstate(divide="ignore"):
            score = np.where(
                group_leg_cost > 0, gain / np.where(group_leg_cost > 0, group_leg_cost, 1.0), np.inf
            )
        name_rank = np.argsort(np.argsort(np.array(cols.names, dtype=object)))
        ids = np.flatnonzero(valid)
        order = np.lexsort(
            (name_rank[legs.column[ids]], -gain[ids], -score[ids], cand.group_row[ids])
        )
        ids = ids[order]
        chosen = (
            ids[np.r_[True, cand.group_row[ids][1:] != cand.group_row[ids][:-1]]]
            if ids.size
            else ids
        )
        pro = ~cand.single & go[cand.group_row]
        pro[pro] = ~np.isin(cand.group_row[pro], cand.group_row[chosen])
        picked = np.zeros(len(cand.single), dtype=bool)
        picked[chosen] = True
        picked |= pro
        leg_mask = picked[cand.group]
        leg_row = cand.group_row[cand.group][leg_mask]
        self._apply(a, leg_row, legs, leg_mask, mm_now)

    def _apply(
        self,
        a: NDArray[np.intp],
        leg_row: NDArray[np.intp],
        legs: Trades,
        leg_mask: NDArray[np.bool_],
        mm_now: NDArray[np.float64],
    ) -> None:
        """Execute the picked legs, collect penalties, revalue the traded accounts."""
        cols = self.cols
        rows = a[leg_row]
        column = legs.column[leg_mask]
        delta = legs.delta[leg_mask]
        cash = legs.cash[leg_mask]
        settle = cols.settle_column[column]
        e_before = self.equity[rows]
        held = self.q[rows, column]
        self.q[rows, column] = held + delta
        np.add.at(self.q, (rows, settle), cash)
        traded = np.unique(rows)
        e_trade = self._equity(traded)
        due_usd = legs.penalty_usd[leg_mask]
        due_by_row = np.bincount(
            np.searchsorted(traded, rows), weights=due_usd, minlength=len(traded)
        )
        collected = np.minimum(due_by_row, np.maximum(e_trade, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(due_by_row > 0, collected / due_by_row, 0.0)[
                np.searchsorted(traded, rows)
            ]
        np.add.at(self.q, (rows, settle), -legs.penalty[leg_mask] * scale)
        self.equity[traded] = self._equity(traded)
        share = self.params.liquidation.fund_share
        for r, amount in zip(traded.tolist(), collected.tolist(), strict=True):
            self.fund.penalty(self.ids[r], amount * share)
        self.step_count[traded] += 1
        mm_before = np.zeros(len(self.rows))
        mm_before[a] = mm_now
        price = legs.price[leg_mask]
        notional = legs.notional_usd[leg_mask]
        slip = legs.slippage_usd[leg_mask]
        penalty = due_usd * scale
        for k, r in enumerate(rows.tolist()):
            self.open_records.setdefault(r, []).append(len(self.records))
            self.record_row.append(r)
            self.records.append(
                {
                    "account": self.ids[r],
                    "step": int(self.step_count[r]),
                    "instrument": cols.names[int(column[k])],
                    "side": "sell" if delta[k] < 0 else "buy",
                    "quantity": float(abs(delta[k])),
                    "price": float(price[k]),
                    "notional_usd": float(notional[k]),
                    "slippage_usd": float(slip[k]),
                    "penalty_usd": float(penalty[k]),
                    "fund_usd": float(penalty[k] * share),
                    "equity_before": float(e_before[k]),
                    "maintenance_before": float(mm_before[r]),
                }
            )

    def _close_records(self, a: NDArray[np.intp], mm_now: NDArray[np.float64]) -> None:
        """Fill E and MM after the previous step of accounts ``a``."""
        for k, r in enumerate(a.tolist()):
            for i in self.open_records.pop(r, []):
                self.records[i]["equity_after"] = float(self.equity[r])
                self.records[i]["maintenance_after"] = float(mm_now[k])

    def _equity(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Haircut-adjusted equity of local ``rows`` now, USD."""
        book = Book(
            accounts=tuple(self.ids[r] for r in rows.tolist()),
            instruments=self.holdings.book.instruments,
            quantities=sp.csr_array(self.q[rows]),
        )
        values = account_values(
            Holdings(book=book, reference=self.holdings.reference),
            self.market,
            self.params.collateral,
        )
        if values.errors:
            account, reason = next(iter(values.errors.items()))
            raise ValidationError(f"equity of account {account}", reason, "a valued account")
        return values.equity

    def results(self) -> tuple[AccountLiquidation, ...]:
        """Per-account summaries (accounts in error left out)."""
        slip = np.zeros(len(self.rows))
        pen = np.zeros(len(self.rows))
        for r, rec in zip(self.record_row, self.records, strict=True):
            slip[r] += float(rec["slippage_usd"])
            pen[r] += float(rec["penalty_usd"])
        return tuple(
            AccountLiquidation(
                account=self.ids[r],
                outcome=outcome,
                equity_before=float(self.equity0[r]),
                maintenance_before=float(self.mm0[r]),
                equity_after=float(self.equity[r]),
                maintenance_after=float(self.mm_end[r]),
                steps=int(self.step_count[r]),
                slippage_usd=float(slip[r]),
                penalty_usd=float(pen[r]),
            )
            for r, outcome in enumerate(self.outcome)
            if outcome is not None
        )

    def steps(self) -> tuple[LiquidationStep, ...]:
        """Executed steps by account (holdings order) then step (accounts in error left out)."""
        order = sorted(range(len(self.records)), key=lambda i: (self.record_row[i], i))
        return tuple(
            LiquidationStep(**self.records[i])  # type: ignore[arg-type]
            for i in order
            if self.ids[self.record_row[i]] not in self.errors
        )

    def merged(self) -> Holdings:
        """Every account's holdings, the liquidated rows replaced by their state now."""
        book = self.holdings.book
        n = len(book.accounts)
        keep = np.ones(n, dtype=np.float64)
        keep[self.rows] = 0.0
        kept = sp.diags_array(keep, format="csr") @ book.quantities
        local, col = np.nonzero(self.q)
        placed = sp.coo_array(
            (self.q[local, col], (self.rows[local], col)), shape=book.quantities.shape
        ).tocsr()
        quantities = sp.csr_array(kept + placed)
        quantities.eliminate_zeros()
        quantities.sort_indices()
        return Holdings(
            book=Book(accounts=book.accounts, instruments=book.instruments, quantities=quantities),
            reference=self.holdings.reference,
        )
