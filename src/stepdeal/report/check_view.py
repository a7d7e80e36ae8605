"""Readable tables of a self-enforcement check (:class:`stepdeal.solve.check.CheckResult`).

Takes the check's plain dictionary (``CheckResult.to_dict()``) so that this layer
does not import the solver.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..scenario import Scenario
from ._format import per_period, when


def _mark(x: float | None) -> Text:
    if x is None:
        return Text("n/a", style="dim")
    style = "green" if x > 1e-9 else ("red" if x < -1e-9 else "yellow")
    return Text(f"{x:.4g}", style=style)


def check_tables(scenario: Scenario, result: Any) -> list[Any]:
    """Rich renderables: steps table, votes table, hold-up sentence."""
    d: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    unit = scenario.unit
    steps = Table(
        title=f"Steps on the equilibrium path — policy {d['policy']} (seed {d['seed']})",
        caption=f"gains in {unit}, discounted to the period of the step; ≥ 0: self-enforcing",
    )
    for col in ("period", "concern", "gain vs waiting a period", "gain vs never"):
        steps.add_column(col, justify="right" if col.startswith("gain") else "left")
    for s in d["steps"]:
        steps.add_row(
            when(scenario, s["period"]),
            s["concern"],
            _mark(s["gain_vs_wait"]),
            _mark(s["gain_vs_never"]),
        )
    votes = Table(
        title="Votes on the equilibrium path",
        caption=f"gain in {unit} of the vote cast vs the opposite vote, others fixed "
        "(0: not pivotal or indifferent; < 0: the member's rule binds it against its "
        "interest; n/a: the counterfactual leaves the solved graph)",
    )
    for col in ("period", "institution", "member", "proposal", "vote", "gain vs opposite"):
        votes.add_column(col, justify="right" if col.startswith("gain") else "left")
    for v in d["votes"]:
        votes.add_row(
            when(scenario, v["period"]),
            v["institution"],
            v["member"],
            v["proposal"],
            v["vote"],
            _mark(v["gain_vs_opposite"]),
        )
    h = d["holdup"]
    if h is None:
        line = "No hold-up: the target takes every step it can."
    elif h["extra_relief"] is None:
        line = (
            f"Hold-up at {h['concern']} ({when(scenario, h['period'])}): no relief up to "
            f"1e9 {per_period(scenario)} makes the target take it."
        )
    else:
        line = (
            f"Hold-up at {h['concern']} ({when(scenario, h['period'])}): the target stops; "
            f"an extra relief of {h['extra_relief']:.4g} {per_period(scenario)} while it "
            "stands verified would make the target take it."
        )
    out: list[Any] = [steps, votes]
    if d.get("reversals"):
        rev = Table(
            title="Reversible steps: reversals on the path and the tightest margin of keeping",
            caption=f"gain in {unit}, discounted to the period: for 'reverse', reversing vs the "
            "best action that keeps the step (≥ 0: the reversal is a best reply); for "
            "'keep', keeping vs reversing in the period where that margin is smallest "
            "(> 0: keeping is self-enforcing all along; 0: indifferent)",
        )
        for col in ("concern", "action", "period", "gain"):
            rev.add_column(col, justify="right" if col == "gain" else "left")
        for r in d["reversals"]:
            rev.add_row(r["concern"], r["action"], when(scenario, r["period"]), _mark(r["gain"]))
        out.append(rev)
    out.append(line)
    if d.get("beliefs") is not None:
        out.append(belief_table(d))
    for note in d.get("notes") or []:
        out.append(Text(f"Note: {note}", style="dim"))
    return out


def _p(belief: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in belief.items())


def belief_table(d: dict[str, Any]) -> Table:
    """Per step of the true type: the profile at that point and the powers' belief."""
    table = Table(
        title=f"What the powers learn — the target is of type {d.get('true_type')}",
        caption="belief = the powers' probability of each type (0-1), before and after "
        "the step is declared; profile: pooling (every type still suspected does the "
        "same), separating (each does something different), partial, known",
    )
    for col in ("period", "concern", "profile", "belief before", "belief after", "others do"):
        table.add_column(col)
    for b in d["beliefs"]:
        table.add_row(
            str(b["period"]),
            b["concern"],
            b["kind"],
            _p(b["belief_before"]),
            _p(b["belief_after"]),
            ", ".join(f"{k}: {v}" for k, v in b["others"].items()) or "—",
        )
    return table
