"""Tests of the report layer: comparison rows, verdict, rich tables, figures and HTML."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

import stepdeal
from stepdeal.api import compare
from stepdeal.report import (
    comparison_rows,
    comparison_table,
    period_rows,
    pressure_figure,
    render_html,
    run_table,
    save_png,
    summary_figure,
    timeline_figure,
    utilities_figure,
    verdict,
    write_html,
)
from stepdeal.report._format import calendar_label, num, policy_order, why_text
from stepdeal.scenario import Scenario, parse_scenario
from stepdeal.sim import Timeline

SCENARIO = """\
name: holdup-demo
title: Easy-first relief <stalls> & waits
period: month
horizon: 24
tail: persist
sources: ["Reuters, 13 Jul 2011 https://example.org/lavrov", "teaching numbers"]
actors:
  - {id: target, role: target, discount: 0.9}
  - {id: usa, role: power, discount: 0.95}
  - {id: russia, role: power, discount: 0.95}
institutions:
  - {id: unsc, members: [usa, russia], rule: veto}
  - {id: us, members: [usa], rule: veto}
concerns:
  - id: a
    cost: 1
    upkeep: 0
    value: {usa: 1, russia: 0.5}
    verify: 0.5
  - id: b
    cost: 2
    value: {usa: 3}
measures:
  - id: m1
    issuer: unsc
    status: active
    impact: 1
    burden: {russia: 0.2}
    curtail: 0.5
  - {id: n1, issuer: unsc, status: potential, impact: 1}
policies:
  - id: step-by-step
    kind: step_by_step
    order: by_cost
    strict: true
    relief:
      a: [{measure: m1, action: freeze}]
  - id: dual-track
    kind: escalation
    demands: all
    review_every: 3
    tranches: [n1]
    on_completion: lift_all
votes:
  russia: {escalate: {if_verified_at_least: 1, then: no, else: yes}, relieve: yes}
  usa: {escalate: yes, relieve: sincere}
strategies:
  target: optimal
