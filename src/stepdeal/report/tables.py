"""Comparison rows, a one-sentence verdict and rich tables for the terminal.

Every function takes the scenario and ``timelines`` (policy id -> Timeline) so it
works the same on fresh runs and on saved results. All values in the rows are
display strings; every number carries its unit.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..scenario import Scenario
from ..sim import Event, Timeline
from ._format import (
    and_list,
    calendar_label,
    close,
    facts,
    num,
    per_period,
    policy_kind,
    target_utility,
    vetoes_text,
    when,
    why_text,
)

NONE = "none"


def utility_label(actor_id: str) -> str:
    """Row key of an actor's utility in :func:`comparison_rows`."""
    return f"utility of {actor_id}"


def comparison_row(scenario: Scenario, tl: Timeline, with_units: bool = True) -> dict[str, str]:
    """The comparison row of one timeline (see :func:`comparison_rows`).

    ``with_units=False`` leaves the unit out of the cells (for a table that states
    it once in its title).
    """
    f = facts(scenario, tl)
    unit = scenario.unit if with_units else ""
    flow = per_period(scenario) if with_units else ""
    n = len(scenario.concerns)
    pressure = tl.pressure()
    row: dict[str, str] = {
        "policy": tl.policy,
        "kind": policy_kind(scenario, tl.policy),
        "target strategy": f"{tl.strategy} (seed {tl.seed})",
        "resolved": f"{len(tl.resolved())} of {n}"
        + (f" ({len(f.verified)} verified, {len(f.reversed)} reversed)" if f.reversed else ""),
        "verified": ", ".join(f"{c} ({when(scenario, t)})" for c, t in f.verified) or NONE,
        "stalls at": f.stalled_on or f"{NONE} (every concern taken)",
        "relief": ", ".join(f"{m} {a} ({when(scenario, t)})" for m, a, t in f.relief) or NONE,
        "tranches added": ", ".join(f"{m} ({when(scenario, t)})" for m, t in f.tranches) or NONE,
        "reversed": ", ".join(f"{c} ({when(scenario, t)})" for c, t in f.reversed) or NONE,
        "snapbacks": ", ".join(f"{m} {a} ({when(scenario, t)})" for m, a, t in f.snapbacks) or NONE,
        "vetoes": ", ".join(vetoes_text(scenario, f.vetoes)) or NONE,
        "pressure at end": f"{num(pressure[-1])} {flow}".rstrip() if pressure else "n/a",
        "mean pressure": (
            f"{num(sum(pressure) / len(pressure))} {flow}".rstrip()
            + f" (mean over {len(pressure)} {scenario.period}s)"
            if pressure
            else "n/a"
        ),
    }
    for actor in scenario.actors:
        u = tl.utilities.get(actor.id)
        row[utility_label(actor.id)] = (
            (f"{num(u)} (discounted sum, {unit})" if with_units else num(u))
            if u is not None
            else "n/a"
        )
    expected = tl.extras.get("expected_target_utility")
    if isinstance(expected, int | float):
        row["expected target utility"] = (
            f"{num(float(expected))} (discounted sum, {unit}; mean over verification draws)"
            if with_units
            else f"{num(float(expected))} (mean over verification draws)"
        )
    why = why_text(scenario, tl)
    if why is not None:
        row["why"] = why
    row.update(type_rows(scenario, tl))
    return row


def type_rows(scenario: Scenario, tl: Timeline) -> dict[str, str]:
    """Rows for a scenario with target types: the true type, the powers' final belief,
    whether play separates the types and each type's expected result."""
    info = tl.extras.get("types")
    if not isinstance(info, dict):
        return {}
    out = {"true type": str(info.get("true_type"))}
    if tl.periods and tl.periods[-1].belief is not None:
        out["belief at end"] = ", ".join(
            f"P({k}) {v:.2f}" for k, v in (tl.periods[-1].belief or {}).items()
        )
    sep = info.get("separation")
    if isinstance(sep, dict):
        lines = [str(sep["verdict"])]
        for tid, d in sep["types"].items():
            known = (
                f"known from {when(scenario, d['first_known'])} "
                f"(P {d['p_known_at_end']:.2f} by the end)"
                if d["first_known"] is not None
                else "never known"
            )
            lines.append(f"{tid}: {known}; expected {d['verified_at_end']:.2f} concerns verified")
        out["types revealed"] = "\n".join(lines)
    return out


