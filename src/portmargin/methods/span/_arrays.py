"""Per-contract SPAN inputs of one combined commodity: risk arrays, composite deltas, tiers.

Everything here depends on the instruments and the market only (one row per contract), never
on the accounts; ``_statement`` aggregates accounts with sparse products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.instruments import Future
from portmargin.market import MarketSnapshot
from portmargin.methods.span._params import (
    CombinedCommodity,
    PriceScanMode,
    SpanDefaults,
    VolScanMode,
    settlement_key,
)
from portmargin.pricing import black76
from portmargin.risk import STABLECOINS, InstrumentTable, Kind, build_risk_array, unit_values
from portmargin.scenarios import Scenario, ScenarioSet, VolShockLaw, VolShockMode

__all__ = [
    "PAIRED",
    "PRICE_POINTS",
    "SCENARIO_LABELS",
    "VOL_POINTS",
    "CCArrays",
    "cc_arrays",
    "reference_price",
    "tier_of",
]

FloatArray = NDArray[np.float64]
DAYS_PER_YEAR = 365.0
TERM_DAYS = 30.0
"""Reference tenor of the vol scan term factor ``(30 / max(DTE, 1)) ** term_power``."""

PRICE_POINTS = np.array(
    [0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 3, 3, -3, -3, 0, 0], dtype=np.float64
) / np.array([1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1], dtype=np.float64)
"""Price move of scenarios 1-14 in multiples of the PSR (15/16: ``+X`` / ``-X``, set per CC)."""
VOL_POINTS = np.array([1, -1] * 7 + [0, 0], dtype=np.float64)
"""Vol move of the 16 scenarios in multiples of the VSR."""
PAIRED = 14
"""Scenarios 1-14 come in pairs (same price move, opposite vol move); 15 and 16 do not."""
SCENARIO_LABELS = (
    "1 (price 0, vol up)",
    "2 (price 0, vol down)",
    "3 (price +1/3, vol up)",
    "4 (price +1/3, vol down)",
    "5 (price -1/3, vol up)",
    "6 (price -1/3, vol down)",
    "7 (price +2/3, vol up)",
    "8 (price +2/3, vol down)",
    "9 (price -2/3, vol up)",
    "10 (price -2/3, vol down)",
    "11 (price +1, vol up)",
    "12 (price +1, vol down)",
    "13 (price -1, vol up)",
    "14 (price -1, vol down)",
    "15 (extreme up, cover fraction)",
    "16 (extreme down, cover fraction)",
)
"""Scenario number and move, in multiples of the price and vol scan ranges."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CCArrays:
    """Per-contract inputs of one combined commodity, ``c`` contracts.

    Amounts are in the CC's money: USD for a stablecoin-settled CC, coin for a coin-settled
    one, per unit held (one coin of underlying; positions are held in coins).

    Attributes
    ----------
    cc
        The combined commodity.
    columns
        Book columns of its contracts, shape ``(c,)``.
    coin
        True for a coin-settled CC.
    f_ref
        ``F_ref``, USD per coin.
    unit_ref
        ``F_ref`` in the CC's money per underlying unit (``F_ref`` in a USD CC, 1 coin in a
        coin CC): ``rate_fraction x unit_ref`` is the rate in money.
    psr_unit
        Money of one full price scan per underlying unit (§8 ``PSR_unit``).
    risk
        Risk array, shape ``(c, 16)``: loss of one long unit, weight included (rows 15/16
        already x the cover fraction); loss > 0.
    delta
        Composite delta per unit x ``delta_scaling_factor``, underlying units, shape ``(c,)``.
    value
        ``V_0`` per unit of options (model value at the mark's vol), 0 for other contracts.
    is_option, is_call
        Masks, shape ``(c,)``.
    past_expiry
        Options whose expiry is at or before the valuation time, shape ``(c,)``: valued at
        intrinsic on the index, their risk array the intrinsic value under each price move
        (no time value, no vol sensitivity), their composite delta the intrinsic step.
    tier
        Tier index per contract (0 = perpetual tier), shape ``(c,)``.
    expiry
        Index into ``expiry_dte`` per contract, -1 without expiry, shape ``(c,)``.
    expiry_dte, expiry_tier
        DTE (fractional days) and tier index of each distinct expiry, ascending DTE, shape
        ``(e,)``.
    """

    cc: CombinedCommodity
    columns: NDArray[np.intp]
    coin: bool
    f_ref: float
    unit_ref: float
    psr_unit: float
    risk: FloatArray
    delta: FloatArray
    value: FloatArray
    is_option: NDArray[np.bool_]
    is_call: NDArray[np.bool_]
    past_expiry: NDArray[np.bool_]
    tier: NDArray[np.intp]
    expiry: NDArray[np.intp]
    expiry_dte: FloatArray
    expiry_tier: NDArray[np.intp]


