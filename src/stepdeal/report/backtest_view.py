"""Readable back-test tables (from ``BacktestResult.to_dict()``, so this layer does not
import the solver)."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _period(x: Any) -> str:
    return "—" if x is None else str(x)


def backtest_tables(d: dict[str, Any]) -> list[Any]:
    """Per concern: history next to the prediction; then the criteria and the verdict."""
    per = d["period"]
    when = f" (t = 0 is {d['start']})" if d.get("start") else ""
    steps = Table(
        title=f"{d['case']}: {d.get('title') or ''} — history vs the model under "
        f"{d['policy']}{when}",
        caption=f"periods are {per}s from the start; P(verified at the horizon) is exact; "
        f"first verification and reversal from {d['paths']} simulated equilibrium paths "
        "(median shown when at least half the paths verify)",
    )
    for col, just in (
        ("concern", "left"),
        (f"taken ({per})", "right"),
        (f"verified ({per})", "right"),
        (f"reversed ({per})", "right"),
        ("date", "left"),
        (f"model: first verified ({per}, median)", "right"),
        ("model: P(reversed)", "right"),
        ("model: P(verified at horizon)", "right"),
    ):
        steps.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in d["concerns"]:
        med = r.get("median_first_verified")
        steps.add_row(
            r["concern"],
            _period(r["observed_taken"]),
            _period(r["observed_verified"]),
            _period(r["observed_reversed"]),
            r["observed_date"] or "",
            "—" if med is None else f"{med:g}",
            f"{r.get('p_reversed', 0.0):.2f}",
            f"{r['p_verified_at_horizon']:.2f}",
        )
    crit = Table(title=f"Verdict: {d['verdict'].upper()}")
    crit.add_column("criterion")
    crit.add_column("result")
    crit.add_column("detail")
    for c in d["criteria"]:
        result = "n/a" if not c["applicable"] else ("matches" if c["matches"] else "differs")
        crit.add_row(c["name"], result, c["detail"])
    out: list[Any] = [steps, crit]
    extra = Table(show_header=False, box=None)
    extra.add_column()
    extra.add_column()
    sens = d.get("sensitivity")
    if sens:
        share = sens["share"]
        extra.add_row(
            "sensitivity",
            f"over {sens['solved']} of {sens['n']} LHS samples of the case's uncertainties "
            f"(seed {sens['seed']}): {100 * share['matches']:.0f}% match, "
            f"{100 * share['partly matches']:.0f}% partly, "
            f"{100 * share['does not match']:.0f}% do not, on the criteria "
            f"{', '.join(sens['criteria'])} (the point scenario on these alone: "
            f"{sens['point_verdict_on_these_criteria']})",
        )
    else:
        extra.add_row("sensitivity", "no uncertainties declared, or skipped (-n 0)")
    prov = d["provenance"]
    extra.add_row(
        "provenance",
        f"{len(prov['sourced'])} entities wholly sourced, {len(prov['sourced_and_assumed'])} "
        f"sourced with stated assumptions, {len(prov['assumption'])} on assumptions only"
        + (f" ({', '.join(prov['assumption'])})" if prov["assumption"] else ""),
    )
    if d["fitted"]:
        for f in d["fitted"]:
            extra.add_row(
                "fitted",
                f"{f['path']} (sourced value {f['sourced']:g}; {f['reason']}): with the "
                f"sourced value the verdict is {f['verdict_with_sourced_value']}",
            )
    else:
        extra.add_row("fitted", "no parameter was fitted to the outcome")
    out.append(extra)
    return out
