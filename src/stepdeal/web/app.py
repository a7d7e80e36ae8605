"""The JSON API of the local web app (FastAPI; OpenAPI schema at ``/openapi.json``).

A thin shell over the library, like the CLI: every endpoint parses a scenario (a
built-in name or YAML text in the request, never a path), calls the same function
the CLI calls and returns the same JSON. Bad input gets a 4xx answer whose body
lists the problems (file line, field, message, fix); it never gets a 500.

Safety: YAML is read with ``safe_load`` semantics (no code from files), requests
larger than :data:`MAX_BODY` bytes are refused with 413, no file-system path is
taken from a request, and when a token is configured every ``/api`` request must
carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .. import __version__
from ..scenario import Scenario, ScenarioError, builtin_names, load_scenario, parse_scenario
from ..scenario.loader import builtin_text
from .store import Store

MAX_BODY = 1_000_000  # bytes: a scenario file is a few tens of kB


class Source(BaseModel):
    """A scenario: a built-in ``name``, ``yaml`` text or a ``saved`` id (exactly one)."""

    name: str | None = Field(None, description="a built-in scenario name")
    yaml: str | None = Field(None, description="scenario YAML text", max_length=MAX_BODY)
    saved: int | None = Field(None, description="id of a saved scenario")


class SaveRequest(BaseModel):
    yaml: str = Field(description="scenario YAML text", max_length=MAX_BODY)


class CompareRequest(Source):
    seed: int = Field(0, ge=0)


class CheckRequest(Source):
    policy: str | None = None
    seed: int = Field(0, ge=0)


class DesignRequest(Source):
    objective: Literal["resolved", "powers", "welfare"] = "resolved"
    seed: int = Field(0, ge=0)


class ForecastRequest(Source):
    model: Literal["compromise", "bdm", "smp"] = "compromise"


class ApiError(Exception):
    def __init__(self, status: int, problems: list[dict[str, Any]]) -> None:
        self.status, self.problems = status, problems


def _problem(message: str, fix: str, path: str = "", line: int | None = None) -> dict[str, Any]:
    return {"line": line, "path": path, "message": message, "fix": fix}


def _parse(text: str) -> Scenario:
    try:
        return parse_scenario(text, "request")
    except ScenarioError as exc:
        raise ApiError(
            422, [_problem(p.message, p.fix, p.path, p.line) for p in exc.problems]
        ) from None


def _scenario(src: Source, store: Any = None) -> Scenario:
    given = [x is not None for x in (src.name, src.yaml, src.saved)]
    if sum(given) != 1:
        raise ApiError(
            422, [_problem("give exactly one of name, yaml and saved", "send one of them")]
        )
    if src.saved is not None:
        row = None if store is None else store.get(src.saved)
        if row is None:
            raise ApiError(404, [_problem(f"no saved scenario {src.saved}", "see /api/saved")])
        return _parse(str(row["yaml"]))
    if src.name is not None:
        if src.name not in builtin_names():
            raise ApiError(
                404,
                [_problem(f"no built-in scenario {src.name!r}", f"use one of {builtin_names()}")],
            )
        return load_scenario(src.name)
    assert src.yaml is not None
    return _parse(src.yaml)


def _policy(s: Scenario, policy: str | None) -> str:
    ids = [p.id for p in s.policies]
    if policy is None:
        return ids[0]
    if policy not in ids:
        raise ApiError(404, [_problem(f"no policy {policy!r}", f"use one of {', '.join(ids)}")])
    return policy


def create_app(token: str | None = None, db: Path | None = None) -> FastAPI:
    """The app; with ``token``, every ``/api`` request needs ``Authorization: Bearer token``.
    Saved scenarios go to the SQLite database ``db`` (default: the user's data folder),
    opened on first use."""
    stores: list[Store] = []

    def store() -> Store:
        if not stores:
            stores.append(Store(db))
        return stores[0]

    app = FastAPI(
        title="stepdeal",
        version=__version__,
        description="Design and stress-test step-by-step deals (local API).",
    )

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return JSONResponse(
                {"problems": [_problem("request too large", f"send at most {MAX_BODY} bytes")]},
                status_code=413,
            )
        if token is not None and request.url.path.startswith("/api"):
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse(
                    {
                        "problems": [
                            _problem("missing or wrong token", "send Authorization: Bearer TOKEN")
                        ]
                    },
                    status_code=401,
                )
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"problems": exc.problems}, status_code=exc.status)

    @app.exception_handler(ValueError)
    async def value_error(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"problems": [_problem(str(exc), "see the message")]}, status_code=400)

    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, Any]]:
        out = []
        for name in builtin_names():
            s = load_scenario(name)
            out.append({"name": name, "title": s.title, "policies": [p.id for p in s.policies]})
        return out

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

    @app.post("/api/validate")
    def validate(src: Source) -> dict[str, Any]:
        s = _scenario(src, store() if src.saved is not None else None)
        return {
            "ok": True,
            "name": s.name,
            "actors": len(s.actors),
            "concerns": len(s.concerns),
            "measures": len(s.measures),
            "policies": [p.id for p in s.policies],
        }

    @app.post("/api/compare")
    def compare_(req: CompareRequest) -> dict[str, Any]:
        from ..api import compare

        s = _scenario(req, store() if req.saved is not None else None)
        return {pid: r.to_dict() for pid, r in compare(s, rng=req.seed).items()}

    @app.post("/api/check")
    def check_(req: CheckRequest) -> dict[str, Any]:
        from ..api import run
        from ..solve.check import check

        s = _scenario(req, store() if req.saved is not None else None)
        r = run(s, _policy(s, req.policy), "optimal", req.seed)
        assert r.solution is not None
        return check(r.solution, r.timeline).to_dict()

    @app.post("/api/design")
    def design_(req: DesignRequest) -> dict[str, Any]:
        from ..solve.design import DesignRefused, design

        s = _scenario(req, store() if req.saved is not None else None)
        try:
            result = design(s, req.objective, req.seed)
        except DesignRefused as exc:
            raise ApiError(422, [_problem(str(exc), "see the message")]) from None
        out = result.to_dict()
        out["yaml"] = result.to_yaml()
        return out

    @app.post("/api/forecast")
    def forecast_(req: ForecastRequest) -> dict[str, Any]:
        from ..forecast.link import table_from_scenario
        from ..forecast.run import run_model

        s = _scenario(req, store() if req.saved is not None else None)
        return run_model(table_from_scenario(s), req.model).to_dict()

    return app
