"""Scenarios: declared spot, vol and time shocks, grouped in named sets with a vol-shock law;
historical (HS) and filtered historical (FHS) return scenarios from daily history."""

from portmargin.scenarios._historical import (
    EWMA_LAMBDA,
    EWMA_SEED_RETURNS,
    HistoricalScenarios,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
)
from portmargin.scenarios._model import Scenario, ScenarioSet, UpFloor, VolShockLaw, VolShockMode

__all__ = [
    "EWMA_LAMBDA",
    "EWMA_SEED_RETURNS",
    "HistoricalScenarios",
    "Scenario",
    "ScenarioSet",
    "UpFloor",
    "VolShockLaw",
    "VolShockMode",
    "ewma_variance",
    "fhs_scenarios",
    "hs_scenarios",
]