def comparison_rows(scenario: Scenario, timelines: dict[str, Timeline]) -> list[dict[str, str]]:
    """One row per policy (in ``timelines`` order), every value a display string.

    Keys: ``policy``, ``kind``, ``target strategy``, ``resolved`` ("k of n" standing
    at the end, with the verified and reversed counts when some were reversed),
    ``verified`` (concerns with the period each was verified), ``stalls at`` (first
    concern in policy order never taken), ``relief`` (measures frozen, curtailed or
    lifted), ``tranches added`` (potential -> active), ``reversed`` (concerns the
    target reversed), ``snapbacks`` (relief taken back), ``vetoes``
    (member@institution on proposal), ``pressure at end``, ``mean pressure``,
    ``utility of <actor>`` for every actor, and, for the optimal strategy,
    ``expected target utility`` and ``why``.
    """
    return [comparison_row(scenario, tl) for tl in timelines.values()]


def _leaders(values: dict[str, float], higher: bool = True) -> list[str]:
    best = max(values.values()) if higher else min(values.values())
    return [k for k, v in values.items() if close(v, best)]


def verdict(scenario: Scenario, timelines: dict[str, Timeline]) -> str:
    """One sentence: which policy resolves the most concerns and which one the target prefers.

    Differences are stated with their size; equal results are stated as ties.
    """
    if not timelines:
        return "No policy was run."
    n = len(scenario.concerns)
    unit = scenario.unit
    resolved = {p: float(len(tl.resolved())) for p, tl in timelines.items()}
    utils = {p: target_utility(scenario, tl) for p, tl in timelines.items()}
    tid = scenario.target.id
    target = "the target" if tid == "target" else f"the target ({tid})"
    if len(timelines) == 1:
        (p,) = timelines
        return (
            f"Only {p} was run: it resolves {int(resolved[p])} of {n} concerns and gives "
            f"{target} a utility of {num(utils[p])} {unit} (discounted sum)."
        )
    many = len(timelines) > 2
    most, higher = ("the most", "the highest") if many else ("more", "the higher")

    top = _leaders(resolved)
    k = int(resolved[top[0]])
    rest = {p: v for p, v in resolved.items() if p not in top}
    if not rest:
        first = f"{and_list(top)} tie on concerns resolved ({k} of {n} each)"
    else:
        runner_k = max(rest.values())
        runner = [p for p, v in rest.items() if v == runner_k]
        lead = (
            f"{and_list(top)} tie for {most} concerns resolved"
            if len(top) > 1
            else f"{top[0]} resolves {most} concerns"
        )
        first = f"{lead} ({k} of {n}, {k - int(runner_k)} more than {and_list(runner)})"

    best_u = _leaders(utils)
    u_rest = {p: v for p, v in utils.items() if p not in best_u}
    if not u_rest:
        second = (
            f"{target} does equally well under {'all of them' if many else 'both'} "
            f"({num(utils[best_u[0]])} {unit}, discounted sum)"
        )
    else:
        verb = "give" if len(best_u) > 1 else "gives"
        runner_u = max(u_rest.values())
        runner_p = [p for p, v in u_rest.items() if close(v, runner_u)]
        second = (
            f"{and_list(best_u)} {verb} {target} {higher} utility "
            f"({num(utils[best_u[0]])} vs {num(runner_u)} {unit} under {and_list(runner_p)}, "
            "discounted sum)"
        )
    return f"In this run, {first}; {second}."


def comparison_table(scenario: Scenario, timelines: dict[str, Timeline]) -> Table:
    """A terminal table: policies as columns, the rows of :func:`comparison_rows` as rows."""
    rows = [comparison_row(scenario, tl, with_units=False) for tl in timelines.values()]
    title = scenario.title or scenario.name
    table = Table(
        title=f"{title} — policies compared\n(pressure in {per_period(scenario)}; utilities in "
        f"{scenario.unit}, discounted sums over {scenario.horizon} {scenario.period}s "
        "plus the tail)",
        caption=verdict(scenario, timelines),
        show_lines=True,
        expand=False,
    )
    table.add_column("", style="bold", max_width=16, overflow="fold")
    for row in rows:
        table.add_column(row["policy"], overflow="fold", ratio=1, min_width=8)
    labels: list[str] = []
    for row in rows:
        labels.extend(k for k in row if k not in labels and k != "policy")
    for label in labels:
        table.add_row(label, *[row.get(label, "—") for row in rows])
    return table


