"""Readable summary of a designed roadmap (:class:`stepdeal.solve.design.DesignResult`).

Takes the result's plain dictionary (``DesignResult.to_dict()``) so that this layer
does not import the solver.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..scenario import Scenario


def design_table(scenario: Scenario, result: Any) -> Table:
    """The designed order with each step's relief and probability of being verified."""
    d: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    pol = d["policy"]
    status = d["status"]
    unit_name = "concerns" if d["objective_name"] == "resolved" else scenario.unit
    if status == "exact":
        guarantee = "proved optimal (exhaustive search)"
    else:
        guarantee = f"upper bound {d['bound']:.4g} {unit_name}, gap ≤ {d['gap']:.4g} {unit_name}"
    table = Table(
        title=f"Designed roadmap for {scenario.name} — objective {d['objective_name']}: "
        f"{d['objective']:.4g} {unit_name} ({status}; {guarantee})",
        caption=(
            f"expected concerns verified by the horizon: {d['expected_resolved']:.4g}; "
            f"powers' total utility {d['powers_total_utility']:.4g} {scenario.unit}; "
            f"target utility {d['target_utility']:.4g} {scenario.unit} (discounted sums); "
            f"{d['designs_evaluated']:,} designs solved in {d['seconds']:.2f} s"
        ),
    )
    table.add_column("step", justify="right")
    table.add_column("concern")
    table.add_column("relief once verified")
    table.add_column("P(verified by horizon)", justify="right")
    relief = pol.get("relief", {})
    for i, cid in enumerate(pol["order"], start=1):
        acts = ", ".join(f"{a['action']} {a['measure']}" for a in relief.get(cid, [])) or "—"
        table.add_row(str(i), cid, acts, f"{d['p_resolved'].get(cid, 0.0):.3f}")
    return table


__all__ = ["design_table"]
