"""SCAN scenario sets and the per-base-asset risk array (USD P&L per unit)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.paradex_pm._params import ParadexAssetParams, VolUpFloor
from portmargin.risk import InstrumentTable, build_risk_array
from portmargin.scenarios import Scenario, ScenarioSet, VolShockLaw

__all__ = ["scan_pnl_usd", "scenario_set", "vol_law"]

DAYS_PER_YEAR = 365.0
DTE_BOUNDARY_DAYS = 30.0
"""DOC: ``vega_power_short_dte`` applies when ``DTE < 30`` days."""


def _label(asset: str, i: int, spot: float, vol: float, weight: float) -> str:
    return f"{asset} #{i + 1} spot {spot * 100:+g}% vol {vol * 100:+g}% w {weight * 100:g}%"


def vol_law(asset: ParadexAssetParams, vol_up_floor: VolUpFloor) -> VolShockLaw:
    """The IV shock law of ``asset``: relative shock ``vol_shock * (30 / max(1, DTE))**p``.

    ``p`` is ``vega_power_short_dte`` for ``DTE < 30`` days, else ``vega_power_long_dte``.
    With ``vol_up_floor = "level"`` up-shocked vols are floored at ``min_vol_shock_up``; with
    ``"shock"`` the floor is applied to the shock term instead (see :func:`scan_pnl_usd`).
    """
    v = asset.vol_shock_params
    return VolShockLaw(
        short_term_power=v.vega_power_short_dte,
        long_term_power=v.vega_power_long_dte,
        boundary_days=DTE_BOUNDARY_DAYS,
        dte_floor_days=v.dte_floor_days,
        short_inclusive=False,
        min_vol_up=v.min_vol_shock_up if vol_up_floor is VolUpFloor.LEVEL else 0.0,
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
    table: InstrumentTable,
    scenarios: ScenarioSet,
    asset: ParadexAssetParams,
    vol_up_floor: VolUpFloor,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scenario P&L in USD and coin delta per unit of every instrument of one base asset.

    Parameters
    ----------
    table
        Resolved instruments of the base asset, ``n`` rows.
    scenarios
        Its SCAN set, from :func:`scenario_set` with the same ``vol_up_floor``.
    asset
        Parameters of the base asset.
    vol_up_floor
        With ``"shock"`` (and ``min_vol_shock_up > 0``) each option expiry is priced with its
        own per-scenario shock ``max(vol_shock * factor(DTE), min_vol_shock_up)`` for up
        shocks and ``vol_shock * factor(DTE)`` otherwise, under a flat law.

    Returns
    -------
    pnl_usd
        Shape ``(n, n_scenarios)``: USD P&L of one unit, coin-settled rows converted at the
        scenario price (``RiskArray.pnl_usd``); > 0 is a gain.
    delta
        Shape ``(n,)``: coin delta of one unit (``RiskArray.delta``).
    """
    risk = build_risk_array(table, scenarios)
    pnl = risk.pnl_usd()
    floor = asset.vol_shock_params.min_vol_shock_up
    if vol_up_floor is VolUpFloor.LEVEL or floor <= 0:
        return pnl, risk.delta
    shocks = scenarios.column("vol_shock")
    opt = table.is_option
    for expiry in np.unique(table.expiry_ms[opt]):
        rows = np.flatnonzero(opt & (table.expiry_ms == expiry))
        factor = scenarios.vol_law.term_factor(table.tau[rows[:1]] * DAYS_PER_YEAR)[0]
        term = shocks * factor
        effective = np.where(shocks > 0, np.maximum(term, floor), term)
        flat = ScenarioSet(
            name=scenarios.name,
            scenarios=tuple(
                Scenario(
                    label=s.label, spot_shock=s.spot_shock, vol_shock=float(v), weight=s.weight
                )
                for s, v in zip(scenarios.scenarios, effective, strict=True)
            ),
        )
        pnl[rows] = build_risk_array(table.take(rows), flat).pnl_usd()
    return pnl, risk.delta
