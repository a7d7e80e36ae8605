"""Benchmark: exact best response on generated scenarios (run on demand, not in CI).

Each case runs in a fresh subprocess so that peak memory (max RSS) is its own.
Usage::

    python benchmarks/bench_best_response.py              # headline cases
    python benchmarks/bench_best_response.py --all        # also the free-order cases (minutes)
    python benchmarks/bench_best_response.py --repeat 5

Prints a Markdown table: policy, horizon, concerns, measures, reachable states,
(state, action) pairs, chance edges, best wall time of the solve, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {here!r})
from generate import benchmark_scenario
from stepdeal.mechanisms import compile_game
from stepdeal.solve import StateGraphTooLarge, solve_best_response
s = benchmark_scenario({nc}, {nm}, {h}, seed=0, verify_low={vlow}, strategic={strategic!r})
g = compile_game(s, {policy!r})
times = []
for _ in range({repeat}):
    t = time.perf_counter()
    try:
        br = solve_best_response(g)
    except StateGraphTooLarge as exc:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"refused": str(exc), "seconds": time.perf_counter() - t,
                          "rss_mib": rss / 1024}}))
        raise SystemExit(0)
    times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({{"best": min(times), "median": sorted(times)[len(times) // 2],
                  "stats": br.stats(), "rss_mib": rss / 1024,
                  "max_layer": max(L.n_states for L in br.layers)}}))
"""

# (policy, concerns, measures, horizon, lowest verify, strategic voters)
HEADLINE = [
    ("step-by-step", 12, 16, 60, 0.6, ""),
    ("hybrid", 12, 16, 60, 0.6, ""),
    ("step-by-step", 12, 16, 60, 1.0, ""),
    ("dual-track", 12, 16, 60, 1.0, ""),
    ("grand-bargain", 12, 16, 60, 1.0, ""),
    ("step-by-step", 12, 16, 60, 0.6, "escalate"),
    ("hybrid", 12, 16, 60, 0.6, "escalate"),
    ("step-by-step", 12, 16, 60, 0.6, "all"),
]
SLOW = [
    ("dual-track", 12, 16, 60, 0.6, ""),
    ("grand-bargain", 12, 16, 60, 0.6, ""),
    ("step-by-step-free", 12, 16, 60, 0.6, ""),
    ("hybrid", 12, 16, 60, 0.6, "all"),
]


def run_case(
    policy: str, nc: int, nm: int, h: int, vlow: float, strategic: str, repeat: int
) -> dict[str, object]:
    code = CHILD.format(
        here=str(HERE),
        nc=nc,
        nm=nm,
        h=h,
        vlow=vlow,
        policy=policy,
        repeat=repeat,
        strategic=strategic,
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--all", action="store_true", help="include the slow free-order cases")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = HEADLINE + (SLOW if args.all else [])
    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print()
    print(
        "| policy | verify | H | concerns | measures | states | max/period | pairs | chance edges "
        "| best s | median s | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        policy, nc, nm, h, vlow, strategic = case
        rep = 1 if case in SLOW else args.repeat
        r = run_case(policy, nc, nm, h, vlow, strategic, rep)
        if strategic:
            policy = f"{policy}, strategic voters ({strategic})"
        verify = "1" if vlow >= 1 else f"U[{vlow}, 1]"
        if "refused" in r:
            print(
                f"| {policy} | {verify} | {h} | {nc} | {nm} | refused: over the default budget "
                f"| | | | {r['seconds']:.1f} (to refusal) | | {r['rss_mib']:.0f} |",
                flush=True,
            )
            continue
        st = r["stats"]
        assert isinstance(st, dict)
        print(
            f"| {policy} | {verify} | {h} | {nc} | {nm} | {st['states']} | {r['max_layer']} "
            f"| {st['state_actions']} | {st['chance_edges']} | {r['best']:.3f} "
            f"| {r['median']:.3f} | {r['rss_mib']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
