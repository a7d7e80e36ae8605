"""Small shared helpers of the report layer: numbers, period labels, run facts.

Everything here works on a :class:`~stepdeal.scenario.Scenario` and
:class:`~stepdeal.sim.Timeline` objects only (never ``Run``), so every report
function can be fed from saved timelines as well as from a fresh comparison.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..scenario import Scenario
from ..sim import Timeline

MINUS = "−"  # U+2212, typographic minus for display text
RELIEF_WORD = {"frozen": "frozen", "curtailed": "curtailed", "lifted": "lifted"}
_RANK = {"active": 0, "curtailed": 1, "frozen": 2, "lifted": 3}  # more relief, higher
_MONTH_START = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_START = re.compile(r"^(\d{4})$")


def num(x: float) -> str:
    """A number for display: at most 2 decimals (3 significant digits when tiny).

    Keeps one decimal on whole numbers (``-2.0``), uses a typographic minus and
    never prints ``-0``.
    """
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 5e-13:
        return "0.0"
    ax = abs(x)
    if ax < 0.01:
        text = f"{ax:.3g}"
    else:
        text = f"{ax:,.2f}".rstrip("0")
        if text.endswith("."):
            text += "0"
    return (MINUS if x < 0 else "") + text


def short(x: float) -> str:
    """A compact number for chart labels: 3 significant digits, no exponent."""
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if ax < 5e-13:
        return "0"
    text = f"{ax:.0f}" if ax >= 100 else f"{ax:.3g}"
    return (MINUS if x < 0 else "") + text


def calendar_label(scenario: Scenario, t: int) -> str | None:
    """Calendar label of period ``t`` (``2011-08``), or ``None`` if it cannot be derived.

    Supported: ``start: YYYY-MM`` with ``period: month`` (or ``quarter``), and
    ``start: YYYY`` (or ``YYYY-MM``) with ``period: year``.
    """
    start = (scenario.start or "").strip()
    period = scenario.period.strip().lower()
    m = _MONTH_START.match(start)
    if m and period in ("month", "quarter"):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            return None
        step = 1 if period == "month" else 3
        k = year * 12 + (month - 1) + step * t
        return f"{k // 12:04d}-{k % 12 + 1:02d}"
    y = _YEAR_START.match(start)
    if period == "year" and (y or m):
        year = int((y or m).group(1))  # type: ignore[union-attr]
        return f"{year + t:04d}"
    return None


def when(scenario: Scenario, t: int) -> str:
    """``t=3`` or ``t=3, 2011-10`` when the scenario has a calendar start."""
    cal = calendar_label(scenario, t)
    return f"t={t}, {cal}" if cal else f"t={t}"


def vetoes_text(scenario: Scenario, vetoes: list[dict[str, Any]]) -> list[str]:
    """Vetoes grouped: one entry per (member, institution, proposal) with the periods
    it was cast in (runs of consecutive periods shown as ``t=a..b``)."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for v in vetoes:
        key = (str(v["member"]), str(v["institution"]), str(v["proposal"]))
        groups.setdefault(key, []).append(int(v["period"]))
    out = []
    for (member, inst, proposal), ts in groups.items():
        spans: list[tuple[int, int]] = []
        for t in sorted(set(ts)):
            if spans and t == spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], t)
            else:
                spans.append((t, t))
        parts = [
            when(scenario, a)
            if a == b
            else f"t={a}..{b}, {len(range(a, b + 1))} {scenario.period}s"
            for a, b in spans
        ]
        out.append(f"{member}@{inst} on {proposal} ({'; '.join(parts)})")
    return out


def policy_kind(scenario: Scenario, policy_id: str) -> str:
    try:
        return scenario.policy(policy_id).kind
    except KeyError:
        return "?"


def policy_order(scenario: Scenario, policy_id: str) -> list[str]:
    """Concern ids in the policy's order (``by_cost`` or explicit, then file order).

    For ``escalation`` and ``grand_bargain`` policies only the demanded concerns count
    (ascending cost), as for the compliant strategy.
    """
    ids = [c.id for c in scenario.concerns]
    try:
        policy = scenario.policy(policy_id)
    except KeyError:
        policy = None
    order = getattr(policy, "order", "by_cost")
    if isinstance(order, list):
        listed = [c for c in order if c in ids]
        return listed + [c for c in ids if c not in listed]
    demands = getattr(policy, "demands", "all")
    if (
        policy is not None
        and policy.kind in ("escalation", "grand_bargain")
        and isinstance(demands, list)
    ):
        ids = [c for c in ids if c in demands]
    cost = {c.id: c.cost for c in scenario.concerns}
    return sorted(ids, key=lambda c: (cost[c], ids.index(c)))  # stable: ties by file order


