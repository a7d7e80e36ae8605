"""A single self-contained HTML report of an ensemble run (samples x policies).

The companion of :mod:`stepdeal.report.html` for ``stepdeal ensemble`` runs, with the
same rules: inline CSS, a Content-Security-Policy that forbids loading anything,
charts as PNG data URIs, no script, no timestamp, and every piece of text taken
from the run (policy ids, variable names, errors, notes) escaped with
:func:`html.escape`. Every number carries its unit or is labelled a share or a
probability. The page is built from a :class:`~stepdeal.ensemble.analyze.RunAnalysis`
and the run's ``inputs`` and ``results`` frames (see :func:`stepdeal.ensemble.store.load`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import __version__
from ..ensemble.analysis import PrimResult
from ..ensemble.analyze import RunAnalysis
from ._format import MINUS, and_list, close
from .ensemble_plots import distribution_figure, prim_figure, regret_figure, sobol_figure
from .html import page_head, png_data_uri

#: what each summary outcome measures (the unit is added by :func:`outcome_unit`)
OUTCOME_TEXT = {
    "expected_resolved": "expected number of concerns verified by the horizon",
    "target_utility": "the target's expected discounted utility (a discounted sum)",
    "powers_total_utility": "the powers' expected discounted utilities, summed (discounted sums)",
    "expected_pressure": "expected sanctions cost on the target, summed over the horizon "
    "(undiscounted)",
}
_PREFIX_TEXT = {
    "utility:": "expected discounted utility of the power {} (a discounted sum)",
    "p_verified:": "probability that concern {} is verified by the horizon",
    "periods_to:": "expected number of periods before concern {} is verified "
    "(the horizon if never)",
}
_DIST_COLUMNS = ("mean", "sd", "p5", "p50", "p95")
_REGRET_COLUMNS = ("mean_regret", "p50_regret", "p95_regret", "max_regret")
#: a Sobol confidence half-width above this (a share of the variance) is called wide
WIDE_CONF = 0.1


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- numbers and units -----------------------------------------------------------------


def _float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _n(x: object, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (whole below 10**digits), a
    typographic minus and thousands separators; ``—`` when missing or not finite."""
    v = _float(x)
    if not math.isfinite(v):
        return "—"
    if abs(v) < 5e-13:
        return "0"
    a = abs(v)
    text = f"{a:,.0f}" if a >= 10**digits else f"{a:,.{digits}g}"
    return (MINUS if v < 0 else "") + text


def _fixed(x: object, decimals: int = 3) -> str:
    """A number with a fixed number of decimals (Sobol indices), ``—`` when missing."""
    v = _float(x)
    if not math.isfinite(v):
        return "—"
    text = f"{abs(v):.{decimals}f}"
    return (MINUS if v < 0 and float(text) != 0 else "") + text


def _pct(x: object) -> str:
    """A share in [0, 1] as a percentage (``46.3 %``), ``—`` when missing."""
    v = _float(x)
    return f"{100 * v:.1f} %" if math.isfinite(v) else "—"


def outcome_unit(outcome: str, manifest: Mapping[str, Any]) -> str:
    """The unit of an outcome column: ``concerns``, the run's money unit, ``probability``
    (``p_verified:*``) or periods (``periods_to:*``)."""
    if outcome == "expected_resolved":
        return "concerns"
    if outcome.startswith("p_verified:"):
        return "probability"
    if outcome.startswith("periods_to:"):
        return f"{manifest.get('period', 'period')}s"
    return str(manifest.get("unit", ""))


def outcome_text(outcome: str) -> str:
    """What an outcome column measures, in words."""
    if outcome in OUTCOME_TEXT:
        return OUTCOME_TEXT[outcome]
    for prefix, text in _PREFIX_TEXT.items():
        if outcome.startswith(prefix):
            return text.format(outcome[len(prefix) :])
    return outcome


def _with_unit(value: object, unit: str, digits: int = 4) -> str:
    text = _n(value, digits)
    return f"{text} {unit}" if unit and text != "—" else text


# -- small HTML pieces -------------------------------------------------------------------


