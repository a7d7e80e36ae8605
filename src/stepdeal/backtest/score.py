r"""Scoring a prediction against the observed record of a case.

The model's prediction for the policy that was played is read from the exact
equilibrium (:mod:`stepdeal.solve.batch`): a concern is *predicted verified* when
:math:`P(\text{verified by the horizon}) \ge 1/2`, and its predicted timing is the
expected period of verification (censored at the horizon). The criteria:

``steps``
    the predicted and observed sets of verified concerns agree (Jaccard index
    :math:`|A\cap B| / |A\cup B|`, 1 when both are empty). Matches at 1.
``order``
    on the concerns verified in both, the order of verification agrees: Kendall's
    :math:`\tau` between predicted and observed periods (ties in either count as
    agreeing with any order). Matches at :math:`\tau \ge 0.5`; needs two shared
    concerns, else not applicable.
``timing``
    every shared concern verified within ``tolerance`` periods of history.
``stall``
    where history stalled or broke down at a concern, the model does not predict
    that concern verified.
``relief``
    (point prediction only) the measure changes on the simulated equilibrium path
    agree with history (Jaccard of (measure, new status) pairs). Matches at 1,
    partly from 0.5.
``reversals``
    (point prediction only) the same concerns are reversed.

Verdict: **matches** when every applicable criterion matches; **does not** when the
steps criterion scores below 1/2, or when it fails together with more than half of
the applicable criteria; **partly** otherwise (so the right steps in the wrong order
or at the wrong time are a partial match).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..scenario.history import History

STATUS_OF = {
    "curtail": "curtailed",
    "freeze": "frozen",
    "lift": "lifted",
    "impose": "active",
    "snapback": "active",
}


@dataclass(frozen=True)
class Prediction:
    """What the model predicts for one case (one sample, or the point scenario)."""

    p_verified: dict[str, float]
    periods: dict[str, float]  # expected period of verification (censored at horizon)
    relief: frozenset[tuple[str, str]] | None = None  # (measure, new status) on the path
    reversals: frozenset[str] | None = None

    @property
    def verified(self) -> set[str]:
        return {c for c, p in self.p_verified.items() if p >= 0.5}

    @property
    def order(self) -> list[str]:
        return sorted(self.verified, key=lambda c: (self.periods[c], c))


@dataclass(frozen=True)
class Criterion:
    name: str
    applicable: bool
    matches: bool
    score: float | None
    detail: str


@dataclass
class Score:
    criteria: list[Criterion] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        used = [c for c in self.criteria if c.applicable]
        failed = [c for c in used if not c.matches]
        steps = next((c for c in used if c.name == "steps"), None)
        if not failed:
            return "matches"
        wrong_steps = steps is not None and not steps.matches
        if (steps is not None and (steps.score or 0.0) < 0.5) or (
            wrong_steps and len(failed) * 2 > len(used)
        ):
            return "does not match"
        return "partly matches"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "criteria": [
                {
                    "name": c.name,
                    "applicable": c.applicable,
                    "matches": c.matches,
                    "score": c.score,
                    "detail": c.detail,
                }
                for c in self.criteria
            ],
        }


def observed_verified(h: History) -> dict[str, int]:
    """Concern -> period verified, for the steps history records as verified."""
    return {s.concern: s.verified for s in h.steps if s.verified is not None}


def kendall_tau(a: list[float], b: list[float]) -> float:
    r"""Kendall's :math:`\tau` counting tied pairs as concordant (plain O(n²) count)."""
    n = len(a)
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return 1.0
    disc = sum(1 for i in range(n) for j in range(i + 1, n) if (a[i] - a[j]) * (b[i] - b[j]) < 0)
    return 1.0 - 2.0 * disc / pairs


def _jaccard(a: set[Any] | frozenset[Any], b: set[Any] | frozenset[Any]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def _names(xs: Any) -> str:
    return ", ".join(sorted(xs)) or "none"


def score(h: History, pred: Prediction) -> Score:
    """Score ``pred`` against history ``h`` (see the module docstring)."""
    out = Score()
    obs = observed_verified(h)
    got = pred.verified
    jac = _jaccard(set(obs), got)
    missing, extra = set(obs) - got, got - set(obs)
    detail = f"observed {_names(obs)}; predicted {_names(got)}"
    if missing or extra:
        detail += f" (missed {_names(missing)}; extra {_names(extra)})"
    out.criteria.append(Criterion("steps", True, jac == 1.0, jac, detail))
    shared = sorted(set(obs) & got)
    if len(shared) >= 2:
        tau = kendall_tau([float(obs[c]) for c in shared], [pred.periods[c] for c in shared])
        out.criteria.append(
            Criterion(
                "order",
                True,
                tau >= 0.5,
                tau,
                f"Kendall tau {tau:.2f} over {len(shared)} shared concerns; predicted order "
                f"{' > '.join(c for c in pred.order if c in shared)}, observed "
                f"{' > '.join(sorted(shared, key=lambda c: (obs[c], c)))}",
            )
        )
    else:
        out.criteria.append(Criterion("order", False, True, None, "fewer than two shared"))
    if shared:
        gaps = {c: pred.periods[c] - obs[c] for c in shared}
        worst = max(gaps, key=lambda c: abs(gaps[c]))
        ok = all(abs(g) <= h.tolerance for g in gaps.values())
        out.criteria.append(
            Criterion(
                "timing",
                True,
                ok,
                abs(gaps[worst]),
                f"largest gap {gaps[worst]:+.1f} periods ({worst}); tolerance ±{h.tolerance}",
            )
        )
    else:
        out.criteria.append(Criterion("timing", False, True, None, "no shared concern"))
    end = h.stalled or h.broke_down
    if end is not None and end.concern is not None:
        p = pred.p_verified.get(end.concern, 0.0)
        out.criteria.append(
            Criterion(
                "stall",
                True,
                p < 0.5,
                p,
                f"history stopped at {end.concern}; the model gives it "
                f"P(verified by the horizon) = {p:.2f}",
            )
        )
    else:
        out.criteria.append(Criterion("stall", False, True, None, "history did not stall"))
    if pred.relief is not None and h.relief:
        seen = frozenset((r.measure, STATUS_OF[r.action]) for r in h.relief)
        rj = _jaccard(seen, pred.relief)
        out.criteria.append(
            Criterion(
                "relief",
                True,
                rj >= 0.5,
                rj,
                f"observed {_names(f'{m}->{s}' for m, s in seen)}; predicted "
                f"{_names(f'{m}->{s}' for m, s in pred.relief)}",
            )
        )
    else:
        out.criteria.append(Criterion("relief", False, True, None, "not compared"))
    if pred.reversals is not None and (h.reversals or pred.reversals):
        seen_r = {r.concern for r in h.reversals}
        ok = seen_r == set(pred.reversals)
        out.criteria.append(
            Criterion(
                "reversals",
                True,
                ok,
                _jaccard(seen_r, set(pred.reversals)),
                f"observed {_names(seen_r)}; predicted {_names(pred.reversals)}",
            )
        )
    else:
        out.criteria.append(Criterion("reversals", False, True, None, "none either way"))
    return out
