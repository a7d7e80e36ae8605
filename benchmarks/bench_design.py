"""Benchmark: the roadmap designer (run on demand, not in CI).

Measures (1) the chain solver's throughput — strict roadmaps solved per second in one
batch — against the full solver on the same design, and (2) ``design()`` end to end on
the built-in scenarios and on generated ones. Usage::

    python benchmarks/bench_design.py
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import benchmark_scenario

from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario, load_scenario
from stepdeal.solve import solve_best_response
from stepdeal.solve.chain import Designs, designs_of_game, solve_chain
from stepdeal.solve.design import design


def throughput(s: Scenario, policy: str, batch: int = 20_000) -> tuple[float, float]:
    """(designs per second in a batch of ``batch``, full-solver seconds for one design)."""
    g = compile_game(s, policy)
    one = designs_of_game(g)
    many = Designs(
        order=np.repeat(one.order, batch, axis=0), levels=np.repeat(one.levels, batch, axis=0)
    )
    t = time.perf_counter()
    solve_chain(g, many)
    per_second = batch / (time.perf_counter() - t)
    t = time.perf_counter()
    solve_best_response(g)
    return per_second, time.perf_counter() - t


def main() -> None:
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    print()
    print("| scenario | designs/s (chain, batch 20k) | full solver s/design | speed-up |")
    print("|---|---|---|---|")
    cases = [
        ("iran-2011", load_scenario("iran-2011"), "step-by-step"),
        (
            "generated 12x16x60",
            benchmark_scenario(12, 16, 60, seed=0, verify_low=0.6),
            "step-by-step",
        ),
    ]
    for name, s, pol in cases:
        rate, full = throughput(s, pol)
        print(f"| {name} | {rate:,.0f} | {full:.3f} | {rate * full:,.0f}x |")
    print()
    print("| scenario | status | objective (concerns) | bound | designs solved | seconds |")
    print("|---|---|---|---|---|---|")
    for name, s in [
        ("holdup-demo", load_scenario("holdup-demo")),
        ("iran-2011", load_scenario("iran-2011")),
    ]:
        t = time.perf_counter()
        r = design(s)
        dt = time.perf_counter() - t
        print(
            f"| {name} | {r.status} | {r.objective:.4f} | {r.bound:.4f} | "
            f"{r.evaluated:,} | {dt:.2f} |"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole run: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
