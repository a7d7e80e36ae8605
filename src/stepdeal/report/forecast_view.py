"""Tables and a figure for stakeholder forecasts (``ForecastResult`` objects)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from rich.table import Table


def forecasts_table(results: Sequence[Any], title: str) -> Table:
    """One row per model: its forecast on every dimension (0-100 scale)."""
    dims = list(results[0].dimensions)
    t = Table(title=title, caption="forecast positions on the 0-100 scale of each dimension")
    t.add_column("model")
    for d in dims:
        t.add_column(d, justify="right")
    t.add_column("rounds", justify="right")
    for r in results:
        t.add_row(r.model, *(f"{v:.1f}" for v in r.forecast), str(len(r.rounds) - 1))
    return t


def rounds_table(result: Any) -> Table:
    """Per actor: its position in every round (dimensions joined by '/')."""
    n_rounds = len(result.rounds)
    shown = list(range(n_rounds)) if n_rounds <= 5 else [0, 1, 2, n_rounds - 2, n_rounds - 1]
    t = Table(
        title=f"{result.model}: positions per round ({' / '.join(result.dimensions)})",
        caption="0-100 scale; round 0 is the input"
        + ("" if n_rounds <= 5 else f"; rounds 3-{n_rounds - 3} not shown (--json has all)"),
    )
    t.add_column("actor")
    for k in shown:
        t.add_column(f"r{k}", justify="right")
    if result.probabilities is not None:
        t.add_column("P(wins), last", justify="right")
    for i, a in enumerate(result.actors):
        row = ["/".join(f"{v:.0f}" for v in result.rounds[k][i]) for k in shown]
        if result.probabilities is not None:
            row.append(f"{result.probabilities[-1][i]:.3f}")
        t.add_row(a, *row)
    return t


def forecast_figure(results: Sequence[Any]) -> Figure:
    """Positions per round per actor, one panel per (model, dimension)."""
    dims = list(results[0].dimensions)
    fig = Figure(figsize=(4.2 * len(dims), 2.9 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), len(dims), squeeze=False)
    for m, r in enumerate(results):
        for j, d in enumerate(dims):
            ax = axes[m][j]
            for i, a in enumerate(r.actors):
                ax.plot([x[i, j] for x in r.rounds], marker="o", ms=3, lw=1.2, label=a)
            ax.axhline(r.forecast[j], color="black", ls="--", lw=1)
            ax.set_ylim(-3, 103)
            ax.set_title(f"{r.model}: {d}", fontsize=10)
            ax.set_xlabel("round", fontsize=9)
            ax.set_ylabel("position (0-100)", fontsize=9)
            ax.tick_params(labelsize=9)
    axes[0][-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig
