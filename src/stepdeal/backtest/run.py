"""`stepdeal backtest`: a case's equilibrium prediction next to what happened.

For a scenario with a ``history:`` block, :func:`backtest`

1. predicts the played policy at the point scenario (every uncertainty at its
   median): P(verified by the horizon) and expected period per concern from the
   exact solver, and the measure changes and reversals on the simulated
   equilibrium path (verification seed ``seed``);
2. scores it against the record (:mod:`.score`) for a verdict;
3. re-scores it once per *fitted* parameter with that parameter put back to its
   sourced value (a leave-one-out check of the fit);
4. with uncertainties, solves ``n`` Latin-hypercube samples and reports the share of
   samples whose prediction gives each verdict (steps, order, timing and stall
   criteria; relief and reversals need a simulated path and are scored at the point
   only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..api import run
from ..ensemble.evaluate import evaluate
from ..ensemble.sampling import make_design
from ..scenario import Scenario
from ..scenario.history import History
from .score import Prediction, Score, observed_verified, score


class NoHistory(ValueError):
    """The scenario has no ``history:`` block."""


def _prediction_rows(frame: Any, concerns: list[str]) -> list[Prediction]:
    out = []
    for _, row in frame.iterrows():
        if not bool(row["ok"]):
            out.append(Prediction({}, {}))
            continue
        out.append(
            Prediction(
                {c: float(row[f"p_verified:{c}"]) for c in concerns},
                {c: float(row[f"periods_to:{c}"]) for c in concerns},
            )
        )
    return out


def predict(s: Scenario, policy: str, seed: int = 0) -> tuple[Prediction, dict[str, Any]]:
    """The point prediction for ``policy`` and the simulated run it comes with."""
    concerns = [c.id for c in s.concerns]
    space = s.uncertainty
    values = space.medians()[None, :] if space.dimension else np.zeros((1, 0))
    frame = evaluate(s, [policy], values, np.array([0]))
    if not bool(frame["ok"].iloc[0]):
        raise ValueError(f"the model could not be solved: {frame['error'].iloc[0]}")
    (base,) = _prediction_rows(frame, concerns)
    r = run(s, policy, "optimal", seed)
    relief = set()
    for e in r.timeline.events:
        if e.kind == "status" and e.data["after"] != e.data["before"]:
            relief.add((str(e.data["measure"]), str(e.data["after"])))
    reversals = frozenset(x["concern"] for x in r.timeline.reversals())
    pred = Prediction(base.p_verified, base.periods, frozenset(relief), reversals)
    return pred, r.to_dict()


def _with_value(s: Scenario, path: str, value: float) -> Scenario:
    """``s`` with the field at dotted ``path`` (ids for list entries) set to ``value``."""
    data = s.model_dump(by_alias=True, exclude_none=True)
    parts = path.split(".")
    node: Any = data
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(node, list):
            node = next((x for x in node if x.get("id") == part), None)
            if node is None:
                raise ValueError(f"history.fitted: no entry {part!r} in {'.'.join(parts[:k])}")
            continue
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"history.fitted: no field {path!r}. Fix: use a field path")
        if last:
            node[part] = value
        else:
            node = node[part]
    try:
        out = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"history.fitted {path}={value}: {exc.errors()[0]['msg']}") from None
    out._space = s.uncertainty
    return out


@dataclass
class BacktestResult:
    """Everything `stepdeal backtest` prints (``to_dict`` is its ``--json``)."""

    scenario: Scenario
    history: History
    prediction: Prediction
    score: Score
    run: dict[str, Any]
    fitted: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: dict[str, Any] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """Per concern: observed taken and verified periods, predicted P and period."""
        obs = {st.concern: st for st in self.history.steps}
        out = []
        for c in self.scenario.concerns:
            st = obs.get(c.id)
            out.append(
                {
                    "concern": c.id,
                    "observed_taken": None if st is None else st.taken,
                    "observed_verified": None if st is None else st.verified,
                    "observed_date": None if st is None else st.date,
                    "p_verified": round(self.prediction.p_verified[c.id], 6),
                    "expected_period": round(self.prediction.periods[c.id], 6),
                }
            )
        return out

    def provenance(self) -> dict[str, list[str]]:
        """Which entities rest on sources and which on stated assumptions only."""
        sourced: list[str] = []
        assumed: list[str] = []
        for group in ("actors", "concerns", "measures"):
            for item in getattr(self.scenario, group):
                (sourced if item.sources else assumed).append(f"{group}.{item.id}")
        return {"sourced": sourced, "assumption": assumed}

    def explanation(self) -> str:
        """A plain-language account of the verdict."""
        s, h = self.scenario, self.history
        obs = observed_verified(h)
        parts = [f"History: {h.summary.strip()}"]
        pred = self.prediction
        if pred.verified:
            first = pred.order
            parts.append(
                f"The model ({h.policy}) predicts {len(first)} of {len(s.concerns)} concerns "
                f"verified, in the order {', '.join(first)}."
            )
        else:
            parts.append(f"The model ({h.policy}) predicts no concern verified.")
        why = self.run.get("why") or {}
        if why.get("stalled"):
            parts.append(
                f"On the simulated path the target stops in {s.period} {why.get('period')}: "
                "no further step pays for itself against waiting under this policy."
            )
        fails = [c for c in self.score.criteria if c.applicable and not c.matches]
        if fails:
            parts.append(
                "It departs from history on "
                + "; ".join(f"{c.name} ({c.detail})" for c in fails)
                + "."
            )
        else:
            parts.append(
                f"It agrees with history on every criterion compared "
                f"({len(obs)} verified steps observed)."
            )
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.scenario.name,
            "title": self.scenario.title,
            "policy": self.history.policy,
            "unit": self.scenario.unit,
            "period": self.scenario.period,
            "start": self.scenario.start,
            "verdict": self.score.verdict,
            "explanation": self.explanation(),
            "criteria": self.score.to_dict()["criteria"],
            "concerns": self.rows(),
            "predicted_relief": sorted(f"{m}->{st}" for m, st in (self.prediction.relief or ())),
            "observed_relief": [
                {"measure": r.measure, "action": r.action, "period": r.period, "date": r.date}
                for r in self.history.relief
            ],
            "fitted": self.fitted,
            "provenance": self.provenance(),
            "sensitivity": self.sensitivity,
        }


def backtest(s: Scenario, n: int = 200, seed: int = 0) -> BacktestResult:
    """Back-test case ``s`` (see the module docstring); ``n = 0`` skips the ensemble."""
    h = s.history
    if h is None:
        raise NoHistory(
            f"scenario {s.name} has no history block. Fix: back-test a case "
            "(iaea-workplan-2007, jpoa-2013, jcpoa-2015, iran-2019, dprk-2007) or add "
            "history: to the file (see docs/reference/scenario-format.md#history)"
        )
    pred, timeline = predict(s, h.policy, seed)
    result = BacktestResult(s, h, pred, score(h, pred), timeline)
    for f in h.fitted:
        alt = _with_value(s, f.path, f.sourced)
        alt_pred, _ = predict(alt, h.policy, seed)
        result.fitted.append(
            {
                "path": f.path,
                "sourced": f.sourced,
                "reason": f.reason,
                "verdict_with_sourced_value": score(h, alt_pred).verdict,
            }
        )
    space = s.uncertainty
    if n > 0 and space.dimension:
        design = make_design("lhs", n, space.dimension, seed, True)
        values = space.values(design.unit)
        frame = evaluate(s, [h.policy], values, np.arange(design.rows))
        preds = _prediction_rows(frame, [c.id for c in s.concerns])
        ok = frame["ok"].to_numpy(bool)
        verdicts = [score(h, p).verdict for p, good in zip(preds, ok, strict=True) if good]
        counts = {v: verdicts.count(v) for v in ("matches", "partly matches", "does not match")}
        total = max(1, len(verdicts))
        result.sensitivity = {
            "n": int(design.rows),
            "design": "lhs",
            "seed": seed,
            "solved": len(verdicts),
            "share": {k: round(v / total, 6) for k, v in counts.items()},
            "criteria": ["steps", "order", "timing", "stall"],
        }
    return result
