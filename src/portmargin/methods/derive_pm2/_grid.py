"""The PMRM_2 scenario list as a shared :class:`~portmargin.scenarios.ScenarioSet`.

Each venue scenario ``(s, dir, d)`` becomes one column of a keyed shock table that applies to
every base asset (key ``"*"``):

- spot move ``s - 1`` (a move of -100 % admitted: ``zero_price``, the contract admits
  ``s = 0``);
- vol shock ``+vol_range_up`` (``Up``, an up state), ``-vol_range_down`` (``Down``) or 0,
  under a :class:`~portmargin.scenarios.VolShockLaw` with the contract's term structure
  (30-day boundary inclusive, power chosen on the unfloored time, ``dte_floor_days``,
  level floor ``min_vol_up_shock`` in up states), evaluated in seconds;
- ``Linear`` / ``Abs``: a :class:`~portmargin.scenarios.SkewShockLaw` (indices 0 and 1 of the
  set's skew laws) instead of the vol law;
- weight ``d``: the dampening multiplies the scenario's P&L;
- label :attr:`DeriveScenario.label`, with `` #2``, `` #3`` ... appended to repeats so that
  labels are unique.
"""

from __future__ import annotations

import numpy as np

from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._scenario import DeriveVolShock
from portmargin.scenarios import (
    EVERY_UNDERLYING,
    ScenarioSet,
    ShockTable,
    SkewShockLaw,
    UpFloor,
    VolShockLaw,
)

__all__ = ["SKEW_LAW_INDEX", "pmrm2_scenarios", "vol_law"]

SKEW_LAW_INDEX = {DeriveVolShock.LINEAR: 0, DeriveVolShock.ABS: 1}
"""Index of each skew direction's law in ``ScenarioSet.skew_laws``."""


def vol_law(params: DeriveParams) -> VolShockLaw:
    """The up / down term structure: ``m = (30 d / max(t, dte_floor))^p``, ``p`` the short-term
    power when ``t <= 30`` days (``t`` before the floor); up states floored at
    ``min_vol_up_shock``."""
    return VolShockLaw(
        short_term_power=params.short_term_power,
        long_term_power=params.long_term_power,
        boundary_days=30.0,
        dte_floor_days=params.dte_floor_days,
        short_inclusive=True,
        power_on_floored=False,
        min_vol_up=params.min_vol_up_shock,
        up_floor=UpFloor.LEVEL,
    )


def _skew_law(params: DeriveParams, base_cap: float, c_base: float, absolute: bool) -> SkewShockLaw:
    return SkewShockLaw(
        base_cap=base_cap,
        c_base=c_base,
        min_k_star=params.min_k_star,
        width_scale=params.width_scale,
        vol_param_static=params.vol_param_static,
        vol_param_scale=params.vol_param_scale,
        absolute=absolute,
    )


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def pmrm2_scenarios(params: DeriveParams) -> ScenarioSet:
    """The scenarios of ``params`` in ``params.scenarios`` order (mapping in the module
    docstring)."""
    scenarios = params.scenarios
    shock = {DeriveVolShock.UP: params.vol_range_up, DeriveVolShock.DOWN: -params.vol_range_down}
    table = ShockTable(
        labels=tuple(_unique([s.label for s in scenarios])),
        spot={EVERY_UNDERLYING: np.array([s.spot_shock for s in scenarios]) - 1.0},
        vol={EVERY_UNDERLYING: np.array([shock.get(s.vol_shock, 0.0) for s in scenarios])},
        weight=np.array([s.dampening for s in scenarios]),
        up_state=np.array([s.vol_shock is DeriveVolShock.UP for s in scenarios]),
        skew=np.array([SKEW_LAW_INDEX.get(s.vol_shock, -1) for s in scenarios], dtype=np.intp),
        zero_price=True,
    )
    skew_laws = (
        _skew_law(params, params.linear_base_cap, params.linear_c_base, absolute=False),
        _skew_law(params, params.abs_base_cap, params.abs_c_base, absolute=True),
    )
    return ScenarioSet(
        name="derive-pm2", vol_law=vol_law(params), shocks=table, skew_laws=skew_laws
    )
