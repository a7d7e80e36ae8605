"""End-to-end tests of the web pages in a real browser (Chromium driven by Playwright).

The app runs in-process (uvicorn in a daemon thread, a fresh SQLite database, an API
token) and one Chromium page walks through the gallery, the comparison with its
sliders, the editor, check, design, forecast, an ensemble and the runs list. Every
request of the pages must carry the token, and the page must not break the strict
Content-Security-Policy (no inline scripts or handlers).

Needs ``/usr/bin/chromium`` (Debian's package) and the ``playwright`` Python package;
no browser is ever downloaded. Without them the module is skipped, except under CI
(``CI`` or ``STEPDEAL_REQUIRE_BROWSER`` set, as ``.ci/run`` does), where it fails.
With ``STEPDEAL_SCREENSHOTS=1`` the tests write the screenshots of the how-to
(``docs/images/web-*.png``); otherwise they write nothing into the repository.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-test-token"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
SHOTS = os.environ.get("STEPDEAL_SCREENSHOTS") == "1"
SLOW = 60_000  # ms: the longest wait for a solve (compare at an extreme takes ~6 s)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("STEPDEAL_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (CI must install it)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(400)  # let Plotly finish its transitions
        page.screenshot(path=str(IMAGES / f"web-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free local port, with a token and an empty database."""
    import uvicorn

    from stepdeal.web.app import create_app

    db = tmp_path_factory.mktemp("web") / "t.db"
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(token=TOKEN, db=db), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            _api(url, "/api/version")
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the app did not start") from None
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser: Any, base: str) -> Iterator[dict[str, Any]]:
    """One page for the module, opened with the token in the URL fragment."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    # console errors other than the browser's note on 4xx answers the pages expect
    # (a 422 while the editor holds an invalid scenario): CSP violations, exceptions
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(f"{base}/#token={TOKEN}")
    yield {"page": page, "base": base, "errors": errors}
    context.close()


@pytest.fixture
def page(session: dict[str, Any]) -> Iterator[Any]:
    """The shared page; each test must leave no script error or CSP violation behind."""
    session["errors"].clear()
    yield session["page"]
    assert session["errors"] == [], session["errors"]


def _open(page: Any, base: str, route: str) -> None:
    page.goto(f"{base}/#{route}")


def _set_text(textarea: Any, text: str) -> None:
    """Replace a textarea's text as a paste does (one input event; Playwright's fill of
    a 50 kB scenario takes seconds)."""
    textarea.evaluate(
        "(el, text) => { el.value = text; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        text,
    )


def _is_compare(r: Any) -> bool:
    return r.url.endswith("/api/compare") and r.request.method == "POST"


def test_token_from_fragment_is_kept_and_stripped(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    # the version needs the token: shown only if the page sent it
    expect(page.get_by_test_id("version")).to_have_text(re.compile(r"^stepdeal \d+\.\d+"))
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('stepdeal.token')") == TOKEN


def test_gallery_shows_builtins(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    base = session["base"]
    _open(page, base, "/")
    card = page.locator('[data-testid=scenario-card][data-ref="b:iran-2011"]')
    expect(card).to_be_visible()
    title = next(s["title"] for s in _api(base, "/api/scenarios") if s["name"] == "iran-2011")
    expect(card.locator("h3")).to_have_text(title)
    expect(card.get_by_test_id("card-compare")).to_have_attribute("href", "#/compare/b:iran-2011")
    expect(card).to_contain_text("dual-track")


def test_compare_summary_matches_the_api(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    with page.expect_response(_is_compare, timeout=SLOW) as answer:
        _open(page, session["base"], "/compare/b:iran-2011")
    data = answer.value.json()
    results = page.get_by_test_id("compare-results")
    expect(results).to_have_attribute("data-state", "done", timeout=SLOW)
    table = page.get_by_test_id("summary-table")
    for pid in ("step-by-step", "dual-track"):
        row = table.locator(f'tr[data-policy="{pid}"]')
        expect(row.locator("[data-col=verified]")).to_have_text(str(len(data[pid]["resolved"])))
        expect(row.locator("[data-col=vetoes]")).to_have_text(str(len(data[pid]["vetoes"])))
    # the July 2011 claim the page must show: step-by-step gets more verified
    assert len(data["step-by-step"]["resolved"]) > len(data["dual-track"]["resolved"])
    expect(table).to_contain_text(data["step-by-step"]["unit"])  # units on the numbers
    # one timeline per policy, one pressure line per policy, one bar series per policy
    expect(page.locator("[data-testid=plot-timeline] .js-plotly-plot")).to_have_count(len(data))
    expect(page.locator("[data-testid=plot-pressure] .scatterlayer .trace")).to_have_count(
        len(data)
    )
    expect(page.locator("[data-testid=plot-utilities] .barlayer .trace")).to_have_count(len(data))
    expect(page.locator("[data-testid=plot-pressure] .ytitle")).to_contain_text(
        data["dual-track"]["unit"]
    )
    _shot(page, "compare")


def test_moving_a_slider_reruns_and_changes_the_result(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    if page.get_by_test_id("compare-results").get_attribute("data-state") != "done":
        _open(page, session["base"], "/compare/b:iran-2011")
        expect(page.get_by_test_id("compare-results")).to_have_attribute(
            "data-state", "done", timeout=SLOW
        )
    cell = page.locator(
        '[data-testid=summary-table] tr[data-policy="dual-track"] [data-col=verified]'
    )
    before = cell.inner_text()
    slider = page.get_by_test_id("slider-sanctions-bite")
    # sanctions that bite twice as hard: under the dual track Iran now resolves everything
    with page.expect_response(_is_compare, timeout=SLOW) as answer:
        slider.evaluate(
            """el => { el.value = el.max;
                       el.dispatchEvent(new Event('input', {bubbles: true}));
                       el.dispatchEvent(new Event('change', {bubbles: true})); }"""
        )
    sent = json.loads(answer.value.request.post_data)
    high = _api(session["base"], "/api/inspect", {"name": "iran-2011"})["uncertainties"]
    high = next(u["high"] for u in high if u["id"] == "sanctions-bite")
    assert sent["values"]["sanctions-bite"] == pytest.approx(high, rel=1e-3)
    data = answer.value.json()
    after = str(len(data["dual-track"]["resolved"]))
    assert after != before  # the API's answer really differs at this extreme
    expect(cell).to_have_text(after, timeout=SLOW)
    expect(page.get_by_test_id("compare-results")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("value-sanctions-bite")).to_contain_text(f"{high:.3g}")
    assert "u.sanctions-bite=" in page.url  # the route keeps the values (shareable)


def test_editor_validates_saves_and_reloads(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    base = session["base"]
    _open(page, base, "/edit/b:iran-2011")
    editor = page.get_by_test_id("yaml-editor")
    validation = page.get_by_test_id("validation")
    expect(validation).to_have_attribute("data-state", "ok")
    text = editor.input_value()
    assert text.startswith("#")  # the built-in file, comments and all

    edited = re.sub(r'^title: ".*"$', 'title: "Edited in the browser"', text, count=1, flags=re.M)
    assert edited != text
    _set_text(editor, edited)
    expect(validation).to_have_attribute("data-state", "ok")
    expect(validation).to_contain_text("8 concerns")
    # the form follows the YAML
    form = page.get_by_test_id("schema-form")
    expect(form.locator('.frow[data-path="title"] :is(input, textarea)')).to_have_value(
        "Edited in the browser"
    )

    # an error: the same message, line and fix as `stepdeal validate`
    line = edited.splitlines().index("horizon: 30") + 1
    _set_text(editor, edited.replace("horizon: 30", "horizon: -3", 1))
    expect(validation).to_have_attribute("data-state", "error")
    expect(validation.get_by_test_id("validation-problems")).to_contain_text(
        f"line {line}: horizon: input should be greater than or equal to 1"
    )
    expect(validation).to_contain_text("Fix: use a number of at least 1")
    validation.get_by_role("button", name=f"go to line {line}").click()
    assert editor.evaluate("el => el.value.slice(0, el.selectionStart).split('\\n').length") == line
    form.locator('details[data-path="concerns"] > summary').click()
    form.locator('details[data-path="concerns.0"] > summary').click()
    _shot(page, "editor")

    # fix it, then edit a number in the form: the YAML is rewritten from the form
    _set_text(editor, edited)
    expect(validation).to_have_attribute("data-state", "ok")
    horizon = form.locator('.frow[data-path="horizon"] input')
    expect(horizon).to_have_value("30")
    horizon.fill("24")
    horizon.press("Tab")
    expect(editor).to_have_value(re.compile(r"^horizon: 24$", re.M))
    expect(editor).to_have_value(re.compile(r"^title: Edited in the browser$", re.M))
    expect(validation).to_have_attribute("data-state", "ok")

    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r"#/edit/s:\d+$"))
    sid = int(page.url.rsplit(":", 1)[1])
    page.reload()  # the token survives in sessionStorage
    expect(page.get_by_test_id("yaml-editor")).to_have_value(
        re.compile(r"^title: Edited in the browser$", re.M)
    )
    expect(page.get_by_test_id("yaml-editor")).to_have_value(re.compile(r"^horizon: 24$", re.M))
    assert "horizon: 24" in _api(base, f"/api/saved/{sid}")["yaml"]

    _open(page, base, "/")
    saved = page.locator(f'[data-testid=scenario-card][data-ref="s:{sid}"]')
    expect(saved).to_be_visible()
    expect(saved).to_contain_text("iran-2011")
    _shot(page, "gallery")


def test_compare_this_draft_and_save_the_run(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    base = session["base"]
    _open(page, base, "/edit/b:holdup-demo")
    expect(page.get_by_test_id("validation")).to_have_attribute("data-state", "ok")
    with page.expect_response(_is_compare, timeout=SLOW) as answer:
        page.get_by_test_id("compare-this").click()
    assert "yaml" in json.loads(answer.value.request.post_data)  # the editor's text
    page.wait_for_url(re.compile(r"#/compare/draft"))
    expect(page.get_by_test_id("compare-results")).to_have_attribute("data-state", "done")
    policies = list(answer.value.json())
    expect(page.locator("[data-testid=summary-table] tbody tr")).to_have_count(len(policies))

    with page.expect_response(lambda r: r.url.endswith("/api/runs")) as launched:
        page.get_by_test_id("save-run").click()
    rid = launched.value.json()["id"]
    page.get_by_test_id("run-saved").get_by_role("link", name="Open it").click()
    page.wait_for_url(re.compile(rf"#/run/{rid}$"))
    expect(page.get_by_test_id("run-result")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("run-meta")).to_contain_text("compare")
    expect(page.locator("[data-testid=summary-table] tbody tr")).to_have_count(len(policies))


def test_check_shows_the_self_enforcement_table(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    with page.expect_response(lambda r: r.url.endswith("/api/check"), timeout=SLOW) as answer:
        _open(page, session["base"], "/check/b:iran-2011")
    data = answer.value.json()
    expect(page.get_by_test_id("check-results")).to_have_attribute("data-state", "done")
    rows = page.locator("[data-testid=check-steps] tbody tr")
    expect(rows).to_have_count(len(data["steps"]))
    expect(rows.first).to_contain_text(data["steps"][0]["concern"])
    expect(page.locator("[data-testid=check-votes] tbody tr")).to_have_count(len(data["votes"]))
    expect(page.get_by_test_id("holdup")).to_contain_text(data["holdup"]["concern"])
    expect(page.get_by_test_id("holdup")).to_contain_text(data["unit"])
    _shot(page, "check")


def test_types_selector_and_what_the_powers_learn(page: Any, session: dict[str, Any]) -> None:
    """iran-2011 declares two types: compare and check offer the true type, the compare
    page shows whether each policy separates them, and check shows the beliefs."""
    from playwright.sync_api import expect

    with page.expect_response(_is_compare, timeout=SLOW):
        _open(page, session["base"], "/compare/b:iran-2011")
    expect(page.get_by_test_id("compare-results")).to_have_attribute(
        "data-state", "done", timeout=SLOW
    )
    types = page.get_by_test_id("types-table")
    expect(types.locator('tr[data-policy="dual-track"] [data-col=verdict]')).to_have_text("pooling")
    expect(types.locator('tr[data-policy="designed"] [data-col=verdict]')).to_have_text(
        "separating"
    )
    with page.expect_response(_is_compare, timeout=SLOW) as answer:
        page.get_by_test_id("true-type").select_option("weapon")
    assert answer.value.request.post_data_json["type"] == "weapon"
    expect(types).to_contain_text("true type: weapon")
    with page.expect_response(lambda r: r.url.endswith("/api/check"), timeout=SLOW):
        _open(page, session["base"], "/check/b:iran-2011?policy=step-by-step&type=weapon")
    expect(page.get_by_test_id("check-results")).to_have_attribute("data-state", "done")
    rows = page.locator("[data-testid=check-beliefs] tbody tr")
    expect(rows).to_have_count(2)  # the weapon type takes the two cheap steps, pooling
    expect(rows.first).to_contain_text("pooling")


def test_forecast_plots_positions_by_round(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    _open(page, session["base"], "/forecast/b:iran-2011")
    expect(page.get_by_test_id("forecast-results")).to_have_attribute("data-state", "done")
    with page.expect_response(lambda r: r.url.endswith("/api/forecast")) as answer:
        page.get_by_test_id("model").select_option("bdm")
    data = answer.value.json()
    assert data["model"] == "bdm" and len(data["rounds"]) > 1
    expect(page.get_by_test_id("forecast-results")).to_have_attribute("data-state", "done")
    plots = page.locator("[data-testid=plot-forecast] .js-plotly-plot")
    expect(plots).to_have_count(len(data["dimensions"]))
    # one line per actor plus the forecast line
    expect(plots.first.locator(".scatterlayer .trace")).to_have_count(len(data["actors"]) + 1)
    first = page.locator("[data-testid=forecast-table] tbody tr").first
    expect(first).to_contain_text(data["dimensions"][0])
    expect(first).to_contain_text(f"{data['forecast'][0]:.1f}".removesuffix(".0"))
    _shot(page, "forecast")


def test_design_shows_status_order_and_yaml(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    with page.expect_response(lambda r: r.url.endswith("/api/design"), timeout=SLOW) as answer:
        _open(page, session["base"], "/design/b:iran-2011")
    data = answer.value.json()
    expect(page.get_by_test_id("design-results")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("design-status")).to_have_text(data["status"])
    expect(page.locator("[data-testid=plot-design] .barlayer .point")).to_have_count(
        len(data["policy"]["order"])
    )
    expect(page.get_by_test_id("design-yaml")).to_contain_text("kind: step_by_step")
    with page.expect_download() as dl:
        page.get_by_test_id("download-yaml").click()
    assert Path(dl.value.path()).read_text() == data["yaml"]


def test_ensemble_runs_with_progress_and_plots(page: Any, session: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    _open(page, session["base"], "/ensemble/b:iran-2011")
    page.get_by_test_id("ensemble-n").fill("16")
    page.get_by_test_id("policy-grand-bargain").uncheck()  # the slowest to batch-solve
    with page.expect_response(lambda r: r.url.endswith("/api/runs")) as answer:
        page.get_by_test_id("launch").click()
    rid = answer.value.json()["id"]
    panel = page.get_by_test_id("progress-panel")
    expect(panel).to_have_attribute("data-status", "done", timeout=SLOW)
    bar = page.get_by_test_id("run-progress")
    assert bar.evaluate("el => el.value === el.max && el.max >= 16")
    expect(page.get_by_test_id("run-status")).to_contain_text("16 of 16 samples")
    expect(page.get_by_test_id("ensemble-results")).to_have_attribute("data-state", "done")
    policies = _api(session["base"], f"/api/runs/{rid}")["params"]["policies"]
    assert "grand-bargain" not in policies and "dual-track" in policies
    expect(page.locator("[data-testid=plot-ensemble] .boxlayer .trace")).to_have_count(
        len(policies)
    )
    expect(page.locator("[data-testid=robustness-table] tbody tr")).to_have_count(len(policies))
    _shot(page, "ensemble")

    # the run is listed, and its page shows the same result with its downloads
    _open(page, session["base"], "/runs")
    row = page.locator(f'[data-testid=run-row][data-run="{rid}"]')
    expect(row).to_contain_text("ensemble")
    expect(row).to_contain_text("done")
    row.locator("td").nth(2).click()
    page.wait_for_url(re.compile(rf"#/run/{rid}$"))
    expect(page.get_by_test_id("run-result")).to_have_attribute("data-state", "done")
    expect(page.locator("[data-testid=plot-ensemble] .boxlayer .trace")).to_have_count(
        len(policies)
    )
    with page.expect_download() as dl:
        page.get_by_test_id("download-run-csv").click()
    assert dl.value.suggested_filename.endswith(".csv")
    assert "policy" in Path(dl.value.path()).read_text().splitlines()[0]
    _shot(page, "run")
