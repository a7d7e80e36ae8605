r"""Roadmap designer: the strict step-by-step policy that gets the most done in equilibrium.

**Design space.** A design is a strict order of all concerns and, for every measure
that can be relieved (active or curtailed at the start; relief on a potential,
frozen or lifted measure is never tabled), a relief staircase along the order: the
step after which it is curtailed and the step after which it is frozen (either may
be "never"). Every strict ``step_by_step`` policy is such a design (relief is the
strongest action of the verified concerns; freeze and lift have the same payoffs,
and the designer writes ``freeze``, the weaker commitment). With :math:`n` concerns
there are :math:`(n+1)(n+2)/2` staircases per measure, so the space holds
:math:`n!\,\bigl((n+1)(n+2)/2\bigr)^{m}` designs for :math:`m` relievable measures
(fewer after merging interchangeable measures).

**Equilibrium.** Each design is solved exactly (:mod:`stepdeal.solve.chain`, the full
solver's recursion specialised to strict roadmaps, thousands of designs per numpy
pass). Every step on the resulting path is the target's best reply by construction,
so the designed roadmap is self-enforcing; the chosen design is re-solved with the
full solver as a check.

**Objectives** (compared lexicographically, the first rounded to :math:`10^{-9}`):

* ``resolved`` (default): expected number of concerns verified by the horizon, then
  the powers' total expected utility (the sum of their discounted utilities);
* ``powers``: the powers' total expected utility, then the expected number resolved;
* ``welfare``: powers' total plus the target's expected utility, then resolved.

**Search.** If the space has at most ``max_exact`` designs, every design is solved
(status ``exact``: the search is exhaustive, so it is provably optimal). Otherwise
a seeded heuristic runs (candidate orders x relief templates and random starts,
each improved by coordinate ascent over each measure's staircase and over swaps of
two steps) and the status is
``bounded``: ``bound`` is a proven upper bound on the primary objective and the gap
is ``bound - objective``.

**Bound for** ``resolved``. The target may always never act, so in equilibrium the
present value of the costs and upkeep it pays is at most the present value of the
relief it can get, :math:`R \le \Delta\pi \cdot \bigl(\sum_{t<H}\delta^t + [\text{persist}]
\,\delta^H/(1-\delta)\bigr)` with :math:`\Delta\pi` the pressure of all relievable
measures. A step taken by period :math:`H-1` costs at least
:math:`\delta^{H-1}(c_j + u_j w)` (:math:`w = 1/(1-\delta)` with a persisting tail,
else 1), so :math:`N` steps cost at least :math:`g(N)`, the sum of the :math:`N`
smallest such amounts. :math:`g` extended linearly is convex, so by Jensen's
inequality :math:`g(E[N]) \le E[g(N)] \le R`, and the expected number verified is
at most :math:`\min(n, H, g^{-1}(R))`. For ``powers`` and ``welfare`` the bound is
the crude "every concern verified in period 0, every relievable measure frozen".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import combinations_with_replacement, islice, permutations, product
from typing import Any

import numpy as np

from ..mechanisms.game import ACTIVE, CURTAILED, F64, I64, Game, compile_game
from ..scenario import Scenario
from .best_response import BestResponse, solve_best_response
from .chain import (
    CURTAIL,
    FREEZE,
    Designs,
    chain_refusal,
    designs_of_game,
    pass_table,
    solve_chain,
)
from .outcomes import path_outcomes

OBJECTIVES = ("resolved", "powers", "welfare")
OBJECTIVE_UNITS = {"resolved": "concerns", "powers": "unit", "welfare": "unit"}
DEFAULT_MAX_EXACT = 300_000
DEFAULT_RESTARTS = 24
DESIGN_ID = "designed"
_BATCH = 20_000


class DesignRefused(ValueError):
    """The designer cannot handle this scenario; the message says why and what to change."""


@dataclass
class DesignResult:
    """The designed policy, its equilibrium outcome and the search's guarantee."""

    scenario: Scenario  # the input scenario with the designed policy appended
    policy: dict[str, Any]
    objective_name: str
    objective: float
    bound: float
    status: str  # "exact" or "bounded"
    resolved: list[str]
    p_resolved: dict[str, float]
    expected_resolved: float
    powers_total: float
    target_utility: float
    power_utility: dict[str, float]
    method: str
    space_size: int
    evaluated: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    #: with ``--target-posterior``: what the powers learn (see ``design_types``)
    posterior: dict[str, Any] | None = None

    @property
    def gap(self) -> float:
        return round(max(0.0, self.bound - self.objective), 9)

    def to_dict(self) -> dict[str, Any]:
        """The ``design --json`` contract (``policy``, ``resolved``, ``objective``,
        ``status``, ``bound``) plus context."""
        s = self.scenario
        return {
            "scenario": s.name,
            "policy": self.policy,
            "resolved": self.resolved,
            "objective": self.objective,
            "status": self.status,
            "bound": self.bound,
            "objective_name": self.objective_name,
            "objective_unit": "concerns" if self.objective_name == "resolved" else s.unit,
            "gap": self.gap,
            "p_resolved": self.p_resolved,
            "expected_resolved": self.expected_resolved,
            "powers_total_utility": self.powers_total,
            "target_utility": self.target_utility,
            "power_utility": self.power_utility,
            "unit": s.unit,
            "period": s.period,
            "method": self.method,
            "design_space_size": self.space_size,
            "designs_evaluated": self.evaluated,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
        } | ({} if self.posterior is None else {"posterior": self.posterior})

    def to_yaml(self) -> str:
        """The designed policy as a YAML list item to paste under ``policies:``."""
        import yaml

        text: str = yaml.safe_dump([self.policy], sort_keys=False, width=88)
        return text


