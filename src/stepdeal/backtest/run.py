"""`stepdeal backtest`: a case's equilibrium prediction next to what happened.

For a scenario with a ``history:`` block, :func:`backtest`

1. predicts the played policy at the point scenario (every uncertainty at its
   median): P(verified at the horizon) per concern from the exact solver, and first
   verifications, measure changes and reversals on ``k`` simulated equilibrium paths
   (verification draws from ``SeedSequence(seed)``);
2. scores it against the record (:mod:`.score`) for a verdict;
3. re-scores it once per *fitted* parameter with that parameter put back to its
   sourced value (a leave-one-out check of the fit);
4. with uncertainties, solves ``n`` Latin-hypercube samples and reports the share of
   samples whose prediction gives each verdict on the criteria the exact solver
   gives without simulation (steps, order by expected period, stall; timing,
   breakdown, relief and reversals need simulated paths and are scored at the point).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..ensemble.evaluate import evaluate
from ..ensemble.sampling import make_design
from ..mechanisms.game import compile_game
from ..scenario import Scenario
from ..scenario.history import History
from ..scenario.uncertainty import UncertaintySpace
from ..sim import simulate
from ..solve import Optimal, solve_best_response
from ..solve.explain import explain_stall
from .score import Paths, Prediction, Score, action_of, first_reversals, score


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


def simulate_paths(s: Scenario, policy: str, k: int, seed: int) -> tuple[Paths, dict[str, Any]]:
    """``k`` equilibrium paths of ``policy`` (one solve; verification draws from
    ``SeedSequence(seed)``) and the first path's ``run --json`` object."""
    game = compile_game(s, policy)
    solution = solve_best_response(game)
    strat = Optimal(game, solution)
    oracle = solution.vote_oracle if game.has_strategic else None
    concerns = [c.id for c in s.concerns]
    first: dict[str, list[int | None]] = {c: [] for c in concerns}
    rev_periods: dict[str, list[int]] = {c: [] for c in concerns}
    rev_count = dict.fromkeys(concerns, 0)
    relief: dict[tuple[str, str], int] = {}
    broke = 0
    shown: dict[str, Any] = {}
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(k)):
        tl = simulate(game, strat, np.random.default_rng(child), oracle)
        if i == 0:
            tl.extras["why"] = explain_stall(solution, tl)
            shown = tl.to_dict()
        seen_first: dict[str, int] = {}
        seen_rev: dict[str, int] = {}
        pairs: set[tuple[str, str]] = set()
        for e in tl.events:
            if e.kind == "verified":
                seen_first.setdefault(e.data["concern"], e.t)
            elif e.kind == "reversed":
                seen_rev.setdefault(e.data["concern"], e.t)
            elif e.kind == "status":
                act = action_of(str(e.data["before"]), str(e.data["after"]))
                if act is not None:
                    pairs.add((str(e.data["measure"]), act))
        for c in concerns:
            first[c].append(seen_first.get(c))
            if c in seen_rev:
                rev_count[c] += 1
                rev_periods[c].append(seen_rev[c])
        for pair in pairs:
            relief[pair] = relief.get(pair, 0) + 1
        if seen_rev or any(a == "snapback" for _, a in pairs):
            broke += 1
    paths = Paths(
        k,
        first,
        {pair: n / k for pair, n in relief.items()},
        {c: n / k for c, n in rev_count.items()},
        rev_periods,
        broke / k,
    )
    return paths, shown


