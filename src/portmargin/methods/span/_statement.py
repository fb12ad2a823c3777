"""The SPAN statement of every account: scan risk, spreads, spot charge, credits, SOM (§5-§9).

Accounts are rows of sparse products; the Python loops run over spread definitions, tiers
and expiries of the pack, never over accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.methods.span._arrays import PAIRED, CCArrays
from portmargin.methods.span._params import (
    InterSpread,
    IntraSpread,
    Side,
    SomMethod,
    SpreadMethod,
    WprMethod,
)

__all__ = ["CCStatement", "cc_statement", "inter_credits", "match_spreads"]

FloatArray = NDArray[np.float64]
_SNAP = 1e-12
"""Relative size below which a leg's remaining delta after a spread is exactly 0."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CCStatement:
    """One CC's statement lines for ``a`` accounts, in the CC's money (USD or coin).

    Attributes
    ----------
    arrays
        Per-contract inputs of the CC.
    held
        Accounts holding a position in the CC, shape ``(a,)``.
    loss
        Loss per scenario (``sum q x RA``), shape ``(a, 16)``; loss > 0.
    scan_risk
        ``max(0, max_s loss)``, shape ``(a,)``.
    active
        Active scenario, 0-based (lowest on ties), shape ``(a,)``.
    time_risk, price_risk, vol_risk
        Split of the scan risk (§5), shape ``(a,)``.
    tier_delta
        Net delta per tier index, underlying units, shape ``(a, n_tiers)``.
    intra_charge
        Intra-commodity spread charge, shape ``(a,)``.
    tier_remaining, tier_consumed
        Deltas left and consumed by intra spreads, shape ``(a, n_tiers)``.
    spot_charge
        Spot-month charge, shape ``(a,)``.
    net_delta
        ``D``, shape ``(a,)``.
    inter_delta
        Delta available to inter-commodity spreads (spot-month outright removed unless
        allowed), shape ``(a,)``.
    wpr_raw
        ``max(PriceRisk / |D|, 0)`` (0 where ``D = 0``), money per underlying unit.
    wpr
        Weighted price risk used by the credits, per ``wpr_method``.
    som
        Short option minimum, shape ``(a,)``.
    nov
        Net option value ``sum q x V_0``, shape ``(a,)``.
    past_expiry_value
        The part of ``nov`` of options past expiry (intrinsic value), shape ``(a,)``.
    """

    arrays: CCArrays
    held: NDArray[np.bool_]
    loss: FloatArray
    scan_risk: FloatArray
    active: NDArray[np.intp]
    time_risk: FloatArray
    price_risk: FloatArray
    vol_risk: FloatArray
    tier_delta: FloatArray
    intra_charge: FloatArray
    tier_remaining: FloatArray
    tier_consumed: FloatArray
    spot_charge: FloatArray
    net_delta: FloatArray
    inter_delta: FloatArray
    wpr_raw: FloatArray
    wpr: FloatArray
    som: FloatArray
    nov: FloatArray
    past_expiry_value: FloatArray


def _snap(values: FloatArray, scale: FloatArray) -> FloatArray:
    result: FloatArray = np.where(np.abs(values) <= _SNAP * (1.0 + np.abs(scale)), 0.0, values)
    return result


