"""Generate a benchmark scenario: n concerns, m measures, horizon H (seeded)."""

from __future__ import annotations

from typing import Any

import numpy as np

from stepdeal.scenario import Scenario


def benchmark_scenario(
    n_concerns: int = 12,
    n_measures: int = 16,
    horizon: int = 60,
    seed: int = 0,
    verify_low: float = 0.6,
    max_steps: int = 1,
    strategic: str = "",
) -> Scenario:
    """A P5-style scenario: 12 concerns of rising cost, active and potential measures,
    a UNSC with vetoes, an EU and a US, and four policies (step-by-step, dual-track,
    hybrid, grand bargain). Verification probabilities are drawn in [verify_low, 1].
    ``strategic``: "" (rule-based votes), "escalate" (Russia and China vote strategically
    on tranches) or "all" (the US, Russia and China vote strategically on everything)."""
    rng = np.random.default_rng(seed)
    powers = ["usa", "uk", "france", "germany", "russia", "china"]
    n_active = n_measures - n_measures // 3
    concerns: list[dict[str, Any]] = []
    for i in range(n_concerns):
        concerns.append(
            {
                "id": f"c{i:02d}",
                "cost": round(float(1 + i + rng.uniform(0, 1)), 3),
                "upkeep": round(float(rng.uniform(0, 0.05)), 3),
                "value": {p: round(float(rng.uniform(0, 1)), 3) for p in powers[:4]},
                "verify": round(float(rng.uniform(verify_low, 1.0)), 3),
            }
        )
    issuers = ["unsc", "eu", "us"]
    measures: list[dict[str, Any]] = []
    for j in range(n_measures):
        measures.append(
            {
                "id": f"m{j:02d}",
                "issuer": issuers[j % 3],
                "status": "active" if j < n_active else "potential",
                "impact": round(float(rng.uniform(0.1, 1.0)), 3),
                "burden": {
                    "russia": round(float(rng.uniform(0, 0.2)), 3),
                    "china": round(float(rng.uniform(0, 0.2)), 3),
                },
            }
        )
    active = [m["id"] for m in measures if m["status"] == "active"]
    potential = [m["id"] for m in measures if m["status"] == "potential"]
    relief = {
        c["id"]: [{"measure": active[i % len(active)], "action": "freeze" if i % 2 else "curtail"}]
        for i, c in enumerate(concerns)
    }
    escalation = {"demands": "all", "review_every": 3, "tranches": potential}
    data: dict[str, Any] = {
        "name": f"bench-{n_concerns}c-{n_measures}m-{horizon}h",
        "period": "month",
        "horizon": horizon,
        "tail": "persist",
        "max_steps_per_period": max_steps,
        "actors": [{"id": "target", "role": "target", "discount": 0.97}]
        + [{"id": p, "role": "power", "discount": 0.98} for p in powers],
        "institutions": [
            {"id": "unsc", "members": ["usa", "uk", "france", "russia", "china"], "rule": "veto"},
            {"id": "eu", "members": ["uk", "france", "germany"], "rule": "veto"},
            {"id": "us", "members": ["usa"], "rule": "veto"},
        ],
        "concerns": concerns,
        "measures": measures,
        "policies": [
            {
                "id": "step-by-step",
                "kind": "step_by_step",
                "order": "by_cost",
                "strict": True,
                "relief": relief,
            },
            {
                "id": "step-by-step-free",
                "kind": "step_by_step",
                "order": "by_cost",
                "strict": False,
                "relief": relief,
            },
            {"id": "dual-track", "kind": "escalation", **escalation, "on_completion": "lift_all"},
            {
                "id": "hybrid",
                "kind": "hybrid",
                "order": "by_cost",
                "strict": True,
                "relief": relief,
                **escalation,
            },
            {"id": "grand-bargain", "kind": "grand_bargain", "demands": "all"},
        ],
        "votes": {
            "russia": {
                "escalate": {"if_verified_at_least": 1, "then": "no", "else": "yes"},
                "relieve": "yes",
            },
            "china": {
                "escalate": {"if_verified_at_least": 2, "then": "no", "else": "yes"},
                "relieve": "yes",
            },
            "usa": {
                "escalate": "yes",
                "relieve": {"if_verified_at_least": 2, "then": "yes", "else": "no"},
            },
        },
    }
    if strategic == "escalate":
        for p in ("russia", "china"):
            data["votes"][p]["escalate"] = "strategic"
    elif strategic == "all":
        for p in ("usa", "russia", "china"):
            data["votes"][p] = {"escalate": "strategic", "relieve": "strategic"}
    return Scenario.model_validate(data)
