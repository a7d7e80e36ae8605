"""Analysis of a stored ensemble run: the tables and boxes `stepdeal analyze` shows.

Combines the statistics of :mod:`stepdeal.ensemble.analysis` for one run:
outcome distributions per policy, robustness (regret against the best policy in
each sample, share best, satisficing share), Sobol indices (Saltelli designs
only) and a PRIM box for a condition such as ``step-by-step:expected_resolved<2``
("where does step-by-step stall?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .analysis import PrimResult, distributions, outcome_by_sample, prim, robustness, sobol_indices

#: outcomes summarised by default, with their units ("unit" = the scenario's money unit)
DEFAULT_OUTCOMES = {
    "expected_resolved": "concerns",
    "target_utility": "unit",
    "powers_total_utility": "unit",
    "expected_pressure": "unit",
}
_COND = re.compile(r"^\s*([^:]+):\s*([A-Za-z0-9_:.\-]+)\s*(<=|>=|<|>)\s*(-?[0-9.eE+\-]+)\s*$")


def larger_is_better(outcome: str) -> bool:
    """False for outcomes where less is better: pressure, vetoes, periods to a step."""
    return not (
        outcome in ("expected_pressure", "expected_vetoes") or outcome.startswith("periods_to:")
    )


@dataclass
class Condition:
    policy: str
    outcome: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.policy}: {self.outcome} {self.op} {self.value:g}"

    def flags(self, results: pd.DataFrame) -> pd.Series:
        """Per sample (index = sample): whether the condition holds (NaN rows: False)."""
        rows = results[results["policy"] == self.policy].set_index("sample")
        y = pd.to_numeric(rows[self.outcome], errors="coerce")
        op = {"<": y.lt, "<=": y.le, ">": y.gt, ">=": y.ge}[self.op]
        return op(self.value).fillna(False).astype(bool)


def parse_condition(text: str, policies: list[str], outcomes: list[str]) -> Condition:
    """``POLICY:OUTCOME<VALUE`` (or ``<=``, ``>``, ``>=``); ``ValueError`` with a fix."""
    m = _COND.match(text)
    if not m:
        raise ValueError(
            f"cannot read the condition {text!r}. "
            "Fix: write POLICY:OUTCOME<VALUE, e.g. step-by-step:expected_resolved<2"
        )
    policy, outcome, op, value = m.groups()
    if policy.strip() not in policies:
        raise ValueError(f"no policy {policy!r} in this run. Fix: use one of {', '.join(policies)}")
    if outcome not in outcomes:
        raise ValueError(f"no outcome {outcome!r}. Fix: use one of {', '.join(outcomes)}")
    return Condition(policy.strip(), outcome, op, float(value))


@dataclass
class RunAnalysis:
    """Everything `stepdeal analyze` prints and `stepdeal report OUT` draws."""

    manifest: dict[str, Any]
    outcome: str
    distributions: dict[str, pd.DataFrame]
    robustness: pd.DataFrame
    threshold: float | None
    errors: pd.DataFrame
    sobol: dict[str, pd.DataFrame] = field(default_factory=dict)
    condition: Condition | None = None
    prim: PrimResult | None = None
    notes: list[str] = field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # sampled min, max

    def to_dict(self) -> dict[str, Any]:
        def frame(df: pd.DataFrame) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = json_safe(df.reset_index().to_dict(orient="records"))
            return out

        box = None
        if self.prim is not None:
            box = {
                "condition": str(self.condition),
                "limits": {k: list(v) for k, v in self.prim.limits.items()},
                "coverage": self.prim.coverage,
                "density": self.prim.density,
                "mass": self.prim.mass,
                "n_flagged": self.prim.n_flagged,
                "n": self.prim.n,
            }
        return {
            "run": self.manifest,
            "outcome": self.outcome,
            "distributions": {k: frame(v) for k, v in self.distributions.items()},
            "robustness": frame(self.robustness),
            "threshold": self.threshold,
            "errors": frame(self.errors),
            "sobol": {k: frame(v) for k, v in self.sobol.items()},
            "prim": box,
            "notes": self.notes,
        }


def json_safe(x: Any) -> Any:
    """Replace NaN/inf by None (JSON has neither) and numpy scalars by Python ones."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def analyze_run(
    manifest: dict[str, Any],
    inputs: pd.DataFrame,
    results: pd.DataFrame,
    outcome: str = "expected_resolved",
    threshold: float | None = None,
    sobol: bool = False,
    condition: str | None = None,
    seed: int = 0,
) -> RunAnalysis:
    """The analysis of one run (see the module docstring)."""
    policies = list(manifest["policies"])
    outcomes = [c for c in results.columns if c not in ("sample", "policy", "ok", "error")]
    if outcome not in outcomes:
        raise ValueError(f"no outcome {outcome!r}. Fix: use one of {', '.join(outcomes)}")
    shown = dict.fromkeys([outcome, *DEFAULT_OUTCOMES])
    dists = {o: distributions(results, o) for o in shown}
    larger = larger_is_better(outcome)
    rob = robustness(results, outcome, larger_is_better=larger, threshold=threshold)
    errs = results.loc[~results["ok"].astype(bool), ["sample", "policy", "error"]]
    errs = errs.groupby(["policy", "error"]).size().rename("samples").reset_index()
    notes: list[str] = []
    sob: dict[str, pd.DataFrame] = {}
    names = list(manifest.get("variables", []))
    if sobol:
        if manifest.get("design") != "sobol":
            raise ValueError(
                f"Sobol indices need a Saltelli design, but this run used "
                f"--design {manifest.get('design')}. Fix: run `stepdeal ensemble ... "
                f"--design sobol -n 1024` (n a power of 2)"
            )
        if not names:
            raise ValueError("the scenario has no uncertainties. Fix: add some (see docs)")
        for pid in policies:
            y = outcome_by_sample(results, pid, outcome)
            sob[pid] = sobol_indices(y, names, bool(manifest.get("second_order", True)), seed)
    cond = None
    box = None
    if names:
        if condition is None:
            first = policies[0]
            y = results.loc[results["policy"] == first, "expected_resolved"]
            med = float(np.nanmedian(pd.to_numeric(y, errors="coerce")))
            condition = f"{first}:expected_resolved<{med:.6g}"
            notes.append(
                f"PRIM condition by default: {first} resolves fewer concerns than its median "
                f"({med:.6g} expected concerns); choose another with --prim POLICY:OUTCOME<VALUE"
            )
        cond = parse_condition(condition, policies, outcomes)
        flags = cond.flags(results).reindex(inputs["sample"]).fillna(False).to_numpy(bool)
        if flags.any() and not flags.all():
            box = prim(inputs[names], flags, names=names)
        else:
            where = "all" if flags.all() else "no"
            notes.append(f"no PRIM box: the condition {cond} holds in {where} samples")
    else:
        notes.append("the scenario has no uncertainties: every sample is the point scenario")
    ranges = {n: (float(inputs[n].min()), float(inputs[n].max())) for n in names}
    return RunAnalysis(
        manifest, outcome, dists, rob, threshold, errs, sob, cond, box, notes, ranges
    )
