"""Paradex portfolio margin (``paradex-pm``), vectorised over accounts.

Per base asset (BTC, ETH, HYPE, CL; specification in ``specs/paradex-pm.md``):

- SCAN Risk: the largest ``weight x loss`` over 24 spot / IV scenarios. Options are repriced
  with Black-76 from their own venue mark IV (the smile's vol only for an option without a
  quote) on forwards moved with spot and IVs shocked by
  ``vol_shock x (30 / max(1, DTE))**p`` (``p`` 0.30 below 30 days, 0.13 beyond);
  ``min_vol_shock_up`` floors the up shock as a level (default) or a shock.
- Minimum delta requirement on net and hedged delta.
- ``Net IMR = max(SCAN, MinDelta)``; ``IMR = Net IMR + funding + fee provisions``;
  ``MMR = mmf_factor x Net IMR + provisions``.

Amounts are USD; quantities > 0 are long; P&L > 0 is a gain; requirements are >= 0.
"""

from portmargin.methods.paradex_pm._asset import min_delta_requirement
from portmargin.methods.paradex_pm._method import ParadexPM
from portmargin.methods.paradex_pm._params import (
    ParadexAssetParams,
    ParadexParams,
    ParadexScenarioRow,
    VolShockParams,
    VolUpFloor,
)
from portmargin.methods.paradex_pm._scenarios import scan_pnl_usd, scenario_set, vol_law

__all__ = [
    "ParadexAssetParams",
    "ParadexPM",
    "ParadexParams",
    "ParadexScenarioRow",
    "VolShockParams",
    "VolUpFloor",
    "min_delta_requirement",
    "scan_pnl_usd",
    "scenario_set",
    "vol_law",
]
