"""Scenarios: tables of spot, vol and time shocks keyed by risk factor (declared grids or
arrays joint across underlyings) with a vol-shock law; historical (HS) and filtered
historical (FHS) return scenarios from daily history; Monte Carlo scenarios from a correlated
Merton jump diffusion estimated on daily history; stress scenarios and their libraries."""

from portmargin.scenarios._correlation import EIGEN_FLOOR, CorrelationRepair, repair_correlation
from portmargin.scenarios._historical import (
    EWMA_LAMBDA,
    EWMA_SEED_RETURNS,
    HistoricalScenarios,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
)
from portmargin.scenarios._merton_fit import (
    JUMP_THRESHOLD,
    CommonJumpFit,
    MertonAssetFit,
    MertonEstimate,
    MertonFitOptions,
    estimate_merton,
)
from portmargin.scenarios._merton_mixture import MixtureVarEs, merton_mixture_var_es
from portmargin.scenarios._merton_model import CommonJumps, MertonMarginal, MertonParams
from portmargin.scenarios._model import (
    EVERY_UNDERLYING,
    Scenario,
    ScenarioSet,
    ShockTable,
    UpFloor,
    VolShockLaw,
    VolShockMode,
)
from portmargin.scenarios._montecarlo import MC_PATHS, MC_SEED, MonteCarloScenarios, mc_scenarios
from portmargin.scenarios._skew import SkewShockLaw
from portmargin.scenarios._stress import (
    VOL_MULT_FLOOR,
    VOL_TERM_DAYS,
    ScenarioKind,
    StressLibrary,
    StressScenario,
    term_vol_multiplier,
)

__all__ = [
    "EIGEN_FLOOR",
    "EVERY_UNDERLYING",
    "EWMA_LAMBDA",
    "EWMA_SEED_RETURNS",
    "JUMP_THRESHOLD",
    "MC_PATHS",
    "MC_SEED",
    "VOL_MULT_FLOOR",
    "VOL_TERM_DAYS",
    "CommonJumpFit",
    "CommonJumps",
    "CorrelationRepair",
    "HistoricalScenarios",
    "MertonAssetFit",
    "MertonEstimate",
    "MertonFitOptions",
    "MertonMarginal",
    "MertonParams",
    "MixtureVarEs",
    "MonteCarloScenarios",
    "Scenario",
    "ScenarioKind",
    "ScenarioSet",
    "ShockTable",
    "SkewShockLaw",
    "StressLibrary",
    "StressScenario",
    "UpFloor",
    "VolShockLaw",
    "VolShockMode",
    "estimate_merton",
    "ewma_variance",
    "fhs_scenarios",
    "hs_scenarios",
    "mc_scenarios",
    "merton_mixture_var_es",
    "repair_correlation",
    "term_vol_multiplier",
]
