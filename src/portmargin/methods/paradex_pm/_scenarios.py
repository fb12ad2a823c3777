"""SCAN scenario sets and the per-base-asset risk array (USD P&L per unit)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.paradex_pm._params import ParadexAssetParams, VolUpFloor
from portmargin.risk import InstrumentTable, build_risk_array
from portmargin.scenarios import Scenario, ScenarioSet, UpFloor, VolShockLaw

__all__ = ["scan_pnl_usd", "scenario_set", "vol_law"]

DTE_BOUNDARY_DAYS = 30.0
"""DOC: ``vega_power_short_dte`` applies when ``DTE < 30`` days."""


def _label(asset: str, i: int, spot: float, vol: float, weight: float) -> str:
    return f"{asset} #{i + 1} spot {spot * 100:+g}% vol {vol * 100:+g}% w {weight * 100:g}%"


def vol_law(asset: ParadexAssetParams, vol_up_floor: VolUpFloor) -> VolShockLaw:
    """The IV shock law of ``asset``: relative shock ``vol_shock * (30 / max(1, DTE))**p``.

    ``p`` is ``vega_power_short_dte`` for ``DTE < 30`` days, else ``vega_power_long_dte``.
    In up-vol scenarios ``min_vol_shock_up`` floors the shocked IV (``vol_up_floor =
    "level"``) or the shock term ``vol_shock * factor(DTE)`` (``"shock"``).
    """
    v = asset.vol_shock_params
    return VolShockLaw(
        short_term_power=v.vega_power_short_dte,
        long_term_power=v.vega_power_long_dte,
        boundary_days=DTE_BOUNDARY_DAYS,
        dte_floor_days=v.dte_floor_days,
        short_inclusive=False,
        min_vol_up=v.min_vol_shock_up,
        up_floor=UpFloor.SHOCK if vol_up_floor is VolUpFloor.SHOCK else UpFloor.LEVEL,
    )


def scenario_set(asset: ParadexAssetParams, vol_up_floor: VolUpFloor) -> ScenarioSet:
    """The weighted SCAN scenarios of ``asset`` in venue order, labelled
    ``"BTC #16 spot -16% vol +40% w 100%"``; no time shift."""
    return ScenarioSet(
        name=f"paradex-pm {asset.base_asset} SCAN",
        scenarios=tuple(
            Scenario(
                label=_label(asset.base_asset, i, r.spot_shock, r.vol_shock, r.weight),
                spot_shock=r.spot_shock,
                vol_shock=r.vol_shock,
                weight=r.weight,
            )
            for i, r in enumerate(asset.scenarios)
        ),
        vol_law=vol_law(asset, vol_up_floor),
    )


def scan_pnl_usd(
    table: InstrumentTable, scenarios: ScenarioSet
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scenario P&L in USD and coin delta per unit of every instrument of one base asset.

    Parameters
    ----------
    table
        Resolved instruments of the base asset, ``n`` rows.
    scenarios
        Its SCAN set, from :func:`scenario_set` (the vol floor is in its law).

    Returns
    -------
    pnl_usd
        Shape ``(n, n_scenarios)``: USD P&L of one unit, coin-settled rows converted at the
        scenario price (``RiskArray.pnl_usd``); > 0 is a gain.
    delta
        Shape ``(n,)``: coin delta of one unit (``RiskArray.delta``).
    """
    risk = build_risk_array(table, scenarios)
    return risk.pnl_usd(), risk.delta
