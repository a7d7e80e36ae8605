"""Evaluate one chunk of samples under every policy: parameters in, outcome rows out.

Each sample's variable values set the scenario fields they drive
(:class:`~stepdeal.scenario.uncertainty.Target`); the samples are then solved
together on a shared state graph (:func:`~stepdeal.solve.batch.solve_batch`), or one
by one with the full solver when members vote strategically. A sample whose draw is
invalid (a probability outside [0, 1], a discount outside (0, 1), a non-finite
number) gets ``ok = False`` and its error, and the others go on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..mechanisms.game import F64, Game, compile_game
from ..scenario import Scenario, parse_scenario
from ..scenario.uncertainty import UncertaintySpace
from ..solve.batch import BatchOutcomes, BatchParams, NotBatchable, solve_batch
from ..solve.best_response import DEFAULT_MAX_SIZE, StateGraphTooLarge, solve_best_response
from ..solve.outcomes import path_outcomes


def params_for(game: Game, space: UncertaintySpace, values: F64) -> BatchParams:
    """Per-sample parameters: the game's own, with every uncertain field replaced."""
    S = values.shape[0]
    P = BatchParams.of_game(game, S)
    powers = {p: k for k, p in enumerate(game.power_ids)}
    concerns = {c: i for i, c in enumerate(game.concern_ids)}
    measures = {m: j for j, m in enumerate(game.measure_ids)}
    for tg in space.targets:
        x = tg.scale * values[:, tg.variable]
        section, ident, field, *rest = tg.path
        if section == "actors":
            if ident == game.target_id:
                P.target_discount[:] = x
            else:
                P.power_discount[:, powers[ident]] = x
        elif section == "concerns":
            i = concerns[ident]
            if field == "value":
                P.value[:, powers[rest[0]], i] = x
            else:
                getattr(P, field)[:, i] = x
        else:
            j = measures[ident]
            if field == "burden":
                P.burden[:, powers[rest[0]], j] = x
            else:
                getattr(P, field)[:, j] = x
    return P


def invalid_draws(game: Game, P: BatchParams) -> list[str | None]:
    """Per sample: why its parameters are invalid (the first reason found), or ``None``.

    Checked in order: every parameter finite, verify and curtail in [0, 1], discounts
    in (0, 1); vectorised over the samples.
    """
    checks: list[tuple[Any, Any]] = []  # (mask per sample, reason or reason(s))
    for name in P.__dataclass_fields__:
        arr = getattr(P, name).reshape(P.size, -1)
        checks.append((~np.isfinite(arr).all(axis=1), f"{name} is not a finite number"))
    for arr, ids, what in (
        (P.verify, game.concern_ids, "verify"),
        (P.curtail, game.measure_ids, "curtail"),
    ):
        bad = (arr < 0) | (arr > 1)
        first = bad.argmax(axis=1)
        checks.append(
            (
                bad.any(axis=1),
                lambda s, a=arr, f=first, i=ids, w=what: f"{w} of {i[f[s]]} is {a[s, f[s]]:g}",
            )
        )
    d = np.column_stack([P.target_discount, P.power_discount])
    checks.append((((d <= 0) | (d >= 1)).any(axis=1), "a discount is outside (0, 1)"))
    out: list[str | None] = [None] * P.size
    for mask, why in reversed(checks):  # earlier checks overwrite later ones
        for s in np.flatnonzero(mask):
            out[s] = why(s) if callable(why) else why
    return out


def _one_by_one(game: Game, P: BatchParams, max_size: int) -> BatchOutcomes:
    rows = []
    for s in range(P.size):
        sol = solve_best_response(P.game(game, s), max_size)
        o = path_outcomes(sol)
        rows.append((sol.value, list(sol.power_value.values()), o))
    return BatchOutcomes(
        target_utility=np.array([r[0] for r in rows]),
        power_utility=np.array([r[1] for r in rows]).reshape(P.size, game.n_powers),
        p_verified=np.array([r[2].p_verified for r in rows]).reshape(P.size, game.n_concerns),
        periods_to=np.array([r[2].periods_to for r in rows]).reshape(P.size, game.n_concerns),
        expected_pressure=np.array([r[2].expected_pressure for r in rows]),
        expected_vetoes=np.array([r[2].expected_vetoes for r in rows]),
    )


def outcome_columns(game: Game) -> list[str]:
    return (
        [
            "expected_resolved",
            "target_utility",
            "powers_total_utility",
            "expected_pressure",
            "expected_vetoes",
        ]
        + [f"utility:{p}" for p in game.power_ids]
        + [f"p_verified:{c}" for c in game.concern_ids]
        + [f"periods_to:{c}" for c in game.concern_ids]
    )


def evaluate(
    scenario: Scenario,
    policies: list[str],
    values: F64,
    samples: np.ndarray,
    max_size: int = DEFAULT_MAX_SIZE,
) -> pd.DataFrame:
    """Outcome rows (one per sample x policy) for the variable ``values`` (S, d)."""
    frames = []
    for pid in policies:
        game = compile_game(scenario, pid)
        P = params_for(game, scenario.uncertainty, values)
        errors = invalid_draws(game, P)
        ok = np.array([e is None for e in errors])
        cols = outcome_columns(game)
        data = np.full((P.size, len(cols)), np.nan)
        if ok.any():
            idx = np.flatnonzero(ok)
            sub = P.take(idx)
            try:
                try:
                    res = solve_batch(game, sub, max_size, record_refusals=True)
                except NotBatchable:
                    res = _one_by_one(game, sub, max_size)
            except StateGraphTooLarge as exc:
                errors = [e or str(exc) for e in errors]
                ok[:] = False
            else:
                for k, why in zip(idx, res.errors, strict=False):
                    if why is not None:
                        errors[k], ok[k] = why, False
                block = np.column_stack(
                    [
                        res.expected_resolved,
                        res.target_utility,
                        res.power_utility.sum(axis=1),
                        res.expected_pressure,
                        res.expected_vetoes,
                        res.power_utility,
                        res.p_verified,
                        res.periods_to,
                    ]
                )
                data[idx] = block
        frame = pd.DataFrame(data, columns=cols)
        frame.insert(0, "sample", np.asarray(samples, dtype=np.int64))
        frame.insert(1, "policy", pid)
        frame.insert(2, "ok", ok)
        frame.insert(3, "error", pd.Series(errors, dtype="string"))  # text even if all null
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@lru_cache(maxsize=4)
def _parsed(text: str, label: str) -> Scenario:
    return parse_scenario(text, label)


def evaluate_task(task: dict[str, Any]) -> pd.DataFrame:
    """Picklable entry point for workers: ``task`` holds the scenario text, the policies,
    the chunk's sample ids and values (workers parse the text once and cache it)."""
    scenario = _parsed(task["text"], task["label"])
    return evaluate(
        scenario,
        list(task["policies"]),
        np.asarray(task["values"], dtype=np.float64),
        np.asarray(task["samples"], dtype=np.int64),
        int(task.get("max_size", DEFAULT_MAX_SIZE)),
    )
