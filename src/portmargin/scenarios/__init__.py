"""Scenarios: tables of spot, vol and time shocks keyed by risk factor (declared grids or
arrays joint across underlyings) with a vol-shock law; historical (HS) and filtered
historical (FHS) return scenarios from daily history."""

from portmargin.scenarios._historical import (
    EWMA_LAMBDA,
    EWMA_SEED_RETURNS,
    HistoricalScenarios,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
)
from portmargin.scenarios._model import (
    EVERY_UNDERLYING,
    Scenario,
    ScenarioSet,
    ShockTable,
    UpFloor,
    VolShockLaw,
    VolShockMode,
)

__all__ = [
    "EVERY_UNDERLYING",
    "EWMA_LAMBDA",
    "EWMA_SEED_RETURNS",
    "HistoricalScenarios",
    "Scenario",
    "ScenarioSet",
    "ShockTable",
    "UpFloor",
    "VolShockLaw",
    "VolShockMode",
    "ewma_variance",
    "fhs_scenarios",
    "hs_scenarios",
]
