"""Liquidation price solver (``lifecycle.md`` §8): the underlying prices at which equity falls
to maintenance margin, for every account of a set of holdings at once.

``g(x) = E(x) - MM(x)`` with every underlying ``u`` of the direction at ``S_u0 (1 + d_u x)``
(:func:`~portmargin.risk.moved_market`: sticky strike, no time decay), equity from
:func:`~portmargin.lifecycle.account_values` and MM from the margining, both recomputed in full.
Each side is searched on the grid ``x_k = ±k·0.005`` up to ``-0.99`` / ``+10.0``: one valuation
and one margining call per grid point over the accounts not yet bracketed, stopping when none
is left. Each bracket is then refined to ``|Δx| < 1e-10`` by Brent's method on the account
alone, on the market restricted to what it holds (the two grid values are reused).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from portmargin.core import PortmarginError, ValidationError
from portmargin.lifecycle._collateral import CollateralScope
from portmargin.lifecycle._daily_vol import DailyVolatility, daily_volatility
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._liq_rows import (
    SolverRows,
    evaluate,
    restricted_market,
    solver_rows,
)
from portmargin.lifecycle._params import LifecycleParams
from portmargin.lifecycle._requirements import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, moved_market, resolve_instruments

__all__ = [
    "GRID_STEP",
    "MAX_DOWN",
    "MAX_UP",
    "X_TOLERANCE",
    "LiquidationPrices",
    "LiquidationSide",
    "liquidation_prices",
]

GRID_STEP = 0.005
"""Spacing of the search grid in ``x`` (relative move along the direction)."""
MAX_DOWN = 0.99
"""The down side is searched to ``x = -0.99``."""
MAX_UP = 10.0
"""The up side is searched to ``x = +10``."""
X_TOLERANCE = 1e-10
"""Brent stops when the bracket is narrower than this, in ``x``."""
MAX_ITERATIONS = 100
"""Most Brent iterations per root."""
_MIN_FACTOR = 0.01
"""No price is moved below 1 % of its current value (``1 + d_u x >= 0.01``)."""


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LiquidationSide:
    """The nearest liquidation point on one side (prices down or up) of every row.

    Attributes
    ----------
    x
        Relative move along the direction at the root (``< 0`` down, ``> 0`` up; 0 for rows
        already below MM), shape ``(n,)``; NaN where not reachable or in error.
    prices
        Price of each underlying of the direction at the root, ``S_u0 (1 + d_u x)``, USD per
        coin, shape ``(n, k)``; NaN where ``x`` is.
    reachable
        True where a root was found within the searched range, shape ``(n,)``.
    equity, maintenance_margin
        ``E`` and ``MM`` at the root in the row's currency, shape ``(n,)``; equal within the
        root's tolerance.
    distance_pct
        ``100 x``: the move of each underlying with ``d_u = 1``, percent, shape ``(n,)``.
    distance_sigma
        ``ln(1 + d_u x) / sigma_u``: the log move of each underlying in standard deviations
        of its daily log returns, shape ``(n, k)`` (negative down); NaN without ``sigma_u``.
    evaluations
        Evaluations of ``g`` by Brent's method for the row (beyond the grid), shape ``(n,)``.
    """

    x: NDArray[np.float64]
    prices: NDArray[np.float64]
    reachable: NDArray[np.bool_]
    equity: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    distance_pct: NDArray[np.float64]
    distance_sigma: NDArray[np.float64]
    evaluations: NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LiquidationPrices:
    """Liquidation prices of every account (or sub-account) of a set of holdings.

    Rows are accounts in ``multi`` collateral scope (equity and requirement in USD) and
    ``(account, settlement currency)`` sub-accounts in ``segregated`` scope (both in that
    currency). Rows in ``errors`` have NaN figures and nothing reachable.

    Attributes
    ----------
    labels
        Row ids, shape ``(n,)``: the account (``multi``), ``account/CCY`` (``segregated``).
    accounts, currency
        Account id and currency of the row's figures (``"USD"`` in ``multi`` scope), ``(n,)``.
    underlyings, direction, current_prices
        The underlyings moved, their ``d_u`` and index prices now (USD), shape ``(k,)``.
    equity, maintenance_margin
        ``E`` and ``MM`` now, row currency, shape ``(n,)``.
    liquidatable
        ``E < MM`` now: both sides are the current prices, shape ``(n,)``.
    down, up
        :class:`LiquidationSide` for falling (``x < 0``) and rising (``x > 0``) prices.
    volatility
        Daily volatility of each underlying and its source.
    margining
        Name of the requirement model.
    scope
        Collateral scope of the rows.
    params_version
        Version of the lifecycle parameters (haircuts) equity was valued with.
    grid_calls
        Valuation and margining calls made over the grid (both sides and ``x = 0``).
    errors
        Row label → reason (the row could not be valued, margined or solved).
    """

    labels: tuple[str, ...]
    accounts: tuple[str, ...]
    currency: tuple[str, ...]
    underlyings: tuple[str, ...]
    direction: NDArray[np.float64]
    current_prices: NDArray[np.float64]
    equity: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    liquidatable: NDArray[np.bool_]
    down: LiquidationSide
    up: LiquidationSide
    volatility: DailyVolatility
    margining: str
    scope: CollateralScope
    params_version: str
    grid_calls: int
    errors: Mapping[str, str] = field(default_factory=_no_errors)


@dataclass(frozen=True, slots=True)
class _Direction:
    underlyings: tuple[str, ...]
    d: NDArray[np.float64]

    def moves(self, x: float) -> dict[str, float]:
        return {u: float(d * x) for u, d in zip(self.underlyings, self.d.tolist(), strict=True)}

    def limit(self, side: int) -> float:
        """Largest ``|x|`` searched on ``side`` (-1 down, +1 up)."""
        towards_zero = self.d * side < 0  # prices that fall when x moves to this side
        cap = MAX_DOWN if side < 0 else MAX_UP
        if np.any(towards_zero):
            cap = min(cap, (1.0 - _MIN_FACTOR) / float(np.max(np.abs(self.d[towards_zero]))))
        return cap


def _direction(
    direction: Mapping[str, float] | None, holdings: Holdings, market: MarketSnapshot
) -> _Direction:
    if direction is None:
        held = {str(u) for u in resolve_instruments(holdings.book.instruments, market).underlying}
        picked = sorted(u for u in held if u in market.index_prices and u not in STABLECOINS)
        if not picked:
            raise ValidationError(
                "direction", None, "holdings exposed to an underlying with an index price"
            )
        return _Direction(underlyings=tuple(picked), d=np.ones(len(picked)))
    if not isinstance(direction, Mapping):
        raise ValidationError("direction", direction, 'a mapping underlying → d_u, e.g. {"BTC": 1}')
    items: list[tuple[str, float]] = []
    for u, d in sorted(direction.items()):
        if u not in market.index_prices:
            expected = f"an underlying with an index price {sorted(market.index_prices)}"
            raise ValidationError("direction", u, expected)
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d):
            raise ValidationError(f"direction[{u!r}]", d, "a finite number")
        if d != 0:
            items.append((u, float(d)))
    if not items:
        raise ValidationError("direction", dict(direction), "at least one non-zero d_u")
    return _Direction(underlyings=tuple(u for u, _ in items), d=np.array([d for _, d in items]))


@dataclass(slots=True)
class _Side:
    """Mutable per-row solution of one side while it is being solved."""

    x: NDArray[np.float64]
    equity: NDArray[np.float64]
    mm: NDArray[np.float64]
    evaluations: NDArray[np.int64]

    @classmethod
    def empty(cls, n: int) -> _Side:
        return cls(
            x=np.full(n, np.nan),
            equity=np.full(n, np.nan),
            mm=np.full(n, np.nan),
            evaluations=np.zeros(n, dtype=np.int64),
        )


@dataclass(slots=True)
class _Bracket:
    """Per-row bracket ``[lo, hi]`` of one side: ``g(lo) >= 0 > g(hi)`` (NaN: none)."""

    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    g_lo: NDArray[np.float64]
    g_hi: NDArray[np.float64]


def _search_grid(
    rows: SolverRows,
    market: MarketSnapshot,
    run: tuple[Margining, _Direction, int],
    start: tuple[NDArray[np.bool_], NDArray[np.float64]],
    errors: dict[int, str],
) -> tuple[_Bracket, int]:
    """First sign change of ``g`` on the grid of one side for the rows ``start[0]`` (whose
    ``g(0)`` is ``start[1]``); rows failing at a grid point go to ``errors``."""
    margining, direction, side = run
    n = start[0].size
    prev_g = start[1].copy()
    bracket = _Bracket(*(np.full(n, np.nan) for _ in range(4)))
    steps = math.floor(direction.limit(side) / GRID_STEP + 1e-9)
    calls = 0
    sub: SolverRows | None = None
    idx = np.flatnonzero(start[0])
    base = market
    restricted_for = 0
    for k in range(1, steps + 1):
        if idx.size == 0:
            break
        if sub is None:
            sub = rows.subset(idx)
            if 2 * idx.size <= restricted_for or restricted_for == 0:
                base = restricted_market(market, sub.holdings.book.instruments)
                restricted_for = idx.size
        x = side * k * GRID_STEP
        ev = evaluate(sub, moved_market(base, direction.moves(x)), margining)
        calls += 1
        g = ev.buffer
        failed = np.zeros(idx.size, dtype=bool)
        for i, reason in ev.errors.items():
            errors[int(idx[i])] = f"at x = {x:+.3f}: {reason}"
            failed[i] = True
        hit = ~failed & (g < 0)
        rows_hit = idx[hit]
        bracket.lo[rows_hit] = side * (k - 1) * GRID_STEP
        bracket.hi[rows_hit] = x
        bracket.g_lo[rows_hit] = prev_g[rows_hit]
        bracket.g_hi[rows_hit] = g[hit]
        prev_g[idx] = g
        done = hit | failed
        if np.any(done):
            idx = idx[~done]
            sub = None
    return bracket, calls


def _refine(
    one: SolverRows,
    market: MarketSnapshot,
    run: tuple[Margining, _Direction],
    bracket: tuple[float, float, float, float],
) -> tuple[float, float, float, int]:
    """Root of ``g`` of the single row ``one`` in ``[lo, hi]`` by Brent's method.

    Returns ``(x, E, MM, evaluations)``. Raises :class:`PortmarginError` if ``g`` cannot be
    evaluated or Brent does not converge.
    """
    margining, direction = run
    lo, hi, g_lo, g_hi = bracket
    known: dict[float, tuple[float, float, float]] = {
        lo: (g_lo, math.nan, math.nan),
        hi: (g_hi, math.nan, math.nan),
    }
    base = restricted_market(market, one.holdings.book.instruments)
    count = 0

    def value(x: float) -> tuple[float, float, float]:
        nonlocal count
        ev = evaluate(one, moved_market(base, direction.moves(x)), margining)
        count += 1
        if ev.errors:
            raise PortmarginError(f"at x = {x:+.10f}: {ev.errors[0]}")
        return float(ev.buffer[0]), float(ev.equity[0]), float(ev.maintenance_margin[0])

    def g(x: float) -> float:
        if x not in known:
            known[x] = value(x)
        return known[x][0]

    root, result = brentq(
        g, lo, hi, xtol=X_TOLERANCE, maxiter=MAX_ITERATIONS, full_output=True, disp=False
    )
    if not result.converged:
        raise PortmarginError(f"Brent's method did not converge in {MAX_ITERATIONS} iterations")
    root = float(root)
    _, e, mm = known[root]
    if math.isnan(e):
        known[root] = value(root)
        _, e, mm = known[root]
    return root, e, mm, count


def liquidation_prices(
    holdings: Holdings,
    market: MarketSnapshot,
    margining: Margining,
    params: LifecycleParams,
    direction: Mapping[str, float] | None = None,
) -> LiquidationPrices:
    """Liquidation prices of every account of ``holdings`` (``lifecycle.md`` §8).

    Parameters
    ----------
    holdings
        Accounts, balances and the reference prices of their futures.
    market
        The market now; its daily ``history`` (if any) gives the volatility of each
        underlying for distances in standard deviations.
    margining
        The requirement model (MM is recomputed in full at every trial market).
    params
        Lifecycle parameters: ``params.collateral`` values equity (haircuts, scope).
    direction
        Underlying → ``d_u``: prices move as ``S_u0 (1 + d_u x)``. ``{"BTC": 1}`` moves BTC
        alone; ``None`` (default) moves every underlying the holdings are exposed to (index
        price in ``market``, not a stablecoin) uniformly. The search stops where a price
        would fall below 1 % of its current value.

    Returns
    -------
    LiquidationPrices
        Per row: the nearest root on each side, prices, ``E`` and ``MM`` there and the
        distances; rows already below MM get the current prices on both sides.

    Raises
    ------
    ValidationError
        A bad ``direction``, or none and no underlying of the holdings has an index price.
    """
    d = _direction(direction, holdings, market)
    rows, account_errors = solver_rows(holdings, market, params.collateral)
    n = len(rows.labels)
    errors: dict[int, str] = {}
    now = evaluate(rows, market, margining) if n else None
    equity = now.equity if now is not None else np.zeros(0)
    mm = now.maintenance_margin if now is not None else np.zeros(0)
    if now is not None:
        errors.update(now.errors)
    g0 = equity - mm
    liquidatable = np.isfinite(g0) & (g0 < 0)
    start = np.isfinite(g0) & ~liquidatable
    calls = 1 if n else 0
    sides = {}
    for side in (-1, 1):
        ok = start.copy()
        ok[list(errors)] = False
        bracket, side_calls = _search_grid(rows, market, (margining, d, side), (ok, g0), errors)
        calls += side_calls
        sides[side] = _solve_side(rows, market, (margining, d), bracket, errors)
    bad = np.zeros(n, dtype=bool)
    bad[list(errors)] = True
    for s in sides.values():
        s.x[liquidatable & ~bad] = 0.0
        s.equity[liquidatable] = equity[liquidatable]
        s.mm[liquidatable] = mm[liquidatable]
        s.x[bad] = np.nan
    vol = daily_volatility(market, d.underlyings)
    current = np.array([market.index(u) for u in d.underlyings])
    by_label = {rows.labels[i]: reason for i, reason in sorted(errors.items())}
    return LiquidationPrices(
        labels=(*rows.labels, *account_errors),
        accounts=(*rows.accounts, *account_errors),
        currency=(*rows.currency, *("",) * len(account_errors)),
        underlyings=d.underlyings,
        direction=d.d,
        current_prices=current,
        equity=_padded(np.where(bad, np.nan, equity), len(account_errors)),
        maintenance_margin=_padded(np.where(bad, np.nan, mm), len(account_errors)),
        liquidatable=np.concatenate([liquidatable & ~bad, np.zeros(len(account_errors), bool)]),
        down=_finished(sides[-1], d, current, vol, len(account_errors)),
        up=_finished(sides[1], d, current, vol, len(account_errors)),
        volatility=vol,
        margining=margining.name,
        scope=params.collateral.scope,
        params_version=params.version,
        grid_calls=calls,
        errors=MappingProxyType({**by_label, **account_errors}),
    )


def _solve_side(
    rows: SolverRows,
    market: MarketSnapshot,
    run: tuple[Margining, _Direction],
    bracket: _Bracket,
    errors: dict[int, str],
) -> _Side:
    """Refine every bracket of one side (rows that fail go to ``errors``)."""
    side = _Side.empty(len(rows.labels))
    for i in np.flatnonzero(np.isfinite(bracket.lo)).tolist():
        b = (bracket.lo[i], bracket.hi[i], bracket.g_lo[i], bracket.g_hi[i])
        try:
            x, e, mm, count = _refine(rows.subset(np.array([i])), market, run, b)
        except PortmarginError as exc:
            errors[i] = str(exc)
            continue
        side.x[i], side.equity[i], side.mm[i], side.evaluations[i] = x, e, mm, count
    return side


def _padded(values: NDArray[np.float64], extra: int, fill: float = np.nan) -> NDArray[np.float64]:
    pad = np.full((extra, *values.shape[1:]), fill)
    result: NDArray[np.float64] = np.concatenate([values, pad])
    return result


def _finished(
    side: _Side,
    direction: _Direction,
    current: NDArray[np.float64],
    vol: DailyVolatility,
    extra: int,
) -> LiquidationSide:
    x = side.x
    factor = 1.0 + np.outer(x, direction.d)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigmas = np.log(factor) / vol.sigma
    return LiquidationSide(
        x=_padded(x, extra),
        prices=_padded(current * factor, extra),
        reachable=np.concatenate([np.isfinite(x), np.zeros(extra, dtype=bool)]),
        equity=_padded(np.where(np.isfinite(x), side.equity, np.nan), extra),
        maintenance_margin=_padded(np.where(np.isfinite(x), side.mm, np.nan), extra),
        distance_pct=_padded(100.0 * x, extra),
        distance_sigma=_padded(sigmas, extra),
        evaluations=np.concatenate([side.evaluations, np.zeros(extra, dtype=np.int64)]),
    )