"""

POLICIES = ["step-by-step", "dual-track"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def timelines_of(scenario: Scenario, strategy: str | None = None) -> dict[str, Timeline]:
    return {p: r.timeline for p, r in compare(scenario, strategy=strategy, rng=0).items()}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return parse_scenario(SCENARIO, "inline.yaml")


@pytest.fixture(scope="module")
def timelines(scenario: Scenario) -> dict[str, Timeline]:
    return timelines_of(scenario)


@pytest.fixture(scope="module")
def veto_case() -> tuple[Scenario, dict[str, Timeline]]:
    """Russia always vetoes escalation and the target never moves: a tranche is vetoed."""
    text = SCENARIO.replace(
        "russia: {escalate: {if_verified_at_least: 1, then: no, else: yes}, relieve: yes}",
        "russia: {escalate: no, relieve: yes}",
    )
    text = text.replace("period: month\n", 'period: month\nstart: "2011-07"\n')
    s = parse_scenario(text, "veto.yaml")
    return s, timelines_of(s, strategy="defiant")


@pytest.fixture(scope="module")
def page(scenario: Scenario, timelines: dict[str, Timeline]) -> str:
    return render_html(scenario, timelines)


def rendered(table: Table, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


# -- rows and verdict ---------------------------------------------------------------


def test_rows_have_resolved_counts_and_periods(scenario, timelines):
    rows = {r["policy"]: r for r in comparison_rows(scenario, timelines)}
    assert list(rows) == POLICIES
    assert rows["step-by-step"]["resolved"] == "1 of 2"
    assert rows["dual-track"]["resolved"] == "2 of 2"
    assert rows["step-by-step"]["verified"] == "a (t=1)"
    assert rows["dual-track"]["verified"] == "a (t=1), b (t=1)"
    assert rows["step-by-step"]["kind"] == "step_by_step"
    assert rows["dual-track"]["kind"] == "escalation"


def test_rows_name_stall_relief_and_why(scenario, timelines):
    rows = {r["policy"]: r for r in comparison_rows(scenario, timelines)}
    sbs, dual = rows["step-by-step"], rows["dual-track"]
    assert sbs["stalls at"] == "b"
    assert dual["stalls at"].startswith("none")
    assert sbs["relief"] == "m1 frozen (t=1)"
    assert dual["relief"] == "m1 lifted (t=1)"
    assert sbs["tranches added"] == dual["tranches added"] == "none"
    assert sbs["vetoes"] == "none"
    assert sbs["why"] == "stops at t=2: taking b is worth −2.0 payoff units vs waiting"
    assert dual["why"] == "does not stall"


def test_every_number_in_rows_has_its_unit(scenario, timelines):
    for row in comparison_rows(scenario, timelines):
        for actor in ("target", "usa", "russia"):
            assert row[f"utility of {actor}"].endswith("(discounted sum, payoff units)")
        assert row["pressure at end"] == "0.0 payoff units per month"
        assert row["mean pressure"].startswith(f"{num(1 / 24)} payoff units per month")
    row = comparison_rows(scenario, timelines)[0]
    assert row["utility of target"] == "−2.0 (discounted sum, payoff units)"


def test_verdict_names_the_policy_that_resolves_more(scenario, timelines):
    text = verdict(scenario, timelines)
    assert "dual-track resolves more concerns (2 of 2, 1 more than step-by-step)" in text
    assert "step-by-step gives the target the higher utility" in text
    assert text.endswith(".") and text.count("; ") == 1


def test_verdict_states_ties(scenario, timelines):
    same = {"first": timelines["dual-track"], "second": timelines["dual-track"]}
    text = verdict(scenario, same)
    assert "first and second tie on concerns resolved (2 of 2 each)" in text
    assert "does equally well under both" in text


def test_vetoes_and_tranches_in_rows(veto_case):
    s, tls = veto_case
    rows = {r["policy"]: r for r in comparison_rows(s, tls)}
    assert rows["dual-track"]["vetoes"] == "russia@unsc on impose:n1 (t=3, 2011-10)"
    assert rows["dual-track"]["tranches added"] == "none"
    assert rows["dual-track"]["resolved"] == "0 of 2"
    assert rows["step-by-step"]["stalls at"] == "a"
    assert "why" not in rows["dual-track"]  # the defiant strategy has no explanation


def test_policy_order_follows_demands(scenario):
    dual = scenario.policy("dual-track").model_copy(update={"demands": ["b"]})
    s = scenario.model_copy(update={"policies": [scenario.policies[0], dual]})
    assert policy_order(s, "dual-track") == ["b"]
    assert policy_order(s, "step-by-step") == ["a", "b"]


def test_why_text_lists_the_best_options_first(scenario, timelines):
    tl = timelines["step-by-step"]
    options = [
        {"concerns": ["x"], "gain_vs_wait": -5.0},
        {"concerns": ["y"], "gain_vs_wait": -1.0},
        {"concerns": ["x", "y"], "gain_vs_wait": -7.5},
        {"concerns": ["z"], "gain_vs_wait": -9},
    ]
    why = {"stalled": True, "period": 2, "options": options, "unit": "bn"}
    tl2 = dataclasses.replace(tl, extras={"why": why})
    assert why_text(scenario, tl2) == (
        "stops at t=2: taking y is worth −1.0 bn vs waiting (next: x −5.0, x + y −7.5; "
        "1 more option)"
    )
    assert why_text(scenario, dataclasses.replace(tl, extras={})) is None


# -- rich tables --------------------------------------------------------------------


def test_comparison_table_has_policies_as_columns(scenario, timelines):
    table = comparison_table(scenario, timelines)
    assert isinstance(table, Table)
    assert [c.header for c in table.columns] == ["", *POLICIES]
    labels = [k for k in comparison_rows(scenario, timelines)[0] if k != "policy"]
    assert table.row_count == len(labels)
    text = rendered(table)
    assert "1 of 2" in text and "2 of 2" in text
    assert "payoff units" in text


def test_run_table_and_period_rows_merge_quiet_periods(scenario, timelines):
    rows = period_rows(scenario, timelines["step-by-step"])
    assert [r["t"] for r in rows] == ["0", "1", "2–23"]
    assert rows[0]["steps"] == "a"
    assert rows[1]["verified"] == "a"
    assert rows[1]["proposals"] == "freeze:m1 @unsc (relieve): usa yes, russia yes → passed"
    assert rows[2]["proposals"] == "nothing happens"
    assert all(r["pressure"].endswith("payoff units per month") for r in rows)
    text = rendered(run_table(scenario, timelines["step-by-step"]))
    assert "freeze:m1" in text and "2–23" in text


def test_run_rows_show_vetoes_and_calendar(veto_case):
    s, tls = veto_case
    rows = period_rows(s, tls["dual-track"])
    by_t = {r["t"]: r for r in rows}
    assert by_t["3"]["date"] == "2011-10"
    assert by_t["3"]["proposals"] == (
        "impose:n1 @unsc (escalate): usa yes, russia no → failed (veto)"
    )
    assert "date" in rendered(run_table(s, tls["dual-track"]))


@pytest.mark.parametrize(
    ("start", "period", "t", "expected"),
    [
        ("2011-07", "month", 0, "2011-07"),
        ("2011-07", "month", 6, "2012-01"),
        ("2011-12", "month", 1, "2012-01"),
        ("2011-07", "quarter", 2, "2012-01"),
        ("2011", "year", 3, "2014"),
        ("2011-07", "week", 3, None),
        (None, "month", 3, None),
    ],
)
def test_calendar_label(scenario, start, period, t, expected):
    s = scenario.model_copy(update={"start": start, "period": period})
    assert calendar_label(s, t) == expected


# -- figures ------------------------------------------------------------------------


def test_timeline_figure(scenario, timelines, veto_case):
    fig = timeline_figure(scenario, timelines)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == POLICIES
    assert scenario.title in fig.get_suptitle()
    assert ax.get_legend() is not None
    s, tls = veto_case
    (ax,) = timeline_figure(s, tls).axes
    assert any(line.get_marker() == "X" for line in ax.lines)  # the veto


def test_pressure_figure_has_one_line_per_policy(scenario, timelines):
    (ax,) = pressure_figure(scenario, timelines).axes
    assert [line.get_label() for line in ax.lines] == POLICIES
    assert "payoff units" in ax.get_ylabel()
    ys = list(ax.lines[0].get_ydata())
    assert ys[:2] == [1.0, 0.0]


def test_utilities_figure_groups_bars_by_actor(scenario, timelines):
    (ax,) = utilities_figure(scenario, timelines).axes
    assert len(ax.containers) == len(POLICIES)
    assert all(len(c) == len(scenario.actors) for c in ax.containers)
    assert ax.get_ylabel().replace("\n", " ") == "discounted utility (payoff units)"
    heights = [bar.get_height() for bar in ax.containers[1]]
    assert heights == pytest.approx(
        [timelines["dual-track"].utilities[a] for a in ("target", "usa", "russia")]
    )


def test_summary_figure_and_save_png(scenario, timelines, tmp_path: Path):
    fig = summary_figure(scenario, timelines)
    assert len(fig.axes) == 3
    out = save_png(fig, tmp_path / "sub" / "summary.png", dpi=30)
    assert out.read_bytes()[:8] == PNG_MAGIC


# -- HTML ---------------------------------------------------------------------------


def test_html_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "url(" not in page.lower()
    # web addresses appear only as text inside the sources list
    sources = page[page.index('<section id="sources">') :]
    sources = sources[: sources.index("</section>")]
    assert len(re.findall(r"https?://", page)) == len(re.findall(r"https?://", sources)) == 1


def test_html_embeds_three_valid_pngs(page):
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) >= 3
    for data in uris:
        assert base64.b64decode(data)[:8] == PNG_MAGIC


def test_html_contents(page, scenario, timelines):
    for policy in POLICIES:
        assert policy in page
    assert html.escape(verdict(scenario, timelines)) in page
    assert "1 of 2" in page and "2 of 2" in page
    assert "freeze:m1" in page  # the per-policy event tables
    assert "teaching numbers" in page
    assert timelines["dual-track"].extras["scenario_hash"] in page
    assert f"stepdeal {stepdeal.__version__}" in page


def test_html_escapes_scenario_text(page):
    assert "&lt;stalls&gt; &amp; waits" in page
    assert "<stalls>" not in page


def test_write_html(scenario, timelines, tmp_path: Path, monkeypatch, page):
    import stepdeal.report.html as report_html

    monkeypatch.setattr(report_html, "render_html", lambda s, t: page)  # rendered once above
    out = write_html(scenario, timelines, tmp_path / "out" / "report.html")
    assert out == tmp_path / "out" / "report.html"
    assert out.read_text(encoding="utf-8") == page


def test_resolved_counts_what_stands_and_lists_reversals() -> None:
    from stepdeal.api import compare
    from stepdeal.report import comparison_row
    from stepdeal.scenario import load_scenario

    s = load_scenario("iran-2019")  # a case where the target reverses verified steps
    for pid, r in compare(s, rng=0).items():
        row = comparison_row(s, r.timeline)
        standing = len(r.to_dict()["resolved"])
        assert row["resolved"].startswith(f"{standing} of {len(s.concerns)}"), pid
        reversed_ = [x["concern"] for x in r.to_dict()["reversals"]]
        for c in reversed_:
            assert c in row["reversed"]
        if reversed_:
            assert f"{len(reversed_)} reversed" in row["resolved"]


def test_repeated_vetoes_are_grouped_into_runs_of_periods() -> None:
    from stepdeal.report._format import vetoes_text
    from stepdeal.scenario import load_scenario

    s = load_scenario("holdup-demo")
    one = {"member": "russia", "institution": "unsc", "proposal": "impose:x"}
    got = vetoes_text(s, [dict(one, period=t) for t in (1, 2, 3, 7)])
    assert got == ["russia@unsc on impose:x (t=1..3, 3 months; t=7)"]