def _table(head: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    """A table from escaped header labels and ready ``<tr>`` rows."""
    ths = "".join(f'<th scope="col">{h}</th>' for h in head)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(label: object, cells: Sequence[str]) -> str:
    """A row headed by ``label`` (escaped) with right-aligned, already escaped cells."""
    tds = "".join(f'<td class="num">{c}</td>' for c in cells)
    return f'<tr><th scope="row">{_e(label)}</th>{tds}</tr>'


def _figure(fig: Figure, caption: str) -> str:
    return (
        f'<figure><img src="{png_data_uri(fig)}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}">\n<h2>{_e(title)}</h2>\n{body}\n</section>\n'


# -- header and lead -------------------------------------------------------------------


def _samples_text(manifest: Mapping[str, Any]) -> str:
    rows, n = manifest.get("rows"), manifest.get("n")
    if manifest.get("design") == "sobol" and rows != n:
        return f"{rows} samples (Saltelli design of base size {n})"
    return f"{rows if rows is not None else n} samples"


def _meta_html(manifest: Mapping[str, Any]) -> str:
    policies = ", ".join(f"<code>{_e(p)}</code>" for p in manifest.get("policies", []))
    digest = str(manifest.get("scenario_hash", "unknown"))
    items = [
        f"scenario <code>{_e(manifest.get('scenario', '?'))}</code> "
        f"({_e(manifest.get('scenario_source', '?'))})",
        f"design: {_e(manifest.get('design', '?'))}",
        _e(_samples_text(manifest)),
        f"seed: {_e(manifest.get('seed', '?'))}",
        f"policies: {policies}",
        f"unit: {_e(manifest.get('unit', '?'))}",
        f"horizon: {_e(manifest.get('horizon', '?'))} {_e(manifest.get('period', 'period'))}s",
        f"run with stepdeal {_e(manifest.get('version', '?'))}",
        f'scenario hash <code title="{_e(digest)}">{_e(digest[:12])}</code>',
    ]
    return f'<p class="meta">{" · ".join(items)}</p>'


def _leaders(values: pd.Series, larger: bool) -> list[str]:
    """Index labels whose value is the best (ties within the solver's tolerance)."""
    finite = values[np.isfinite(values.to_numpy(dtype=float))].astype(float)
    if finite.empty:
        return []
    best = float(finite.max() if larger else finite.min())
    return [str(p) for p, v in finite.items() if close(float(v), best)]


def _mean_sentence(analysis: RunAnalysis, unit: str, larger: bool) -> str:
    dist = analysis.distributions[analysis.outcome]
    leaders = _leaders(dist["mean"], larger)
    if not leaders:
        return f"no policy has an ok sample for {analysis.outcome}."
    value = _with_unit(dist.loc[leaders[0], "mean"], unit, 3)
    others = [
        f"{_with_unit(v, unit, 3)} for {p}"
        for p, v in dist["mean"].items()
        if str(p) not in leaders
    ]
    tail = f", against {and_list(others)}" if others else ""
    one = len(leaders) == 1
    if analysis.outcome == "expected_resolved":
        claim = f"{'resolves' if one else 'tie for resolving'} the most concerns on average"
    else:
        most = "highest" if larger else "lowest"
        claim = f"{'has' if one else 'tie for'} the {most} mean {analysis.outcome}"
    return f"{and_list(leaders)} {claim}: {value}{tail}."


def _best_sentence(analysis: RunAnalysis) -> str:
    rob = analysis.robustness
    leaders = _leaders(rob["share_best"], True)
    if not leaders:
        return ""
    n = int(rob["n_samples"].iloc[0])
    share = _pct(rob.loc[leaders[0], "share_best"])
    who = f"{and_list(leaders)} {'is' if len(leaders) == 1 else 'are'}"
    return (
        f" {who} the best policy in the most samples: {share} of the {n} samples where "
        "every policy ran (ties count for each tied policy)."
    )


def lead_sentence(analysis: RunAnalysis) -> str:
    """A plain-language summary: who does best on average and in the most samples."""
    manifest = analysis.manifest
    unit = outcome_unit(analysis.outcome, manifest)
    larger = bool(analysis.robustness.attrs.get("larger_is_better", True))
    intro = f"Over {_samples_text(manifest)} of {manifest.get('scenario', 'the scenario')}, "
    if len(manifest.get("policies", [])) == 1:
        pid = str(manifest["policies"][0])
        row = analysis.distributions[analysis.outcome].loc[pid]
        return (
            f"{intro}{pid} has a mean {analysis.outcome} of {_with_unit(row['mean'], unit, 3)} "
            f"(5th to 95th percentile: {_n(row['p5'], 3)} to {_with_unit(row['p95'], unit, 3)})."
        )
    return intro + _mean_sentence(analysis, unit, larger) + _best_sentence(analysis)


# -- sections ----------------------------------------------------------------------------


def _uncertainties_html(analysis: RunAnalysis, inputs: pd.DataFrame) -> str:
    names = [str(v) for v in analysis.manifest.get("variables", [])]
    if not names:
        return "<p>The scenario has no uncertainties: every sample is the point scenario.</p>"
    rows = [
        _row(name, [_n(inputs[name].min()), _n(inputs[name].median()), _n(inputs[name].max())])
        for name in names
    ]
    intro = (
        f"<p>The named uncertainties of the scenario and the values drawn for them over "
        f"{_e(_samples_text(analysis.manifest))}. Each value is in its uncertainty's own "
        "units: a field that refers to an uncertainty is its <code>scale</code> times the "
        "draw, so a multiplier draw is unitless.</p>"
    )
    return intro + _table(
        ["variable", *(f"{c} (own units)" for c in ("sampled min", "median", "sampled max"))], rows
    )


def _distribution_html(outcome: str, df: pd.DataFrame, results: pd.DataFrame, unit: str) -> str:
    u = f" ({_e(unit)})" if unit else ""
    head = ["policy", "ok samples", "failed samples", *(f"{c}{u}" for c in _DIST_COLUMNS)]
    rows = [
        _row(pid, [_e(int(r["n_ok"])), _e(int(r["n_error"])), *(_n(r[c]) for c in _DIST_COLUMNS)])
        for pid, r in df.iterrows()
    ]
    caption = (
        f"{outcome} ({unit}) per policy: box = quartiles, whiskers = 5th–95th percentile, "
        "diamond = mean; failed samples are left out."
    )
    return (
        f'<h3 id="outcome-{_e(outcome)}"><code>{_e(outcome)}</code> ({_e(unit)})</h3>'
        f"<p>{_e(outcome_text(outcome))}, over the ok samples of each policy; "
        "sd = standard deviation, p5/p50/p95 = percentiles.</p>"
        + _table(head, rows)
        + _figure(distribution_figure(results, outcome, unit), caption)
    )


def _outcomes_html(analysis: RunAnalysis, results: pd.DataFrame) -> str:
    parts = [
        _distribution_html(o, df, results, outcome_unit(o, analysis.manifest))
        for o, df in analysis.distributions.items()
    ]
    return "".join(parts)


def _robustness_text(analysis: RunAnalysis, unit: str) -> str:
    rob = analysis.robustness
    larger = bool(rob.attrs.get("larger_is_better", True))
    diff = "the best policy's value minus this one's" if larger else "this one's minus the best's"
    text = (
        f"Robustness on <code>{_e(analysis.outcome)}</code>. Regret in each sample is "
        f"{diff} ({_e(unit)}), 0 for the best policy. Share best is the share of the "
        f"{_e(int(rob['n_samples'].iloc[0]))} samples where every policy ran in which the "
        "policy is (one of) the best; ties count for each policy, so shares may sum to over "
        "100 %."
    )
    dropped = int(rob.attrs.get("n_dropped", 0) or 0)
    if dropped:
        text += f" {dropped} samples are left out because some policy failed in them."
    if analysis.threshold is not None:
        op = "≥" if larger else "≤"
        text += (
            f" Satisficing is the share of those samples in which {_e(analysis.outcome)} "
            f"{op} {_e(_with_unit(analysis.threshold, unit))}."
        )
    return f"<p>{text}</p>"


def _robustness_html(analysis: RunAnalysis) -> str:
    rob = analysis.robustness
    unit = outcome_unit(analysis.outcome, analysis.manifest)
    has_sat = "satisficing" in rob.columns
    head = ["policy", *(f"{c.replace('_', ' ')} ({_e(unit)})" for c in _REGRET_COLUMNS)]
    head.append("share best (% of samples)")
    if has_sat:
        head.append("satisficing (% of samples)")
    rows = []
    for pid, r in rob.iterrows():
        cells = [*(_n(r[c]) for c in _REGRET_COLUMNS), _pct(r["share_best"])]
        if has_sat:
            cells.append(_pct(r["satisficing"]))
        rows.append(_row(pid, cells))
    caption = (
        f"Left: regret in {analysis.outcome} ({unit}) — bar = mean, line to the 95th "
        "percentile, cross = max. Right: share of samples (%) where each policy is best"
        + (" or satisficing." if has_sat else ".")
    )
    return (
        _robustness_text(analysis, unit)
        + _table(head, rows)
        + _figure(regret_figure(rob, unit), caption)
    )


def _sobol_table(df: pd.DataFrame) -> str:
    cols = ("S1", "S1_conf", "ST", "ST_conf")
    rows = [
        _row(r["name"], [_fixed(r[c]) for c in cols])
        for _, r in df.sort_values("ST", ascending=False, na_position="last").iterrows()
    ]
    head = [
        "variable",
        "S1, first order (share of variance)",
        "S1 ± (95 % CI)",
        "ST, total (share of variance)",
        "ST ± (95 % CI)",
    ]
    return _table(head, rows)


def _sobol_policy_html(pid: str, df: pd.DataFrame, outcome: str) -> str:
    title = f"Sobol indices of {outcome} under {pid}"
    out = f"<h3>{_e(title)}</h3>" + _sobol_table(df)
    if not np.isfinite(df["ST"].to_numpy(dtype=float)).any():
        return (
            out + f"<p>{_e(outcome)} does not vary under {_e(pid)}: the indices are undefined.</p>"
        )
    conf = df[["S1_conf", "ST_conf"]].to_numpy(dtype=float)
    if np.nanmax(conf) > WIDE_CONF:
        out += (
            f"<p>Some intervals are wider than ±{WIDE_CONF:g} (a share of the variance): "
            "a larger base size <code>-n</code> narrows them.</p>"
        )
    caption = f"{title}: shares of the outcome's variance (unitless), bars ± 95 % confidence."
    return out + _figure(sobol_figure(df, title), caption)


def _scenario_arg(manifest: Mapping[str, Any]) -> str:
    """How to name the run's scenario on the command line: built-in name or file."""
    source = str(manifest.get("scenario_source", ""))
    if not source or source.startswith("<"):
        return str(manifest.get("scenario", "SCENARIO"))
    return source


def _sobol_hint(manifest: Mapping[str, Any]) -> str:
    out = "OUT"
    if manifest.get("design") == "sobol":
        first = (
            "This run is a Sobol (Saltelli) design, but the indices were not computed. Run "
            f"<code>stepdeal analyze {out} --sobol</code> or <code>stepdeal report {out} "
            "--sobol</code> to see them."
        )
    else:
        first = (
            "Sobol indices need a Saltelli design: run <code>stepdeal ensemble "
            f"{_e(_scenario_arg(manifest))} --design sobol -n 1024 --out {out}</code> "
            "(n a power of 2), then "
            f"<code>stepdeal analyze {out} --sobol</code> or <code>stepdeal report {out} "
            "--sobol</code>."
        )
    return f"<p>{first} (<code>{out}</code>: the run's <code>--out</code> folder.)</p>"


def _sobol_html(analysis: RunAnalysis) -> str:
    if not analysis.sobol:
        return _sobol_hint(analysis.manifest)
    intro = (
        f"<p>How much of the variance of <code>{_e(analysis.outcome)}</code> each uncertainty "
        "explains, per policy. Indices are shares of the variance (unitless, 0 to 1): S1 = "
        "the uncertainty alone, ST = including its interactions with the others; ± = half-"
        "width of the 95 % bootstrap confidence interval.</p>"
    )
    parts = [_sobol_policy_html(p, df, analysis.outcome) for p, df in analysis.sobol.items()]
    return intro + "".join(parts)


def _prim_lines(p: PrimResult) -> str:
    lines = [
        f"coverage {_pct(p.coverage)}: share of the samples where the condition holds that "
        "fall inside the box;",
        f"density {_pct(p.density)}: share of the box's samples where the condition holds"
        + ("" if p.meets_threshold else f" (below the {_pct(p.threshold)} threshold)")
        + ";",
        f"mass {_pct(p.mass)}: share of all samples inside the box.",
    ]
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def _prim_box_html(analysis: RunAnalysis, p: PrimResult) -> str:
    rows = []
    for name, (lo, hi) in p.limits.items():
        smin, smax = analysis.ranges.get(name, (float("nan"), float("nan")))
        rows.append(_row(name, [_n(lo), _n(hi), _n(smin), _n(smax)]))
    cols = ("box from", "box to", "sampled min", "sampled max")
    head = ["variable", *(f"{c} (own units)" for c in cols)]
    table = _table(head, rows) if rows else "<p>The box restricts no variable.</p>"
    caption = (
        "PRIM trajectory: each point a box (coverage vs density, %); numbers = variables "
        "restricted; star = the chosen box."
    )
    return (
        f"<p>The condition holds in {_e(p.n_flagged)} of {_e(p.n)} samples "
        f"({_e(_pct(p.n_flagged / p.n if p.n else math.nan))} of the samples). The box, "
        "next to the sampled range (values in each variable's own units, as in the "
        "Uncertainties table):</p>" + table + _prim_lines(p) + _figure(prim_figure(p), caption)
    )


def _notes_html(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return "<h3>Notes</h3><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"


def _prim_html(analysis: RunAnalysis) -> str:
    parts = []
    if analysis.condition is not None:
        parts.append(
            f"<p>Condition: <code>{_e(analysis.condition)}</code>. PRIM looks for a simple "
            "box of the uncertainties in which it holds in most samples (choose another "
            "condition with <code>--prim POLICY:OUTCOME&lt;VALUE</code>).</p>"
        )
    if analysis.prim is not None:
        parts.append(_prim_box_html(analysis, analysis.prim))
    parts.append(_notes_html(analysis.notes))
    return "".join(parts) or "<p>No PRIM box.</p>"


def _failures_html(errors: pd.DataFrame) -> str:
    rows = [
        f'<tr><th scope="row">{_e(r["policy"])}</th><td>{_e(r["error"])}</td>'
        f'<td class="num">{_e(int(r["samples"]))}</td></tr>'
        for _, r in errors.iterrows()
    ]
    intro = "<p>Failed evaluations (left out of every statistic), by policy and error.</p>"
    return intro + _table(["policy", "error", "samples"], rows)


# -- the page ----------------------------------------------------------------------------


def _body_sections(analysis: RunAnalysis, inputs: pd.DataFrame, results: pd.DataFrame) -> str:
    builders: list[tuple[str, str, Callable[[], str]]] = [
        ("uncertainties", "Uncertainties", lambda: _uncertainties_html(analysis, inputs)),
        ("outcomes", "Outcomes per policy", lambda: _outcomes_html(analysis, results)),
        ("robustness", "Robustness", lambda: _robustness_html(analysis)),
        ("sobol", "Sensitivity (Sobol indices)", lambda: _sobol_html(analysis)),
        ("prim", "Where it happens (PRIM)", lambda: _prim_html(analysis)),
    ]
    if len(analysis.errors):
        builders.append(("failures", "Failures", lambda: _failures_html(analysis.errors)))
    return "".join(_section(ident, title, make()) for ident, title, make in builders)


def render_ensemble_html(analysis: RunAnalysis, inputs: pd.DataFrame, results: pd.DataFrame) -> str:
    """The whole ensemble report as one self-contained HTML page (no network, no script)."""
    m = analysis.manifest
    title = f"{m.get('scenario', 'scenario')}: ensemble of {_samples_text(m)}"
    digest = str(m.get("scenario_hash", "unknown"))
    footer = (
        f"Generated by stepdeal {_e(__version__)} · run made with stepdeal "
        f"{_e(m.get('version', '?'))} · seed {_e(m.get('seed', '?'))} · "
        f"scenario hash: <code>{_e(digest)}</code>"
    )
    return f"""{page_head(f"{title} — stepdeal ensemble report")}
<header>
<h1>{_e(title)}</h1>
{_meta_html(m)}
</header>
<main>
<p class="verdict">{_e(lead_sentence(analysis))}</p>
{_body_sections(analysis, inputs, results)}</main>
<footer>{footer}</footer>
</body>
</html>
"""


def write_ensemble_html(
    analysis: RunAnalysis, inputs: pd.DataFrame, results: pd.DataFrame, path: str | Path
) -> Path:
    """Write :func:`render_ensemble_html` to ``path`` (UTF-8; parent folders created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_ensemble_html(analysis, inputs, results), encoding="utf-8")
    return out


__all__ = [
    "lead_sentence",
    "outcome_text",
    "outcome_unit",
    "render_ensemble_html",
    "write_ensemble_html",
]
