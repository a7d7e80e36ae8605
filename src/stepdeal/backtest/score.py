r"""Scoring a prediction against the observed record of a case.

Both sides are compared like with like:

* **standing at the end** — a concern counts as *verified* in history when it was
  verified and not reversed afterwards; in the model when
  :math:`P(\text{verified at the horizon}) \ge 1/2` (exact, from the batched solver);
* **first verification** — the period a concern was first verified: in history its
  ``verified`` period; in the model, on each of ``K`` simulated equilibrium paths
  (different verification draws, one solve).

The criteria (each *applicable* only when both sides give it content):

``steps``
    the sets of concerns standing verified at the end agree (Jaccard index
    :math:`|A\cap B|/|A\cup B|`, 1 when both are empty). Matches at 1.
``order``
    Kendall's :math:`\tau_b` between the observed and the model's median first
    verification periods, over concerns verified in both (needs two of them and one
    untied pair in history). Matches at :math:`\tau_b \ge 0.5`.
``timing``
    per shared concern, the share of paths whose first verification lies within
    ``tolerance`` periods of history; matches when the mean share is at least 1/2.
``stall``
    history stalled at a concern: the model does not have it standing at the end.
``breakdown``
    history broke down: on most paths the model reverses a verified step or takes
    relief back (snapback); when history names the concern, it is among the model's
    reversals (or, if history never verified it, the model does not verify it).
``relief``
    the (measure, action) pairs on most paths agree with history's (Jaccard ≥ 1/2;
    actions ``curtail``, ``freeze``, ``lift``, ``impose`` (a new measure) and
    ``snapback`` (relief taken back)).
``reversals``
    the concerns reversed on most paths are history's (Jaccard 1), and the mean gap
    between the model's median reversal period and history's is within ``tolerance``.

Verdict: **matches** when every applicable criterion matches; **partly matches** when
at least half do; **does not match** otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from ..scenario.history import History

#: relief order of a measure's statuses (``potential`` is not in force at all)
RELIEF_RANK = {"active": 0, "curtailed": 1, "frozen": 2, "lifted": 3}


def action_of(before: str, after: str) -> str | None:
    """The history action a status change corresponds to (``None``: no change)."""
    if before == after:
        return None
    if before == "potential":
        return "impose"
    if after == "potential":
        return None
    if RELIEF_RANK[after] > RELIEF_RANK[before]:
        return {"curtailed": "curtail", "frozen": "freeze", "lifted": "lift"}[after]
    return "snapback"


@dataclass(frozen=True)
class Paths:
    """What ``K`` simulated equilibrium paths show (for the point scenario)."""

    k: int
    first_verified: dict[str, list[int | None]]  # per concern, per path
    relief: dict[tuple[str, str], float]  # (measure, action) -> share of paths
    reversed_share: dict[str, float]  # concern -> share of paths reversing it
    reversal_periods: dict[str, list[int]]  # concern -> first reversal period per path
    breakdown_share: float  # share of paths with a reversal or a snapback

    def median_first(self, concern: str) -> float | None:
        xs = [x for x in self.first_verified[concern] if x is not None]
        return float(np.median(xs)) if len(xs) * 2 >= self.k and xs else None


@dataclass(frozen=True)
class Prediction:
    """What the model predicts for one case (one sample, or the point scenario)."""

    p_verified: dict[str, float]  # P(verified at the horizon), exact
    periods: dict[str, float]  # expected periods not verified (censored at horizon)
    paths: Paths | None = None

    @property
    def verified(self) -> set[str]:
        return {c for c, p in self.p_verified.items() if p >= 0.5}

    @property
    def order(self) -> list[str]:
        if self.paths is not None:
            med = {c: self.paths.median_first(c) for c in self.p_verified}
            firsts = {c: m for c, m in med.items() if m is not None}
            return sorted(firsts, key=lambda c: (firsts[c], c))
        return sorted(self.verified, key=lambda c: (round(self.periods[c], 9), c))


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
        passed = sum(1 for c in used if c.matches)
        if passed == len(used):
            return "matches"
        return "partly matches" if passed * 2 >= len(used) else "does not match"

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


def first_verified(h: History) -> dict[str, int]:
    """Concern -> period first verified, for every step history records as verified."""
    return {s.concern: s.verified for s in h.steps if s.verified is not None}


def first_reversals(h: History) -> dict[str, int]:
    """Concern -> the first period history records it reversed."""
    out: dict[str, int] = {}
    for r in h.reversals:
        out[r.concern] = min(r.period, out.get(r.concern, r.period))
    return out


def _ranked(values: dict[str, float]) -> str:
    """Concerns in order of their values, ties joined by ``=``: ``a > b = c``."""
    groups: dict[float, list[str]] = {}
    for c, v in values.items():
        groups.setdefault(v, []).append(c)
    return " > ".join(" = ".join(sorted(groups[v])) for v in sorted(groups))


def standing(h: History) -> set[str]:
    """Concerns verified in history and not reversed afterwards."""
    out = set()
    for c, t in first_verified(h).items():
        later = [r.period for r in h.reversals if r.concern == c and r.period >= t]
        if not later:
            out.add(c)
    return out


def _jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def _names(xs: Iterable[Any]) -> str:
    return ", ".join(sorted(str(x) for x in xs)) or "none"


def _na(name: str, why: str) -> Criterion:
    return Criterion(name, False, True, None, why)


def score(h: History, pred: Prediction) -> Score:
    """Score ``pred`` against history ``h`` (see the module docstring)."""
    out = Score()
    seen, got = standing(h), pred.verified
    jac = _jaccard(seen, got)
    detail = f"standing at the end: observed {_names(seen)}; predicted {_names(got)}"
    if seen != got:
        detail += f" (missed {_names(seen - got)}; extra {_names(got - seen)})"
    out.criteria.append(Criterion("steps", True, jac == 1.0, jac, detail))

    obs_first = first_verified(h)
    paths = pred.paths
    if paths is not None:
        model_first = {c: paths.median_first(c) for c in pred.p_verified}
        shared = sorted(c for c in obs_first if model_first.get(c) is not None)
    else:
        # expected periods are sums of floats: equal ones may differ by ~1e-16
        model_first = {c: round(pred.periods[c], 9) for c in pred.verified}
        shared = sorted(set(obs_first) & pred.verified)
    untied = len({obs_first[c] for c in shared}) >= 2
    if len(shared) >= 2 and untied:
        mf = [float(model_first[c] or 0.0) for c in shared]
        res = kendalltau([obs_first[c] for c in shared], mf)
        tau = float(res.statistic) if np.isfinite(res.statistic) else 0.0
        out.criteria.append(
            Criterion(
                "order",
                True,
                tau >= 0.5,
                tau,
                f"Kendall tau-b {tau:.2f} over {len(shared)} concerns verified in both; "
                f"model {_ranked({c: float(model_first[c] or 0.0) for c in shared})}; "
                f"history {_ranked({c: float(obs_first[c]) for c in shared})}",
            )
        )
    else:
        out.criteria.append(_na("order", "fewer than two shared concerns with distinct dates"))

    if shared and paths is not None:
        shares = {
            c: float(
                np.mean(
                    [
                        x is not None and abs(x - obs_first[c]) <= h.tolerance
                        for x in paths.first_verified[c]
                    ]
                )
            )
            for c in shared
        }
        mean = float(np.mean(list(shares.values())))
        worst = min(shares, key=lambda c: shares[c])
        out.criteria.append(
            Criterion(
                "timing",
                True,
                mean >= 0.5,
                mean,
                f"{100 * mean:.0f}% of paths verify a shared concern within "
                f"±{h.tolerance} periods of history (worst: {worst}, {100 * shares[worst]:.0f}%)",
            )
        )
    elif shared:
        out.criteria.append(_na("timing", "needs simulated paths (scored at the point only)"))
    else:
        out.criteria.append(_na("timing", "no concern verified in both"))

    if h.stalled is not None and h.stalled.concern is not None:
        c = h.stalled.concern
        p = pred.p_verified.get(c, 0.0)
        out.criteria.append(
            Criterion(
                "stall",
                True,
                p < 0.5,
                p,
                f"history stalled at {c}; the model has it verified at the end with "
                f"probability {p:.2f}",
            )
        )
    else:
        out.criteria.append(_na("stall", "history did not stall at a concern"))

    if h.broke_down is not None and paths is not None:
        bc = h.broke_down.concern
        share = paths.breakdown_share
        ok = share >= 0.5
        detail = f"{100 * share:.0f}% of paths reverse a step or take relief back"
        if bc is not None:
            if bc in obs_first:
                rs = paths.reversed_share.get(bc, 0.0)
                ok = ok and rs >= 0.5
                detail += f"; {bc} reversed on {100 * rs:.0f}%"
            else:
                p = pred.p_verified.get(bc, 0.0)
                ok = ok and p < 0.5
                detail += f"; {bc} (never verified in history) verified with P {p:.2f}"
        out.criteria.append(Criterion("breakdown", True, ok, share, detail))
    else:
        out.criteria.append(_na("breakdown", "history did not break down"))

    if paths is not None and (h.relief or paths.relief):
        obs_r = {(r.measure, r.action) for r in h.relief}
        model_r = {pair for pair, sh in paths.relief.items() if sh >= 0.5}
        rj = _jaccard(obs_r, model_r)
        out.criteria.append(
            Criterion(
                "relief",
                True,
                rj >= 0.5,
                rj,
                f"observed {_names(f'{a} {m}' for m, a in obs_r)}; on most paths "
                f"{_names(f'{a} {m}' for m, a in model_r)}",
            )
        )
    else:
        out.criteria.append(_na("relief", "no relief on either side"))

    if paths is not None and (h.reversals or any(v >= 0.5 for v in paths.reversed_share.values())):
        obs_rev = first_reversals(h)
        model_rev = {c for c, sh in paths.reversed_share.items() if sh >= 0.5}
        both = sorted(set(obs_rev) & model_rev)
        rgaps = [float(np.median(paths.reversal_periods[c])) - obs_rev[c] for c in both]
        mae = float(np.mean(np.abs(rgaps))) if rgaps else None
        ok = set(obs_rev) == model_rev and (mae is None or mae <= h.tolerance)
        when = "" if mae is None else f"; mean timing gap {mae:.1f} periods (median path)"
        out.criteria.append(
            Criterion(
                "reversals",
                True,
                ok,
                _jaccard(obs_rev, model_rev),
                f"observed {_names(obs_rev)}; on most paths {_names(model_rev)}{when}",
            )
        )
    else:
        out.criteria.append(_na("reversals", "no reversal on either side"))
    return out