# --------------------------------------------------------------------------- space


@dataclass(frozen=True)
class _Space:
    game: Game
    table: Any
    n: int
    relievable: list[int]  # measure indices
    classes: list[list[int]]  # interchangeable relievable measures
    stairs: dict[int, np.ndarray]  # per measure: (S, n+1) level rows

    @property
    def size(self) -> int:
        total = math.factorial(self.n)
        for cls in self.classes:
            total *= math.comb(len(self.stairs[cls[0]]) + len(cls) - 1, len(cls))
        return total


def _staircases(n: int, curtail_possible: bool) -> np.ndarray:
    """All relief staircases over ``k = 0..n``: curtail from step ``c``, freeze from ``f``."""
    rows = []
    k = np.arange(n + 1)
    for f in range(1, n + 2):
        for c in range(1, f + 1) if curtail_possible else [f]:
            rows.append(np.where(k >= f, FREEZE, np.where(k >= c, CURTAIL, 0)))
    return np.array(rows, dtype=np.int8)


def _provisional(s: Scenario) -> Scenario:
    policy = {
        "id": DESIGN_ID,
        "kind": "step_by_step",
        "order": [c.id for c in s.concerns],
        "strict": True,
        "relief": {},
    }
    return _with_policy(s, policy)


def _with_policy(s: Scenario, policy: dict[str, Any]) -> Scenario:
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["policies"] = [p for p in data["policies"] if p["id"] != policy["id"]] + [policy]
    return Scenario.model_validate(data)


def _space(s: Scenario) -> _Space:
    game = compile_game(_provisional(s), DESIGN_ID)
    why = chain_refusal(game)
    if why is not None:
        raise DesignRefused(
            f"the designer needs a strict one-step-per-period roadmap with fixed votes, "
            f"but {why}. Fix: set max_steps_per_period: 1, make concerns irreversible "
            f"and give every member a fixed vote rule (yes, no, sincere or conditional) "
            f"and no veto_cost in a copy of the scenario"
        )
    table = pass_table(game)
    n = game.n_concerns
    relievable = []
    stairs: dict[int, np.ndarray] = {}
    for m in range(game.n_measures):
        status = game.initial_measures[m]
        if status not in (ACTIVE, CURTAILED) or not table[m].any():
            continue  # never tabled, or never passes: relief on it changes nothing
        if game.impact[m] == 0 and not game.burden[:, m].any():
            continue  # worth nothing to anyone
        relievable.append(m)
        curtail_ok = status == ACTIVE and game.curtail[m] not in (0.0, 1.0)
        stairs[m] = _staircases(n, curtail_ok)
    classes: dict[tuple[Any, ...], list[int]] = {}
    for m in relievable:
        key = (
            int(game.initial_measures[m]),
            float(game.impact[m]),
            float(game.curtail[m]),
            tuple(game.burden[:, m].tolist()),
            table[m].tobytes(),
        )
        classes.setdefault(key, []).append(m)
    return _Space(game, table, n, relievable, list(classes.values()), stairs)


