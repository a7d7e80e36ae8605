"""Reversal and snapback (model spec 4.8)."""

from __future__ import annotations

import numpy as np

from stepdeal.api import run
from stepdeal.mechanisms import compile_game, resolve
from stepdeal.mechanisms.game import ACTIVE, FROZEN, OPEN, POTENTIAL, VERIFIED
from stepdeal.scenario import parse_scenario

BASE = """\
name: snap
period: month
horizon: 8
tail: persist
actors:
  - {id: target, role: target, discount: 0.9}
  - {id: usa, role: power, discount: 0.95}
  - {id: russia, role: power, discount: 0.95}
institutions:
  - {id: unsc, members: [usa, russia], rule: veto}
concerns:
  - {id: a, cost: 1, upkeep: 0.6, reversible: true, reversal_cost: 0.1, value: {usa: 1}}
measures:
  - {id: m1, issuer: unsc, status: active, impact: 1, burden: {russia: 0.3}}
policies:
  - id: sbs
    kind: step_by_step
    relief: {a: [{measure: m1, action: freeze}]}
    SNAP
votes:
  usa: {escalate: yes, relieve: yes}
  russia: {escalate: VOTE, relieve: yes}
"""


def scenario(snap: str, russia_escalate: str = "no"):
    text = BASE.replace("SNAP", snap).replace("VOTE", russia_escalate)
    return parse_scenario(text, "snap.yaml")


def test_without_snapback_the_target_pockets_relief_and_reverses() -> None:
    d = run(scenario(""), "sbs", rng=0).to_dict()
    assert d["steps"][0]["concern"] == "a"
    assert d["reversals"], d
    assert d["measures"]["m1"] == "frozen"  # relief stays after the reversal
    assert d["resolved"] == []


def test_snapback_issuer_rule_one_veto_blocks_the_restore() -> None:
    # russia (burdened by m1) vetoes restoring it under the issuer's veto rule
    d = run(scenario("snapback: {rule: issuer}"), "sbs", rng=0).to_dict()
    assert d["reversals"] and d["measures"]["m1"] == "frozen"


def test_snapback_reverse_veto_one_member_restores() -> None:
    # under the reverse veto the usa alone restores m1, so reversing does not pay
    d = run(scenario("snapback: {rule: reverse_veto}"), "sbs", rng=0).to_dict()
    assert d["reversals"] == []
    assert d["resolved"] == ["a"] and d["measures"]["m1"] == "frozen"


def test_restore_proposal_rules() -> None:
    g = compile_game(scenario("snapback: {rule: reverse_veto}"), "sbs")
    C = np.array([[OPEN]], dtype=np.uint8)  # a reversed: relief no longer justified
    M = np.array([[FROZEN]], dtype=np.uint8)
    M2, recs = resolve(g, 3, C, M, record=True)
    assert M2[0, 0] == ACTIVE and recs[0].votes.tolist() == [[True, False]]
    g2 = compile_game(scenario("snapback: {rule: issuer}"), "sbs")
    M3, _ = resolve(g2, 3, C, M)
    assert M3[0, 0] == FROZEN
    # nothing to restore while the concern stands verified
    M4, recs = resolve(g, 3, np.array([[VERIFIED]], dtype=np.uint8), M, record=True)
    assert M4[0, 0] == FROZEN and recs == []
    assert POTENTIAL == 0


def test_run_table_shows_the_reversal() -> None:
    from stepdeal.report import period_rows

    s = scenario("")
    rows = period_rows(s, run(s, "sbs", rng=0).timeline)
    assert any(r["steps"] == "reverse a" for r in rows)
