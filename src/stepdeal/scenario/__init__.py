"""Layer 1: the scenario file format, loading and validation."""

from .loader import (
    Problem,
    ScenarioError,
    builtin_names,
    json_schema,
    load_scenario,
    parse_scenario,
    scenario_hash,
)
from .models import Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "json_schema",
    "load_scenario",
    "parse_scenario",
    "scenario_hash",
]
