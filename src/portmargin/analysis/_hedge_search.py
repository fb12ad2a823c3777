"""The batched search of one trade leg per account: a grid of sizes of every candidate for
every account margined as rows of one book, then finer grids around the best, then the
chosen trades margined applied to their accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.analysis._hedge_candidates import TradeCosts, underlying_of
from portmargin.analysis._hedge_options import HedgeOptions, Measure, Objective
from portmargin.analysis._hedge_rows import TradeRows
from portmargin.instruments import Future, Instrument, Option, Perpetual, Settlement
from portmargin.lifecycle import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["Leg", "search_leg"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Leg:
    """The outcome of one leg's search over a book.

    Attributes
    ----------
    im_before, mm_before
        Requirements of the book's accounts, USD, shape ``(n,)``; NaN for ``errors``.
    errors
        Account → why it could not be margined.
    candidate
        Index of the candidate traded per account (-1: no trade), shape ``(n,)``.
    quantity
        Coins traded (> 0 buys; 0 without a trade), shape ``(n,)``.
    im_after, mm_after
        Requirements with the trade applied (the engine's run of the applied trades; equal
        to before without a trade), USD, shape ``(n,)``.
    rows_margined, runs
        Trade rows margined and engine runs over them.
    """

    im_before: NDArray[np.float64]
    mm_before: NDArray[np.float64]
    errors: Mapping[str, str]
    candidate: NDArray[np.intp]
    quantity: NDArray[np.float64]
    im_after: NDArray[np.float64]
    mm_after: NDArray[np.float64]
    rows_margined: int
    runs: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LegSearch:
    """What one leg's search runs on: margining, market, candidates and their costs."""

    margining: Margining
    market: MarketSnapshot
    candidates: Sequence[Instrument]
    costs: TradeCosts
    auto: bool


def search_leg(
    on: LegSearch,
    book: Book,
    options: HedgeOptions,
    budget: NDArray[np.float64],
    exclude: NDArray[np.intp] | None = None,
) -> Leg:
    """The best trade in one candidate per account of ``book`` (``budget`` USD per account,
    ``inf`` for none; ``exclude[a]``: a candidate account ``a`` may not trade, -1 none).

    A trade is kept only if the engine's margin of the account with it applied is accepted:
    below the account's own (``MIN_MARGIN``) or at or under the target while the account's
    own is above it (``TARGET``).
    """
    rows = TradeRows(
        margining=on.margining,
        book=book,
        market=on.market,
        candidates=on.candidates,
        max_rows=options.max_rows,
    )
    search = _Search(rows=rows, costs=on.costs, options=options, budget=budget)
    before = on.margining.requirements(book, on.market)
    im0, mm0 = before.initial_margin, before.maintenance_margin
    base = im0 if options.measure is Measure.IM else mm0
    pairs = _pairs(book, on.market, on.candidates, on.auto, np.isfinite(base))
    if exclude is not None:
        keep = pairs.candidate != exclude[pairs.account]
        pairs = _Pairs(
            account=pairs.account[keep],
            candidate=pairs.candidate[keep],
            scale=pairs.scale[keep],
            held=pairs.held[keep],
        )
    best = search.run(base, pairs)
    traded = np.flatnonzero(best.candidate >= 0)
    im1, mm1 = im0.copy(), mm0.copy()
    if traded.size:
        rows_im, rows_mm = search.margins(traded, best.candidate[traded], best.quantity[traded])
        after = rows_im if options.measure is Measure.IM else rows_mm
        keep = search.accepts(after, base[traded])
        im1[traded[keep]], mm1[traded[keep]] = rows_im[keep], rows_mm[keep]
        best.candidate[traded[~keep]] = -1
        best.quantity[traded[~keep]] = 0.0
    return Leg(
        im_before=im0,
        mm_before=mm0,
        errors=before.errors,
        candidate=best.candidate,
        quantity=best.quantity,
        im_after=im1,
        mm_after=mm1,
        rows_margined=search.rows_margined,
        runs=search.runs,
    )


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
    searched: NDArray[np.bool_],
) -> _Pairs:
    """Which candidates each ``searched`` account tries, and its size scale: the account's
    gross notional (USD at the index) in coins of the candidate's underlying."""
    n, k = len(book.accounts), len(insts)
    col_u = [underlying_of(i) for i in book.instruments]
    usd = np.array([market.index_prices.get(u, 0.0) if u else 0.0 for u in col_u])
    held = abs(book.quantities)
    gross = np.asarray(held @ usd, dtype=np.float64)
    cand_u = [underlying_of(i) or "" for i in insts]
    index = np.array([market.index(u) for u in cand_u])
    tries = _relevant(book, insts, col_u, cand_u) if auto else np.ones((n, k), dtype=bool)
    tries &= (searched & (gross > 0))[:, None]
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
    """Best trade found per account: candidate (-1 none) and quantity (coins)."""

    candidate: NDArray[np.intp]
    quantity: NDArray[np.float64]


@dataclass(slots=True, kw_only=True, eq=False)
class _Search:
    """The grid search and its refinements; counts rows and runs."""

    rows: TradeRows
    costs: TradeCosts
    options: HedgeOptions
    budget: NDArray[np.float64]
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
        best = _Best(candidate=np.full(n, -1, dtype=np.intp), quantity=np.zeros(n))
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
        when it holds none); clipped to the account's budget and the size limit."""
        f = np.array(self.options.size_fractions)
        signed = np.concatenate((-f[::-1], [0.0], f))
        low, high = self.costs.limits(
            pairs.candidate, self.budget[pairs.account], self.options.max_quantity
        )
        q = np.concatenate((pairs.scale[:, None] * signed[None, :], -pairs.held[:, None]), axis=1)
        clipped = np.clip(q, low[:, None], high[:, None])
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
        sel = order[within < self.options.refine_top]
        jj = j[sel]
        g = q.shape[1]
        left, right = np.maximum(jj - 1, 0), np.minimum(jj + 1, g - 1)
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
