"""Charts of a policy comparison, drawn on plain :class:`matplotlib.figure.Figure` objects.

No pyplot and no global backend switch: each function builds its own ``Figure``
(rendered with the Agg canvas when saved), so the report layer can be used from
threads, servers and notebooks without side effects.

x is the period *t* everywhere; an event of period *t* is drawn at ``x = t`` and
the pressure of period *t* covers ``t − ½ … t + ½``.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..scenario import Scenario
from ..sim import Timeline
from ._format import calendar_label, facts, num

POLICY_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
LINESTYLES = ["-", "--", ":", "-."]
C_STEP = "#1f4e99"
C_RELIEF = "#2ca02c"
C_TRANCHE = "#d62728"
C_VETO = "black"


def _color(i: int) -> str:
    return POLICY_COLORS[i % len(POLICY_COLORS)]


def _horizon(timelines: dict[str, Timeline]) -> int:
    return max((tl.horizon for tl in timelines.values()), default=1)


def _title(scenario: Scenario) -> str:
    return scenario.title or scenario.name


def _xlabel(scenario: Scenario) -> str:
    start = calendar_label(scenario, 0)
    base = f"period t ({scenario.period}s)"
    return f"{base}; t = 0 is {start}" if start else base


def _setup_x(ax: Axes, scenario: Scenario, horizon: int) -> None:
    ax.set_xlim(-0.6, horizon - 0.4)
    ax.set_xlabel(_xlabel(scenario))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


# -- timeline ----------------------------------------------------------------------


def _draw_timeline(ax: Axes, scenario: Scenario, timelines: dict[str, Timeline]) -> None:
    horizon = _horizon(timelines)
    policies = list(timelines)
    for i, (pid, tl) in enumerate(timelines.items()):
        y = -float(i)
        f = facts(scenario, tl)
        ax.axhspan(y - 0.45, y + 0.45, color=_color(i), alpha=0.06, linewidth=0)
        yc, ym = y + 0.17, y - 0.17  # concern row (above), measure row (below)
        last = tl.horizon - 1
        verified_at = dict(f.verified)
        # pending spans: from the step to its verification (or the end of the run)
        for c, t in f.taken:
            end = verified_at.get(c, last)
            if end > t:
                ax.plot([t, end], [yc, yc], color=C_STEP, linewidth=1.0, alpha=0.5,
                        solid_capstyle="butt")
        if f.taken:
            ax.scatter([t for _, t in f.taken], [yc] * len(f.taken), s=90, marker="o",
                       facecolors="white", edgecolors=C_STEP, linewidths=1.5, zorder=3)
        if f.verified:
            ax.scatter([t for _, t in f.verified], [yc] * len(f.verified), s=45, marker="o",
                       color=C_STEP, zorder=4)
        relief_t = [t for _, _, t in f.relief]
        if relief_t:
            ax.scatter(relief_t, [ym] * len(relief_t), s=70, marker="v", color=C_RELIEF,
                       zorder=4)
        if f.tranches:
            ax.scatter([t for _, t in f.tranches], [ym] * len(f.tranches), s=70, marker="^",
                       color=C_TRANCHE, zorder=4)
        veto_t = sorted({int(v["period"]) for v in f.vetoes})
        if veto_t:
            ax.scatter(veto_t, [y] * len(veto_t), s=80, marker="X", color=C_VETO, zorder=5)
        # labels: concern ids above, measure ids below, one text per (row, t)
        labels_c: dict[int, list[str]] = {}
        for c, t in f.verified:
            labels_c.setdefault(t, []).append(f"{c}✓")
        for c, t in f.taken:
            if verified_at.get(c) != t:
                labels_c.setdefault(t, []).append(c)
        for t, names in labels_c.items():
            ax.annotate(", ".join(names), (t, yc), xytext=(0, 7), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color=C_STEP)
        labels_m: dict[int, list[str]] = {}
        for m, action, t in f.relief:
            labels_m.setdefault(t, []).append(f"{m} {action}")
        for m, t in f.tranches:
            labels_m.setdefault(t, []).append(f"+{m}")
        for t, names in labels_m.items():
            ax.annotate(", ".join(names), (t, ym), xytext=(0, -8), textcoords="offset points",
                        ha="center", va="top", fontsize=7, color="#333333")
    ax.set_yticks([-float(i) for i in range(len(policies))], labels=policies)
    for i, lab in enumerate(ax.get_yticklabels()):
        lab.set_color(_color(i))
        lab.set_fontweight("bold")
    ax.set_ylim(-len(policies) + 0.45, 0.6)
    ax.tick_params(axis="y", length=0)
    _setup_x(ax, scenario, horizon)
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="white",
               markeredgecolor=C_STEP, markeredgewidth=1.5, label="step taken (pending)"),
        Line2D([], [], linestyle="none", marker="o", markersize=6, color=C_STEP,
               label="step verified"),
        Line2D([], [], linestyle="none", marker="v", markersize=8, color=C_RELIEF,
               label="relief (freeze / curtail / lift)"),
        Line2D([], [], linestyle="none", marker="^", markersize=8, color=C_TRANCHE,
               label="tranche imposed"),
        Line2D([], [], linestyle="none", marker="X", markersize=8, color=C_VETO, label="veto"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=5,
              fontsize=8, frameon=False)
    ax.set_title("What happened, by policy")


def timeline_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """One lane per policy over the periods: steps, verifications, relief, tranches, vetoes."""
    fig = Figure(figsize=(10, 1.6 + 1.0 * max(1, len(timelines))), layout="constrained")
    ax = fig.add_subplot()
    _draw_timeline(ax, scenario, timelines)
    fig.suptitle(_title(scenario), fontweight="bold")
    return fig


# -- pressure ----------------------------------------------------------------------


def _draw_pressure(ax: Axes, scenario: Scenario, timelines: dict[str, Timeline]) -> None:
    horizon = _horizon(timelines)
    n = len(timelines)
    for i, (pid, tl) in enumerate(timelines.items()):
        p = tl.pressure()
        if not p:
            ax.plot([], [], color=_color(i), label=pid)
            continue
        xs = [t - 0.5 for t in range(len(p) + 1)]
        ax.step(xs, [*p, p[-1]], where="post", color=_color(i), label=pid,
                linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=2.6 - 1.4 * i / max(1, n),
                alpha=0.9)
    ax.set_ylabel(f"pressure on target\n({scenario.unit})")
    ax.set_ylim(bottom=0)
    ax.margins(y=0.15)
    _setup_x(ax, scenario, horizon)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Pressure: cost of sanctions to the target per period")


def pressure_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """Pressure per period for each policy (one step line per policy)."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.add_subplot()
    _draw_pressure(ax, scenario, timelines)
    fig.suptitle(_title(scenario), fontweight="bold")
    return fig


