# ruff: noqa: E501
"""Benchmark: ensembles (run on demand, not in CI).

(a) ``stepdeal ensemble`` on 10^5 samples x 2 policies of iran-2011 (exact best
    response per sample), 2 worker processes, results stored as Parquet;
(b) what a user would do instead: stepdeal's single-scenario evaluation (apply the
    sample, ``solve_best_response``, forward pass for the outcomes) wrapped as an EMA
    Workbench ``Model(function=...)`` and run with its ``SequentialEvaluator`` on the same
    samples, against ``run_ensemble`` (local executor) on those samples;
(c) peak memory of ``stepdeal ensemble`` (local, stored) at N = 10^4, 10^5, 10^6.

Each case runs in a fresh process; peak memory is that process's max RSS.
Usage::

    python benchmarks/bench_ensemble.py a        # (a)
    python benchmarks/bench_ensemble.py b --ema-python /path/to/venv-with-ema/bin/python
    python benchmarks/bench_ensemble.py c
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD_RUN = r"""
import json, resource, sys, time
from pathlib import Path
from stepdeal.ensemble.run import run_ensemble
t = time.perf_counter()
r = run_ensemble("iran-2011", {n}, "lhs", {policies!r}, seed=1, executor={executor!r},
                 workers={workers}, out=Path({out!r}), chunk_size={chunk}, collect=False)
dt = time.perf_counter() - t
from stepdeal.ensemble.store import summary
s = summary(Path({out!r}))
print(json.dumps({{"seconds": dt, "rows": int(s["n_ok"].sum() + s["n_error"].sum()), "ok": int(s["n_ok"].sum()),
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

CHILD_EMA = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from ema_workbench import Model, RealParameter, ScalarOutcome, SequentialEvaluator, Scenario as EmaScenario
from stepdeal.scenario import load_scenario
from stepdeal.mechanisms import compile_game
from stepdeal.ensemble.evaluate import params_for
from stepdeal.solve import solve_best_response
from stepdeal.solve.outcomes import path_outcomes
s = load_scenario("iran-2011")
names = s.uncertainty.names
values = np.load({values!r})
games = {{p: compile_game(s, p) for p in {policies!r}}}
def evaluate(**kw):
    x = np.array([[kw[n.replace("-", "_")] for n in names]])
    out = {{}}
    for pid, game in games.items():
        g = params_for(game, s.uncertainty, x).game(game, 0)
        sol = solve_best_response(g)
        out[pid.replace("-", "_") + "_resolved"] = path_outcomes(sol).expected_resolved
        out[pid.replace("-", "_") + "_utility"] = sol.value
    return out
m = Model("stepdeal", function=evaluate)
m.uncertainties = [RealParameter(n.replace("-", "_"), float(values[:, j].min()) - 1, float(values[:, j].max()) + 1) for j, n in enumerate(names)]
m.outcomes = [ScalarOutcome(p.replace("-", "_") + k) for p in {policies!r} for k in ("_resolved", "_utility")]
scen = [EmaScenario(f"s{{i}}", **{{n.replace("-", "_"): float(values[i, j]) for j, n in enumerate(names)}}) for i in range(len(values))]
t = time.perf_counter()
with SequentialEvaluator(m) as ev:
    exps, outs = ev.perform_experiments(scenarios=scen)
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "first": float(outs[{first!r}][0])}}))
"""

CHILD_OURS_ON_VALUES = r"""
import json, time
import numpy as np
from stepdeal.scenario import load_scenario
from stepdeal.ensemble.evaluate import evaluate
s = load_scenario("iran-2011")
values = np.load({values!r})
t = time.perf_counter()
res = evaluate(s, {policies!r}, values, np.arange(len(values)))
dt = time.perf_counter() - t
first = res[res["policy"] == {policies!r}[0]]["expected_resolved"].iloc[0]
print(json.dumps({{"seconds": dt, "first": float(first)}}))
"""


def child(code: str, python: str = sys.executable) -> dict[str, float]:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def machine() -> str:
    import numpy as np

    return (
        f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def case_a(n: int) -> None:
    pols = ["step-by-step", "hybrid"]
    with tempfile.TemporaryDirectory() as tmp:
        r = child(
            CHILD_RUN.format(
                n=n,
                policies=pols,
                executor="processes",
                workers=2,
                out=str(Path(tmp) / "run"),
                chunk=5000,
            )
        )
    print(
        f"(a) {n:,} samples x {pols}: {r['seconds']:.1f} s, {r['rows']:,} rows "
        f"({r['ok']:,} ok), parent RSS {r['rss_mib']:.0f} MiB"
    )


def case_b(n: int, ema_python: str) -> None:
    import numpy as np

    from stepdeal.ensemble.sampling import make_design
    from stepdeal.scenario import load_scenario

    s = load_scenario("iran-2011")
    values = s.uncertainty.values(make_design("lhs", n, s.uncertainty.dimension, 1).unit)
    pols = ["step-by-step", "hybrid"]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "values.npy")
        np.save(path, values)
        ours = child(CHILD_OURS_ON_VALUES.format(values=path, policies=pols))
        ema = child(
            CHILD_EMA.format(values=path, policies=pols, first="step_by_step_resolved"),
            ema_python,
        )
    print(
        f"(b) {n:,} samples x {pols}: EMA SequentialEvaluator {ema['seconds']:.1f} s, "
        f"stepdeal {ours['seconds']:.2f} s -> {ema['seconds'] / ours['seconds']:,.0f}x; "
        f"first sample agrees: {abs(ema['first'] - ours['first']) < 1e-9}"
    )


def case_c(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            r = child(
                CHILD_RUN.format(
                    n=n,
                    policies=["step-by-step"],
                    executor="local",
                    workers=1,
                    out=str(Path(tmp) / "run"),
                    chunk=10000,
                )
            )
        print(f"(c) N={n:,}: {r['seconds']:.1f} s, peak RSS {r['rss_mib']:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["a", "b", "c"])
    ap.add_argument("-n", type=int, default=None)
    ap.add_argument("--ema-python", default=sys.executable)
    args = ap.parse_args()
    print("machine:", machine())
    if args.case == "a":
        case_a(args.n or 100_000)
    elif args.case == "b":
        case_b(args.n or 500, args.ema_python)
    else:
        case_c([10_000, 100_000, 1_000_000] if args.n is None else [args.n])


if __name__ == "__main__":
    main()