def reference_price(cc: CombinedCommodity, market: MarketSnapshot) -> float:
    """``F_ref`` of ``cc``, USD per coin: ``reference_price`` when given, else the mark of the
    nearest future of the underlying outside the spot month (``DTE > spot.window_days``),
    else the index.

    Raises
    ------
    MarketDataError
        If the market has no index for the underlying and the pack no reference price.
    """
    if cc.reference_price is not None:
        return cc.reference_price
    window_ms = cc.spot.window_days * 86_400_000.0
    futures = sorted(
        (q.instrument.expiry_ms, q.mark_price)
        for q in market.futures.values()
        if isinstance(q.instrument, Future)
        and q.instrument.underlying == cc.underlying
        and q.instrument.expiry_ms - market.valuation_ms > window_ms
    )
    if futures:
        return float(futures[0][1])
    return market.index(cc.underlying)


def _relative_moves(
    cc: CombinedCommodity,
    forward: FloatArray,
    points: FloatArray,
    f_ref: float,
    coin: bool,
    floor: float,
) -> FloatArray:
    """Relative scenario move ``F_s / F - 1`` of every contract at price ``points`` (multiples
    of the PSR), after the price floor, shape ``(c, p)`` (§4 step 1)."""
    scan = cc.price_scan
    if scan.mode is PriceScanMode.FRACTION:
        rel = np.broadcast_to(points[None, :] * scan.value, (forward.size, points.size))
    else:
        # points: USD per coin; per_contract: CC money per contract of 1 coin, converted to a
        # USD price move at F_ref in a coin-settled CC
        usd = scan.value * (f_ref if coin and scan.mode is PriceScanMode.PER_CONTRACT else 1.0)
        rel = points[None, :] * usd / forward[:, None]
    result: FloatArray = np.maximum(rel, floor - 1.0)
    return result


def _vol_law(cc: CombinedCommodity, min_vol: float) -> VolShockLaw:
    power = cc.vol_scan.term_power
    mode = (
        VolShockMode.ABSOLUTE if cc.vol_scan.mode is VolScanMode.ABSOLUTE else VolShockMode.RELATIVE
    )
    return VolShockLaw(
        short_term_power=power,
        long_term_power=power,
        boundary_days=TERM_DAYS,
        dte_floor_days=1.0,
        min_vol=min_vol,
        mode=mode,
    )


def _scenario_set(
    name: str, moves: FloatArray, vols: FloatArray, law: VolShockLaw, days: float, first: int
) -> ScenarioSet:
    return ScenarioSet(
        name=name,
        scenarios=tuple(
            Scenario(
                label=SCENARIO_LABELS[first + i],
                spot_shock=float(m),
                vol_shock=float(v),
                time_shift_days=days,
            )
            for i, (m, v) in enumerate(zip(moves.tolist(), vols.tolist(), strict=True))
        ),
        vol_law=law,
    )


def _risk(
    table: InstrumentTable,
    cc: CombinedCommodity,
    defaults: SpanDefaults,
    moves: FloatArray,
) -> FloatArray:
    """Weighted loss per long unit, shape ``(c, 16)``: ``-w_s x P&L_s`` of
    :func:`portmargin.risk.build_risk_array`, one call per distinct row of relative moves
    (one in fraction mode; one per contract price in points / per-contract mode). Scenarios
    1-14 floor their vols at ``min_vol``; 15/16 keep the vol (§4 step 2)."""
    vols = VOL_POINTS * cc.vol_scan.value
    scan_law = _vol_law(cc, defaults.min_vol)
    extreme_law = _vol_law(cc, 0.0)
    days = defaults.lookahead_days
    weights = np.r_[np.ones(PAIRED), np.full(2, cc.cover(defaults))]
    pnl = np.zeros(moves.shape)
    unique, group = np.unique(moves, axis=0, return_inverse=True)
    for g, row in enumerate(unique):
        rows = np.flatnonzero(group.ravel() == g)
        sub = table.take(rows)
        scan = _scenario_set(cc.id, row[:PAIRED], vols[:PAIRED], scan_law, days, 0)
        extreme = _scenario_set(cc.id, row[PAIRED:], vols[PAIRED:], extreme_law, days, PAIRED)
        pnl[rows, :PAIRED] = build_risk_array(sub, scan).pnl
        pnl[rows, PAIRED:] = build_risk_array(sub, extreme).pnl
    result: FloatArray = -weights[None, :] * pnl
    return result


def _composite_delta(
    table: InstrumentTable, defaults: SpanDefaults, moves: FloatArray
) -> FloatArray:
    """Weighted model delta over the delta points (§6), per unit: options at their vol and
    ``T - lookahead``; inverse options their coin delta ``N(d1) - V_coin``; others 1."""
    delta = np.ones(len(table))
    opt = np.flatnonzero(table.is_option)
    if opt.size == 0:
        return delta
    F = table.forward[opt, None] * (1.0 + moves[opt])
    T = table.tau[opt]
    T_s = np.maximum(T - defaults.lookahead_days / DAYS_PER_YEAR, 0.0)
    D = table.df[opt]
    D_s = np.where(T > 0, D ** (T_s / np.where(T > 0, T, 1.0)), 1.0)[:, None]
    args = (table.strike[opt, None], T_s[:, None], table.sigma[opt, None])
    call = table.is_call[opt, None]
    d = black76.greeks(F, *args, call, D_s, allow_expired=True)["delta"]
    inverse = table.inverse[opt, None]
    coin_value = black76.price(F, *args, call, D_s, allow_expired=True) / F
    d = np.where(inverse, d - coin_value, d)
    w = np.asarray(defaults.delta_weights, dtype=np.float64)
    delta[opt] = d @ (w / w.sum())
    return delta


def tier_of(cc: CombinedCommodity, table: InstrumentTable) -> NDArray[np.intp]:
    """Tier index of every row of ``table`` in ``cc`` (0: spot and perpetuals; dated
    contracts by ``floor(max(DTE, 0))``), -1 where no tier covers the DTE."""
    day = np.floor(np.maximum(table.tau * DAYS_PER_YEAR, 0.0) + 1e-9)
    tier = np.full(len(table), -1, dtype=np.intp)
    dated = (table.kind == Kind.FUTURE) | (table.kind == Kind.OPTION)
    tier[~dated] = 0
    for k, t in enumerate(cc.dated_tiers, start=1):
        hi = np.inf if t.max_dte is None else t.max_dte
        tier[dated & (day >= (t.min_dte or 0)) & (day <= hi)] = k
    return tier


def cc_arrays(
    cc: CombinedCommodity,
    defaults: SpanDefaults,
    table: InstrumentTable,
    columns: NDArray[np.intp],
    f_ref: float,
) -> CCArrays:
    """Per-contract inputs of ``cc`` for the book ``columns`` (rows of ``table``).

    Parameters
    ----------
    cc, defaults
        Parameters of the CC and the method-wide settings.
    table
        Resolved instruments of the whole book (options' ``sigma`` = the vol of their mark).
    columns
        The CC's contracts, each with a tier (:func:`tier_of` >= 0).
    f_ref
        ``F_ref`` of the CC, USD per coin (:func:`reference_price`).
    """
    sub = table.take(columns)
    coin = settlement_key(cc.settlement_currency) not in STABLECOINS
    unit_ref = 1.0 if coin else f_ref
    x = cc.multiplier(defaults)
    points = PRICE_POINTS.copy()
    points[PAIRED:] = (x, -x)
    floor = defaults.price_floor_fraction
    moves = _relative_moves(cc, sub.forward, points, f_ref, coin, floor)
    delta_points = np.asarray(defaults.delta_points, dtype=np.float64)
    delta_moves = _relative_moves(cc, sub.forward, delta_points, f_ref, coin, floor)
    scan = cc.price_scan
    if scan.mode is PriceScanMode.FRACTION:
        psr_unit = scan.value * unit_ref
    elif scan.mode is PriceScanMode.PER_CONTRACT:
        psr_unit = scan.value / (scan.ref_multiplier or 1.0)
    else:
        psr_unit = scan.value / f_ref if coin else scan.value
    value = np.where(sub.is_option, unit_values(sub), 0.0)
    tier = tier_of(cc, sub)
    dated = np.flatnonzero(sub.expiry_ms > 0)
    expiries, first = np.unique(sub.expiry_ms[dated], return_index=True)
    expiry = np.full(len(sub), -1, dtype=np.intp)
    expiry[dated] = np.searchsorted(expiries, sub.expiry_ms[dated])
    rows = dated[first]
    return CCArrays(
        cc=cc,
        columns=np.asarray(columns, dtype=np.intp),
        coin=coin,
        f_ref=f_ref,
        unit_ref=unit_ref,
        psr_unit=psr_unit,
        risk=_risk(sub, cc, defaults, moves),
        delta=_composite_delta(sub, defaults, delta_moves) * cc.delta_scaling_factor,
        value=value,
        is_option=sub.is_option,
        is_call=sub.is_call,
        past_expiry=sub.past_expiry,
        tier=tier,
        expiry=expiry,
        expiry_dte=sub.tau[rows] * DAYS_PER_YEAR,
        expiry_tier=tier[rows],
    )
