"""A single self-contained HTML report of a policy comparison.

The page needs no network: the charts are PNG data URIs, the CSS is inline, there
is no script, and a Content-Security-Policy forbids loading anything else. Every
piece of text taken from the scenario or the run is escaped with
:func:`html.escape`. The output has no timestamp, so the same inputs give the
same bytes (up to matplotlib's PNG encoder).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .. import __version__
from ..scenario import Scenario
from ..sim import Timeline
from ._format import num, per_period, policy_kind
from .plots import pressure_figure, timeline_figure, utilities_figure
from .tables import comparison_rows, period_rows, verdict

CSS = """
:root { --ink: #1d2430; --muted: #5b6575; --rule: #d9dee7; --band: #f5f7fa; --accent: #1f4e99; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 8px; border-bottom: 2px solid var(--rule);
     padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 20px 0 6px; }
.meta { color: var(--muted); margin: 0; }
.verdict { font-size: 1.1em; background: var(--band); border-left: 4px solid var(--accent);
           padding: 10px 14px; margin: 16px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid var(--rule); padding: 5px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--band); }
tbody th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
tr.quiet td { color: var(--muted); font-style: italic; }
.passed { color: #1a7f37; font-weight: 600; }
.failed { color: #b42318; font-weight: 600; }
figure { margin: 16px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 0.9em; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.92em; }
ul.sources li { word-break: break-word; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85em;
         border-top: 1px solid var(--rule); padding-top: 8px; }
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page_head(title: str) -> str:
    """Doctype, head (charset, CSP, viewport, generator, title, CSS) and ``<body>``."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="stepdeal {_e(__version__)}">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>"""


def png_data_uri(fig: Figure, dpi: int = 110) -> str:
    """``data:image/png;base64,...`` of ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _comparison_html(scenario: Scenario, timelines: dict[str, Timeline]) -> str:
    rows = comparison_rows(scenario, timelines)
    labels: list[str] = []
    for row in rows:
        labels.extend(k for k in row if k not in labels and k != "policy")
    head = "".join(f'<th scope="col">{_e(r["policy"])}</th>' for r in rows)
    body = "".join(
        f'<tr><th scope="row">{_e(label)}</th>'
        + "".join(f"<td>{_e(r.get(label, '—'))}</td>" for r in rows)
        + "</tr>"
        for label in labels
    )
    return (
        f'<table class="compare"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _proposal_html(line: str) -> str:
    text = _e(line)
    text = text.replace("→ passed", '→ <span class="passed">passed</span>')
    return text.replace("→ failed", '→ <span class="failed">failed</span>')


def _run_html(scenario: Scenario, tl: Timeline) -> str:
    rows = period_rows(scenario, tl)
    has_dates = any(r["date"] for r in rows)
    head = f"<th>t ({_e(scenario.period)})</th>" + ("<th>date</th>" if has_dates else "")
    head += "<th>steps taken</th><th>verified</th><th>proposals and votes</th><th>pressure</th>"
    body = []
    for r in rows:
        quiet = r["proposals"] == "nothing happens"
        cells = f'<td class="num">{_e(r["t"])}</td>'
        if has_dates:
            cells += f"<td>{_e(r['date'])}</td>"
        proposals = "<br>".join(_proposal_html(x) for x in r["proposals"].split("\n") if x)
        cells += (
            f"<td>{_e(r['steps'])}</td><td>{_e(r['verified'])}</td><td>{proposals}</td>"
            f'<td class="num">{_e(r["pressure"])}</td>'
        )
        row_class = ' class="quiet"' if quiet else ""
        body.append(f"<tr{row_class}>{cells}</tr>")
    title = (
        f"{_e(tl.policy)} <small>({_e(policy_kind(scenario, tl.policy))}; target "
        f"{_e(tl.strategy)}, seed {_e(tl.seed)})</small>"
    )
    return (
        f'<h3 id="run-{_e(tl.policy)}">{title}</h3>'
        f'<table class="run"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _scenario_html(scenario: Scenario) -> str:
    unit = _e(scenario.unit)
    flow = _e(per_period(scenario))
    parts = []
    if scenario.note:
        parts.append(f"<p>{_e(scenario.note)}</p>")
    actors = "".join(
        f"<tr><td><code>{_e(a.id)}</code></td><td>{_e(a.name or '')}</td><td>{_e(a.role)}</td>"
        f'<td class="num">{_e(num(a.discount))}</td></tr>'
        for a in scenario.actors
    )
    parts.append(
        "<table><thead><tr><th>actor</th><th>name</th><th>role</th>"
        f"<th>discount per {_e(scenario.period)}</th></tr></thead><tbody>{actors}</tbody></table>"
    )
    concerns = "".join(
        f"<tr><td><code>{_e(c.id)}</code></td><td>{_e(c.name or '')}</td>"
        f'<td class="num">{_e(num(c.cost))} {unit}</td>'
        f'<td class="num">{_e(num(c.upkeep))} {flow}</td>'
        f"<td>{_e(', '.join(f'{k}: {num(v)}' for k, v in c.value.items()) or '—')}</td>"
        f'<td class="num">{_e(num(c.verify))}</td></tr>'
        for c in scenario.concerns
    )
    parts.append(
        "<table><thead><tr><th>concern</th><th>name</th><th>cost (one-off)</th>"
        f"<th>upkeep per {_e(scenario.period)}</th><th>value per {_e(scenario.period)} "
        f"({unit})</th><th>verification probability per {_e(scenario.period)}</th></tr>"
        f"</thead><tbody>{concerns}</tbody></table>"
    )
    if scenario.measures:
        measures = "".join(
            f"<tr><td><code>{_e(m.id)}</code></td><td>{_e(m.name or '')}</td>"
            f"<td>{_e(m.issuer)}</td><td>{_e(m.status)}</td>"
            f'<td class="num">{_e(num(m.impact))} {flow}</td>'
            f"<td>{_e(', '.join(f'{k}: {num(v)}' for k, v in m.burden.items()) or '—')}</td>"
            f'<td class="num">{_e(num(m.curtail))}</td></tr>'
            for m in scenario.measures
        )
        parts.append(
            "<table><thead><tr><th>measure</th><th>name</th><th>issuer</th>"
            f"<th>initial status</th><th>impact on target</th><th>burden on powers ({flow})</th>"
            f"<th>share left when curtailed</th></tr></thead><tbody>{measures}</tbody></table>"
        )
    return "".join(parts)


def _entity_groups(scenario: Scenario) -> tuple[tuple[str, Sequence[Any]], ...]:
    return (
        ("actor", scenario.actors),
        ("institution", scenario.institutions),
        ("concern", scenario.concerns),
        ("measure", scenario.measures),
        ("policy", scenario.policies),
    )


def _assumptions_html(scenario: Scenario) -> str:
    """Every entity's note (assumptions and reasoning), as a definition list."""
    groups = _entity_groups(scenario)
    items = [
        f"<dt>{kind} <code>{_e(item.id)}</code></dt><dd>{_e(item.note)}</dd>"
        for kind, group in groups
        for item in group
        if item.note
    ]
    if scenario.note:
        items.insert(0, f"<dt>scenario</dt><dd>{_e(scenario.note)}</dd>")
    if not items:
        return "<p>The scenario states no assumptions.</p>"
    return '<dl class="notes">' + "".join(items) + "</dl>"


def _sources(scenario: Scenario) -> list[str]:
    """The scenario's sources, then every entity's own sources prefixed by the entity."""
    out = list(scenario.sources)
    groups = _entity_groups(scenario)
    for kind, items in groups:
        for item in items:
            out.extend(f"{kind} {item.id}: {src}" for src in item.sources)
    return out


def render_html(scenario: Scenario, timelines: dict[str, Timeline]) -> str:
    """The whole report as one self-contained HTML page (no network, no scripts)."""
    title = scenario.title or scenario.name
    meta = [
        f"scenario <code>{_e(scenario.name)}</code>",
        f"unit: {_e(scenario.unit)}",
        f"period: {_e(scenario.period)}",
        f"horizon: {_e(scenario.horizon)} {_e(scenario.period)}s",
    ]
    if scenario.start:
        meta.append(f"t = 0 is {_e(scenario.start)}")
    meta.append(f"tail: {_e(scenario.tail)}")

    figures = []
    captions = (
        (
            timeline_figure,
            "What happened under each policy: steps (numbered concerns, "
            "filled once verified), relief, tranches imposed and vetoes (lettered measures).",
        ),
        (pressure_figure, f"Pressure on the target ({per_period(scenario)})."),
        (utilities_figure, f"Discounted utility of every actor ({scenario.unit}, discounted sum)."),
    )
    for make, caption in captions:
        fig = make(scenario, timelines)
        figures.append(
            f'<figure><img src="{png_data_uri(fig)}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )

    sources = _sources(scenario)
    sources_html = (
        '<ul class="sources">' + "".join(f"<li>{_e(s)}</li>" for s in sources) + "</ul>"
        if sources
        else "<p>The scenario lists no sources.</p>"
    )
    seeds = ", ".join(f"{_e(p)}: {_e(tl.seed)}" for p, tl in timelines.items())
    hashes = sorted(
        {
            str(tl.extras.get("scenario_hash"))
            for tl in timelines.values()
            if tl.extras.get("scenario_hash")
        }
    )
    footer = (
        f"Generated by stepdeal {_e(__version__)} · seeds: {seeds or '—'} · "
        f"scenario hash: <code>{_e(', '.join(hashes) or 'unknown')}</code>"
    )
    runs = "".join(_run_html(scenario, tl) for tl in timelines.values())
    return f"""{page_head(f"{title} — stepdeal report")}
<header>
<h1>{_e(title)}</h1>
<p class="meta">{" · ".join(meta)}</p>
</header>
<main>
<p class="verdict">{_e(verdict(scenario, timelines))}</p>
<section id="comparison">
<h2>Policies compared</h2>
{_comparison_html(scenario, timelines)}
</section>
<section id="charts">
<h2>Charts</h2>
{"".join(figures)}
</section>
<section id="runs">
<h2>Period by period</h2>
{runs}
</section>
<section id="scenario">
<h2>Scenario</h2>
{_scenario_html(scenario)}
</section>
<section id="assumptions">
<h2>Assumptions</h2>
{_assumptions_html(scenario)}
</section>
<section id="sources">
<h2>Sources</h2>
{sources_html}
</section>
</main>
<footer>{footer}</footer>
</body>
</html>
"""


def write_html(scenario: Scenario, timelines: dict[str, Timeline], path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8; parent folders created); returns it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(scenario, timelines), encoding="utf-8")
    return out


__all__ = ["png_data_uri", "render_html", "write_html"]
