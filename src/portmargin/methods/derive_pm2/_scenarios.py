"""PMRM_2 scenario engine: vol and skew shocks, static discounts, values and P&L per scenario.

The functions work on arrays of any number of accounts; the single-account ``compute`` runs
the batch formulas on a one-row book.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.core import ValidationError
from portmargin.methods.derive_pm2._chain import Chain, IntArray
from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._scenario import DeriveVolShock
from portmargin.pricing.black76 import price

__all__ = [
    "DIRECTION_CODES",
    "ScenarioColumns",
    "basis_contingency",
    "delta_one_pnl",
    "expiry_pnl",
    "scenario_columns",
    "skew_vols",
    "static_discounts",
    "unit_values",
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
"""Column of each direction in the per-option vol table built by ``unit_values``."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioColumns:
    """The valuation columns of a parameter set.

    Columns ``0 .. n_s - 1`` are the scenarios in ``params.scenarios`` order; then ``mtm``
    (``(1, None)``), ``up`` (``(scenario_spot_up, None)``) and ``down``
    (``(scenario_spot_down, None)``) for the MtM and the basis contingency.

    Attributes
    ----------
    n_scenarios
        ``n_s``.
    spot
        Spot multiplier per column, shape ``(n_s + 3,)``.
    codes
        Vol direction per column (``DIRECTION_CODES``), shape ``(n_s + 3,)``.
    dampening, skew
        Dampening factor and skew flag per scenario, shape ``(n_s,)``.
    """

    n_scenarios: int
    spot: FloatArray
    codes: IntArray
    dampening: FloatArray
    skew: BoolArray

    @property
    def mtm(self) -> int:
        """Column of the unshocked value."""
        return self.n_scenarios

    @property
    def up(self) -> int:
        """Column of the basis spot-up value."""
        return self.n_scenarios + 1

    @property
    def down(self) -> int:
        """Column of the basis spot-down value."""
        return self.n_scenarios + 2


def scenario_columns(params: DeriveParams) -> ScenarioColumns:
    """The :class:`ScenarioColumns` of ``params``."""
    scenarios = params.scenarios
    none = DIRECTION_CODES[DeriveVolShock.NONE]
    return ScenarioColumns(
        n_scenarios=len(scenarios),
        spot=np.array(
            [s.spot_shock for s in scenarios]
            + [1.0, params.scenario_spot_up, params.scenario_spot_down],
            dtype=np.float64,
        ),
        codes=np.array([DIRECTION_CODES[s.vol_shock] for s in scenarios] + [none] * 3, np.intp),
        dampening=np.array([s.dampening for s in scenarios], dtype=np.float64),
        skew=np.array([s.vol_shock.is_skew for s in scenarios], dtype=np.bool_),
    )


def vol_shock_multipliers(
    seconds: FloatArray, params: DeriveParams
) -> tuple[FloatArray, FloatArray]:
    """Vol multipliers ``(up_e, down_e)`` per expiry, shapes ``(n_e,)``.

    ``m = (30 d / max(t, dte_floor))^power`` with the short-term power when ``t <= 30`` days;
    ``up = 1 + vol_range_up·m``, ``down = max(0, 1 - vol_range_down·m)``.

    Raises
    ------
    ValidationError
        If an expiry has expired (``t = 0``) while ``dte_floor_days = 0``: the venue's
        ``PMRMLib_2._addVolShocks`` divides by ``max(secToExpiry, dteFloor)`` and reverts.
    """
    floor = np.maximum(seconds, params.dte_floor_days * SECONDS_PER_DAY)
    if np.any(floor <= 0.0):
        raise ValidationError(
            "dte_floor_days", params.dte_floor_days, "> 0 for a book with an expired expiry"
        )
    tau = VOL_SHOCK_HORIZON / floor
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


def skew_vols(chain: Chain, params: DeriveParams, direction: DeriveVolShock) -> FloatArray:
    """Skew-shocked vol of every option, shape ``(n_o,)`` (``direction`` LINEAR or ABS).

    ``sigma·max(0, 1 + clip(k·cap/k*, -cap, cap))`` with ``k = ln(K/F)`` (``|k|`` for ABS) at the
    unshocked forward, ``cap = c_base·√T + base_cap`` and
    ``k* = max(min_k_star, √T·width_scale·(vol_param_static + √T·vol_param_scale))``.

    Raises
    ------
    ValidationError
        If ``k* = 0`` for an option (``min_k_star = 0`` and a zero width term, e.g. an expired
        expiry): the venue's ``PMRMLib_2._getExpirySkewedShockedMTM`` divides by ``k*`` and
        reverts.
    """
    linear = direction is DeriveVolShock.LINEAR
    q = np.sqrt(chain.tau)[chain.expiry_index]
    c_base = params.linear_c_base if linear else params.abs_c_base
    base_cap = params.linear_base_cap if linear else params.abs_base_cap
    cap = c_base * q + base_cap
    k_star = np.maximum(
        params.min_k_star,
        q * params.width_scale * (params.vol_param_static + q * params.vol_param_scale),
    )
    forward = (chain.variable + chain.fixed)[chain.expiry_index]
    k = np.log(chain.strike / forward)
    if not linear:
        k = np.abs(k)
    if np.any(k_star <= 0.0):
        raise ValidationError("min_k_star", params.min_k_star, "> 0 where the skew width is 0")
    ratio = k * cap / k_star
    mult = 1.0 + np.where(k >= 0.0, np.minimum(cap, ratio), np.maximum(-cap, ratio))
    return np.asarray(chain.vol * np.maximum(mult, 0.0), dtype=np.float64)


