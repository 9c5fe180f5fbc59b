"""Scenario files: models, loading, parameters."""

from sim.scenario.load import LoadedScenario, load_scenario, parse_overrides
from sim.scenario.model import Criterion, ScenarioBase, scenario_model

__all__ = [
    "Criterion",
    "LoadedScenario",
    "ScenarioBase",
    "load_scenario",
    "parse_overrides",
    "scenario_model",
]