@dataclass
class Facts:
    """What one timeline did, extracted once for tables, plots and HTML."""

    policy: str
    verified: list[tuple[str, int]] = field(default_factory=list)  # (concern, t)
    taken: list[tuple[str, int]] = field(default_factory=list)  # (concern, t)
    relief: list[tuple[str, str, int]] = field(default_factory=list)  # (measure, after, t)
    tranches: list[tuple[str, int]] = field(default_factory=list)  # (measure, t)
    snapbacks: list[tuple[str, str, int]] = field(default_factory=list)  # (measure, after, t)
    reversed: list[tuple[str, int]] = field(default_factory=list)  # (concern, t)
    vetoes: list[dict[str, Any]] = field(default_factory=list)
    stalled_on: str | None = None


def facts(scenario: Scenario, tl: Timeline) -> Facts:
    """Collect the events of ``tl`` that the report talks about."""
    f = Facts(policy=tl.policy)
    for e in tl.events:
        if e.kind == "step":
            f.taken.append((str(e.data["concern"]), e.t))
        elif e.kind == "verified":
            f.verified.append((str(e.data["concern"]), e.t))
        elif e.kind == "reversed":
            f.reversed.append((str(e.data["concern"]), e.t))
        elif e.kind == "status":
            before, after = e.data.get("before"), e.data.get("after")
            if before in _RANK and after in _RANK and _RANK[after] < _RANK[before]:
                f.snapbacks.append((str(e.data["measure"]), str(after), e.t))
            elif after in RELIEF_WORD:
                f.relief.append((str(e.data["measure"]), str(after), e.t))
            elif before == "potential" and after == "active":
                f.tranches.append((str(e.data["measure"]), e.t))
    f.vetoes = tl.vetoes()
    taken = {c for c, _ in f.taken}
    remaining = [c for c in policy_order(scenario, tl.policy) if c not in taken]
    policy = scenario.policy(tl.policy)
    if remaining and getattr(policy, "strict", False):
        f.stalled_on = remaining[0]  # the next concern in the strict order
    elif remaining:
        f.stalled_on = f"{len(remaining)} left (free order: {', '.join(remaining)})"
    return f


def why_text(scenario: Scenario, tl: Timeline, limit: int = 3) -> str | None:
    """Plain-language reading of ``extras["why"]`` (optimal strategy only), else ``None``."""
    why = tl.extras.get("why")
    if not isinstance(why, dict):
        return None
    unit = str(why.get("unit") or scenario.unit)
    if not why.get("stalled"):
        return "does not stall"
    t = why.get("period")
    options = sorted(
        why.get("options") or [], key=lambda o: float(o.get("gain_vs_wait", 0.0)), reverse=True
    )
    where = when(scenario, int(t)) if t is not None else "?"
    if not options:
        return f"stops at {where}: no further step is allowed"

    def name(o: dict[str, Any]) -> str:
        return " + ".join(o.get("concerns", [])) or "nothing"

    def gain(o: dict[str, Any]) -> str:
        return num(float(o.get("gain_vs_wait", 0.0)))

    best = options[0]
    text = f"stops at {where}: taking {name(best)} is worth {gain(best)} {unit} vs waiting"
    nxt = [f"{name(o)} {gain(o)}" for o in options[1:limit]]
    more = len(options) - max(1, limit)
    if nxt:
        rest = f"; {more} more option{'s' if more > 1 else ''}" if more > 0 else ""
        text += f" (next: {', '.join(nxt)}{rest})"
    return text


def target_utility(scenario: Scenario, tl: Timeline) -> float:
    return float(tl.utilities.get(scenario.target.id, float("nan")))


def close(a: float, b: float) -> bool:
    """Equal up to the solver's tie tolerance."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def and_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def per_period(scenario: Scenario) -> str:
    """Unit of a per-period amount (impact, pressure, payoff): '<unit> per <period>'."""
    return f"{scenario.unit} per {scenario.period}"
