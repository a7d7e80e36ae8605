"""Charts of a policy comparison, drawn on plain :class:`matplotlib.figure.Figure` objects.

No pyplot and no global backend switch: each function builds its own ``Figure``
(rendered with the Agg canvas when saved), so the report layer can be used from
threads, servers and notebooks without side effects.

x is the period *t* everywhere; an event of period *t* is drawn at ``x = t`` and
the pressure of period *t* covers ``t − ½ … t + ½``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation, Transform

from ..scenario import Scenario
from ..sim import Timeline
from ._format import calendar_label, facts, per_period, short

POLICY_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
LINESTYLES = ["-", "--", ":", "-."]
C_STEP = "#1f4e99"
C_RELIEF_BY = {"curtailed": "#7fcf7a", "frozen": "#2ca02c", "lifted": "#0b5d1e"}
RANK = {"curtailed": 1, "frozen": 2, "lifted": 3}
C_TRANCHE = "#d62728"
C_VETO = "black"
LABEL_SIZE = 6.5


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
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins="auto", min_n_ticks=3))
    ax.set_xlabel(_xlabel(scenario))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


# -- timeline ----------------------------------------------------------------------


def _letters(k: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ..."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def _slots(intervals: list[tuple[int, int]]) -> list[int]:
    """Greedy interval colouring: a sub-row per interval so that overlapping ones differ."""
    ends: list[int] = []  # last end per slot
    out = [0] * len(intervals)
    for idx in sorted(range(len(intervals)), key=lambda i: intervals[i]):
        lo, hi = intervals[idx]
        slot = next((k for k, e in enumerate(ends) if e < lo), len(ends))
        if slot == len(ends):
            ends.append(hi)
        else:
            ends[slot] = hi
        out[idx] = slot
    return out


def _offset(ax: Axes, dx_pt: float) -> Transform:
    """Data coordinates shifted by ``dx_pt`` points to the right."""
    fig = ax.get_figure()
    assert fig is not None
    return ax.transData + ScaledTranslation(dx_pt / 72, 0, fig.dpi_scale_trans)


def _draw_timeline(
    ax: Axes,
    scenario: Scenario,
    timelines: dict[str, Timeline],
    width_in: float = 11.0,
    lane_pts: float = 70.0,
) -> None:
    """Lanes of events; concerns are numbered circles, measures are letters (see the key)."""
    horizon = _horizon(timelines)
    policies = list(timelines)
    concern_no = {c.id: k + 1 for k, c in enumerate(scenario.concerns)}
    measure_code = {m.id: _letters(k) for k, m in enumerate(scenario.measures)}
    used_measures: set[str] = set()

    def codes(ms: list[str]) -> str:
        return ",".join(sorted((measure_code.get(m, m) for m in ms), key=lambda c: (len(c), c)))

    for i, tl in enumerate(timelines.values()):
        y = -float(i)
        f = facts(scenario, tl)
        ax.axhspan(y - 0.45, y + 0.45, color=_color(i), alpha=0.06, linewidth=0)
        last = tl.horizon - 1
        verified_at = dict(f.verified)
        # concerns: one sub-row per overlapping [taken, verified] interval, above the centre
        spans = [(t, verified_at.get(c, last)) for c, t in f.taken]
        slots = _slots(spans)
        n_rows = max(slots, default=0) + 1
        h = 0.40 / max(n_rows, 2)
        diam = max(5.0, min(11.0, 0.9 * h * lane_pts))
        for (c, t0), (_, t1), slot in zip(f.taken, spans, slots, strict=True):
            yk = y + 0.03 + (slot + 0.5) * h
            label = str(concern_no.get(c, "?"))
            done = c in verified_at
            if t1 > t0:
                ax.plot(
                    [t0, t1],
                    [yk, yk],
                    color=C_STEP,
                    linewidth=1.2,
                    alpha=0.55,
                    zorder=2,
                    solid_capstyle="butt",
                )
            ends = [(t0, False)] + ([(t1, True)] if done and t1 > t0 else [])
            if done and t1 == t0:
                ends = [(t0, True)]
            for t, filled in ends:
                ax.plot(
                    [t],
                    [yk],
                    linestyle="none",
                    marker="o",
                    markersize=diam,
                    markerfacecolor=C_STEP if filled else "white",
                    markeredgecolor=C_STEP,
                    markeredgewidth=1.3,
                    zorder=3,
                )
                ax.text(
                    t,
                    yk,
                    label,
                    ha="center",
                    va="center_baseline",
                    zorder=4,
                    fontsize=max(4.5, diam * 0.62),
                    color="white" if filled else C_STEP,
                    fontweight="bold",
                )
        # escalation row: tranches imposed and vetoes (letters to the right)
        ye, yr = y - 0.1, y - 0.27
        for m, t in f.tranches:
            used_measures.add(m)
            _labelled_marker(ax, t, ye, "^", C_TRANCHE, codes([m]), zorder=4)
        vetoed: dict[int, list[str]] = {}
        for v in f.vetoes:
            m = str(v["proposal"]).split(":", 1)[-1]
            used_measures.add(m)
            vetoed.setdefault(int(v["period"]), []).append(m)
        for t, ms in vetoed.items():
            _labelled_marker(ax, t, ye, "X", C_VETO, codes(sorted(set(ms))), zorder=5)
        # relief row: one marker per action and period, letters below
        groups: dict[int, dict[str, list[str]]] = {}
        for m, action, t in f.relief:
            used_measures.add(m)
            groups.setdefault(t, {}).setdefault(action, []).append(m)
        labels: dict[int, list[str]] = {}
        for t, by_action in groups.items():
            k = len(by_action)
            for j, (action, ms) in enumerate(sorted(by_action.items(), key=lambda kv: RANK[kv[0]])):
                dx = (j - (k - 1) / 2) * 9.0
                ax.plot(
                    [t],
                    [yr],
                    linestyle="none",
                    marker="v",
                    markersize=8,
                    color=C_RELIEF_BY[action],
                    markeredgecolor="white",
                    markeredgewidth=0.5,
                    zorder=4,
                    transform=_offset(ax, dx),
                )
                labels.setdefault(t, []).append(codes(ms))
        _place_labels(
            ax,
            {t: [" ".join(v)] for t, v in labels.items()},
            yr,
            -1,
            "#333333",
            (width_in - 3.2) * 72 / max(1, horizon),
        )
    _empty_lanes(ax, scenario, timelines)
    ax.set_yticks([-float(i) for i in range(len(policies))], labels=policies)
    for i, lab in enumerate(ax.get_yticklabels()):
        lab.set_color(_color(i))
        lab.set_fontweight("bold")
    ax.set_ylim(-len(policies) + 0.5, 0.5)
    ax.tick_params(axis="y", length=0)
    _setup_x(ax, scenario, horizon)

    def blank(label: str) -> Line2D:
        return Line2D([], [], linestyle="none", label=label)

    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=8,
            markerfacecolor="white",
            markeredgecolor=C_STEP,
            markeredgewidth=1.3,
            label="step taken (pending)",
        ),
        Line2D(
            [], [], linestyle="none", marker="o", markersize=8, color=C_STEP, label="step verified"
        ),
        *[
            Line2D(
                [],
                [],
                linestyle="none",
                marker="v",
                markersize=8,
                color=C_RELIEF_BY[a],
                label=f"relief: {a}",
            )
            for a in ("curtailed", "frozen", "lifted")
        ],
        Line2D(
            [],
            [],
            linestyle="none",
            marker="^",
            markersize=8,
            color=C_TRANCHE,
            label="tranche imposed",
        ),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="X",
            markersize=8,
            color=C_VETO,
            label="veto (proposal failed)",
        ),
        blank("concerns"),
        *[blank(f"{concern_no[c.id]}  {c.id}") for c in scenario.concerns],
    ]
    shown = [m for m in scenario.measures if m.id in used_measures]
    if shown:
        handles += [blank("measures"), *[blank(f"{measure_code[m.id]}  {m.id}") for m in shown]]
    leg = ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        ncol=1 if len(handles) <= 24 else 2,
        handletextpad=0.4,
        borderaxespad=0.0,
    )
    for text in leg.get_texts():
        if text.get_text() in ("concerns", "measures"):
            text.set_fontweight("bold")
    ax.set_title("What happened, by policy")


def _place_labels(
    ax: Axes,
    labels: dict[int, list[str]],
    y: float,
    direction: int,
    color: str,
    pts_per_period: float,
) -> None:
    """Annotate ``labels`` (t -> lines) above (+1) or below (−1) ``y``.

    Labels are centred on their period; a label that would overlap an earlier one
    goes right of its marker, else one level further out.
    """
    placed: list[tuple[int, float, float]] = []  # (level, lo, hi) in points along x

    def free(level: int, lo: float, hi: float) -> bool:
        return all(hi <= a or lo >= b for k, a, b in placed if k == level)

    for t in sorted(labels):
        lines = labels[t]
        width = max(len(s) for s in lines) * LABEL_SIZE * 0.58 + 3  # points, roughly
        x = t * pts_per_period
        # candidates: centred, then right of the marker, then one level further out, ...
        for level in range(8):
            centred = (x - width / 2, x + width / 2)
            right = (x + 6, x + 6 + width)
            if free(level, *centred):
                lo, hi, ha, dx = *centred, "center", 0.0
                break
            if free(level, *right):
                lo, hi, ha, dx = *right, "left", 6.0
                break
        else:  # very crowded: accept an overlap on the outermost level
            lo, hi, ha, dx = *centred, "center", 0.0
        placed.append((level, lo, hi))
        offset = direction * (6 + level * (LABEL_SIZE + 2) * len(lines))
        ax.annotate(
            "\n".join(lines),
            (t, y),
            xytext=(dx, offset),
            textcoords="offset points",
            ha=ha,
            va="bottom" if direction > 0 else "top",
            fontsize=LABEL_SIZE,
            color=color,
            linespacing=1.0,
        )


def _labelled_marker(
    ax: Axes, t: float, y: float, marker: str, color: str, label: str, zorder: int
) -> None:
    """A marker at ``(t, y)`` with its measure letters to the right."""
    ax.plot([t], [y], linestyle="none", marker=marker, markersize=8, color=color, zorder=zorder)
    ax.annotate(
        label,
        (t, y),
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=LABEL_SIZE,
        color=color,
    )


def timeline_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """One lane per policy over the periods: steps, verifications, relief, tranches, vetoes."""
    fig = Figure(figsize=(11, 1.8 + 1.1 * max(1, len(timelines))), layout="constrained")
    ax = fig.add_subplot()
    _draw_timeline(ax, scenario, timelines, width_in=11.0, lane_pts=1.1 * 72 * 0.85)
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
        ax.step(
            xs,
            [*p, p[-1]],
            where="post",
            color=_color(i),
            label=pid,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=2.6 - 1.4 * i / max(1, n),
            alpha=0.9,
        )
    ax.set_ylabel(f"pressure on target\n({per_period(scenario)})")
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
    crowded = n * len(actors) > 12
    for i, (pid, tl) in enumerate(timelines.items()):
        xs = [a + (i - (n - 1) / 2) * width for a in range(len(actors))]
        values = [float(tl.utilities.get(a.id, 0.0)) for a in actors]
        bars = ax.bar(xs, values, width=width * 0.95, color=_color(i), label=pid)
        ax.bar_label(
            bars,
            labels=[short(v) for v in values],
            fontsize=6 if crowded else 7,
            padding=2,
            rotation=90 if crowded else 0,
        )
    ax.set_xticks(
        list(range(len(actors))),
        labels=[
            f"{a.id}\n(target)" if a.role == "target" and a.id != "target" else a.id for a in actors
        ],
        rotation=30 if len(actors) > 4 else 0,
        ha="right" if len(actors) > 4 else "center",
        rotation_mode="anchor",
    )
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_ylabel(f"discounted utility\n({scenario.unit})")
    ax.margins(y=0.22 if crowded else 0.15)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="best")
    ax.set_title("Who gains: discounted utility by actor")


def utilities_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """Grouped bars: one group per actor, one bar per policy."""
    bars = len(scenario.actors) * max(1, len(timelines))
    fig = Figure(figsize=(min(14.0, max(6.0, 2.0 + 0.35 * bars)), 4.5), layout="constrained")
    ax = fig.add_subplot()
    _draw_utilities(ax, scenario, timelines)
    fig.suptitle(_title(scenario), fontweight="bold")
    return fig


def _empty_lanes(ax: Axes, scenario: Scenario, timelines: dict[str, Timeline]) -> None:
    for i, tl in enumerate(timelines.values()):
        if not any(e.kind in ("step", "status") or e.data.get("veto") for e in tl.events):
            ax.text(
                0,
                -float(i),
                "no step, no change to any measure",
                fontsize=7,
                color="#777777",
                style="italic",
                va="center",
                ha="left",
            )


# -- summary -----------------------------------------------------------------------


def summary_figure(scenario: Scenario, timelines: dict[str, Timeline]) -> Figure:
    """Timeline lanes on top, pressure and utilities below: the picture of one comparison.

    The figure is made of two sub-figures (``fig.subfigs``); ``fig.axes`` lists the
    three panels: timeline, pressure, utilities.
    """
    lanes = max(1, len(timelines))
    top_h = 1.3 + 1.0 * lanes
    fig = Figure(figsize=(12, top_h + 4.6), layout="constrained")
    subs = fig.subfigures(2, 1, height_ratios=[top_h, 4.4], hspace=0.02)
    assert isinstance(subs, np.ndarray)
    top, bottom = subs
    ax_t = top.add_subplot()
    ax_p, ax_u = bottom.subplots(
        1, 2, width_ratios=[1.2, 1.0 + 0.1 * max(0, len(scenario.actors) - 3)]
    )
    _draw_timeline(ax_t, scenario, timelines, width_in=12.0, lane_pts=0.95 * 72)
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
