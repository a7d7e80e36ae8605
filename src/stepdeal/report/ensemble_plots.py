"""Charts of an ensemble run: outcome distributions, regret, Sobol indices and PRIM.

Like :mod:`stepdeal.report.plots`, each function builds its own
:class:`matplotlib.figure.Figure` (no pyplot, no global backend switch; saved with
the Agg canvas) from the frames of :mod:`stepdeal.ensemble.analysis`. Every text
is at least 9 pt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..ensemble.analysis import PrimResult, distributions
from .plots import POLICY_COLORS

FONT = 10
SMALL = 9
C_S1 = "#1f77b4"
C_ST = "#ff7f0e"
C_TRAJ = "#555555"
C_PASTE = "#2ca02c"
C_CHOSEN = "#d62728"


def _color(i: int) -> str:
    return POLICY_COLORS[i % len(POLICY_COLORS)]


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def distribution_figure(results: pd.DataFrame, outcome: str, unit: str) -> Figure:
    """Box plot per policy of ``outcome`` over its ok samples, with the mean marked.

    Boxes span the quartiles, whiskers the 5th and 95th percentiles; the white
    diamond is the mean. Under each policy's name: the number of ok samples and,
    if any, of failed ones (which are left out).
    """
    stats = distributions(results, outcome)
    policies = list(stats.index)
    data: list[Any] = []
    for p in policies:
        sub = results[(results["policy"].astype(str) == p) & results["ok"].astype(bool)]
        data.append(sub[outcome].to_numpy(dtype=float))
    fig = Figure(figsize=(max(5.0, 1.4 * len(policies) + 2.0), 4.2), layout="constrained")
    ax = fig.add_subplot()
    pos = np.arange(1, len(policies) + 1)
    drawn = [i for i, d in enumerate(data) if d.size]
    if drawn:
        parts = ax.boxplot(
            [data[i] for i in drawn],
            positions=pos[drawn],
            whis=(5, 95),
            widths=0.55,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "black", "linewidth": 1.4},
        )
        for k, patch in enumerate(parts["boxes"]):
            patch.set_facecolor(_color(drawn[k]))
            patch.set_alpha(0.55)
        ax.scatter(
            pos[drawn],
            [float(np.mean(data[i])) for i in drawn],
            marker="D",
            s=28,
            color="white",
            edgecolor="black",
            zorder=3,
            label="mean",
        )
        ax.legend(fontsize=SMALL, loc="best")
    labels = []
    for p in policies:
        n_ok, n_err = int(stats.loc[p, "n_ok"]), int(stats.loc[p, "n_error"])
        labels.append(f"{p}\nn = {n_ok}" + (f", {n_err} failed" if n_err else ""))
    ax.set_xticks(pos, labels, fontsize=SMALL)
    ax.set_xlim(0.4, len(policies) + 0.6)
    ax.set_ylabel(_with_unit(outcome, unit), fontsize=FONT)
    ax.set_title(
        f"{outcome}: distribution over samples (box: quartiles, whiskers: 5–95 %)",
        fontsize=FONT,
    )
    ax.tick_params(labelsize=SMALL)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


def regret_figure(robustness_df: pd.DataFrame, unit: str = "") -> Figure:
    """Regret per policy (left) and share of samples where it is best or satisficing (right).

    Left: bars of the mean regret, a line to the 95th percentile and a cross at the
    maximum, in the outcome's unit ``unit`` (the frame of
    :func:`~stepdeal.ensemble.analysis.robustness` records the outcome's name and
    threshold in ``attrs``, not its unit). Right: percentages of the samples.
    """
    df = robustness_df
    outcome = str(df.attrs.get("outcome", "outcome"))
    policies = [str(p) for p in df.index]
    y = np.arange(len(policies))[::-1].astype(float)
    fig = Figure(figsize=(10.0, max(2.6, 0.6 * len(policies) + 1.6)), layout="constrained")
    ax, bx = fig.subplots(1, 2, sharey=True)
    colors = [_color(i) for i in range(len(policies))]
    ax.barh(y, df["mean_regret"], color=colors, alpha=0.75, height=0.55, label="mean")
    ax.hlines(y, df["mean_regret"], df["p95_regret"], color="black", linewidth=1.2)
    ax.scatter(df["p95_regret"], y, marker="|", s=120, color="black", label="95th percentile")
    ax.scatter(df["max_regret"], y, marker="x", s=40, color="black", label="max")
    ax.set_yticks(y, policies, fontsize=SMALL)
    ax.set_xlabel(_with_unit(f"regret in {outcome}", unit), fontsize=FONT)
    ax.set_title("regret: best policy of the sample minus this one", fontsize=FONT)
    ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    ax.set_xlim(left=0)
    ax.tick_params(labelsize=SMALL)

    has_sat = "satisficing" in df.columns
    h = 0.38 if has_sat else 0.55
    off = h / 2 if has_sat else 0.0
    bx.barh(y + off, 100 * df["share_best"], height=h, color=colors, alpha=0.75, label="best")
    if has_sat:
        thr = df.attrs.get("threshold")
        op = "≥" if df.attrs.get("larger_is_better", True) else "≤"
        bx.barh(
            y - off,
            100 * df["satisficing"],
            height=h,
            color=colors,
            alpha=0.35,
            hatch="//",
            label=f"satisficing ({op} {thr})",
        )
        bx.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    bx.set_xlim(0, 100)
    bx.set_xlabel("share of samples (%)", fontsize=FONT)
    n = int(df["n_samples"].iloc[0]) if len(df) else 0
    bx.set_title(f"best (ties count for each) — {n} samples", fontsize=FONT)
    bx.tick_params(labelsize=SMALL)
    for a in (ax, bx):
        a.grid(axis="x", color="#dddddd", linewidth=0.6)
        a.set_axisbelow(True)
    return fig


def sobol_figure(sobol_df: pd.DataFrame, title: str) -> Figure:
    """Horizontal bars of first-order (S1) and total (ST) Sobol indices, largest ST on top.

    Error bars are the bootstrap confidence half-widths ``S1_conf`` / ``ST_conf``.
    Indices are shares of the outcome's variance (unitless); ST − S1 is the share
    due to interactions.
    """
    df = sobol_df.sort_values("ST", ascending=True, na_position="first")
    y = np.arange(len(df), dtype=float)
    h = 0.38
    fig = Figure(figsize=(7.5, max(2.6, 0.45 * len(df) + 1.5)), layout="constrained")
    ax = fig.add_subplot()
    err = {"elinewidth": 1.0, "capsize": 2.5}
    for shift, col, color, label in (
        (h / 2, "ST", C_ST, "ST (total)"),
        (-h / 2, "S1", C_S1, "S1 (first order)"),
    ):
        ax.barh(
            y + shift,
            df[col],
            height=h,
            xerr=df[f"{col}_conf"],
            color=color,
            label=label,
            error_kw=err,
        )
    ax.set_yticks(y, [str(n) for n in df["name"]], fontsize=SMALL)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("Sobol index (share of the outcome's variance, unitless)", fontsize=FONT)
    ax.set_title(title, fontsize=FONT + 1)
    ax.legend(fontsize=SMALL, loc="lower right")
    ax.tick_params(labelsize=SMALL)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


def _limits_text(limits: dict[str, tuple[float, float]]) -> str:
    if not limits:
        return "no input restricted"
    return "\n".join(f"{name}: [{lo:.3g}, {hi:.3g}]" for name, (lo, hi) in limits.items())


def prim_figure(prim_result: PrimResult) -> Figure:
    """The PRIM trajectory in the coverage–density plane, the chosen box marked.

    Each point is a box (peeling in grey from the whole sample at the bottom right,
    pasting in green), labelled where it changes with its number of restricted
    inputs; the dashed line is the density threshold. The chosen box is the red
    star; its limits are listed in the corner. The coverage axis starts at the
    nearest ten below the trajectory's lowest coverage minus 10 %.
    """
    r = prim_result
    t = r.trajectory
    fig = Figure(figsize=(7.5, 5.6), layout="constrained")
    ax = fig.add_subplot()
    cov = 100 * t["coverage"].to_numpy(dtype=float)
    dens = 100 * t["density"].to_numpy(dtype=float)
    phase = t["phase"].astype(str).to_numpy()
    ax.plot(cov, dens, color=C_TRAJ, linewidth=1.0, zorder=1)
    peel = phase != "paste"
    ax.scatter(cov[peel], dens[peel], s=22, color=C_TRAJ, zorder=2, label="peeling")
    if (~peel).any():
        ax.scatter(cov[~peel], dens[~peel], s=26, color=C_PASTE, zorder=2, label="pasting")
    restricted = t["n_restricted"].to_numpy(dtype=int)
    for k in range(len(t)):
        if k == 0 or restricted[k] != restricted[k - 1] or k == r.chosen:
            ax.annotate(
                str(restricted[k]),
                (cov[k], dens[k]),
                xytext=(4, -11),
                textcoords="offset points",
                fontsize=SMALL,
                color=C_TRAJ,
            )
    ax.scatter(
        [cov[r.chosen]],
        [dens[r.chosen]],
        marker="*",
        s=220,
        color=C_CHOSEN,
        zorder=3,
        label=f"chosen: coverage {100 * r.coverage:.0f} %, density {100 * r.density:.0f} %, "
        f"mass {100 * r.mass:.0f} %",
    )
    ax.axhline(100 * r.threshold, color=C_CHOSEN, linestyle="--", linewidth=0.9, label="threshold")
    ax.text(
        0.02,
        0.03,
        _limits_text(r.limits),
        transform=ax.transAxes,
        fontsize=SMALL,
        va="bottom",
        ha="left",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bbbbbb"},
    )
    left = float(np.floor(max(0.0, cov.min() - 10.0) / 10.0) * 10.0)
    ax.set_xlim(left - 1.0, 101.0)
    ax.set_ylim(0, 105)
    ax.set_xlabel("coverage: flagged cases inside the box (% of all flagged)", fontsize=FONT)
    ax.set_ylabel("density: flagged share of the box (%)", fontsize=FONT)
    ax.set_title(
        f"PRIM: {r.n_flagged} of {r.n} cases flagged; numbers = inputs restricted",
        fontsize=FONT,
    )
    ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.tick_params(labelsize=SMALL)
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig
