"""Benchmark: the typed (perfect Bayesian equilibrium) solver (run on demand, not in CI).

1. ``iran-2011`` with its two types: every policy (belief-free: one exact solve per type).
2. ``iran-2011`` with relief conditioned on P(latency) >= 0.9 on Lavrov's order, on
   the designed order and on Lavrov's relief with any order (strict: false): the joint
   solver over (period, state, belief).
3. The generated 12 x 16 x 60 step-by-step case with 2, 3 and 4 types and a belief
   condition on relief: how the joint solver scales with the number of types.
4. Fearon's risk-return sweep with 60 types (belief-free), per offer.
5. ``stepdeal design iran-2011 --target-posterior latency=0.9``.

Usage: ``python benchmarks/bench_types.py``. Times are wall times, best of 3 for the
solves (one run for the design).
"""

from __future__ import annotations

import copy
import platform
import sys
import time
from pathlib import Path
from typing import Any

from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario, load_scenario
from stepdeal.solve.design_types import design_for_posterior
from stepdeal.solve.pbe import solve_typed

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from generate import benchmark_scenario


def best_of(fn: Any, n: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def with_reassurance(raw: dict[str, Any], base: str, theta: float) -> Scenario:
    raw = copy.deepcopy(raw)
    pol = copy.deepcopy(next(p for p in raw["policies"] if p["id"] == base))
    pol["id"] = "reassure"
    pol["relief_if_belief"] = {"type": raw["types"][0]["id"], "at_least": theta}
    raw["policies"].append(pol)
    return Scenario.model_validate(raw)


def main() -> None:
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}")
    s = load_scenario("iran-2011")
    print("\n1. iran-2011, two types, per policy (belief-free)")
    for p in s.policies:
        g = compile_game(s, p.id)
        sec, sol = best_of(lambda g=g: solve_typed(g))
        print(f"  {p.id:14s} {sec:7.3f} s  nodes {sol.stats()['nodes']:,}")
    raw = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    print("\n2. iran-2011, relief only if P(latency) >= 0.9 (joint solver)")
    for base in ("step-by-step", "designed"):
        g = compile_game(with_reassurance(raw, base, 0.9), "reassure")
        sec, sol = best_of(lambda g=g: solve_typed(g))
        st = sol.stats()
        print(f"  {base:14s} {sec:7.3f} s  nodes {st['nodes']:,}  flagged {st['flagged_nodes']}")
    free = copy.deepcopy(raw)
    next(p for p in free["policies"] if p["id"] == "step-by-step")["strict"] = False
    g = compile_game(with_reassurance(free, "step-by-step", 0.9), "reassure")
    sec, sol = best_of(lambda: solve_typed(g), 1)
    st = sol.stats()
    print(f"  free order     {sec:7.3f} s  nodes {st['nodes']:,}  flagged {st['flagged_nodes']}")
    print("\n3. generated 12 x 16 x 60 step-by-step, belief condition, K types")
    gen = benchmark_scenario()
    graw = gen.model_dump(mode="json", by_alias=True, exclude_none=True)
    for K in (2, 3, 4):
        r = copy.deepcopy(graw)
        r["types"] = [
            {
                "id": f"t{k}",
                "prior": 1.0 / K if k < K - 1 else 1.0 - (K - 1) / K,
                "cost": {c["id"]: c["cost"] * (1 + k) for c in r["concerns"]},
            }
            for k in range(K)
        ]
        g = compile_game(with_reassurance(r, "step-by-step", 0.6), "reassure")
        sec, sol = best_of(lambda g=g: solve_typed(g), 1 if K == 4 else 3)
        st = sol.stats()
        print(f"  K={K}  {sec:7.3f} s  nodes {st['nodes']:,}  flagged {st['flagged_nodes']}")
    print("\n4. Fearon sweep, 60 types, one offer (belief-free)")
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from tests.test_types import fearon

    g = compile_game(fearon(0.6))
    sec, _ = best_of(lambda: solve_typed(g))
    print(f"  x=0.6  {sec:7.3f} s")
    print("\n5. design iran-2011 --target-posterior latency=0.9")
    t = time.perf_counter()
    res = design_for_posterior(s, "latency", 0.9)
    took = time.perf_counter() - t
    print(f"  {took:7.1f} s, {res.evaluated} designs, first step {res.policy['order'][0]}")


if __name__ == "__main__":
    main()