def unit_values(
    chain: Chain, params: DeriveParams, spot: FloatArray, codes: IntArray
) -> FloatArray:
    """Black-76 value of one unit of each option in each column, USD, shape ``(n_o, n_cols)``.

    Column ``j`` uses the forward ``F_e(spot[j]) = variable·spot[j] + fixed`` and the vols of
    direction ``codes[j]`` (see ``DIRECTION_CODES``); no static discount is applied. A zero
    forward (spot shock 0 on a forward without fixed portion) prices as the venue's Black76
    does: call 0, put ``K·D``.
    """
    e = chain.expiry_index
    up, down = vol_shock_multipliers(chain.seconds, params)
    table = np.stack(
        [
            chain.vol,
            np.maximum(params.min_vol_up_shock, chain.vol * up[e]),
            chain.vol * down[e],
            skew_vols(chain, params, DeriveVolShock.LINEAR),
            skew_vols(chain, params, DeriveVolShock.ABS),
        ],
        axis=1,
    )
    sigma = table[:, codes]  # (n_o, n_cols)
    forward = chain.variable[e][:, None] * spot[None, :] + chain.fixed[e][:, None]
    zero = forward <= 0.0
    prices = price(
        np.where(zero, 1.0, forward),
        chain.strike[:, None],
        chain.tau[e][:, None],
        sigma,
        chain.is_call[:, None],
        chain.discount[e][:, None],
    )
    at_zero = np.where(chain.is_call[:, None], 0.0, (chain.strike * chain.discount[e])[:, None])
    return np.asarray(np.where(zero, at_zero, prices), dtype=np.float64)


def expiry_pnl(
    values: FloatArray,
    mtm: FloatArray,
    discounts: tuple[FloatArray, FloatArray],
    columns: ScenarioColumns,
) -> FloatArray:
    """Scenario P&L of expiry holdings (USD, > 0 a gain), shape of ``values``.

    Parameters
    ----------
    values
        Shocked expiry values, USD, shape ``(..., n_s)``.
    mtm
        Unshocked values ``MtM_e``, USD, broadcastable against ``values`` (``(..., 1)``).
    discounts
        ``(pos, neg)`` static discount factors, broadcastable against ``values``.
    columns
        The scenario set (dampening and skew flags, shape ``(n_s,)``).

    Returns
    -------
    numpy.ndarray
        ``x = (V·pos - MtM)·d`` for ``V >= 0``, ``(V·neg - MtM)·d`` otherwise, and ``-|x|`` in
        the skew scenarios.
    """
    pos, neg = discounts
    shocked = np.where(values >= 0.0, values * pos, values * neg)
    pnl = (shocked - mtm) * columns.dampening
    return np.asarray(np.where(columns.skew, -np.abs(pnl), pnl), dtype=np.float64)


def basis_contingency(
    up: FloatArray, down: FloatArray, mtm: FloatArray, tau: FloatArray, params: DeriveParams
) -> FloatArray:
    """``min(V(up_b) - MtM, V(down_b) - MtM, 0)·(add + mult·tau)``, USD (<= 0), elementwise."""
    factor = params.basis_cont_add_factor + params.basis_cont_mult_factor * tau
    return np.asarray(np.minimum(np.minimum(up - mtm, down - mtm), 0.0) * factor, dtype=np.float64)


def delta_one_pnl(
    amount: FloatArray | float, price: FloatArray | float, columns: ScenarioColumns
) -> FloatArray:
    """``amount·((s - 1)·price)·d`` per scenario: the P&L of a position moving with spot, USD.

    Used for the perp (``amount`` in base units, ``price`` the perp price) and for
    risk-cancelling collateral (``amount`` its USD value, ``price`` 1). Broadcasts ``amount``
    and ``price`` against the scenario axis ``(n_s,)`` (pass ``(n, 1)`` for ``n`` accounts).
    """
    move = columns.spot[: columns.n_scenarios] - 1.0
    return np.asarray(amount * (move * price) * columns.dampening, dtype=np.float64)
