from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from stepdeal.scenario import Scenario, parse_scenario

# CI runs the property tests on a fixed, reproducible set of examples; locally they
# explore new random examples on every run (and keep failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: keys of the `run --json` contract (tests outside the project rely on them)
CONTRACT = {
    "scenario",
    "policy",
    "seed",
    "resolved",
    "steps",
    "measures",
    "pressure",
    "utilities",
    "vetoes",
}

DEMO = """\
name: tiny
title: A tiny scenario for the tests
period: month
horizon: 6
tail: persist
unit: "units per month"
sources: ["test fixture"]
actors:
  - {id: target, role: target, discount: 0.9}
  - {id: usa, role: power, discount: 0.95}
  - {id: russia, role: power, discount: 0.95}
institutions:
  - {id: unsc, members: [usa, russia], rule: veto}
  - {id: us, members: [usa], rule: veto}
concerns:
  - {id: a, cost: 1, value: {usa: 1, russia: 0.5}}
  - {id: b, cost: 2, value: {usa: 1}}
  - {id: c, cost: 30, value: {usa: 2}}
measures:
  - {id: m1, issuer: unsc, status: active, impact: 1, burden: {russia: 0.2}}
  - {id: m2, issuer: us, status: active, impact: 1}
  - {id: n1, issuer: unsc, status: potential, impact: 1, burden: {russia: 0.1}}
  - {id: n2, issuer: us, status: potential, impact: 0.5}
policies:
  - id: step-by-step
    kind: step_by_step
    order: by_cost
    strict: true
    relief:
      a: [{measure: m1, action: freeze}]
      b: [{measure: m2, action: curtail}]
      c: [{measure: m1, action: lift}, {measure: m2, action: lift}]
  - id: dual-track
    kind: escalation
    demands: all
    review_every: 2
    tranches: [n1, n2]
    on_completion: lift_all
votes:
  russia: {escalate: {if_verified_at_least: 1, then: no, else: yes}, relieve: yes}
  usa: {escalate: yes, relieve: sincere}
"""


@pytest.fixture
def tiny() -> Scenario:
    return parse_scenario(DEMO, "tiny.yaml")


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(DEMO)
    return p