def predict(
    s: Scenario, policy: str, seed: int = 0, k: int = 100
) -> tuple[Prediction, dict[str, Any]]:
    """The point prediction for ``policy``: exact end-of-horizon probabilities and ``k``
    simulated paths; also the first path's ``run --json`` object."""
    concerns = [c.id for c in s.concerns]
    space = s.uncertainty
    values = space.medians()[None, :] if space.dimension else np.zeros((1, 0))
    frame = evaluate(s, [policy], values, np.array([0]))
    if not bool(frame["ok"].iloc[0]):
        raise ValueError(f"the model could not be solved: {frame['error'].iloc[0]}")
    (base,) = _prediction_rows(frame, concerns)
    paths, shown = simulate_paths(s, policy, k, seed)
    return Prediction(base.p_verified, base.periods, paths), shown


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
    space = s.uncertainty  # the field no longer follows its uncertainty, if it had one
    out._space = UncertaintySpace(
        space.variables, tuple(tg for tg in space.targets if ".".join(tg.path) != path)
    )
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
        """Per concern: what history recorded next to what the model predicts."""
        obs = {st.concern: st for st in self.history.steps}
        rev = first_reversals(self.history)
        paths = self.prediction.paths
        out = []
        for c in self.scenario.concerns:
            st = obs.get(c.id)
            row: dict[str, Any] = {
                "concern": c.id,
                "observed_taken": None if st is None else st.taken,
                "observed_verified": None if st is None else st.verified,
                "observed_reversed": rev.get(c.id),
                "observed_date": None if st is None else st.date,
                "p_verified_at_horizon": round(self.prediction.p_verified[c.id], 6),
            }
            if paths is not None:
                row["median_first_verified"] = paths.median_first(c.id)
                row["p_reversed"] = round(paths.reversed_share.get(c.id, 0.0), 6)
            out.append(row)
        return out

    def provenance(self) -> dict[str, list[str]]:
        """Which entities rest on sources, on sources and stated assumptions, or on
        assumptions only (an entity whose note says ASSUMPTION counts as the second)."""
        sourced: list[str] = []
        mixed: list[str] = []
        assumed: list[str] = []
        for group in ("actors", "concerns", "measures"):
            for item in getattr(self.scenario, group):
                says = "assumption" in (item.note or "").lower()
                name = f"{group}.{item.id}"
                if not item.sources:
                    assumed.append(name)
                else:
                    (mixed if says else sourced).append(name)
        return {"sourced": sourced, "sourced_and_assumed": mixed, "assumption": assumed}

    def explanation(self) -> str:
        """A plain-language account of the verdict."""
        s, h = self.scenario, self.history
        parts = [f"History: {' '.join(h.summary.split())}"]
        order = self.prediction.order
        if order:
            parts.append(
                f"The model ({h.policy}) first verifies {len(order)} of {len(s.concerns)} "
                f"concerns on most paths, in the order {', '.join(order)}."
            )
        else:
            parts.append(f"The model ({h.policy}) predicts no concern verified.")
        paths = self.prediction.paths
        if paths is not None:
            rev = sorted(c for c, v in paths.reversed_share.items() if v >= 0.5)
            if rev:
                parts.append(f"On most paths the target later reverses {', '.join(rev)}.")
        why = self.run.get("why") or {}
        if why.get("stalled"):
            parts.append(
                f"On the first simulated path the target stops in {s.period} "
                f"{why.get('period')}: no further step pays for itself against waiting."
            )
        fails = [c for c in self.score.criteria if c.applicable and not c.matches]
        if fails:
            parts.append(
                "It departs from history on "
                + "; ".join(f"{c.name} ({c.detail})" for c in fails)
                + "."
            )
        else:
            parts.append("It agrees with history on every criterion that applies.")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        paths = self.prediction.paths
        relief = {} if paths is None else paths.relief
        return {
            "case": self.scenario.name,
            "title": self.scenario.title,
            "policy": self.history.policy,
            "unit": self.scenario.unit,
            "period": self.scenario.period,
            "start": self.scenario.start,
            "tolerance": self.history.tolerance,
            "paths": None if paths is None else paths.k,
            "verdict": self.score.verdict,
            "explanation": self.explanation(),
            "criteria": self.score.to_dict()["criteria"],
            "concerns": self.rows(),
            "predicted_relief": [
                {"measure": m, "action": a, "share_of_paths": round(v, 6)}
                for (m, a), v in sorted(relief.items())
            ],
            "observed_relief": [
                {"measure": r.measure, "action": r.action, "period": r.period, "date": r.date}
                for r in self.history.relief
            ],
            "fitted": self.fitted,
            "provenance": self.provenance(),
            "sensitivity": self.sensitivity,
        }


def backtest(s: Scenario, n: int = 200, seed: int = 0, k: int = 100) -> BacktestResult:
    """Back-test case ``s`` (see the module docstring) with ``k`` simulated paths at the
    point; ``n = 0`` skips the ensemble."""
    h = s.history
    if h is None:
        raise NoHistory(
            f"scenario {s.name} has no history block. Fix: back-test a case "
            "(iaea-workplan-2007, jpoa-2013, jcpoa-2015, iran-2019, dprk-2007) or add "
            "history: to the file (see docs/reference/scenario-format.md#history)"
        )
    pred, timeline = predict(s, h.policy, seed, k)
    result = BacktestResult(s, h, pred, score(h, pred), timeline)
    for f in h.fitted:
        alt = _with_value(s, f.path, f.sourced)
        alt_pred, _ = predict(alt, h.policy, seed, k)
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
        point_only = Prediction(pred.p_verified, pred.periods)
        result.sensitivity = {
            "point_verdict_on_these_criteria": score(h, point_only).verdict,
            "n": int(design.rows),
            "design": "lhs",
            "seed": seed,
            "solved": len(verdicts),
            "share": {k: round(v / total, 6) for k, v in counts.items()},
            "criteria": ["steps", "order", "stall"],
        }
    return result
