"""Roadmap design that targets a posterior: reassurance as the objective.

With target types, a roadmap can aim at what the powers learn, not only at what gets
done: ``design_for_posterior`` looks for the strict step-by-step roadmap that
maximises the probability that, when the target really is of type ``X``, the powers'
belief in ``X`` reaches at least ``threshold`` by the end of the horizon; ties are
broken by the expected number of concerns verified (prior-weighted over types), then
by the powers' total expected utility.

Search. Every candidate is solved exactly with the typed solver
(:func:`~stepdeal.solve.pbe.solve_typed`), which is slower than the designer's chain
solver, so the search is local: it starts from the complete-information design of
:func:`~stepdeal.solve.design.design` and from the file's own strict step-by-step
policies, and improves each by moves of one step in the order (to the front, or one place later;
each position keeps its relief) until no move improves. The result is a local
optimum over orders (status ``local``), not a proven optimum; relief staircases are
those of the starting designs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..mechanisms.game import compile_game
from ..scenario import Scenario
from .design import DESIGN_ID, DesignRefused, DesignResult, _with_policy, design
from .outcomes import path_outcomes
from .pbe import BeliefFreeSolution, solve_typed, type_path

Key = tuple[float, float, float]


def _evaluate(s: Scenario, policy: dict[str, Any], k: int, threshold: float) -> tuple[Key, Any]:
    designed = _with_policy(s, policy)
    game = compile_game(designed, DESIGN_ID)
    sol = solve_typed(game)
    path = type_path(sol, k, threshold)
    reached = path.p_at_least[-1] if path.p_at_least else 0.0
    verified = sum(
        float(game.prior[j]) * (path if j == k else type_path(sol, j)).verified[-1]
        for j in range(game.n_types)
    )
    powers = sum(sol.power_value.values())
    key = (round(reached, 9), round(verified, 9), round(powers, 9))
    return key, (designed, game, sol, path)


def _moved(policy: dict[str, Any], i: int, j: int) -> dict[str, Any]:
    """Move the step at position ``i`` to position ``j``; relief stays with positions."""
    order = list(policy["order"])
    relief = policy.get("relief", {})
    by_pos = [relief.get(c, []) for c in order]
    c = order.pop(i)
    order.insert(j, c)
    out = dict(policy)
    out["order"] = order
    out["relief"] = {cid: acts for cid, acts in zip(order, by_pos, strict=True) if acts}
    return out


def design_for_posterior(
    scenario: Scenario,
    target_type: str,
    threshold: float,
    objective: str = "resolved",
    rng: int | np.random.Generator | None = 0,
    max_exact: int = 300_000,
    restarts: int = 24,
    max_rounds: int = 10,
) -> DesignResult:
    """The strict roadmap that best reassures the powers about ``target_type``.

    Raises :class:`~stepdeal.solve.design.DesignRefused` for a scenario without that
    type or outside the designer's reach.
    """
    clock = time.perf_counter()
    ids = [t.id for t in scenario.types]
    if target_type not in ids:
        known = ", ".join(ids) if ids else "none: the scenario declares no types"
        raise DesignRefused(f"no type {target_type!r}. Fix: target one of {known}")
    if not 0.0 < threshold <= 1.0:
        raise DesignRefused(f"threshold {threshold} is not in (0, 1]. Fix: give e.g. 0.9")
    k = ids.index(target_type)
    base = design(scenario, objective, rng, max_exact, restarts)
    starts = [base.policy]
    for p in scenario.policies:
        if p.kind == "step_by_step" and p.strict and isinstance(p.order, list):
            pol = p.model_dump(mode="json", by_alias=True, exclude_none=True)
            if pol.get("relief_if_belief") is None and len(pol["order"]) == len(scenario.concerns):
                pol["id"] = DESIGN_ID
                starts.append(pol)
    evaluated = 0
    best_key: Key | None = None
    best: tuple[dict[str, Any], Any] | None = None
    base_key: Key | None = None
    for start in starts:
        key, info = _evaluate(scenario, start, k, threshold)
        evaluated += 1
        if base_key is None:
            base_key = key
        policy = start
        n = len(policy["order"])
        for _ in range(max_rounds):
            improved = False
            moves = [(i, 0) for i in range(1, n)] + [(i, i + 1) for i in range(n - 1)]
            for i, j in moves:
                cand = _moved(policy, i, j)
                ckey, cinfo = _evaluate(scenario, cand, k, threshold)
                evaluated += 1
                if ckey > key:
                    key, info, policy, improved = ckey, cinfo, cand, True
            if not improved:
                break
        if best_key is None or key > best_key:
            best_key, best = key, (policy, info)
    assert best is not None and best_key is not None and base_key is not None
    policy, (designed, game, sol, path) = best
    policy = dict(policy)
    policy["note"] = (
        f"Designed by `stepdeal design --target-posterior {target_type}={threshold:g}`: "
        f"the strict roadmap (local search over orders) that maximises P(belief in "
        f"{target_type} >= {threshold:g} by the horizon | the target is {target_type}); "
        "then expected concerns verified; then the powers' total utility."
    )
    designed = _with_policy(scenario, policy)
    per_type = sol.per_type[k] if isinstance(sol, BeliefFreeSolution) else None
    order_idx = [game.concern_ids.index(c) for c in policy["order"]]
    if per_type is not None:
        p_ver = path_outcomes(per_type).p_verified
        p_resolved = {game.concern_ids[i]: round(float(p_ver[i]), 9) for i in order_idx}
    else:
        p_resolved = {}
    return replace(
        base,
        scenario=designed,
        policy=policy,
        objective_name="posterior",
        objective=best_key[0],
        bound=1.0,
        status="local",
        resolved=[c for c, p in p_resolved.items() if p >= 0.5],
        p_resolved=p_resolved,
        expected_resolved=best_key[1],
        powers_total=best_key[2],
        target_utility=round(sol.value[target_type], 9),
        power_utility={p: round(v, 9) for p, v in sol.power_value.items()},
        method=(
            f"local search over orders (moves of one step) from {len(starts)} start(s), "
            f"each design solved exactly with the typed solver; not a proven optimum"
        ),
        space_size=base.space_size,
        evaluated=evaluated,
        seconds=time.perf_counter() - clock,
        warnings=[],
        posterior={
            "type": target_type,
            "threshold": threshold,
            "p_reached": best_key[0],
            "p_reached_by_complete_information_design": base_key[0],
            "first_known": path.first_certain,
            "belief_in_truth_at_end": round(path.belief_in_truth[-1], 9),
            "p_reached_per_period": [round(x, 9) for x in path.p_at_least],
        },
    )


__all__ = ["design_for_posterior"]
