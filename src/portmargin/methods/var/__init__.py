"""Risk-based VaR/ES margin (``var``), vectorised over accounts (``specs/var-margin.md``).

- Scenarios: the last ``lookback_days`` joint daily log returns of the book's underlyings up
  to ``as_of`` (HS), or the same returns devolatised by their EWMA forecast and revolatised
  by the current one (FHS); ``h``-day moves by summing daily returns (or ``sqrt(h)`` scaling).
- Full revaluation of every instrument: prices of underlying ``u`` move by ``exp(R_u)``,
  options age ``h`` days, vols stay (sticky strike), move by ``vol_beta R_u`` (absolute,
  floored at ``min_vol``) or both, keeping the larger portfolio loss per scenario.
- Per account: VaR and ES of each underlying's group and of the whole portfolio, the
  diversification benefit ``B`` granted up to ``offset_cap``:
  ``M_core = sum_g m_g - offset_cap B``; liquidity add-on ``A``;
  ``MM = max(M_core, 0) + A``, ``IM = ratio_im_mm MM``.
- Per underlying, the benefit shared by Euler allocation: the group's share of the portfolio
  measure is the sum of its positions' Euler contributions in the portfolio's tail, its
  benefit share its own measure minus that share (components ``core_margin/portfolio/U``,
  ``core_margin/benefit/U``, ``core_margin/offset/U``).

Amounts are USD; quantities > 0 are long; losses > 0; requirements are >= 0.
"""

from portmargin.methods.var._compute import compute as var_margin
from portmargin.methods.var._liquidity import delta_addon, vega_addon
from portmargin.methods.var._method import VarMargin
from portmargin.methods.var._params import (
    Generator,
    LiquidityParams,
    Measure,
    MonteCarloParams,
    ProxyParams,
    VarParams,
    VolModel,
)
from portmargin.methods.var._pnl import ScenarioPnl, scenario_pnl
from portmargin.methods.var._scenarios import (
    Revaluation,
    current_sigma,
    historical_scenarios,
    revalue,
    scenario_sets,
)

__all__ = [
    "Generator",
    "LiquidityParams",
    "Measure",
    "MonteCarloParams",
    "ProxyParams",
    "Revaluation",
    "ScenarioPnl",
    "VarMargin",
    "VarParams",
    "VolModel",
    "current_sigma",
    "delta_addon",
    "historical_scenarios",
    "revalue",
    "scenario_pnl",
    "scenario_sets",
    "var_margin",
    "vega_addon",
]
