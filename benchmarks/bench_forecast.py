"""Benchmark: stakeholder forecasts (run on demand, not in CI).

SMP (KTAB's Spatial Model of Politics) with 160 actors x 3 dimensions to KTAB's stop
rule, and BDM (``scholz2011`` switches) with 100 actors x 50 rounds, on seeded random
tables; minimum of 5 runs. Usage: ``python benchmarks/bench_forecast.py``.
"""

from __future__ import annotations

import platform
import time

import numpy as np

from stepdeal.forecast.actors import ActorTable
from stepdeal.forecast.bdm import BdmSwitches, bdm
from stepdeal.forecast.smp import smp


def table(n: int, d: int, seed: int) -> ActorTable:
    rng = np.random.default_rng(seed)
    sal = rng.uniform(5, 100, (n, d))
    sal = sal / sal.sum(axis=1, keepdims=True) * rng.uniform(20, 100, (n, 1))
    return ActorTable(
        name=f"random-{n}x{d}",
        dimensions=tuple(f"d{j}" for j in range(d)),
        actors=tuple(f"a{i:03d}" for i in range(n)),
        capability=rng.uniform(1, 100, n),
        position=rng.uniform(0, 100, (n, d)),
        salience=sal,
    ).validate()


def best(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}"
    )
    t160 = table(160, 3, 160)
    steps = len(smp(t160).rounds) - 1
    print(f"SMP 160 x 3 (seed 160): {steps} steps, best of 5 {best(lambda: smp(t160)):.2f} s")
    t100 = table(100, 1, 1)
    sw = BdmSwitches.preset("scholz2011")
    print(f"BDM 100 x 50 rounds (scholz2011): best of 5 {best(lambda: bdm(t100, 50, sw)):.2f} s")


if __name__ == "__main__":
    main()
