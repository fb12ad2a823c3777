"""PMRM_2 scenario engine: vol and skew shocks, static discounts, expiry values per scenario."""

from __future__ import annotations

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved
from portmargin.methods.derive_pm2._scenario import DeriveVolShock
from portmargin.pricing.black76 import price

__all__ = [
    "DIRECTION_CODES",
    "expiry_values",
    "skew_vols",
    "static_discounts",
    "vol_shock_multipliers",
]

SECONDS_PER_DAY = 86_400.0
VOL_SHOCK_HORIZON = 30.0 * SECONDS_PER_DAY
"""30 days in seconds: reference horizon of the vol-shock term structure."""

DIRECTION_CODES: dict[DeriveVolShock, int] = {
    DeriveVolShock.NONE: 0,
    DeriveVolShock.UP: 1,
    DeriveVolShock.DOWN: 2,
    DeriveVolShock.LINEAR: 3,
    DeriveVolShock.ABS: 4,
}
"""Column of each direction in the per-option vol table built by ``expiry_values``."""


def vol_shock_multipliers(
    seconds: FloatArray, params: DeriveParams
) -> tuple[FloatArray, FloatArray]:
    """Vol multipliers ``(up_e, down_e)`` per expiry, shapes ``(n_e,)``.

    ``m = (30 d / max(t, dte_floor))^power`` with the short-term power when ``t <= 30`` days;
    ``up = 1 + vol_range_up·m``, ``down = max(0, 1 - vol_range_down·m)``.
    """
    tau = VOL_SHOCK_HORIZON / np.maximum(seconds, params.dte_floor_days * SECONDS_PER_DAY)
    power = np.where(seconds <= VOL_SHOCK_HORIZON, params.short_term_power, params.long_term_power)
    mult = tau**power
    up = 1.0 + params.vol_range_up * mult
    down = np.maximum(0.0, 1.0 - params.vol_range_down * mult)
    return up, down


def static_discounts(
    tau: FloatArray, rate: FloatArray, discount: FloatArray, params: DeriveParams
) -> tuple[FloatArray, FloatArray]:
    """Static discount ``pos_e`` and capped anti-discount ``neg_e`` per expiry, ``(n_e,)``.

    ``tau`` in years, ``rate`` floored at 0, ``discount = exp(-rate·tau)``.
    """
    pos = params.long_base_static_discount * np.exp(
        -tau * (rate * params.long_rate_mult_scale + params.long_rate_add_scale)
    )
    neg = params.short_base_static_discount * np.exp(
        tau * (rate * params.short_rate_mult_scale + params.short_rate_add_scale)
    )
    return pos, np.minimum(1.0 / discount, neg)


def skew_vols(res: Resolved, params: DeriveParams, direction: DeriveVolShock) -> FloatArray:
    """Skew-shocked vol of every option, shape ``(n_o,)`` (``direction`` LINEAR or ABS).

    ``sigma·max(0, 1 + clip(k·cap/k*, -cap, cap))`` with ``k = ln(K/F)`` (``|k|`` for ABS) at the
    unshocked forward, ``cap = c_base·√T + base_cap`` and
    ``k* = max(min_k_star, √T·width_scale·(vol_param_static + √T·vol_param_scale))``.
    """
    linear = direction is DeriveVolShock.LINEAR
    q = np.sqrt(res.tau)[res.expiry_index]
    c_base = params.linear_c_base if linear else params.abs_c_base
    base_cap = params.linear_base_cap if linear else params.abs_base_cap
    cap = c_base * q + base_cap
    k_star = np.maximum(
        params.min_k_star,
        q * params.width_scale * (params.vol_param_static + q * params.vol_param_scale),
    )
    forward = (res.variable + res.fixed)[res.expiry_index]
    k = np.log(res.strike / forward)
    if not linear:
        k = np.abs(k)
    ratio = k * cap / k_star
    mult = 1.0 + np.where(k >= 0.0, np.minimum(cap, ratio), np.maximum(-cap, ratio))
    return np.asarray(res.vol * np.maximum(mult, 0.0), dtype=np.float64)


def expiry_values(
    res: Resolved,
    params: DeriveParams,
    spot: FloatArray,
    codes: np.ndarray[tuple[int], np.dtype[np.intp]],
) -> FloatArray:
    """Black-76 value of each expiry's options in each column, USD, shape ``(n_e, n_cols)``.

    Column ``j`` uses the forward ``F_e(spot[j]) = variable·spot[j] + fixed`` and the vols of
    direction ``codes[j]`` (see ``DIRECTION_CODES``); no static discount is applied.
    """
    n_e, n_cols = res.seconds.shape[0], spot.shape[0]
    values = np.zeros((n_e, n_cols))
    if res.strike.shape[0] == 0:
        return values
    e = res.expiry_index
    up, down = vol_shock_multipliers(res.seconds, params)
    table = np.stack(
        [
            res.vol,
            np.maximum(params.min_vol_up_shock, res.vol * up[e]),
            res.vol * down[e],
            skew_vols(res, params, DeriveVolShock.LINEAR),
            skew_vols(res, params, DeriveVolShock.ABS),
        ],
        axis=1,
    )
    sigma = table[:, codes]  # (n_o, n_cols)
    forward = res.variable[e][:, None] * spot[None, :] + res.fixed[e][:, None]
    prices = price(
        forward,
        res.strike[:, None],
        res.tau[e][:, None],
        sigma,
        res.is_call[:, None],
        res.discount[e][:, None],
    )
    np.add.at(values, e, res.amount[:, None] * prices)
    return values
