"""Hedge suggestions: per account, the trade that most reduces margin within a budget, or the
cheapest trade that brings margin under a target.

The search is batched: every candidate trade (instrument × signed size) of every account is
a row of one book margined by the engine in one run (chunked when very large); the best
sizes are then refined on finer grids, again one run per round for all accounts. The
suggested trades are margined once more, as the accounts they are applied to, and those are
the reported numbers; a trade that does not improve on doing nothing is dropped. With two
legs, the second leg is searched the same way on the accounts with their first leg applied.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.analysis._hedge_candidates import TradeCosts, auto_candidates, trade_costs
from portmargin.analysis._hedge_options import HedgeOptions, Measure, Objective
from portmargin.analysis._hedge_rows import TradeRows
from portmargin.analysis._hedge_search import Leg, LegSearch, search_leg
from portmargin.core import ValidationError
from portmargin.instruments import Future, Instrument, Option, Perpetual
from portmargin.lifecycle import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["HedgeReport", "HedgeSuggestion", "HedgeTrade", "suggest_hedges"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeTrade:
    """One leg of a suggested trade.

    Attributes
    ----------
    instrument
        Instrument name.
    quantity
        Signed coins traded (> 0 buys), never 0.
    premium_usd
        Premium paid at the venue mark, USD (< 0 received; 0 for futures and perpetuals).
    crossing_usd
        Half-spread and fees, USD (>= 0).
    """

    instrument: str
    quantity: float
    premium_usd: float
    crossing_usd: float

    @property
    def cost_usd(self) -> float:
        """Premium plus crossing cost, USD."""
        return self.premium_usd + self.crossing_usd

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, with ``cost_usd``."""
        return {
            "instrument": self.instrument,
            "quantity": self.quantity,
            "premium_usd": self.premium_usd,
            "crossing_usd": self.crossing_usd,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeSuggestion:
    """The suggested trade of one account, or none.

    Attributes
    ----------
    account
        Account id.
    trades
        The legs of the trade (one, or two with ``HedgeOptions.legs = 2``); empty when no
        trade is suggested.
    premium_usd, crossing_usd, cost_usd
        Sums over the legs, USD (0 without a trade).
    im_before_usd, mm_before_usd, im_after_usd, mm_after_usd
        Requirements without and with the trade, USD (after = before without a trade); NaN
        on error.
    reduction_usd
        Before minus after of the searched measure, USD (>= 0; NaN on error).
    meets_target
        Whether the measure after is at or under the target (``None`` without a target or
        on error).
    error
        Why the account could not be margined, or ``None``.
    """

    account: str
    trades: tuple[HedgeTrade, ...]
    premium_usd: float
    crossing_usd: float
    cost_usd: float
    im_before_usd: float
    mm_before_usd: float
    im_after_usd: float
    mm_after_usd: float
    reduction_usd: float
    meets_target: bool | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (NaN as ``None``)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if name == "trades":
                value = [t.to_dict() for t in self.trades]
            out[name] = None if isinstance(value, float) and math.isnan(value) else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HedgeReport:
    """Hedge suggestions of every account of a book.

    Attributes
    ----------
    margining
        Name of the margin method (or model).
    options
        The search settings.
    candidates
        Names of the candidate instruments.
    suggestions
        One per account, in book order.
    rows_margined
        Trade rows margined by the engine during the search (the final checks included).
    runs
        Engine runs over trade rows (a run over more than ``options.max_rows`` rows counts
        once per chunk).
    """

    margining: str
    options: HedgeOptions
    candidates: tuple[str, ...]
    suggestions: tuple[HedgeSuggestion, ...]
    rows_margined: int
    runs: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "method": self.margining,
            "objective": str(self.options.objective),
            "measure": str(self.options.measure),
            "target_usd": self.options.target_usd,
            "budget_usd": self.options.budget_usd,
            "max_quantity": self.options.max_quantity,
            "legs": self.options.legs,
            "candidates": list(self.candidates),
            "rows_margined": self.rows_margined,
            "runs": self.runs,
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


def suggest_hedges(
    margining: Margining,
    book: Book,
    market: MarketSnapshot,
    candidates: Sequence[Instrument] | None = None,
    options: HedgeOptions | None = None,
) -> HedgeReport:
    """One hedge trade per account of ``book`` (see the module notes).

    Parameters
    ----------
    margining
        Requirements in USD: a :class:`~portmargin.lifecycle.MethodMargining` (any
        registered method and its params) or another :class:`~portmargin.lifecycle.Margining`.
    book
        The accounts (a whole positions file).
    market
        Snapshot the trades are margined and costed at.
    candidates
        Instruments a trade may be in (options quoted by ``market``, futures, perpetuals),
        tried for every account; ``None``: :func:`auto_candidates` of the book, each tried
        for the accounts holding its underlying in its settlement style.
    options
        :class:`HedgeOptions` (default: the largest IM reduction, one leg, no budget).

    Returns
    -------
    HedgeReport
        A suggestion per account. ``im_after_usd``/``mm_after_usd`` are the engine's margin of
        the account with the trade applied (one batch run of the suggested trades); a trade
        is suggested only when it reduces the measure (``MIN_MARGIN``) or meets the target
        (``TARGET``, and only if the account does not meet it already), so the measure after
        is never above the measure before.
    """
    opts = options or HedgeOptions()
    insts = (
        auto_candidates(book, market, opts.candidates)
        if candidates is None
        else _distinct(candidates)
    )
    costs = trade_costs(insts, market, opts.costs)
    on = LegSearch(
        margining=margining,
        market=market,
        candidates=insts,
        costs=costs,
        auto=candidates is None,
    )
    budget = np.full(len(book.accounts), np.inf if opts.budget_usd is None else opts.budget_usd)
    first = search_leg(on, book, opts, budget)
    plan = _Plan.of_first(first)
    if opts.legs == 2:
        _second_leg(on, book, opts, budget, plan)
    before = (first.im_before, first.mm_before)
    suggestions = _suggestions(book, first.errors, plan, costs, before, opts)
    return HedgeReport(
        margining=margining.name,
        options=opts,
        candidates=tuple(i.name for i in insts),
        suggestions=suggestions,
        rows_margined=plan.rows_margined,
        runs=plan.runs,
    )


def _distinct(candidates: Sequence[Instrument]) -> tuple[Instrument, ...]:
    out: dict[str, Instrument] = {}
    for inst in candidates:
        if not isinstance(inst, Option | Future | Perpetual):
            raise ValidationError("candidates", inst.name, "options, futures or perpetuals")
        out.setdefault(inst.name, inst)
    return tuple(out[n] for n in sorted(out))


@dataclass(slots=True, kw_only=True, eq=False)
class _Plan:
    """Legs chosen per account (candidate -1: none) and the margin after them, USD."""

    first: NDArray[np.intp]
    first_qty: NDArray[np.float64]
    second: NDArray[np.intp]
    second_qty: NDArray[np.float64]
    im_after: NDArray[np.float64]
    mm_after: NDArray[np.float64]
    rows_margined: int
    runs: int

    @classmethod
    def of_first(cls, leg: Leg) -> _Plan:
        n = leg.candidate.size
        return cls(
            first=leg.candidate.copy(),
            first_qty=leg.quantity.copy(),
            second=np.full(n, -1, dtype=np.intp),
            second_qty=np.zeros(n),
            im_after=leg.im_after.copy(),
            mm_after=leg.mm_after.copy(),
            rows_margined=leg.rows_margined,
            runs=leg.runs,
        )


def _second_leg(
    on: LegSearch, book: Book, opts: HedgeOptions, budget: NDArray[np.float64], plan: _Plan
) -> None:
    """Search a second leg on top of the first (see ``HedgeOptions.legs``); update ``plan``."""
    base = plan.im_after if opts.measure is Measure.IM else plan.mm_after
    stays = np.zeros(base.size, dtype=bool)  # a first leg kept even without a second
    if opts.objective is Objective.TARGET:
        target = float(opts.target_usd or 0.0)
        stays = plan.first >= 0
        short = np.flatnonzero(np.isfinite(base) & (base > target) & ~stays)
        if short.size:
            reduce = dataclasses.replace(opts, objective=Objective.MIN_MARGIN, target_usd=None)
            sub = book.select_accounts(_mask(base.size, short))
            best = search_leg(on, sub, reduce, budget[short])
            plan.first[short], plan.first_qty[short] = best.candidate, best.quantity
            plan.rows_margined += best.rows_margined
            plan.runs += best.runs
            # a leg reducing the measure most may reach the target alone
            reached = (best.candidate >= 0) & (
                (best.im_after if opts.measure is Measure.IM else best.mm_after) <= target
            )
            plan.im_after[short[reached]] = best.im_after[reached]
            plan.mm_after[short[reached]] = best.mm_after[reached]
            stays[short[reached]] = True
        searched = np.flatnonzero(~stays & (plan.first >= 0))
    else:
        searched = np.flatnonzero(plan.first >= 0)
    if searched.size:
        rows = TradeRows(
            margining=on.margining, book=book, market=on.market, candidates=on.candidates
        )
        c1, q1 = plan.first[searched], plan.first_qty[searched]
        with_first = rows.applied(searched, c1, q1)
        left = budget[searched] - on.costs.cost(c1, q1)
        leg = search_leg(on, with_first, opts, left, exclude=c1)
        plan.rows_margined += leg.rows_margined
        plan.runs += leg.runs
        got = leg.candidate >= 0
        plan.second[searched[got]] = leg.candidate[got]
        plan.second_qty[searched[got]] = leg.quantity[got]
        plan.im_after[searched[got]] = leg.im_after[got]
        plan.mm_after[searched[got]] = leg.mm_after[got]
    # an account the first leg alone does not bring under the target takes no trade
    alone = (plan.first >= 0) & (plan.second < 0) & ~stays
    if opts.objective is Objective.TARGET:
        plan.first[alone], plan.first_qty[alone] = -1, 0.0


def _mask(n: int, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


def _suggestions(
    book: Book,
    errors: Mapping[str, str],
    plan: _Plan,
    costs: TradeCosts,
    before: tuple[NDArray[np.float64], NDArray[np.float64]],
    opts: HedgeOptions,
) -> tuple[HedgeSuggestion, ...]:
    im0, mm0 = before
    measure_before = im0 if opts.measure is Measure.IM else mm0
    measure_after = plan.im_after if opts.measure is Measure.IM else plan.mm_after
    names = [i.name for i in costs.instruments]
    target = opts.target_usd
    out = []
    for a, account in enumerate(book.accounts):
        legs = [
            HedgeTrade(
                instrument=names[c],
                quantity=q,
                premium_usd=float(costs.premium[c]) * q + 0.0,  # no -0.0 for delta-one sales
                crossing_usd=float(costs.crossing[c]) * abs(q),
            )
            for c, q in (
                (int(plan.first[a]), float(plan.first_qty[a])),
                (int(plan.second[a]), float(plan.second_qty[a])),
            )
            if c >= 0
        ]
        error = errors.get(account)
        after = float(measure_after[a])
        premium = sum(t.premium_usd for t in legs)
        crossing = sum(t.crossing_usd for t in legs)
        out.append(
            HedgeSuggestion(
                account=account,
                trades=tuple(legs),
                premium_usd=float(premium),
                crossing_usd=float(crossing),
                cost_usd=float(premium + crossing),
                im_before_usd=float(im0[a]),
                mm_before_usd=float(mm0[a]),
                im_after_usd=float(plan.im_after[a]),
                mm_after_usd=float(plan.mm_after[a]),
                reduction_usd=float(measure_before[a] - after) if error is None else math.nan,
                meets_target=None if target is None or error else bool(after <= target),
                error=error,
            )
        )
    return tuple(out)
