"""Hypothesis strategies that generate random valid small scenarios.

Numbers are drawn from coarse grids (multiples of 1/4, a few discounts) so that
exact ties between actions are common: the tie-breaking rule gets exercised.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from stepdeal.scenario import Scenario

AMOUNTS = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
SIGNED = st.sampled_from([-0.5, 0.0, 0.0, 0.25, 0.5, 1.0])
VERIFY = st.sampled_from([1.0, 1.0, 1.0, 0.5, 0.25, 0.0])
DISCOUNT = st.sampled_from([0.5, 0.75, 0.9, 0.95])


@st.composite
def vote_rules(draw: st.DrawFn, strategic: bool = False) -> Any:
    kinds = ["yes", "no", "sincere", "cond"] + (["strategic"] * 4 if strategic else [])
    kind = draw(st.sampled_from(kinds))
    if kind != "cond":
        return kind
    return {
        "if_verified_at_least": draw(st.integers(0, 3)),
        "then": draw(st.sampled_from(["yes", "no"])),
        "else": draw(st.sampled_from(["yes", "no"])),
    }


@st.composite
def scenario_dicts(
    draw: st.DrawFn,
    max_concerns: int = 4,
    max_measures: int = 4,
    max_horizon: int = 5,
    max_uncertain: int = 2,
    strategic: bool = False,
    reversible: bool = True,
) -> dict[str, Any]:
    n_powers = draw(st.integers(1, 3))
    powers = [f"p{i}" for i in range(n_powers)]
    nc = draw(st.integers(1, max_concerns))
    nm = draw(st.integers(0, max_measures))
    horizon = draw(st.integers(1, max_horizon))
    institutions = []
    for i in range(draw(st.integers(1, 2))):
        members = draw(
            st.lists(st.sampled_from(powers), min_size=1, max_size=n_powers, unique=True)
        )
        institutions.append(
            {"id": f"i{i}", "members": members, "rule": draw(st.sampled_from(["veto", "majority"]))}
        )
    concerns = []
    uncertain = 0
    for i in range(nc):
        verify = draw(VERIFY)
        if 0 < verify < 1:
            uncertain += 1
            if uncertain > max_uncertain:
                verify = 1.0
        concerns.append(
            {
                "id": f"c{i}",
                "cost": draw(AMOUNTS),
                "upkeep": draw(st.sampled_from([0.0, 0.0, 0.25])),
                "value": {p: draw(SIGNED) for p in powers if draw(st.booleans())},
                "verify": verify,
                "reversible": reversible and draw(st.sampled_from([False, False, True])),
                "reversal_cost": draw(st.sampled_from([0.0, 0.5, 2.0])),
            }
        )
    measures = []
    for j in range(nm):
        measures.append(
            {
                "id": f"m{j}",
                "issuer": draw(st.sampled_from([x["id"] for x in institutions])),
                "status": draw(st.sampled_from(["active", "active", "potential"])),
                "impact": draw(AMOUNTS),
                "burden": {p: draw(SIGNED) for p in powers if draw(st.booleans())},
                "curtail": draw(st.sampled_from([0.5, 0.25, 1.0, 0.0])),
            }
        )
    cids = [c["id"] for c in concerns]
    mids = [m["id"] for m in measures]
    potential = [m["id"] for m in measures if m["status"] == "potential"]
    kind = draw(st.sampled_from(["step_by_step", "escalation", "hybrid", "grand_bargain"]))
    policy: dict[str, Any] = {"id": "pol", "kind": kind}
    snapback = draw(st.sampled_from([None, None, "issuer", "reverse_veto"]))
    if snapback is not None:
        policy["snapback"] = {"rule": snapback}
    if kind in ("step_by_step", "hybrid"):
        policy["order"] = draw(st.one_of(st.just("by_cost"), st.permutations(cids).map(list)))
        policy["strict"] = draw(st.booleans())
        relief: dict[str, Any] = {}
        if mids:
            for c in cids:
                acts = draw(
                    st.lists(
                        st.fixed_dictionaries(
                            {
                                "measure": st.sampled_from(mids),
                                "action": st.sampled_from(["freeze", "curtail", "lift"]),
                            }
                        ),
                        max_size=2,
                    )
                )
                if acts:
                    relief[c] = acts
        policy["relief"] = relief
    if kind in ("escalation", "hybrid", "grand_bargain"):
        policy["demands"] = draw(
            st.one_of(st.just("all"), st.lists(st.sampled_from(cids), min_size=1, unique=True))
        )
    if kind in ("escalation", "hybrid"):
        policy["review_every"] = draw(st.integers(1, 3))
        policy["tranches"] = draw(st.permutations(potential).map(list)) if potential else []
        policy["on_completion"] = draw(st.sampled_from(["lift_all", "lift_all", "none"]))
    votes = {
        p: {"escalate": draw(vote_rules(strategic)), "relieve": draw(vote_rules(strategic))}
        for p in powers
        if strategic or draw(st.booleans())
    }
    return {
        "name": "random",
        "period": "month",
        "horizon": horizon,
        "tail": draw(st.sampled_from(["persist", "none"])),
        "max_steps_per_period": draw(st.sampled_from([1, 1, 2])),
        "actors": [{"id": "tgt", "role": "target", "discount": draw(DISCOUNT)}]
        + [{"id": p, "role": "power", "discount": draw(DISCOUNT)} for p in powers],
        "institutions": institutions,
        "concerns": concerns,
        "measures": measures,
        "policies": [policy],
        "votes": votes,
    }


def scenarios(**kwargs: Any) -> st.SearchStrategy[Scenario]:
    return scenario_dicts(**kwargs).map(Scenario.model_validate)