# -- utilities ---------------------------------------------------------------------


def _draw_utilities(ax: Axes, scenario: Scenario, timelines: dict[str, Timeline]) -> None:
    actors = scenario.actors
    n = max(1, len(timelines))
    width = 0.8 / n
    for i, (pid, tl) in enumerate(timelines.items()):
        xs = [a + (i - (n - 1) / 2) * width for a in range(len(actors))]
        values = [float(tl.utilities.get(a.id, 0.0)) for a in actors]
        bars = ax.bar(xs, values, width=width * 0.95, color=_color(i), label=pid)
        ax.bar_label(bars, labels=[num(v) for v in values], fontsize=7, padding=2)
    ax.set_xticks(
        list(range(len(actors))),
        labels=[f"{a.id}\n(target)" if a.role == "target" else a.id for a in actors],
    )
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_ylabel(f"discounted utility ({scenario.unit})")
    ax.margins(y=0.15)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Who gains: discounted utility by actor")


def utilities_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """Grouped bars: one group per actor, one bar per policy."""
    fig = Figure(figsize=(max(6.0, 1.2 + 1.3 * len(scenario.actors) * max(1, len(timelines)) / 2),
                          4.2), layout="constrained")
    ax = fig.add_subplot()
    _draw_utilities(ax, scenario, timelines)
    fig.suptitle(_title(scenario), fontweight="bold")
    return fig


# -- summary -----------------------------------------------------------------------


def summary_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """Timeline lanes on top, pressure and utilities below: the picture of one comparison."""
    lanes = max(1, len(timelines))
    fig = Figure(figsize=(12, 6.2 + 0.8 * lanes), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[0.9 + 0.6 * lanes, 3.2], width_ratios=[1.4, 1])
    ax_t = fig.add_subplot(grid[0, :])
    ax_p = fig.add_subplot(grid[1, 0])
    ax_u = fig.add_subplot(grid[1, 1])
    _draw_timeline(ax_t, scenario, timelines)
    _draw_pressure(ax_p, scenario, timelines)
    _draw_utilities(ax_u, scenario, timelines)
    seeds = sorted({str(tl.seed) for tl in timelines.values()})
    strategies = sorted({tl.strategy for tl in timelines.values()})
    fig.suptitle(
        f"{_title(scenario)}\n"
        f"scenario {scenario.name} · target strategy {', '.join(strategies)} · "
        f"seed {', '.join(seeds)} · horizon {_horizon(timelines)} {scenario.period}s",
        fontweight="bold",
    )
    return fig


def save_png(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG (parent folders are created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    return out


__all__ = [
    "pressure_figure",
    "save_png",
    "summary_figure",
    "timeline_figure",
    "utilities_figure",
]