def match_spreads(
    remaining: FloatArray,
    legs: Sequence[tuple[NDArray[np.intp], NDArray[np.bool_], FloatArray]],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Form spreads in the given order (§7 and §8 share the matching rule).

    Parameters
    ----------
    remaining
        Delta per bucket (tier or CC) of every account, shape ``(a, b)``; not modified.
    legs
        Per spread definition, in processing order: bucket of each leg, whether it is an A
        leg, and its ratio (delta units per spread), shapes ``(l,)``.

    Returns
    -------
    tuple
        Spreads formed per definition ``(a, n_defs)``, the remaining deltas ``(a, b)`` and
        the delta consumed per bucket ``(a, b)``. A definition forms
        ``n = min_legs |rem| / ratio`` spreads where every leg has delta, the A legs one sign
        and the B legs the other; each leg's delta moves towards 0 by ``n x ratio``.
    """
    rem = remaining.copy()
    consumed = np.zeros_like(rem)
    counts = np.zeros((rem.shape[0], len(legs)))
    for k, (bucket, is_a, ratio) in enumerate(legs):
        r = rem[:, bucket]
        s = np.sign(r)
        lead = s[:, np.argmax(is_a)][:, None]
        ok = np.all(r != 0, axis=1)
        ok &= np.all(s[:, is_a] == lead, axis=1) & np.all(s[:, ~is_a] == -lead, axis=1)
        n = np.where(ok, np.min(np.abs(r) / ratio[None, :], axis=1), 0.0)
        used = n[:, None] * ratio[None, :]
        rem[:, bucket] = _snap(r - s * used, r)
        consumed[:, bucket] += used
        counts[:, k] = n
    return counts, rem, consumed


def _leg_arrays(
    spread: IntraSpread, tier_ids: Sequence[str]
) -> tuple[NDArray[np.intp], NDArray[np.bool_], FloatArray]:
    bucket = np.array([tier_ids.index(leg.tier) for leg in spread.legs], dtype=np.intp)
    is_a = np.array([leg.side is Side.A for leg in spread.legs], dtype=bool)
    return bucket, is_a, np.array([leg.ratio for leg in spread.legs])


def _intra_rate(spread: IntraSpread, bucket: NDArray[np.intp], unit_ref: float) -> float:
    base = spread.rate if spread.rate is not None else (spread.rate_fraction or 0.0) * unit_ref
    if spread.method is SpreadMethod.PER_TIER_DISTANCE:
        steps = int(bucket.max() - bucket.min()) - 1
        return base + spread.rate_per_step * steps
    return base


def _spot_charge(
    arrays: CCArrays, expiry_delta: FloatArray, consumed: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Spot-month charge and the outright spot-month delta per account (§7)."""
    cc = arrays.cc
    a = expiry_delta.shape[0]
    charge = np.zeros(a)
    outright_in_window = np.zeros(a)
    rate_consumed, rate_outright = cc.spot.rates(arrays.unit_ref)
    window = (arrays.expiry_dte > 0) & (arrays.expiry_dte <= cc.spot.window_days)
    if not window.any():
        return charge, outright_in_window
    for t in np.unique(arrays.expiry_tier[window]).tolist():
        left = consumed[:, t].copy()
        for e in np.flatnonzero(arrays.expiry_tier == t).tolist():  # ascending DTE
            size = np.abs(expiry_delta[:, e])
            taken = np.minimum(size, left)
            left -= taken
            if window[e]:
                outright = size - taken
                charge += rate_consumed * taken + rate_outright * outright
                outright_in_window += outright
    return charge, outright_in_window


def _indicator(
    rows: NDArray[np.intp], cols: NDArray[np.intp], weights: FloatArray, n: int
) -> sp.csr_array:
    """Sparse ``(len(rows), n)`` matrix with ``weights`` at ``(i, cols[i])`` for ``cols >= 0``."""
    keep = cols >= 0
    return sp.csr_array((weights[keep], (rows[keep], cols[keep])), shape=(len(cols), n))


def cc_statement(quantities: sp.csr_array, arrays: CCArrays) -> CCStatement:
    """Statement lines of one CC for every account.

    Parameters
    ----------
    quantities
        Positions in the CC's contracts, CSR ``(a, c)``, coins of underlying, > 0 long.
    arrays
        Per-contract inputs aligned with the columns of ``quantities``.
    """
    cc = arrays.cc
    q = quantities
    a, c = q.shape
    held = np.diff(q.indptr) > 0
    loss = np.asarray(q @ arrays.risk, dtype=np.float64).reshape(a, arrays.risk.shape[1])
    active = np.argmax(loss, axis=1).astype(np.intp)
    rows = np.arange(a)
    worst = loss[rows, active]
    scan = np.maximum(worst, 0.0)
    time_risk = 0.5 * (loss[:, 0] + loss[:, 1])
    paired = active < PAIRED
    partner = loss[rows, np.where(paired, active ^ 1, active)]
    price_risk = np.where(paired, 0.5 * (worst + partner), worst) - time_risk
    vol_risk = scan - price_risk - time_risk

    idx = np.arange(c)
    n_tiers = len(cc.tier_ids)
    tier_delta = np.asarray(q @ _indicator(idx, arrays.tier, arrays.delta, n_tiers).toarray())
    n_exp = arrays.expiry_dte.size
    expiry_delta = np.asarray(q @ _indicator(idx, arrays.expiry, arrays.delta, n_exp).toarray())
    spreads = cc.spreads()
    legs = [_leg_arrays(s, cc.tier_ids) for s in spreads]
    counts, remaining, consumed = match_spreads(tier_delta, legs)
    rates = np.array(
        [_intra_rate(s, b, arrays.unit_ref) for s, (b, _, _) in zip(spreads, legs, strict=True)]
    )
    intra = counts @ rates if rates.size else np.zeros(a)
    spot, outright = _spot_charge(arrays, expiry_delta, consumed)

    net = tier_delta.sum(axis=1)
    inter_delta = (
        net if cc.spot.allow_inter else np.sign(net) * np.maximum(np.abs(net) - outright, 0.0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(net != 0, np.maximum(price_risk / np.abs(net), 0.0), 0.0)
    unit = arrays.psr_unit
    if cc.wpr_method is WprMethod.NORMAL:
        wpr = raw
    elif cc.wpr_method is WprMethod.SCANRANGE:
        wpr = np.where(net != 0, unit, 0.0)
    else:
        wpr = np.minimum(raw, unit)

    short = -q.minimum(0)
    opt = arrays.is_option.astype(np.float64)
    short_calls = np.asarray(short @ (opt * arrays.is_call)).ravel()
    short_puts = np.asarray(short @ (opt * ~arrays.is_call)).ravel()
    rate = cc.som.money(arrays.unit_ref)
    if cc.som.method is SomMethod.GROSS:
        som = rate * (short_calls + short_puts)
    else:
        som = rate * np.maximum(short_calls, short_puts)
    return CCStatement(
        arrays=arrays,
        held=held,
        loss=loss,
        scan_risk=scan,
        active=active,
        time_risk=time_risk,
        price_risk=price_risk,
        vol_risk=vol_risk,
        tier_delta=tier_delta,
        intra_charge=intra,
        tier_remaining=remaining,
        tier_consumed=consumed,
        spot_charge=spot,
        net_delta=net,
        inter_delta=inter_delta,
        wpr_raw=raw,
        wpr=wpr,
        som=som,
        nov=np.asarray(q @ arrays.value).ravel(),
        past_expiry_value=np.asarray(q @ (arrays.value * arrays.past_expiry)).ravel(),
    )


def inter_credits(
    statements: Sequence[CCStatement], spreads: Sequence[InterSpread]
) -> tuple[FloatArray, FloatArray]:
    """Inter-commodity credits of every CC (§8), capped at its scan risk.

    Parameters
    ----------
    statements
        One statement per CC of the book, same accounts.
    spreads
        The pack's inter-commodity spreads (legs on CCs without a statement never form).

    Returns
    -------
    tuple
        Credits ``(a, n_cc)`` in each CC's money, and spreads formed ``(a, n_spreads)`` in
        processing order (ascending priority).
    """
    a = statements[0].scan_risk.size if statements else 0
    ids = [s.arrays.cc.id for s in statements]
    ordered = [
        sd
        for sd in sorted(spreads, key=lambda s: s.priority)
        if all(leg.cc in ids for leg in sd.legs)
    ]
    if not ordered:
        return np.zeros((a, len(ids))), np.zeros((a, 0))
    remaining = np.column_stack([s.inter_delta for s in statements])
    wpr = np.column_stack([s.wpr for s in statements])
    legs = [
        (
            np.array([ids.index(leg.cc) for leg in sd.legs], dtype=np.intp),
            np.array([leg.side is Side.A for leg in sd.legs], dtype=bool),
            np.array([leg.ratio for leg in sd.legs]),
        )
        for sd in ordered
    ]
    counts, _, _ = match_spreads(remaining, legs)
    credit = np.zeros((a, len(ids)))
    for k, (sd, (bucket, _, ratio)) in enumerate(zip(ordered, legs, strict=True)):
        credit[:, bucket] += sd.credit_rate * counts[:, k, None] * ratio[None, :] * wpr[:, bucket]
    scan = np.column_stack([s.scan_risk for s in statements])
    return np.minimum(credit, scan), counts