# --------------------------------------------------------------------------- evaluation


class _Evaluator:
    def __init__(self, space: _Space, objective: str) -> None:
        self.space = space
        self.objective = objective
        self.count = 0

    def keys(self, designs: Designs) -> tuple[F64, F64, Any]:
        """Primary and secondary objective per design (larger is better)."""
        sol = solve_chain(self.space.game, designs, self.space.table)
        self.count += designs.size
        resolved = np.round(sol.expected_resolved, 9)
        powers = sol.power_value.sum(axis=1)
        if self.objective == "resolved":
            return resolved, powers, sol
        if self.objective == "powers":
            return np.round(powers, 9), resolved, sol
        return np.round(powers + sol.value, 9), resolved, sol


def _best_index(primary: F64, secondary: F64) -> int:
    return int(np.lexsort((-secondary, -primary))[0])


def _designs(orders: I64, relief: np.ndarray, space: _Space) -> Designs:
    """``relief``: (D, n_relievable, n+1) levels by step *position*."""
    D = orders.shape[0]
    levels = np.zeros((D, space.game.n_measures, space.n + 1), dtype=np.int8)
    levels[:, space.relievable, :] = relief
    return Designs(order=np.ascontiguousarray(orders, dtype=np.int64), levels=levels)


def _exhaustive(space: _Space, ev: _Evaluator) -> tuple[I64, np.ndarray]:
    n = space.n
    pos = {m: i for i, m in enumerate(space.relievable)}
    per_class = [
        list(combinations_with_replacement(range(len(space.stairs[cls[0]])), len(cls)))
        for cls in space.classes
    ]
    relief_combos = []
    for choice in product(*per_class):
        r = np.zeros((len(space.relievable), n + 1), dtype=np.int8)
        for cls, picks in zip(space.classes, choice, strict=True):
            for m, sidx in zip(cls, picks, strict=True):
                r[pos[m]] = space.stairs[m][sidx]
        relief_combos.append(r)
    R = np.array(relief_combos).reshape(len(relief_combos), len(space.relievable), n + 1)
    best: tuple[float, float] | None = None
    best_design: tuple[I64, np.ndarray] | None = None
    orders_iter = permutations(range(n))
    per_batch = max(1, _BATCH // max(1, len(R)))
    while True:
        chunk = list(islice(orders_iter, per_batch))
        if not chunk:
            break
        ords = np.repeat(np.array(chunk, dtype=np.int64), len(R), axis=0)
        rel = np.tile(R, (len(chunk), 1, 1))
        p, q, _ = ev.keys(_designs(ords, rel, space))
        i = _best_index(p, q)
        if best is None or (p[i], q[i]) > best:
            best, best_design = (float(p[i]), float(q[i])), (ords[i], rel[i])
    assert best_design is not None
    return best_design


def _templates(space: _Space, order: I64, rng: np.random.Generator, n_random: int) -> np.ndarray:
    """Starting relief plans for one order: back-loaded, cost-proportional, random."""
    n, g = space.n, space.game
    rel = space.relievable
    out = []
    k = np.arange(n + 1)
    # all relief after the last step
    out.append(np.tile(np.where(k >= n, FREEZE, 0), (len(rel), 1)))
    # cost-proportional: measures (largest impact last) frozen as the cost share grows
    cost = g.cost[order] + g.upkeep[order] / max(1e-9, 1.0 - g.target_discount)
    share = np.cumsum(cost) / max(1e-12, cost.sum())
    by_impact = sorted(range(len(rel)), key=lambda i: g.impact[rel[i]])
    cum = np.cumsum([g.impact[rel[i]] for i in by_impact]) / max(1e-12, g.impact[rel].sum())
    for mode in ("freeze", "curtail-then-freeze"):
        r = np.zeros((len(rel), n + 1), dtype=np.int8)
        for i, c in zip(by_impact, cum, strict=True):
            f = int(np.searchsorted(share, c - 1e-12)) + 1
            r[i] = np.where(k >= f, FREEZE, 0)
            if mode != "freeze" and f > 1:
                r[i] = np.where(k >= f, FREEZE, np.where(k >= max(1, f - 1), CURTAIL, 0))
        out.append(r)
    for _ in range(n_random):
        r = np.zeros((len(rel), n + 1), dtype=np.int8)
        for i, m in enumerate(rel):
            st = space.stairs[m]
            r[i] = st[rng.integers(len(st))]
        out.append(r)
    return np.array(out, dtype=np.int8).reshape(len(out), len(rel), n + 1)


def _own_designs(s: Scenario, space: _Space) -> list[tuple[I64, np.ndarray]]:
    """The scenario's own strict step-by-step policies as starting points."""
    out = []
    for p in s.policies:
        if p.kind != "step_by_step" or not getattr(p, "strict", False):
            continue
        d = designs_of_game(compile_game(s, p.id))
        out.append((d.order[0], d.levels[0][space.relievable]))
    return out


def _local_search(
    space: _Space, ev: _Evaluator, order: I64, relief: np.ndarray, rounds: int = 50
) -> tuple[I64, np.ndarray, tuple[float, float]]:
    """Coordinate ascent: each measure's staircase, then every swap of two steps."""
    n = space.n
    p, q, _ = ev.keys(_designs(order[None, :], relief[None], space))
    best = (float(p[0]), float(q[0]))
    for _ in range(rounds):
        improved = False
        for i, m in enumerate(space.relievable):
            st = space.stairs[m]
            rel = np.repeat(relief[None], len(st), axis=0)
            rel[:, i, :] = st
            p, q, _ = ev.keys(_designs(np.repeat(order[None], len(st), axis=0), rel, space))
            j = _best_index(p, q)
            if (float(p[j]), float(q[j])) > best:
                best, relief, improved = (float(p[j]), float(q[j])), rel[j], True
        swaps = [(a, b) for a in range(n) for b in range(a + 1, n)]
        if swaps:
            ords = np.repeat(order[None], len(swaps), axis=0)
            for r, (a, b) in enumerate(swaps):
                ords[r, [a, b]] = ords[r, [b, a]]
            p, q, _ = ev.keys(_designs(ords, np.repeat(relief[None], len(swaps), axis=0), space))
            j = _best_index(p, q)
            if (float(p[j]), float(q[j])) > best:
                best, order, improved = (float(p[j]), float(q[j])), ords[j], True
        if not improved:
            break
    return order, relief, best


def _heuristic(
    s: Scenario, space: _Space, ev: _Evaluator, rng: np.random.Generator, restarts: int
) -> tuple[I64, np.ndarray]:
    g, n = space.game, space.n
    orders: list[tuple[int, ...]] = []
    if math.factorial(n) <= 5040:
        orders = list(permutations(range(n)))
    else:
        w = g.cost + g.upkeep / max(1e-9, 1.0 - g.target_discount)
        orders.append(tuple(np.argsort(g.cost, kind="stable").tolist()))
        orders.append(tuple(np.argsort(w, kind="stable").tolist()))
        orders.append(tuple(np.argsort(w / np.maximum(g.verify, 1e-3), kind="stable").tolist()))
        orders += [tuple(rng.permutation(n).tolist()) for _ in range(400)]
    starts: list[tuple[I64, np.ndarray, tuple[float, float]]] = []
    for chunk_start in range(0, len(orders), 500):
        chunk = orders[chunk_start : chunk_start + 500]
        Os, Rs = [], []
        for perm in chunk:
            arr = np.array(perm, dtype=np.int64)
            T = _templates(space, arr, rng, n_random=4)
            Os.append(np.repeat(arr[None], len(T), axis=0))
            Rs.append(T)
        ords, R = np.concatenate(Os), np.concatenate(Rs)
        p, q, _ = ev.keys(_designs(ords, R, space))
        for j in np.lexsort((-q, -p))[:8]:
            starts.append((ords[j], R[j], (float(p[j]), float(q[j]))))
    for own, rel in _own_designs(s, space):
        starts.append((own, rel, (-math.inf, -math.inf)))
    starts.sort(key=lambda x: x[2], reverse=True)
    best: tuple[float, float] | None = None
    best_design: tuple[I64, np.ndarray] | None = None
    seen: set[bytes] = set()
    picked = 0
    for _ in range(restarts):  # random restarts, drawn from the seeded generator
        perm_r: I64 = rng.permutation(n).astype(np.int64)
        rel = np.array(
            [space.stairs[m][rng.integers(len(space.stairs[m]))] for m in space.relievable],
            dtype=np.int8,
        ).reshape(len(space.relievable), n + 1)
        starts.append((perm_r, rel, (-math.inf, -math.inf)))
    for start, r, _ in starts:
        key = start.tobytes() + r.tobytes()
        if key in seen:
            continue
        seen.add(key)
        picked += 1
        if picked > 12 + restarts:
            break
        o2, r2, val = _local_search(space, ev, start, r)
        if best is None or val > best:
            best, best_design = val, (o2, r2)
    assert best_design is not None
    return best_design


# --------------------------------------------------------------------------- bound


def resolved_bound(space: _Space) -> float:
    """Proven upper bound on the expected number of concerns verified by the horizon."""
    g, n, H = space.game, space.n, space.game.horizon
    d = g.target_discount
    dpi = (
        float(
            g.impact[space.relievable]
            @ np.where(
                g.initial_measures[space.relievable] == CURTAILED, g.curtail[space.relievable], 1.0
            )
        )
        if space.relievable
        else 0.0
    )
    annuity = (1.0 - d**H) / (1.0 - d) + ((d**H) / (1.0 - d) if g.tail_persist else 0.0)
    R = dpi * annuity
    w = 1.0 / (1.0 - d) if g.tail_persist else 1.0
    unit = np.sort((g.cost + g.upkeep * w) * d ** (H - 1))
    cum = np.concatenate([[0.0], np.cumsum(unit)])
    cap = float(min(n, H))
    if cum[-1] <= R + 1e-12:
        return cap
    j = int(np.searchsorted(cum, R + 1e-12, side="right")) - 1  # cum[j] <= R < cum[j+1]
    x = j + (R - cum[j]) / unit[j] if unit[j] > 0 else float(j + 1)
    return float(min(cap, x))


def _value_bound(space: _Space, objective: str) -> float:
    g = space.game
    dp = g.power_discount
    horizon_w = 1.0 / (1.0 - dp) if g.tail_persist else (1.0 - dp**g.horizon) / (1.0 - dp)
    fixed = np.ones(g.n_measures, dtype=bool)  # measures no design can relieve
    fixed[space.relievable] = False
    f = np.where(
        g.initial_measures == ACTIVE, 1.0, np.where(g.initial_measures == CURTAILED, g.curtail, 0.0)
    )
    per_period = np.maximum(g.value, 0).sum(axis=1) - np.minimum(
        g.burden * (f * fixed)[None, :], g.burden * f[None, :]
    ).sum(axis=1)
    total = float((per_period * horizon_w).sum())
    if objective == "welfare":
        td = g.target_discount
        tw = 1.0 / (1.0 - td) if g.tail_persist else (1.0 - td**g.horizon) / (1.0 - td)
        impact_left = float(g.impact @ (f * fixed))
        total += -impact_left * tw
    return total


# --------------------------------------------------------------------------- API


def _policy_dict(space: _Space, order: I64, relief: np.ndarray, note: str) -> dict[str, Any]:
    g = space.game
    ids = g.concern_ids
    out_relief: dict[str, list[dict[str, str]]] = {}
    for k in range(1, space.n + 1):
        acts = []
        for i, m in enumerate(space.relievable):
            lv, prev = int(relief[i, k]), int(relief[i, k - 1])
            if lv > prev:
                action = "curtail" if lv == CURTAIL else "freeze"
                acts.append({"measure": g.measure_ids[m], "action": action})
        if acts:
            out_relief[ids[int(order[k - 1])]] = acts
    return {
        "id": DESIGN_ID,
        "name": "Designed roadmap (stepdeal design)",
        "kind": "step_by_step",
        "order": [ids[int(i)] for i in order],
        "strict": True,
        "relief": out_relief,
        "note": note,
    }


def _p_resolved(game: Game, order: I64, solution: BestResponse | None = None) -> F64:
    """Probability that the step at each position is verified by the horizon."""
    sol = solve_best_response(game) if solution is None else solution
    p: F64 = path_outcomes(sol).p_verified[order]
    return p


def design(
    scenario: Scenario,
    objective: str = "resolved",
    rng: int | np.random.Generator | None = 0,
    max_exact: int = DEFAULT_MAX_EXACT,
    restarts: int = DEFAULT_RESTARTS,
) -> DesignResult:
    """Design the strict step-by-step roadmap of ``scenario`` that maximises ``objective``.

    Exhaustive (``status == "exact"``) when the design space has at most ``max_exact``
    designs; otherwise a heuristic seeded by ``rng`` (the best 12 template starts
    plus ``restarts`` random starts, each improved by coordinate ascent) with a proven
    ``bound``.
    Raises :class:`DesignRefused` for scenarios outside the designer's reach.
    """
    if objective not in OBJECTIVES:
        raise DesignRefused(
            f"unknown objective {objective!r}. Fix: use one of {', '.join(OBJECTIVES)}"
        )
    clock = time.perf_counter()
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    space = _space(scenario)
    ev = _Evaluator(space, objective)
    size = space.size
    if size <= max_exact:
        order, relief = _exhaustive(space, ev)
        status, method = "exact", f"exhaustive search over all {size:,} designs"
    else:
        order, relief = _heuristic(scenario, space, ev, gen, restarts)
        status = "bounded"
        method = (
            f"heuristic (template and {restarts} random starts, each improved by coordinate "
            f"ascent); "
            f"the space has {size:.3g} designs, above the exhaustive limit {max_exact:,}"
        )
    p, _, sol = ev.keys(_designs(order[None], relief[None], space))
    note = (
        f"Designed by `stepdeal design` (objective: {objective}; {status}; {method}). "
        f"Every step on its equilibrium path is the target's best reply; votes follow the "
        f"members' rules (see `stepdeal check --policy {DESIGN_ID}`)."
    )
    policy = _policy_dict(space, order, relief, note)
    designed = _with_policy(scenario, policy)
    game = compile_game(designed, DESIGN_ID)
    full = solve_best_response(game)
    warnings: list[str] = []
    if not math.isclose(full.value, float(sol.value[0]), rel_tol=1e-9, abs_tol=1e-9):
        raise RuntimeError(  # an internal inconsistency, never a user error
            f"chain solver {float(sol.value[0])} != full solver {full.value} on the design"
        )
    probs = _p_resolved(game, order, full)  # reuses the full solve above
    ids = game.concern_ids
    resolved = [ids[int(order[i])] for i in range(space.n) if probs[i] >= 0.5]
    primary = float(p[0])
    if objective == "resolved":
        bound = resolved_bound(space)
    else:
        bound = max(primary, _value_bound(space, objective))
    if status == "bounded" and primary >= bound - 1e-9:
        status = "exact"  # the heuristic reached the proven bound: optimal
        method += "; it reaches the proven upper bound, so it is optimal"
    if status == "exact":
        bound = primary
    else:
        warnings.append(
            "heuristic search: another --seed or more --restarts may find a better roadmap"
        )
    return DesignResult(
        scenario=designed,
        policy=policy,
        objective_name=objective,
        objective=primary,
        bound=round(bound, 9),
        status=status,
        resolved=resolved,
        p_resolved={ids[int(order[i])]: round(float(probs[i]), 9) for i in range(space.n)},
        expected_resolved=round(float(sol.expected_resolved[0]), 9),
        powers_total=round(float(sol.power_value[0].sum()), 9),
        target_utility=round(full.value, 9),
        power_utility={k: round(v, 9) for k, v in full.power_value.items()},
        method=method,
        space_size=size,
        evaluated=ev.count,
        seconds=time.perf_counter() - clock,
        warnings=warnings,
    )
