"""The local web app: a JSON API (OpenAPI schema at ``/openapi.json``) and the pages.

A thin shell over the library, like the CLI: every endpoint parses a scenario (a
built-in name, YAML text in the request or a saved id, never a path), calls the same
function the CLI calls and returns the same JSON. Bad input gets a 4xx answer whose
body lists the problems (file line, field, message, fix); it never gets a 500.

The pages are one static single-page app (``web/static``) with Plotly served from the
installed ``plotly`` package: nothing is fetched from the network.

Safety: YAML is read with ``safe_load`` semantics (no code from files); bodies larger
than :data:`MAX_BODY` bytes are refused with 413 (declared or streamed); no
file-system path is taken from a request; state-changing requests must be JSON
(``Content-Type: application/json``, which a cross-site form cannot send without a
CORS preflight this app never grants) and, on a local bind, must name a local
``Host`` (against DNS rebinding); no cookies are used, so there is no session to
forge; with a token, every ``/api`` request must carry ``Authorization: Bearer``.
Every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import hmac
import importlib.util
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml as pyyaml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..scenario import (
    Scenario,
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_scenario,
    scenario_hash,
)
from ..scenario.loader import builtin_text, json_schema
from ..scenario.point import scenario_at
from .jobs import KINDS, Jobs, compute
from .store import Store

MAX_BODY = 1_000_000  # bytes: a scenario file is a few tens of kB
MAX_ENSEMBLE = 5_000  # samples per ensemble launched from the browser
STATIC = Path(__file__).parent / "static"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


class Source(BaseModel):
    """A scenario: a built-in ``name``, ``yaml`` text or a ``saved`` id (exactly one),
    optionally at given ``values`` of its uncertainties (others at their medians)."""

    name: str | None = Field(None, description="a built-in scenario name")
    yaml: str | None = Field(None, description="scenario YAML text", max_length=MAX_BODY)
    saved: int | None = Field(None, description="id of a saved scenario")
    values: dict[str, float] | None = Field(
        None, description="uncertainty id -> value (see /api/inspect); others at medians"
    )


class SaveRequest(BaseModel):
    yaml: str = Field(description="scenario YAML text", max_length=MAX_BODY)


class YamlText(BaseModel):
    yaml: str = Field(description="YAML text", max_length=MAX_BODY)


class YamlData(BaseModel):
    data: dict[str, Any] = Field(description="scenario as JSON data")


class CompareRequest(Source):
    seed: int = Field(0, ge=0)
    type: str | None = Field(
        None, description="true type of the target, for a scenario with types (default: first)"
    )


class TableRequest(CompareRequest):
    format: Literal["csv", "parquet"] = "csv"


class CheckRequest(Source):
    policy: str | None = None
    seed: int = Field(0, ge=0)
    type: str | None = Field(
        None, description="true type of the target, for a scenario with types (default: first)"
    )


class DesignRequest(Source):
    objective: Literal["resolved", "powers", "welfare"] = "resolved"
    seed: int = Field(0, ge=0)


class ForecastRequest(Source):
    model: Literal["compromise", "bdm", "smp"] = "compromise"


class RunRequest(Source):
    """A run to record: its ``kind`` and that kind's parameters."""

    kind: Literal["compare", "check", "design", "forecast", "ensemble"]
    seed: int = Field(0, ge=0)
    policy: str | None = Field(None, description="check: the policy (default: the first)")
    type: str | None = Field(
        None, description="compare, check: true type of the target (scenarios with types)"
    )
    objective: Literal["resolved", "powers", "welfare"] = "resolved"
    model: Literal["compromise", "bdm", "smp"] = "compromise"
    n: int = Field(200, ge=1, le=MAX_ENSEMBLE, description="ensemble: samples")
    design: Literal["lhs", "mc", "sobol"] = "lhs"
    policies: list[str] | None = Field(None, description="ensemble: policies (default all)")


class ApiError(Exception):
    def __init__(self, status: int, problems: list[dict[str, Any]]) -> None:
        self.status, self.problems = status, problems


def _problem(message: str, fix: str, path: str = "", line: int | None = None) -> dict[str, Any]:
    return {"line": line, "path": path, "message": message, "fix": fix}


def _json(status: int, problems: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"problems": problems}, status_code=status)


def _parse(text: str) -> Scenario:
    try:
        return parse_scenario(text, "request")
    except ScenarioError as exc:
        raise ApiError(
            422, [_problem(p.message, p.fix, p.path, p.line) for p in exc.problems]
        ) from None


def _type(s: Scenario, ttype: str | None) -> str | None:
    ids = [t.id for t in s.types]
    if ttype is not None and ttype not in ids:
        fix = f"use one of {', '.join(ids)}" if ids else "leave out type: the scenario has none"
        raise ApiError(422, [_problem(f"no type {ttype!r}", fix, "type")])
    return ttype


