"""Scenarios: declared spot, vol and time shocks, grouped in named sets with a vol-shock law."""

from portmargin.scenarios._model import Scenario, ScenarioSet, UpFloor, VolShockLaw, VolShockMode

__all__ = ["Scenario", "ScenarioSet", "UpFloor", "VolShockLaw", "VolShockMode"]
