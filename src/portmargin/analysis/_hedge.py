"""Hedge suggestions: per account, the one trade that most reduces margin within a budget, or
the cheapest trade that brings margin under a target.

The search is batched: every candidate trade (instrument × signed size) of every account is
a row of one book margined by the engine in one run (chunked when very large); the best
sizes are then refined on finer grids, again one run per round for all accounts. The
suggested trades are margined once more, as the accounts they are applied to, and those are
the reported numbers; a trade that does not improve on doing nothing is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.analysis._hedge_candidates import (
    CandidateFilter,
    CostModel,
    TradeCosts,
    auto_candidates,
    trade_costs,
    underlying_of,
)
from portmargin.analysis._hedge_rows import TradeRows
from portmargin.core import ValidationError, require_non_negative, require_positive
from portmargin.instruments import Future, Instrument, Option, Perpetual, Settlement
from portmargin.lifecycle import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = [
    "HedgeOptions",
    "HedgeReport",
    "HedgeSuggestion",
    "Measure",
    "Objective",
    "suggest_hedges",
]

SIZE_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5)
"""Default grid of trade sizes, as fractions of the account's gross notional (both signs)."""


class Objective(StrEnum):
    """``MIN_MARGIN``: the trade that most reduces margin within the budget. ``TARGET``: the
    cheapest trade that brings margin to or under ``target_usd``."""

    MIN_MARGIN = "min_margin"
    TARGET = "target"


