"""Results as tidy tables (pandas) for CSV and Parquet downloads.

Column names carry their units, e.g. ``pressure (USD bn-equivalent per month)``, so a
number read from the file is never without one. One row per observation:

* :func:`periods_frame` — one row per (policy, period) of simulated timelines;
* :func:`result_frame` — the JSON result of a web-app run (compare, check, design,
  forecast) flattened into its main table.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from ..sim import Timeline


def periods_frame(timelines: dict[str, Timeline]) -> pd.DataFrame:
    """One row per policy and period: pressure, every concern's and measure's status,
    and every actor's payoff in that period."""
    rows: list[dict[str, Any]] = []
    for pid, tl in timelines.items():
        per = f"{tl.unit} per {tl.period}"
        for rec in tl.periods:
            row: dict[str, Any] = {"policy": pid, f"period ({tl.period}s from start)": rec.t}
            row[f"pressure ({per})"] = rec.pressure
            row.update({f"concern:{c}": st for c, st in rec.concerns.items()})
            row.update({f"measure:{m}": st for m, st in rec.measures.items()})
            row.update({f"payoff:{a} ({per})": v for a, v in rec.payoffs.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def _compare_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for pid, run in result.items():
        per = f"{run['unit']} per {run['period']}"
        verified = {s["concern"]: s["verified"] for s in run["steps"]}
        for t, p in enumerate(run["pressure"]):
            rows.append(
                {
                    "policy": pid,
                    f"period ({run['period']}s from start)": t,
                    f"pressure ({per})": p,
                    "concerns verified so far": sum(
                        1 for v in verified.values() if v is not None and v <= t
                    ),
                }
            )
    return rows


def result_frame(kind: str, result: dict[str, Any]) -> pd.DataFrame:
    """The main table of a run's JSON result (see the module docstring)."""
    if kind == "compare":
        return pd.DataFrame(_compare_rows(result))
    if kind == "check":
        unit = result.get("unit", "")
        rows = [
            {
                "concern": s["concern"],
                f"period ({result.get('period', 'period')}s from start)": s["period"],
                f"gain vs wait ({unit})": s["gain_vs_wait"],
                f"gain vs never ({unit})": s["gain_vs_never"],
            }
            for s in result.get("steps", [])
        ]
        return pd.DataFrame(rows)
    if kind == "design":
        p = result.get("p_resolved", {})
        order = result.get("policy", {}).get("order", [])
        return pd.DataFrame(
            [
                {"step": i + 1, "concern": c, "P(verified by the horizon)": p.get(c)}
                for i, c in enumerate(order)
            ]
        )
    if kind == "forecast":
        rows = []
        models = result.get("models") or {result.get("model", "model"): result}
        for model, res in models.items():
            dims, actors = res["dimensions"], res["actors"]
            for r, positions in enumerate(res["rounds"]):
                for a in actors:
                    for k, d in enumerate(dims):
                        rows.append(
                            {
                                "model": model,
                                "round": r,
                                "actor": a,
                                "dimension": d,
                                "position (0-100 scale)": positions[a][k],
                            }
                        )
        return pd.DataFrame(rows)
    raise ValueError(f"no table for kind {kind!r}. Fix: download JSON instead")


def to_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """``frame`` as CSV (UTF-8) or Parquet bytes."""
    if fmt == "csv":
        text: str = frame.to_csv(index=False)
        return text.encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}. Fix: use csv or parquet")