def _proposal_lines(events: list[Event]) -> list[str]:
    """``freeze:m1 @unsc (relieve): usa yes, russia no → failed (veto)``, one per proposal."""
    out: list[str] = []
    current: dict[str, Any] | None = None
    votes: list[str] = []
    veto = False
    for e in events:
        if e.kind == "proposal":
            current, votes, veto = dict(e.data), [], False
        elif e.kind == "vote" and current is not None:
            votes.append(f"{e.data['member']} {e.data['vote']}")
            veto = veto or bool(e.data.get("veto"))
        elif e.kind == "decision" and current is not None:
            outcome = "passed" if e.data.get("passed") else "failed"
            kind = f" ({current['proposal_kind']})" if current.get("proposal_kind") else ""
            out.append(
                f"{current['proposal']} @{current.get('institution', '?')}{kind}: "
                f"{', '.join(votes) or 'no votes'} → {outcome}{' (veto)' if veto else ''}"
            )
            current = None
    return out


def period_rows(scenario: Scenario, timeline: Timeline) -> list[dict[str, str]]:
    """What happened per period; runs of quiet periods with equal pressure are merged.

    Keys: ``t`` (``"3"`` or ``"4–23"``), ``date`` (calendar label or ``""``),
    ``steps``, ``verified``, ``proposals`` (one line per proposal, newline separated),
    ``pressure`` (with unit).
    """
    by_t: dict[int, list[Event]] = {}
    for e in timeline.events:
        by_t.setdefault(e.t, []).append(e)
    out: list[dict[str, str]] = []
    quiet_from: int | None = None

    def cal(t: int) -> str:
        return calendar_label(scenario, t) or ""

    def flush(end: int) -> None:
        nonlocal quiet_from
        if quiet_from is None:
            return
        p = timeline.periods[quiet_from].pressure
        span = f"{quiet_from}" if end == quiet_from else f"{quiet_from}–{end}"
        date = (
            cal(quiet_from)
            if end == quiet_from
            else (f"{cal(quiet_from)}–{cal(end)}" if cal(quiet_from) else "")
        )
        out.append(
            {
                "t": span,
                "date": date,
                "steps": "",
                "verified": "",
                "proposals": "nothing happens" if end > quiet_from else "",
                "pressure": f"{num(p)} {per_period(scenario)}",
            }
        )
        quiet_from = None

    for rec in timeline.periods:
        t = rec.t
        events = by_t.get(t, [])
        if not events:
            if quiet_from is not None and not close(
                timeline.periods[quiet_from].pressure, rec.pressure
            ):
                flush(t - 1)
            if quiet_from is None:
                quiet_from = t
            continue
        flush(t - 1)
        out.append(
            {
                "t": str(t),
                "date": cal(t),
                "steps": ", ".join(
                    str(e.data["concern"]) if e.kind == "step" else f"reverse {e.data['concern']}"
                    for e in events
                    if e.kind in ("step", "reversed")
                ),
                "verified": ", ".join(
                    str(e.data["concern"]) for e in events if e.kind == "verified"
                ),
                "proposals": "\n".join(_proposal_lines(events)),
                "pressure": f"{num(rec.pressure)} {per_period(scenario)}",
            }
        )
    if timeline.periods:
        flush(timeline.periods[-1].t)
    return out


def run_table(scenario: Scenario, timeline: Timeline) -> Table:
    """Per period: steps taken, verifications, proposals with votes and outcome, pressure."""
    rows = period_rows(scenario, timeline)
    has_dates = any(r["date"] for r in rows)
    title = (
        f"{timeline.policy} ({policy_kind(scenario, timeline.policy)}) — target "
        f"{timeline.strategy}, seed {timeline.seed}"
    )
    table = Table(title=title, show_lines=False)
    table.add_column(f"t ({scenario.period})", justify="right", no_wrap=True)
    if has_dates:
        table.add_column("date", no_wrap=True)
    table.add_column("steps taken")
    table.add_column("verified")
    table.add_column("proposals and votes", overflow="fold")
    table.add_column("pressure", justify="right")
    for r in rows:
        cells: list[str | Text] = [r["t"]]
        if has_dates:
            cells.append(r["date"])
        proposals = Text(r["proposals"])
        proposals.highlight_words(["passed"], style="green")
        proposals.highlight_words(["failed", "(veto)"], style="red")
        if r["proposals"] == "nothing happens":
            proposals.stylize("dim")
        cells += [r["steps"], r["verified"], proposals, r["pressure"]]
        table.add_row(*cells)
    return table


__all__ = [
    "comparison_row",
    "comparison_rows",
    "comparison_table",
    "period_rows",
    "run_table",
    "utility_label",
    "verdict",
]
