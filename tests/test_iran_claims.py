"""The seed's claims, tested on the built-in iran-2011 scenario with the model as specified.

(a) Under dual track, Russia and China veto further UN tranches once Iran has a verified step.
(b) Iran's best response under dual track is the cheapest step that buys that protection, no more.
(c) Under step-by-step with easy-first relief, Iran resolves the easy concerns and stops
    before the hardest.
(d) The comparison states which approach resolves more.
"""

from __future__ import annotations

import pytest

from stepdeal.api import compare, run
from stepdeal.report import verdict
from stepdeal.scenario import load_scenario

SEEDS = range(8)


@pytest.fixture(scope="module")
def iran():
    return load_scenario("iran-2011")


@pytest.fixture(scope="module")
def dual(iran):
    return [run(iran, "dual-track", rng=k) for k in SEEDS]


def _unsc_tranches(iran):
    pol = iran.policy("dual-track")
    issuer = {m.id: m.issuer for m in iran.measures}
    return [m for m in pol.tranches if issuer[m] == "unsc"]


def test_a_russia_and_china_veto_un_tranches_after_a_verified_step(iran, dual) -> None:
    un = set(_unsc_tranches(iran))
    assert un
    for r in dual:
        tl = r.timeline
        first_verified = min(e.t for e in tl.events if e.kind == "verified")
        for e in tl.events:
            if (
                e.kind == "vote"
                and e.data["proposal"].split(":")[1] in un
                and e.t >= first_verified
                and e.data["member"] in ("russia", "china")
            ):
                assert e.data["vote"] == "no" and e.data["veto"]
        vetoers = {(v["member"], v["institution"]) for v in tl.vetoes()}
        assert {("russia", "unsc"), ("china", "unsc")} <= vetoers
        assert all(tl.final_measures()[m] == "potential" for m in un)


def test_a_without_a_step_the_un_tranche_passes(iran) -> None:
    d = run(iran, "dual-track", "defiant", rng=0).to_dict()
    assert d["vetoes"] == []
    assert all(d["measures"][m] == "active" for m in _unsc_tranches(iran))


def test_b_dual_track_best_response_is_the_minimum_necessary(iran, dual) -> None:
    delta = iran.target.discount
    # cheapest in present value: one-off cost plus upkeep for ever
    cheapest = min(iran.concerns, key=lambda c: c.cost + c.upkeep / (1 - delta)).id
    for r in dual:
        assert [s["concern"] for s in r.to_dict()["steps"]] == [cheapest]
    # the step is taken before the first review, so it can be verified in time
    first_review = iran.policy("dual-track").review_every
    assert all(r.to_dict()["steps"][0]["taken"] < first_review for r in dual)
    # and it pays: better for Iran than defiance
    defiant = run(iran, "dual-track", "defiant", rng=0)
    assert dual[0].solution.value > defiant.timeline.utilities["iran"]


def test_c_step_by_step_resolves_easy_concerns_and_stops_before_the_hardest(iran) -> None:
    pol = iran.policy("step-by-step")
    order = list(pol.order)
    iaea = [c for c in order if pol.relief.get(c)]  # concerns that carry relief
    hardest = max(iaea, key=lambda c: next(x.cost for x in iran.concerns if x.id == c))
    for k in SEEDS:
        d = run(iran, "step-by-step", rng=k).to_dict()
        taken = [s["concern"] for s in d["steps"]]
        assert taken == order[: len(taken)]  # easy first, in order
        assert len(taken) >= 2
        assert hardest not in taken
        # the stall is a real choice: the next step is worth less than waiting
        why = d["why"]
        assert why["stalled"] and why["options"]
        assert all(o["gain_vs_wait"] < 0 for o in why["options"])


def test_d_comparison_says_which_approach_resolves_more(iran) -> None:
    results = compare(iran, rng=0)
    n = {pid: len(r.to_dict()["resolved"]) for pid, r in results.items()}
    assert n["designed"] > n["step-by-step"] > n["dual-track"]
    text = verdict(iran, {pid: r.timeline for pid, r in results.items()})
    assert "designed resolves the most" in text and "more than step-by-step" in text
    without = {pid: r.timeline for pid, r in results.items() if pid != "designed"}
    assert "more than dual-track" in verdict(iran, without)
