"""PMRM_2 scenario engine: vol and skew shocks, static discounts, values and P&L per scenario.

The scenarios are read from the shared :class:`~portmargin.scenarios.ScenarioSet` of
:func:`~portmargin.methods.derive_pm2.pmrm2_scenarios` (moves, vol shocks and up states under
its :class:`~portmargin.scenarios.VolShockLaw` in seconds, skew laws, weights as dampening).
The functions work on arrays of any number of accounts; the single-account ``compute`` runs
the batch formulas on a one-row book.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._chain import Chain, IntArray
from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray
from portmargin.methods.derive_pm2._grid import pmrm2_scenarios, vol_law
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.pricing.black76 import price
from portmargin.scenarios import ScenarioSet

__all__ = [
    "ScenarioColumns",
    "basis_contingency",
    "delta_one_pnl",
    "expiry_pnl",
    "scenario_columns",
    "static_discounts",
    "unit_values",
    "vol_shock_multipliers",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioColumns:
    """The valuation columns of a parameter set.

    Columns ``0 .. n_s - 1`` are the scenarios of ``scenarios`` in order; then :attr:`mtm`
    (spot multiplier 1), :attr:`up_column` (``scenario_spot_up``) and :attr:`down_column`
    (``scenario_spot_down``), at unshocked vols, for the MtM and the basis contingency.

    Attributes
    ----------
    scenarios
        The shared scenario set (``n_s`` scenarios).
    spot
        Spot multiplier ``s`` per column, shape ``(n_s + 3,)``: the forwards of the options
        are ``variable·s + fixed``. Taken from the parameters, not as ``1 + move`` from
        ``scenarios``: below ``s = 0.5`` the move ``s - 1`` does not hold ``s`` to the last
        bit (``1 + (0.34 - 1)`` is ``0.33999999999999997``, one unit in the last place below
        the mainnet pack's 0.34).
    moves
        Spot move ``s - 1`` per scenario, shape ``(n_s,)`` (the perpetual and risk-cancelling
        collateral move with it).
    vol_shocks, up
        Vol shock and up state per column, shape ``(n_s + 3,)``.
    skew_law
        Index of the skew law per column, -1 for none, shape ``(n_s + 3,)``.
    dampening, skew
        Dampening factor (the scenario weight) and skew flag per scenario, shape ``(n_s,)``.
    """

    scenarios: ScenarioSet
    spot: FloatArray
    moves: FloatArray
    vol_shocks: FloatArray
    up: BoolArray
    skew_law: IntArray
    dampening: FloatArray
    skew: BoolArray

    @property
    def n_scenarios(self) -> int:
        """``n_s``."""
        return len(self.scenarios)

    @property
    def mtm(self) -> int:
        """Column of the unshocked value."""
        return self.n_scenarios

    @property
    def up_column(self) -> int:
        """Column of the basis spot-up value."""
        return self.n_scenarios + 1

    @property
    def down_column(self) -> int:
        """Column of the basis spot-down value."""
        return self.n_scenarios + 2


def scenario_columns(params: DeriveParams) -> ScenarioColumns:
    """The :class:`ScenarioColumns` of ``params``: its :func:`pmrm2_scenarios` and the three
    unshocked-vol columns."""
    scenarios = pmrm2_scenarios(params)
    table = scenarios.table
    assert table.up_state is not None  # both set by pmrm2_scenarios
    assert table.skew is not None
    plain = np.zeros(3)
    return ScenarioColumns(
        scenarios=scenarios,
        spot=np.array(
            [s.spot_shock for s in params.scenarios]
            + [1.0, params.scenario_spot_up, params.scenario_spot_down],
            dtype=np.float64,
        ),
        moves=scenarios.column("spot_shock"),
        vol_shocks=np.concatenate([scenarios.column("vol_shock"), plain]),
        up=np.concatenate([table.up_state, np.zeros(3, dtype=np.bool_)]),
        skew_law=np.concatenate([table.skew, np.full(3, -1, dtype=np.intp)]),
        dampening=scenarios.column("weight"),
        skew=table.skew >= 0,
    )


def vol_shock_multipliers(
    seconds: FloatArray, params: DeriveParams
) -> tuple[FloatArray, FloatArray]:
    """Vol multipliers ``(up_e, down_e)`` per expiry, shapes ``(n_e,)``: ``1 + vol_range_up·m``
    and ``max(0, 1 - vol_range_down·m)``, ``m`` the term factor of :func:`vol_law` (the
    factors :func:`unit_values` applies, before the up-state floor).

    Raises
    ------
    ValidationError
        If an expiry has expired (``t = 0``) while ``dte_floor_days = 0``: the venue's
        ``PMRMLib_2._addVolShocks`` divides by ``max(secToExpiry, dteFloor)`` and reverts.
    """
    m = vol_law(params).term_factor_seconds(seconds)
    return 1.0 + params.vol_range_up * m, np.maximum(0.0, 1.0 - params.vol_range_down * m)


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


def unit_values(chain: Chain, columns: ScenarioColumns) -> FloatArray:
    """Black-76 value of one unit of each option in each column, USD, shape ``(n_o, n_cols)``.

    Column ``j`` uses the forward ``F_e(s_j) = variable·s_j + fixed`` (``s = columns.spot``)
    and the vols of
    the set's vol law (shock ``columns.vol_shocks[j]``, up state ``columns.up[j]``), or of its
    skew law ``columns.skew_law[j]`` at the unshocked forward; no static discount is applied.
    A zero forward (spot multiplier 0 on a forward without fixed portion) prices as the
    venue's Black76 does: call 0, put ``K·D``.

    Raises
    ------
    ValidationError
        If an expiry has expired while ``dte_floor_days = 0`` (see
        :func:`vol_shock_multipliers`), or if a skew width ``k*`` is 0 for an option held in
        a book with a skew scenario (``min_k_star = 0`` and an expired expiry): the venue's
        ``PMRMLib_2._getExpirySkewedShockedMTM`` divides by ``k*`` and reverts.
    """
    e = chain.expiry_index
    scenarios = columns.scenarios
    factor = scenarios.vol_law.term_factor_seconds(chain.seconds)[e]
    sigma = scenarios.vol_law.shock(chain.vol, factor, columns.vol_shocks, columns.up)
    k = np.log(chain.strike / (chain.variable + chain.fixed)[e])
    for i, law in enumerate(scenarios.skew_laws):
        tilted = columns.skew_law == i
        if tilted.any():
            sigma[:, tilted] = law.shocked_vols(chain.vol, k, chain.tau[e])[:, None]
    forward = chain.variable[e][:, None] * columns.spot[None, :] + chain.fixed[e][:, None]
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
    return np.asarray(amount * (columns.moves * price) * columns.dampening, dtype=np.float64)