class Measure(StrEnum):
    """Which requirement the search works on: initial (``IM``) or maintenance (``MM``)."""

    IM = "im"
    MM = "mm"


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeOptions:
    """What the hedge search looks for and how finely.

    Attributes
    ----------
    objective
        :class:`Objective`.
    measure
        :class:`Measure` reduced (or brought under the target).
    target_usd
        Margin to reach (USD, >= 0); required with ``Objective.TARGET``, refused otherwise.
    budget_usd
        Largest cost of the trade, USD (>= 0); ``None``: no limit.
    max_quantity
        Largest ``|quantity|`` of the trade, coins (> 0); ``None``: no limit.
    size_fractions
        Grid of trade sizes: each fraction (> 0) of the account's gross notional (USD at the
        index, counted in coins of the candidate's underlying) is tried bought and sold.
    refine_rounds
        Rounds of finer grids around the best sizes (>= 0).
    refine_points
        New sizes tried per refined trade and round (>= 1).
    refine_top
        Candidates refined per account: its best ones on the grid (>= 1).
    candidates
        Filter of the automatic candidates (when none are given).
    costs
        Spreads and fees (:class:`CostModel`).
    max_rows
        Largest number of trade rows margined in one engine run (>= 1).
    """

    objective: Objective = Objective.MIN_MARGIN
    measure: Measure = Measure.IM
    target_usd: float | None = None
    budget_usd: float | None = None
    max_quantity: float | None = None
    size_fractions: tuple[float, ...] = SIZE_FRACTIONS
    refine_rounds: int = 4
    refine_points: int = 6
    refine_top: int = 3
    candidates: CandidateFilter = field(default_factory=CandidateFilter)
    costs: CostModel = field(default_factory=CostModel)
    max_rows: int = 100_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", Objective(self.objective))
        object.__setattr__(self, "measure", Measure(self.measure))
        if (self.target_usd is None) == (self.objective is Objective.TARGET):
            expected = "a number with objective 'target'" if self.target_usd is None else "None"
            raise ValidationError("target_usd", self.target_usd, expected)
        if self.target_usd is not None:
            require_non_negative("target_usd", self.target_usd)
        if self.budget_usd is not None:
            require_non_negative("budget_usd", self.budget_usd)
        if self.max_quantity is not None:
            require_positive("max_quantity", self.max_quantity)
        fractions = tuple(float(f) for f in self.size_fractions)
        if not fractions or not all(math.isfinite(f) and f > 0 for f in fractions):
            raise ValidationError("size_fractions", self.size_fractions, "numbers > 0")
        object.__setattr__(self, "size_fractions", tuple(sorted(set(fractions))))
        for name, least in (("refine_rounds", 0), ("refine_points", 1), ("refine_top", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= least):
                raise ValidationError(name, value, f"an integer >= {least}")
        if not (isinstance(self.max_rows, int) and self.max_rows >= 1):
            raise ValidationError("max_rows", self.max_rows, "an integer >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeSuggestion:
    """The suggested trade of one account, or none.

    Attributes
    ----------
    account
        Account id.
    instrument
        Name of the instrument traded; ``None`` when no trade is suggested.
    quantity
        Signed coins traded (> 0 buys); 0 without a trade.
    premium_usd, crossing_usd, cost_usd
        Premium paid at the mark (< 0 received), half-spread and fees (>= 0), and their
        sum, USD; 0 without a trade.
    im_before_usd, mm_before_usd, im_after_usd, mm_after_usd
        Requirements without and with the trade, USD (after = before without a trade); NaN
        on error.
    reduction_usd
        Before minus after of the searched measure, USD (>= 0).
    meets_target
        Whether the measure after is at or under the target (``None`` without a target).
    error
        Why the account could not be margined, or ``None``.
    """

    account: str
    instrument: str | None
    quantity: float
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
        Trade rows margined by the engine during the search (the final check included).
    runs
        Engine runs (calls of the margining; a run over more than ``options.max_rows`` rows
        counts once per chunk).
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
        :class:`HedgeOptions` (default: the largest IM reduction, no budget).

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
    auto = candidates is None
    insts = (
        auto_candidates(book, market, opts.candidates)
        if candidates is None
        else _distinct(candidates)
    )
    costs = trade_costs(insts, market, opts.costs)
    rows = TradeRows(
        margining=margining, book=book, market=market, candidates=insts, max_rows=opts.max_rows
    )
    search = _Search(rows=rows, costs=costs, options=opts)
    before = margining.requirements(book, market)
    im0, mm0 = before.initial_margin, before.maintenance_margin
    base = im0 if opts.measure is Measure.IM else mm0
    pairs = _pairs(book, market, insts, auto, np.isfinite(base))
    best = search.run(base, pairs)
    traded = np.flatnonzero(best.candidate >= 0)
    im1, mm1 = im0.copy(), mm0.copy()
    if traded.size:
        rows_im, rows_mm = search.margins(traded, best.candidate[traded], best.quantity[traded])
        im1[traded], mm1[traded] = rows_im, rows_mm
        after = rows_im if opts.measure is Measure.IM else rows_mm
        keep = search.accepts(after, base[traded])
        undo = traded[~keep]
        im1[undo], mm1[undo] = im0[undo], mm0[undo]
        best.candidate[undo] = -1
    suggestions = _suggestions(book, before.errors, best, costs, (im0, mm0, im1, mm1), opts)
    return HedgeReport(
        margining=margining.name,
        options=opts,
        candidates=tuple(i.name for i in insts),
        suggestions=suggestions,
        rows_margined=search.rows_margined,
        runs=search.runs,
    )


def _distinct(candidates: Sequence[Instrument]) -> tuple[Instrument, ...]:
    out: dict[str, Instrument] = {}
    for inst in candidates:
        if not isinstance(inst, Option | Future | Perpetual):
            raise ValidationError("candidates", inst.name, "options, futures or perpetuals")
        out.setdefault(inst.name, inst)
    return tuple(out[n] for n in sorted(out))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Pairs:
    """(account, candidate) pairs searched, with the size scale of each and the account's
    position in the candidate, in coins."""

    account: NDArray[np.intp]
    candidate: NDArray[np.intp]
    scale: NDArray[np.float64]
    held: NDArray[np.float64]


def _pairs(
    book: Book,
    market: MarketSnapshot,
    insts: Sequence[Instrument],
    auto: bool,
    computed: NDArray[np.bool_],
) -> _Pairs:
    """Which candidates each computed account tries, and its size scale: the account's gross
    notional (USD at the index) in coins of the candidate's underlying."""
    n, k = len(book.accounts), len(insts)
    col_u = [underlying_of(i) for i in book.instruments]
    usd = np.array([market.index_prices.get(u, 0.0) if u else 0.0 for u in col_u])
    held = abs(book.quantities)
    gross = np.asarray(held @ usd, dtype=np.float64)
    cand_u = [underlying_of(i) or "" for i in insts]
    index = np.array([market.index(u) for u in cand_u])
    tries = _relevant(book, insts, col_u, cand_u) if auto else np.ones((n, k), dtype=bool)
    tries &= (computed & (gross > 0))[:, None]
    account, candidate = np.nonzero(tries)
    column = {inst.name: c for c, inst in enumerate(book.instruments)}
    cols = np.array([column.get(i.name, -1) for i in insts], dtype=np.intp)
    held = np.zeros(account.size)
    in_book = cols[candidate] >= 0
    if np.any(in_book):
        held[in_book] = book.quantities[account[in_book], cols[candidate[in_book]]]
    return _Pairs(
        account=account.astype(np.intp),
        candidate=candidate.astype(np.intp),
        scale=gross[account] / index[candidate],
        held=held,
    )


def _style(inst: Instrument) -> str:
    if isinstance(inst, Option | Future | Perpetual):
        return f"{inst.underlying}/{inst.settlement}/{inst.quote}"
    return ""


def _relevant(
    book: Book, insts: Sequence[Instrument], col_u: list[str | None], cand_u: list[str]
) -> NDArray[np.bool_]:
    """Accounts × candidates: the account holds the candidate's underlying, in a derivative
    of the candidate's settlement style, or (inverse candidates) in no derivative at all."""
    styles = [_style(i) for i in book.instruments]
    cand_style = [_style(i) for i in insts]
    is_deriv = np.array([bool(s) for s in styles])
    u_match = np.array([[cu == u for u in cand_u] for cu in col_u], dtype=np.float64)
    s_match = np.array([[s == c for c in cand_style] for s in styles], dtype=np.float64)
    holds = sp.csr_array(book.quantities != 0).astype(np.float64)
    shape = (len(book.accounts), len(insts))
    if u_match.size == 0:
        return np.zeros(shape, dtype=bool)
    of_u = np.asarray(holds @ u_match) > 0
    deriv_of_u = np.asarray(holds @ (u_match * is_deriv[:, None])) > 0
    same_style = np.asarray(holds @ s_match) > 0
    inverse = np.array(
        [
            isinstance(i, Option | Future | Perpetual) and i.settlement is Settlement.INVERSE
            for i in insts
        ]
    )
    out: NDArray[np.bool_] = same_style | (of_u & ~deriv_of_u & inverse[None, :])
    return out


@dataclass(slots=True, kw_only=True, eq=False)
class _Best:
    """Best trade found per account: candidate (-1 none), quantity, measure, cost."""

    candidate: NDArray[np.intp]
    quantity: NDArray[np.float64]
    value: NDArray[np.float64]
    cost: NDArray[np.float64]


@dataclass(slots=True, kw_only=True, eq=False)
class _Search:
    """The grid search and its refinements; counts rows and runs."""

    rows: TradeRows
    costs: TradeCosts
    options: HedgeOptions
    rows_margined: int = 0
    runs: int = 0

    def margins(
        self, account: NDArray[np.intp], candidate: NDArray[np.intp], quantity: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """IM and MM of the trade rows (one run, or one per chunk)."""
        self.rows_margined += account.size
        self.runs += -(-account.size // self.options.max_rows)
        return self.rows.margins(account, candidate, quantity)

    def measure(
        self, account: NDArray[np.intp], candidate: NDArray[np.intp], quantity: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The searched measure of each trade row; +inf where the row is an error; rows with
        quantity 0 are not margined (NaN: the caller knows the account's own margin)."""
        out = np.full(account.size, np.nan)
        live = quantity != 0
        if np.any(live):
            im, mm = self.margins(account[live], candidate[live], quantity[live])
            value = im if self.options.measure is Measure.IM else mm
            out[live] = np.where(np.isnan(value), np.inf, value)
        return out

    def accepts(self, value: NDArray[np.float64], base: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether trades with measure ``value`` are worth suggesting to accounts at ``base``."""
        ok = np.isfinite(value)
        if self.options.objective is Objective.TARGET:
            target = float(self.options.target_usd or 0.0)
            result: NDArray[np.bool_] = ok & (value <= target) & (base > target)
            return result
        result = ok & (value < base)
        return result

    def run(self, base: NDArray[np.float64], pairs: _Pairs) -> _Best:
        """Grid search then refinement; the best accepted trade per account."""
        n = base.size
        best = _Best(
            candidate=np.full(n, -1, dtype=np.intp),
            quantity=np.zeros(n),
            value=base.copy(),
            cost=np.zeros(n),
        )
        if pairs.account.size == 0:
            return best
        grid_q = self._grid(pairs)
        cost = self.costs.cost(np.repeat(pairs.candidate, grid_q.shape[1]), grid_q.ravel())
        grid_c = cost.reshape(grid_q.shape)
        grid_v = self._values(pairs, grid_q, base)
        tracks = self._tracks(pairs, grid_q, grid_v, grid_c, base)
        for _ in range(self.options.refine_rounds):
            tracks = self._refine(tracks, base)
        self._update(best, tracks, base)
        return best

    def _grid(self, pairs: _Pairs) -> NDArray[np.float64]:
        """Sizes of every pair, shape ``(p, 2 f + 2)``, ascending: the fractions of the scale
        both ways, 0, and the size that closes the account's position in the candidate (0
        when it holds none); clipped to the budget and size limits of the candidate."""
        f = np.array(self.options.size_fractions)
        signed = np.concatenate((-f[::-1], [0.0], f))
        low, high = self.costs.limits(self.options.budget_usd, self.options.max_quantity)
        q = np.concatenate((pairs.scale[:, None] * signed[None, :], -pairs.held[:, None]), axis=1)
        clipped = np.clip(q, low[pairs.candidate][:, None], high[pairs.candidate][:, None])
        out: NDArray[np.float64] = np.sort(clipped, axis=1)
        return out

    def _values(
        self, pairs: _Pairs, q: NDArray[np.float64], base: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Measure at every size of every pair (distinct sizes margined once), shape of
        ``q``; the account's own margin at size 0."""
        p, g = q.shape
        pair = np.repeat(np.arange(p), g)
        flat = q.ravel()
        key = np.lexsort((flat, pair))
        first = np.ones(flat.size, dtype=bool)
        first[1:] = (pair[key][1:] != pair[key][:-1]) | (flat[key][1:] != flat[key][:-1])
        group = np.cumsum(first) - 1
        unique_rows = key[first]
        values = self.measure(
            pairs.account[pair[unique_rows]], pairs.candidate[pair[unique_rows]], flat[unique_rows]
        )
        out = np.empty(flat.size)
        out[key] = values[group]
        out = np.where(np.isnan(out), base[pairs.account][pair], out)
        return out.reshape(p, g)

    def _rank(self, value: NDArray[np.float64], cost: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sort key of trades per row (lower is better), same shape; +inf when not
        acceptable. MIN_MARGIN: measure, then cost; TARGET: cost, then measure (only
        trades at or under the target)."""
        if self.options.objective is Objective.TARGET:
            target = float(self.options.target_usd or 0.0)
            primary, secondary = np.where(value <= target, cost, np.inf), value
        else:
            primary, secondary = value, cost
        # order by primary, ties by secondary: rank of each (primary, secondary) pair
        flat_p, flat_s = primary.ravel(), secondary.ravel()
        order = np.lexsort((flat_s, flat_p))
        rank = np.empty(flat_p.size)
        rank[order] = np.arange(flat_p.size, dtype=np.float64)
        rank[~np.isfinite(flat_p)] = np.inf
        return rank.reshape(primary.shape)

    def _tracks(
        self,
        pairs: _Pairs,
        q: NDArray[np.float64],
        v: NDArray[np.float64],
        c: NDArray[np.float64],
        base: NDArray[np.float64],
    ) -> _Tracks:
        """The best grid size of the ``refine_top`` best pairs of each account, with the
        bracket to refine: MIN_MARGIN, its two neighbours on the grid; TARGET, the cheaper
        neighbour (the size where cost falls, not yet meeting the target)."""
        rank = self._rank(v, c)
        j = np.argmin(rank, axis=1)
        rows = np.arange(q.shape[0])
        good = np.isfinite(rank[rows, j]) & (q[rows, j] != 0)
        if self.options.objective is Objective.TARGET:
            good &= base[pairs.account] > float(self.options.target_usd or 0.0)
        # the refine_top best pairs of each account
        pair_rank = self._rank(v[rows, j], c[rows, j])
        order = np.lexsort((pair_rank, pairs.account))
        order = order[good[order]]
        acc = pairs.account[order]
        start = np.searchsorted(acc, acc, side="left")
        within = np.arange(acc.size) - start
        chosen = order[within < self.options.refine_top]
        jj = j[chosen]
        g = q.shape[1]
        left, right = np.maximum(jj - 1, 0), np.minimum(jj + 1, g - 1)
        sel = chosen
        tracks = _Tracks(
            account=pairs.account[sel],
            candidate=pairs.candidate[sel],
            q=q[sel, jj],
            v=v[sel, jj],
            lo=q[sel, left],
            v_lo=v[sel, left],
            hi=q[sel, right],
            v_hi=v[sel, right],
        )
        if self.options.objective is Objective.TARGET:
            cheaper_left = c[sel, left] < c[sel, right]
            edge = np.where(cheaper_left, tracks.lo, tracks.hi)
            edge_c = np.where(cheaper_left, c[sel, left], c[sel, right])
            # refine towards a cheaper neighbour only
            toward = np.where(edge_c < c[sel, jj], edge, tracks.q)
            tracks.lo, tracks.hi = tracks.q.copy(), toward
        return tracks

    def _refine(self, t: _Tracks, base: NDArray[np.float64]) -> _Tracks:
        """One round: ``refine_points`` sizes evenly inside each bracket, margined in one
        run; new best and bracket."""
        m = self.options.refine_points
        frac = np.arange(1, m + 1) / (m + 1)
        pts = t.lo[:, None] + (t.hi - t.lo)[:, None] * frac[None, :]
        live = t.hi != t.lo
        n_t = t.account.size
        vals = np.full(pts.shape, np.inf)
        if np.any(live):
            idx = np.repeat(np.flatnonzero(live), m)
            got = self.measure(t.account[idx], t.candidate[idx], pts[live].ravel())
            got = np.where(np.isnan(got), base[t.account[idx]], got)
            vals[live] = got.reshape(-1, m)
        if self.options.objective is Objective.TARGET:
            # lo = feasible best, hi = cheaper edge: walk from lo towards hi
            xs = np.concatenate((t.lo[:, None], pts, t.hi[:, None]), axis=1)
            vs = np.concatenate((t.v[:, None], vals, np.full((n_t, 1), np.inf)), axis=1)
            target = float(self.options.target_usd or 0.0)
            feasible = vs <= target
            feasible[:, -1] = False
            last = m - np.argmax(feasible[:, ::-1][:, 1:], axis=1)  # last feasible in 0..m
            rows = np.arange(n_t)
            t.q, t.v = xs[rows, last], vs[rows, last]
            t.lo, t.hi = t.q.copy(), np.where(live, xs[rows, last + 1], t.hi)
            return t
        xs = np.concatenate((t.lo[:, None], pts, t.hi[:, None], t.q[:, None]), axis=1)
        vs = np.concatenate((t.v_lo[:, None], vals, t.v_hi[:, None], t.v[:, None]), axis=1)
        order = np.argsort(xs, axis=1, kind="stable")
        xs = np.take_along_axis(xs, order, axis=1)
        vs = np.take_along_axis(vs, order, axis=1)
        cs = self.costs.cost(np.repeat(t.candidate, xs.shape[1]), xs.ravel()).reshape(xs.shape)
        k = np.argmin(self._row_rank(vs, cs), axis=1)
        rows = np.arange(n_t)
        last = xs.shape[1] - 1
        left, right = np.maximum(k - 1, 0), np.minimum(k + 1, last)
        return _Tracks(
            account=t.account,
            candidate=t.candidate,
            q=xs[rows, k],
            v=vs[rows, k],
            lo=xs[rows, left],
            v_lo=vs[rows, left],
            hi=xs[rows, right],
            v_hi=vs[rows, right],
        )

    def _row_rank(self, v: NDArray[np.float64], c: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rank within each row (MIN_MARGIN: measure, ties by cost)."""
        order = np.lexsort((c, v), axis=-1)
        rank = np.empty(v.shape)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(v.shape[1]), v.shape), axis=1)
        return rank

    def _update(self, best: _Best, t: _Tracks, base: NDArray[np.float64]) -> None:
        """Keep, per account, the best refined track that is acceptable."""
        if t.account.size == 0:
            return
        cost = self.costs.cost(t.candidate, t.q)
        ok = self.accepts(t.v, base[t.account]) & (t.q != 0)
        rank = self._rank(t.v, cost)
        rank[~ok] = np.inf
        order = np.lexsort((rank, t.account))
        acc = t.account[order]
        first = np.ones(acc.size, dtype=bool)
        first[1:] = acc[1:] != acc[:-1]
        top = order[first]
        top = top[np.isfinite(rank[top])]
        a = t.account[top]
        best.candidate[a] = t.candidate[top]
        best.quantity[a] = t.q[top]
        best.value[a] = t.v[top]
        best.cost[a] = cost[top]


@dataclass(slots=True, kw_only=True, eq=False)
class _Tracks:
    """Trades being refined: account, candidate, best size and measure, bracket."""

    account: NDArray[np.intp]
    candidate: NDArray[np.intp]
    q: NDArray[np.float64]
    v: NDArray[np.float64]
    lo: NDArray[np.float64]
    v_lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    v_hi: NDArray[np.float64]


def _suggestions(
    book: Book,
    errors: Any,
    best: _Best,
    costs: TradeCosts,
    margins: tuple[NDArray[np.float64], ...],
    opts: HedgeOptions,
) -> tuple[HedgeSuggestion, ...]:
    im0, mm0, im1, mm1 = margins
    measure_before = im0 if opts.measure is Measure.IM else mm0
    measure_after = im1 if opts.measure is Measure.IM else mm1
    has = best.candidate >= 0
    col = best.candidate[has]
    q = np.where(has, best.quantity, 0.0)
    premium, crossing = np.zeros(q.size), np.zeros(q.size)
    premium[has] = costs.premium[col] * q[has] + 0.0  # no -0.0 for delta-one sales
    crossing[has] = costs.crossing[col] * np.abs(q[has])
    target = opts.target_usd
    out = []
    for a, account in enumerate(book.accounts):
        error = errors.get(account)
        after = float(measure_after[a])
        out.append(
            HedgeSuggestion(
                account=account,
                instrument=costs.instruments[int(best.candidate[a])].name if has[a] else None,
                quantity=float(q[a]),
                premium_usd=float(premium[a]),
                crossing_usd=float(crossing[a]),
                cost_usd=float(premium[a] + crossing[a]),
                im_before_usd=float(im0[a]),
                mm_before_usd=float(mm0[a]),
                im_after_usd=float(im1[a]),
                mm_after_usd=float(mm1[a]),
                reduction_usd=float(measure_before[a] - after) if error is None else math.nan,
                meets_target=None if target is None or error else bool(after <= target),
                error=error,
            )
        )
    return tuple(out)
