"""Array kernels of the OKX components that are not scenario revaluations (USD amounts)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["basis_risk", "depeg_hedged", "tiered_charge", "vega_twist"]

FloatArray = NDArray[np.float64]


def tiered_charge(
    raw: FloatArray, bounds: Sequence[float], multipliers: Sequence[float]
) -> FloatArray:
    """Incremental (tax-bracket) scaling of a raw charge (DOC, MR7).

    ``sum_t multipliers[t] x (part of raw inside tier t)``, tiers ``[0, b_0]``,
    ``(b_0, b_1]``, ..., ``(b_last, inf)``.

    Parameters
    ----------
    raw
        Raw charges, USD, >= 0, shape ``(n,)``.
    bounds
        Upper bounds of every tier but the last, USD, increasing.
    multipliers
        One multiplier per tier (``len(bounds) + 1``).

    Returns
    -------
    numpy.ndarray
        Scaled charges, USD, shape ``(n,)``.
    """
    lower = np.concatenate(([0.0], np.asarray(bounds, dtype=np.float64)))
    upper = np.concatenate((np.asarray(bounds, dtype=np.float64), [np.inf]))
    inside = np.clip(raw[:, None] - lower[None, :], 0.0, (upper - lower)[None, :])
    result: FloatArray = inside @ np.asarray(multipliers, dtype=np.float64)
    return result


def vega_twist(vega: FloatArray, shift: FloatArray) -> FloatArray:
    """MR3: ``max over twists {+shift, -shift} of sum_e max(0, -vega_e x shift_e)``.

    Parameters
    ----------
    vega
        Net vega per expiry, USD per vol point, shape ``(n, e)``.
    shift
        Twist A shift per expiry, vol points (``+p_e`` short-dated, ``-p_e`` the others),
        shape ``(e,)``; twist B is ``-shift``.

    Returns
    -------
    numpy.ndarray
        USD, >= 0, shape ``(n,)``; no offset between expiries.
    """
    twist_a = np.maximum(-vega * shift[None, :], 0.0).sum(axis=1)
    twist_b = np.maximum(vega * shift[None, :], 0.0).sum(axis=1)
    result: FloatArray = np.maximum(twist_a, twist_b)
    return result


def basis_risk(delta: FloatArray, moves: FloatArray, min_move: float, spot: float) -> FloatArray:
    """MR4: ``S x (sum_g |D_g| m_g - |sum_g D_g| min_move)``, floored at 0.

    Parameters
    ----------
    delta
        Net coin delta per bucket (spot, perpetuals, each expiry), shape ``(n, g)``.
    moves
        ``m_g = max(min_move, annual_move x T_g)`` per bucket, shape ``(g,)``.
    min_move
        Net-delta credit rate.
    spot
        Index of the underlying, USD per coin.
    """
    gross = np.abs(delta) @ moves
    net = np.abs(delta.sum(axis=1)) * min_move
    result: FloatArray = np.maximum(spot * (gross - net), 0.0)
    return result


def depeg_hedged(cash_delta: FloatArray) -> FloatArray:
    """MR9 hedged amount ``sum_pairs h_AB`` over pairs (0, 1), (0, 2), (1, 2).

    For a pair whose cash deltas have opposite signs ``h = min(|A|, |B|)``, removed from both
    before the next pair; 0 otherwise.

    Parameters
    ----------
    cash_delta
        USD cash delta per account and currency (USDT, USDC, USD), shape ``(n, 3)``.

    Returns
    -------
    numpy.ndarray
        USD, >= 0, shape ``(n,)``.
    """
    left = np.array(cash_delta, dtype=np.float64, copy=True)
    total = np.zeros(left.shape[0])
    for a, b in ((0, 1), (0, 2), (1, 2)):
        opposite = left[:, a] * left[:, b] < 0
        h = np.where(opposite, np.minimum(np.abs(left[:, a]), np.abs(left[:, b])), 0.0)
        left[:, a] -= np.sign(left[:, a]) * h
        left[:, b] -= np.sign(left[:, b]) * h
        total += h
    return total
