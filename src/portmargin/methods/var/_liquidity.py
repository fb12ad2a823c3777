"""Liquidity and concentration add-on (``var-margin.md`` section 7), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["AddOn", "delta_addon", "vega_addon"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AddOn:
    """Liquidity add-on per account and underlying, USD, shape ``(n, G)`` each, and the
    per-unit delta notional and vega of every margined column, shape ``(c,)``."""

    delta: NDArray[np.float64]
    vega: NDArray[np.float64]
    notional_unit: NDArray[np.float64]
    vega_unit: NDArray[np.float64]


def delta_addon(
    notional: NDArray[np.float64],
    spread: float,
    impact_coeff: float,
    sigma_daily: float,
    depth: float,
) -> NDArray[np.float64]:
    """``A_u = Q (spread / 2 + Y sigma_d sqrt(Q / V))`` per account, USD.

    Parameters
    ----------
    notional
        ``Q``: |net delta notional| of the underlying, USD, shape ``(n,)``, >= 0.
    spread
        Full bid-ask spread, fraction of price.
    impact_coeff
        ``Y``.
    sigma_daily
        ``sigma_d``: daily EWMA volatility (decimal per day).
    depth
        ``V``: USD depth, > 0 (``depth_fraction x`` median daily USD volume).
    """
    q = np.abs(notional)
    result: NDArray[np.float64] = q * (
        spread / 2.0 + impact_coeff * sigma_daily * np.sqrt(q / depth)
    )
    return result


def vega_addon(
    vega: NDArray[np.float64], half_vol_spread: float, vega_depth: float
) -> NDArray[np.float64]:
    """``A^v_u = |vega| half_vol_spread (1 + sqrt(|vega| / VD))`` per account, USD.

    Parameters
    ----------
    vega
        Net vega of the underlying, USD per vol point (sigma + 0.01), shape ``(n,)``.
    half_vol_spread
        Half vol spread in vol points.
    vega_depth
        ``VD``, USD per vol point, > 0.
    """
    v = np.abs(vega)
    result: NDArray[np.float64] = v * half_vol_spread * (1.0 + np.sqrt(v / vega_depth))
    return result