def _policy(s: Scenario, policy: str | None) -> str:
    ids = [p.id for p in s.policies]
    if policy is None:
        return ids[0]
    if policy not in ids:
        raise ApiError(404, [_problem(f"no policy {policy!r}", f"use one of {', '.join(ids)}")])
    return policy


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether declared by
    ``Content-Length`` or streamed in chunks without one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = _json(413, [_problem("request too large", f"send at most {self.limit} bytes")])
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"request too large: send at most {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


def create_app(
    token: str | None = None, db: Path | None = None, local_only: bool = False
) -> FastAPI:
    """The app. With ``token``, every ``/api`` request needs ``Authorization: Bearer
    token``. Saved scenarios and runs go to the SQLite database ``db`` (default: the
    user's data folder), opened on first use. With ``local_only`` (a local bind),
    requests must name a local ``Host`` header."""
    stores: list[Store] = []

    def store() -> Store:
        if not stores:
            stores.append(Store(db))
        return stores[0]

    jobs = Jobs(store)

    app = FastAPI(
        title="stepdeal",
        version=__version__,
        description="Design and stress-test step-by-step deals (local API).",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the app works offline
        redoc_url=None,
    )
    app.state.jobs = jobs
    app.add_middleware(BodyLimit, limit=MAX_BODY)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if local_only:
            host = (request.headers.get("host") or "").rsplit(":", 1)[0]
            if host not in LOCAL_HOSTS and request.headers.get("host", "") not in LOCAL_HOSTS:
                return _json(
                    400,
                    [_problem(f"host {host!r} is not local", "open http://127.0.0.1:PORT/")],
                )
        if path.startswith("/api"):
            if token is not None:
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    return _json(
                        401,
                        [_problem("missing or wrong token", "send Authorization: Bearer TOKEN")],
                    )
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype != "application/json":
                    return _json(
                        415,
                        [
                            _problem(
                                f"content type {ctype or '(none)'!r} is not accepted",
                                "send JSON with Content-Type: application/json",
                            )
                        ],
                    )
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.problems)

    @app.exception_handler(ValueError)
    async def value_error(_: Request, exc: ValueError) -> JSONResponse:
        return _json(400, [_problem(str(exc), "see the message")])

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        fix = "send at most 1000000 bytes" if exc.status_code == 413 else "see the API reference"
        return _json(exc.status_code, [_problem(str(exc.detail), fix)])

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x != "body"]
            problems.append(
                _problem(str(e.get("msg", "invalid")), "see /openapi.json", ".".join(loc))
            )
        return _json(422, problems)

    def scenario_of(src: Source) -> tuple[Scenario, str]:
        """The scenario of a request (at its ``values``) and the YAML text it came from."""
        given = [x is not None for x in (src.name, src.yaml, src.saved)]
        if sum(given) != 1:
            raise ApiError(
                422, [_problem("give exactly one of name, yaml and saved", "send one of them")]
            )
        if src.saved is not None:
            row = store().get(src.saved)
            if row is None:
                raise ApiError(404, [_problem(f"no saved scenario {src.saved}", "see /api/saved")])
            text = str(row["yaml"])
            s = _parse(text)
        elif src.name is not None:
            if src.name not in builtin_names():
                raise ApiError(
                    404,
                    [
                        _problem(
                            f"no built-in scenario {src.name!r}", f"use one of {builtin_names()}"
                        )
                    ],
                )
            text = builtin_text(src.name)
            s = load_scenario(src.name)
        else:
            assert src.yaml is not None
            text = src.yaml
            s = _parse(text)
        if src.values:
            try:
                s = scenario_at(s, src.values)
            except ValueError as exc:
                raise ApiError(422, [_problem(str(exc), "see the message", "values")]) from None
        return s, text

    # ------------------------------------------------------------------ pages

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        spec = importlib.util.find_spec("plotly")
        if spec is None or spec.origin is None:
            raise ApiError(404, [_problem("plotly is not installed", "pip install plotly")])
        path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}  # no path from requests
        if name not in files:
            raise ApiError(404, [_problem(f"no file {name!r}", "see /")])
        media = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
        return FileResponse(files[name], media_type=media.get(files[name].suffix))

    # ------------------------------------------------------------------ scenarios

    @app.get("/api/version")
    def version() -> dict[str, Any]:
        return {"version": __version__}

    @app.get("/api/schema")
    def schema() -> dict[str, Any]:
        return json_schema()

    gallery: list[dict[str, Any]] = []  # the built-ins never change while the app runs

    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, Any]]:
        if not gallery:
            for name in builtin_names():
                s = load_scenario(name)
                gallery.append(
                    {
                        "name": name,
                        "title": s.title,
                        "policies": [p.id for p in s.policies],
                        "uncertainties": s.uncertainty.dimension,
                        "stakeholders": s.stakeholders is not None,
                        "history": s.history is not None,
                    }
                )
        return gallery

    @app.get("/api/scenarios/{name}")
    def scenario(name: str) -> dict[str, Any]:
        if name not in builtin_names():
            raise ApiError(404, [_problem(f"no built-in scenario {name!r}", "see /api/scenarios")])
        return {"name": name, "yaml": builtin_text(name)}

    @app.post("/api/saved", status_code=201)
    def save(req: SaveRequest) -> dict[str, Any]:
        s = _parse(req.yaml)  # only valid scenarios are saved
        return {"id": store().save(s.name, req.yaml), "name": s.name}

    @app.get("/api/saved")
    def saved() -> list[dict[str, Any]]:
        return store().list()

    @app.get("/api/saved/{sid}")
    def saved_one(sid: int) -> dict[str, Any]:
        row = store().get(sid)
        if row is None:
            raise ApiError(404, [_problem(f"no saved scenario {sid}", "see /api/saved")])
        return row

    @app.post("/api/yaml/parse")
    def yaml_parse(req: YamlText) -> dict[str, Any]:
        """YAML text to JSON data (syntax only; validate with /api/validate)."""
        try:
            data = pyyaml.safe_load(req.yaml)
        except pyyaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else int(mark.line) + 1
            raise ApiError(
                422, [_problem(f"not valid YAML: {exc}", "fix the YAML syntax", line=line)]
            ) from None
        if not isinstance(data, dict):
            raise ApiError(
                422, [_problem("the YAML is not a mapping", "a scenario is a mapping of keys")]
            )
        try:
            json.dumps(data)
        except (TypeError, ValueError):
            raise ApiError(
                422, [_problem("the YAML holds values JSON cannot carry", "use plain values")]
            ) from None
        return {"data": data}

    @app.post("/api/yaml/dump")
    def yaml_dump(req: YamlData) -> dict[str, Any]:
        """JSON data to YAML text (key order kept; comments are not carried)."""
        return {"yaml": pyyaml.safe_dump(req.data, sort_keys=False, allow_unicode=True)}

    @app.post("/api/validate")
    def validate(src: Source) -> dict[str, Any]:
        s, _ = scenario_of(src)
        return {
            "ok": True,
            "name": s.name,
            "actors": len(s.actors),
            "concerns": len(s.concerns),
            "measures": len(s.measures),
            "policies": [p.id for p in s.policies],
        }

    @app.post("/api/inspect")
    def inspect(src: Source) -> dict[str, Any]:
        """What the pages need to build their controls: policies and uncertainty sliders
        (range: the 1st to 99th percentile of each distribution)."""
        s, _ = scenario_of(src)
        sliders = []
        space = s.uncertainty
        named = {u.id: u for u in s.uncertainties}
        for v in space.variables:
            p01, p99 = (float(x) for x in v.dist.ppf(np.array([0.01, 0.99])))
            lo, hi = (p01, p99) if p99 > p01 else v.dist.support()
            u = named.get(v.name)
            sliders.append(
                {
                    "id": v.name,
                    "name": None if u is None else u.name,
                    "description": None if u is None else u.note,
                    "dist": v.dist.dist,
                    "median": float(v.dist.median_value()),
                    "low": float(lo),
                    "high": float(hi),
                    "step": float(hi - lo) / 100 if hi > lo else 0.01,
                }
            )
        return {
            "name": s.name,
            "title": s.title,
            "unit": s.unit,
            "period": s.period,
            "horizon": s.horizon,
            "start": s.start,
            "actors": [{"id": a.id, "name": a.name, "role": a.role} for a in s.actors],
            "concerns": [{"id": c.id, "name": c.name} for c in s.concerns],
            "policies": [
                {"id": p.id, "kind": p.kind, "name": p.name, "description": p.note}
                for p in s.policies
            ],
            "uncertainties": sliders,
            "stakeholders": s.stakeholders is not None,
            "types": [{"id": t.id, "name": t.name, "prior": t.prior} for t in s.types],
        }

    # ------------------------------------------------------------------ analyses

    answers: OrderedDict[tuple[str, int, str | None], dict[str, Any]] = OrderedDict()
    lock = threading.Lock()

    @app.post("/api/compare")
    def compare_(req: CompareRequest) -> dict[str, Any]:
        """Answers are cached by (scenario hash, seed): moving a slider back is instant."""
        s, _ = scenario_of(req)
        ttype = _type(s, req.type)
        key = (scenario_hash(s), req.seed, ttype)
        with lock:
            hit = answers.get(key)
        if hit is None:
            hit = compute("compare", s, {"seed": req.seed, "type": ttype})
        with lock:
            answers[key] = hit
            answers.move_to_end(key)
            while len(answers) > 64:
                answers.popitem(last=False)
        return hit

    @app.post("/api/compare/table")
    def compare_table(req: TableRequest) -> Response:
        from ..api import compare
        from ..report.frames import periods_frame, to_bytes

        s, _ = scenario_of(req)
        runs = compare(s, rng=req.seed, true_type=_type(s, req.type))
        frame = periods_frame({p: r.timeline for p, r in runs.items()})
        media = "text/csv" if req.format == "csv" else "application/vnd.apache.parquet"
        return Response(
            to_bytes(frame, req.format),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{s.name}-compare.{req.format}"'
            },
        )

    @app.post("/api/report")
    def report(req: CompareRequest) -> HTMLResponse:
        from ..api import compare
        from ..report.html import render_html

        s, _ = scenario_of(req)
        runs = compare(s, rng=req.seed, true_type=_type(s, req.type))
        html = render_html(s, {p: r.timeline for p, r in runs.items()})
        return HTMLResponse(
            html,
            headers={"Content-Disposition": f'attachment; filename="{s.name}-report.html"'},
        )

    @app.post("/api/check")
    def check_(req: CheckRequest) -> dict[str, Any]:
        s, _ = scenario_of(req)
        params = {"policy": _policy(s, req.policy), "seed": req.seed, "type": _type(s, req.type)}
        return compute("check", s, params)

    @app.post("/api/design")
    def design_(req: DesignRequest) -> dict[str, Any]:
        from ..solve.design import DesignRefused

        s, _ = scenario_of(req)
        try:
            return compute("design", s, {"objective": req.objective, "seed": req.seed})
        except DesignRefused as exc:
            raise ApiError(422, [_problem(str(exc), "see the message")]) from None

    @app.post("/api/forecast")
    def forecast_(req: ForecastRequest) -> dict[str, Any]:
        s, _ = scenario_of(req)
        return compute("forecast", s, {"model": req.model})

    # ------------------------------------------------------------------ runs

    @app.post("/api/runs", status_code=202)
    def launch(req: RunRequest) -> dict[str, Any]:
        s, text = scenario_of(req)
        params: dict[str, Any] = {"seed": req.seed}
        if req.values:
            params["values"] = req.values
        if req.kind in ("compare", "check"):
            params["type"] = _type(s, req.type)
        if req.kind == "check":
            params["policy"] = _policy(s, req.policy)
        elif req.kind == "design":
            params["objective"] = req.objective
        elif req.kind == "forecast":
            params["model"] = req.model
        elif req.kind == "ensemble":
            if req.values:
                raise ApiError(
                    422,
                    [
                        _problem(
                            "an ensemble samples the uncertainties; values cannot be fixed",
                            "leave out values",
                            "values",
                        )
                    ],
                )
            known = [p.id for p in s.policies]
            bad = [p for p in (req.policies or []) if p not in known]
            if bad:
                raise ApiError(
                    404,
                    [_problem(f"no policy {bad}", f"use some of {', '.join(known)}", "policies")],
                )
            if req.design == "sobol" and req.n & (req.n - 1):
                raise ApiError(
                    422,
                    [_problem("a Sobol design needs n a power of 2", "use 64, 128, 256...", "n")],
                )
            params.update(n=req.n, design=req.design, policies=req.policies or known)
        rid = jobs.submit(req.kind, s, text, params)
        return {"id": rid, "status": "queued"}

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        return store().runs()

    def run_or_404(rid: int) -> dict[str, Any]:
        row = store().run(rid)
        if row is None:
            raise ApiError(404, [_problem(f"no run {rid}", "see /api/runs")])
        return row

    @app.get("/api/runs/{rid}")
    def run_one(rid: int) -> dict[str, Any]:
        return run_or_404(rid)

    @app.get("/api/runs/{rid}/download")
    def download(rid: int, format: Literal["json", "csv", "parquet"] = "json") -> Response:
        from ..report.frames import result_frame, to_bytes

        row = run_or_404(rid)
        name = f"stepdeal-run-{rid}-{row['kind']}"
        if format == "json":
            body = json.dumps(row, indent=1).encode()
            media = "application/json"
        else:
            if row["status"] != "done":
                raise ApiError(
                    409, [_problem(f"run {rid} is {row['status']}", "wait until it is done")]
                )
            if row["kind"] == "ensemble":
                from ..ensemble.store import load

                _, _, frame = load(jobs.folder(rid) / "store")
            else:
                frame = result_frame(row["kind"], row["result"])
            body = to_bytes(frame, format)
            media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
        )

    assert set(KINDS) == {"compare", "check", "design", "forecast", "ensemble"}
    return app
