r"""Perfect Bayesian equilibrium when the target has private types.

The target is of one of finitely many types :math:`k \in K` (``types`` in the
scenario) with prior :math:`\pi`; it knows its type, the powers do not. Types
differ only in payoffs (step costs, upkeep, reversal costs, the impact of each
measure, and the powers' value of a verified step), never in what they may do.
The powers hold a common belief :math:`\mu` over types. Every declared step and
reversal is public, so the belief is updated by Bayes' rule on the target's
action at the decision stage of each period, before verification and the votes
of that period (verification does not depend on the type, so updating again on
its outcome changes nothing). Rules may read the belief: ``relief_if_belief``
(relief is tabled only while :math:`\mu(k) \ge \theta`) and belief vote rules.

Exact beliefs. Type strategies are pure, so every posterior is the prior
restricted to a set of types :math:`b \subseteq K` and renormalised:
:math:`\mu_b(k) = \pi_k [k\in b] / \sum_{j \in b} \pi_j`. A node of the game is
:math:`(t, C, M, b)`; beliefs only shrink along a path, so there are at most
:math:`2^{|K|}-1` of them per state and the node set is finite and exact (no grid).

Backward induction. With :math:`W_k(t, x, b')` type :math:`k`'s expected value
after taking action :math:`a` (post-decision state :math:`x`) when the powers'
belief becomes :math:`b'` (verification, votes under :math:`\mu_{b'}`, the period's
payoff and :math:`V_k(t+1,\cdot)`), the payoff of action :math:`a` to type
:math:`k` is :math:`U_k(a, b') = W_k(t, x(a), b') - c_k(a)`. At each node the types
in the support :math:`b` play a pure profile :math:`\sigma` such that

* on-path beliefs follow Bayes' rule: :math:`b'(a) = \{k \in b : \sigma_k = a\}`;
* off-path beliefs follow the **intuitive criterion** (Cho and Kreps 1987) in its
  constructive form: after an unused action :math:`a` the powers believe the prior
  restricted to the types :math:`k \in b` for which :math:`a` is not equilibrium
  dominated, :math:`\max_{b''\subseteq b} U_k(a,b'') > U_k(\sigma_k, b'(\sigma_k))`;
  if no type could gain, the belief does not change;
* no type gains by deviating: :math:`U_k(\sigma_k, b'(\sigma_k)) \ge U_k(a, b'(a))`
  for every :math:`a` (tolerance :math:`10^{-9}` relative).

Among the profiles that qualify, the solver selects the one with the highest
belief-weighted value :math:`\sum_{k\in b}\mu_b(k) U_k` (ties: the first profile in
canonical order, i.e. no step first, type by type in file order). Types outside
the support best-respond to the resulting belief map (they reach such nodes only
after an off-path move). If no pure profile qualifies, the profile with the least
maximal gain from deviating is used, the node is flagged and the solution's
``status`` becomes ``approximate`` with that gain as ``epsilon``: mixed
(semi-separating) profiles are not searched.

Each node is labelled ``pooling`` (all types in the support play the same action),
``separating`` (all play different actions), ``partial`` (some pool, some do not:
three or more types) or ``known`` (a single type in the support).

Games whose rules never read the belief (no ``relief_if_belief``, no belief votes)
are *belief-free*: every type's problem is then its own complete-information
problem, solved by :func:`~stepdeal.solve.best_response.solve_best_response` on
:meth:`~stepdeal.mechanisms.game.Game.for_type`; beliefs are tracked for reporting
only (Bayes on path, unchanged off path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import product
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ..mechanisms.game import F64, I64, PENDING, U8, VERIFIED, Game
from ..mechanisms.rules import (
    allowed_actions,
    apply_action,
    power_payoffs,
    resolve,
    target_payoff,
    verification_outcomes,
    vote_costs,
)
from ..mechanisms.state import find_key
from .best_response import (
    DEFAULT_MAX_SIZE,
    TIE_TOLERANCE,
    BestResponse,
    StateGraphTooLarge,
    solve_best_response,
    verification_split,
)

#: the largest type space solved jointly (2^K - 1 beliefs per state)
MAX_TYPES = 6


class TypesNotSupported(ValueError):
    """A feature the typed solver does not handle; nothing was solved."""


def belief_of(game: Game, b: int) -> F64:
    """Posterior :math:`\\mu_b`: the prior restricted to the type set ``b`` (a bit mask)."""
    mask = np.array([(b >> k) & 1 for k in range(game.n_types)], dtype=bool)
    w = np.where(mask, game.prior, 0.0)
    total = w.sum()
    return w / total if total > 0 else w


def support(game: Game) -> int:
    """Bit mask of the types with a positive prior (the initial belief)."""
    return sum(1 << k for k in range(game.n_types) if game.prior[k] > 0)


def submasks(b: int) -> list[int]:
    """Every nonempty subset of ``b``, ascending."""
    out, s = [], b
    while s:
        out.append(s)
        s = (s - 1) & b
    return sorted(out)


def types_in(b: int, n: int) -> list[int]:
    return [k for k in range(n) if (b >> k) & 1]


def classify(actions: list[int]) -> str:
    """Label of a node's profile (actions of the types in the support)."""
    distinct = len(set(actions))
    if len(actions) <= 1:
        return "known"
    if distinct == 1:
        return "pooling"
    if distinct == len(actions):
        return "separating"
    return "partial"


class TypedPlay(Protocol):
    """What simulation and analysis need from a solved typed game."""

    game: Game

    def choose(self, t: int, C: U8, M: U8, b: int, k: int) -> int:
        """Action index played by type ``k`` at node ``(t, C, M, b)``."""
        ...

    def posterior(self, t: int, C: U8, M: U8, b: int, a: int) -> int:
        """Belief (type mask) after action index ``a`` at node ``(t, C, M, b)``."""
        ...

    def node_kind(self, t: int, C: U8, M: U8, b: int) -> str:
        """``pooling``, ``separating``, ``partial`` or ``known`` at the node."""
        ...

    def node_epsilon(self, t: int, C: U8, M: U8, b: int) -> float:
        """0 where the node's profile is an exact PBE, else the largest deviation gain."""
        ...


# --------------------------------------------------------------------------- states


def _key_rows(C: U8, M: U8, b: I64) -> NDArray[np.void]:
    X = np.ascontiguousarray(
        np.concatenate([C, M, b.astype(np.uint8)[:, None]], axis=1), dtype=np.uint8
    )
    return X.view(np.dtype((np.void, X.shape[1])))[:, 0]


def _unique(C: U8, M: U8, b: I64) -> tuple[U8, U8, I64, I64, NDArray[np.void]]:
    keys = _key_rows(C, M, b)
    uk, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return C[first], M[first], b[first], inverse.astype(np.int64).ravel(), uk


@dataclass
class _Chance:
    parent: I64
    child: I64
    prob: F64
    n_parents: int


@dataclass
class TypedLayer:
    """Nodes ``(C, M, b)`` at the start of one period and their solved play."""

    C: U8
    M: U8
    b: I64
    keys: NDArray[np.void]
    pair_node: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_action: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_cost: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # (pairs, K)
    cand_pair: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    cand_b: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    cand_x: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    stages: list[_Chance] = field(default_factory=list)
    end_payoff: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # (end, K)
    end_payoff_p: F64 = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (end, K, P)
    end_next: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    V: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # (nodes, K)
    VP: F64 = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (nodes, K, P)
    best: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (nodes, K)
    pair_post: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # belief after pair
    kind: list[str] = field(default_factory=list)
    epsilon: F64 = field(default_factory=lambda: np.zeros(0))
    W: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # per candidate, per type
    #: the candidate (pair, equilibrium belief after it) of every pair
    pair_cand: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_nodes(self) -> int:
        return int(self.C.shape[0])

    def index(self, C: U8, M: U8, b: int) -> int:
        key = _key_rows(
            np.asarray(C, np.uint8)[None, :],
            np.asarray(M, np.uint8)[None, :],
            np.array([b], dtype=np.int64),
        )[0]
        return find_key(self.keys, key, "node")


@dataclass
class TypedSolution:
    """A perfect Bayesian equilibrium of a typed game (see the module docstring)."""

    game: Game
    layers: list[TypedLayer]
    value: dict[str, float]  # per type: its expected utility from the start
    power_value: dict[str, float]  # prior-weighted powers' expected utilities
    power_value_by_type: dict[str, dict[str, float]]
    status: str = "exact"
    epsilon: float = 0.0
    method: str = "backward induction over (period, state, belief); pure type strategies"
    refinement: str = "intuitive criterion (off-path beliefs on types not equilibrium-dominated)"
    seconds: float = 0.0
    n_nodes: int = 0
    flagged_nodes: int = 0

    def _layer(self, t: int) -> TypedLayer:
        return self.layers[t]

    def choose(self, t: int, C: U8, M: U8, b: int, k: int) -> int:
        L = self._layer(t)
        return int(L.best[L.index(C, M, b), k])

    def posterior(self, t: int, C: U8, M: U8, b: int, a: int) -> int:
        L = self._layer(t)
        n = L.index(C, M, b)
        rows = np.flatnonzero((L.pair_node == n) & (L.pair_action == a))
        if rows.size == 0:
            raise KeyError(f"action {a} not allowed at this node")
        return int(L.pair_post[rows[0]])

    def node_kind(self, t: int, C: U8, M: U8, b: int) -> str:
        L = self._layer(t)
        return L.kind[L.index(C, M, b)]

    def node_epsilon(self, t: int, C: U8, M: U8, b: int) -> float:
        """Largest gain from deviating at the node (0: the profile is an exact PBE)."""
        L = self._layer(t)
        return float(L.epsilon[L.index(C, M, b)])

    def q_values(self, t: int, C: U8, M: U8, b: int, k: int) -> dict[tuple[int, ...], float]:
        """Type ``k``'s value of every allowed action at the node, each followed by the
        belief the equilibrium assigns to it (Bayes on path, the refinement off path)."""
        L = self._layer(t)
        node = L.index(C, M, b)
        U, p0, p1 = _node_payoffs(L, node, self.game.n_types)
        subs = submasks(b)
        out: dict[tuple[int, ...], float] = {}
        for j in range(p1 - p0):
            post = int(L.pair_post[p0 + j])
            out[self.game.actions[int(L.pair_action[p0 + j])]] = float(U[k, j, subs.index(post)])
        return out

    def never_value(self, t: int, C: U8, M: U8, b: int, k: int, forbid: int) -> float:
        """Type ``k``'s best value from the node if it may never take concern ``forbid``,
        the other types' strategies and the equilibrium belief map held fixed (a
        one-type deviation, solved by backward induction over the same layers)."""
        game = self.game
        H = game.horizon
        V = self.layers[H].V[:, k].copy()
        for u in range(H - 1, t - 1, -1):
            L = self.layers[u]
            E = L.end_payoff[:, k] + game.target_discount * V[L.end_next]
            for st in reversed(L.stages):
                E = _expect(st, E[:, None])[:, 0]
            q = E[L.cand_x][L.pair_cand] - L.pair_cost[:, k]
            q = np.where(game.action_mask[L.pair_action, forbid], -np.inf, q)
            starts = np.searchsorted(L.pair_node, np.arange(L.n_nodes))
            V = np.maximum.reduceat(q, starts)
        return float(V[self.layers[t].index(C, M, b)])

    def equilibria(self, t: int, C: U8, M: U8, b: int) -> list[dict[str, object]]:
        """Every pure-profile PBE at one node (not only the selected one), each with the
        action per type in the support, the label and the types' payoffs."""
        L = self._layer(t)
        node = L.index(C, M, b)
        K = self.game.n_types
        U, p0, _ = _node_payoffs(L, node, K)
        T = types_in(b, K)
        out: list[dict[str, object]] = []
        for prof, _post, star, gain in _profiles(U, b, K):
            if gain > 0.0:
                continue
            acts = [int(L.pair_action[p0 + j]) for j in prof]
            out.append(
                {
                    "actions": {
                        self.game.type_ids[k]: self.game.action_label(acts[i])
                        for i, k in enumerate(T)
                    },
                    "kind": classify(list(prof)),
                    "payoffs": {self.game.type_ids[k]: star[i] for i, k in enumerate(T)},
                }
            )
        return out

    def stats(self) -> dict[str, object]:
        return {
            "status": self.status,
            "method": self.method,
            "refinement": self.refinement,
            "epsilon": self.epsilon,
            "seconds": round(self.seconds, 6),
            "nodes": self.n_nodes,
            "flagged_nodes": self.flagged_nodes,
        }


@dataclass
class BeliefFreeSolution:
    """Typed game whose rules never read the belief: one exact solve per type."""

    game: Game
    per_type: list[BestResponse]
    value: dict[str, float]
    power_value: dict[str, float]
    power_value_by_type: dict[str, dict[str, float]]
    status: str = "exact"
    epsilon: float = 0.0
    method: str = "belief-free: each type's exact best response (beliefs only reported)"
    refinement: str = "none needed (no rule reads the belief); off-path beliefs unchanged"
    seconds: float = 0.0

    def choose(self, t: int, C: U8, M: U8, b: int, k: int) -> int:
        sol = self.per_type[k]
        layer = sol.layer(t)
        return int(layer.best[layer.index(C, M)])

    def posterior(self, t: int, C: U8, M: U8, b: int, a: int) -> int:
        same = [k for k in types_in(b, self.game.n_types) if self.choose(t, C, M, b, k) == a]
        return sum(1 << k for k in same) if same else b

    def node_kind(self, t: int, C: U8, M: U8, b: int) -> str:
        return classify([self.choose(t, C, M, b, k) for k in types_in(b, self.game.n_types)])

    def node_epsilon(self, t: int, C: U8, M: U8, b: int) -> float:
        return 0.0

    def stats(self) -> dict[str, object]:
        return {
            "status": self.status,
            "method": self.method,
            "refinement": self.refinement,
            "epsilon": 0.0,
            "seconds": round(self.seconds, 6),
            "nodes": sum(s.n_states for s in self.per_type),
            "flagged_nodes": 0,
            # the complete-information solver's counts, summed over the per-type solves
            "states": sum(s.n_states for s in self.per_type),
            "state_actions": sum(s.n_pairs for s in self.per_type),
            "chance_edges": sum(s.n_outcomes for s in self.per_type),
        }


AnyTypedSolution = TypedSolution | BeliefFreeSolution


def _check_supported(game: Game) -> None:
    if game.n_types == 0:
        raise TypesNotSupported("the scenario declares no types: use solve_best_response")
    if game.has_strategic:
        raise TypesNotSupported(
            "strategic voters with target types are not solved yet (their vote would depend "
            "on the belief-weighted future). Fix: give those members yes, no, sincere, "
            "conditional or belief vote rules, or remove the types block"
        )
    if game.belief_dependent and game.n_types > MAX_TYPES:
        raise TypesNotSupported(
            f"{game.n_types} types with belief-dependent rules: at most {MAX_TYPES} are solved "
            "jointly. Fix: merge types, or drop relief_if_belief and belief votes"
        )


def solve_typed(game: Game, max_size: int = DEFAULT_MAX_SIZE) -> AnyTypedSolution:
    """Solve a game with target types; see the module docstring for the equilibrium.

    Raises :class:`TypesNotSupported` or :class:`StateGraphTooLarge`.
    """
    _check_supported(game)
    clock = time.perf_counter()
    if not game.belief_dependent:
        sols = [solve_best_response(game.for_type(k), max_size) for k in range(game.n_types)]
        value = {tid: s.value for tid, s in zip(game.type_ids, sols, strict=True)}
        by_type = {tid: dict(s.power_value) for tid, s in zip(game.type_ids, sols, strict=True)}
        return BeliefFreeSolution(
            game=game,
            per_type=sols,
            value=value,
            power_value=_weighted(game, by_type),
            power_value_by_type=by_type,
            seconds=time.perf_counter() - clock,
        )
    return _solve_joint(game, max_size, clock)


def _weighted(game: Game, by_type: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        p: float(sum(game.prior[k] * by_type[tid][p] for k, tid in enumerate(game.type_ids)))
        for p in game.power_ids
    }


# --------------------------------------------------------------------------- forward


def _submask_table(K: int) -> tuple[I64, I64]:
    """Per type mask: how many nonempty subsets it has, and those subsets ascending
    (rows padded with 0)."""
    all_subs = [submasks(m) if m else [] for m in range(1 << K)]
    table = np.zeros((1 << K, max(1, max(len(x) for x in all_subs))), dtype=np.int64)
    for m, xs in enumerate(all_subs):
        table[m, : len(xs)] = xs
    return np.array([len(x) for x in all_subs], dtype=np.int64), table


def _forward(game: Game, t: int, L: TypedLayer, budget: list[int]) -> TypedLayer:
    K = game.n_types
    allowed = allowed_actions(game, L.C)
    pair_node, pair_action = np.nonzero(allowed)
    L.pair_node, L.pair_action = pair_node.astype(np.int64), pair_action.astype(np.int64)
    taken = game.action_mask[L.pair_action].astype(np.float64)
    rev = game.reverse_mask[L.pair_action].astype(np.float64)
    L.pair_cost = taken @ game.type_cost.T + rev @ game.type_reversal_cost.T  # (pairs, K)
    # every posterior the powers might hold after each pair: subsets of the node's belief
    n_sub, sub_table = _submask_table(K)
    pair_b = L.b[L.pair_node]
    counts = n_sub[pair_b]
    cand_pair = np.repeat(np.arange(L.pair_node.size), counts)
    offset = np.arange(cand_pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cand_b = sub_table[pair_b[cand_pair], offset]
    budget[0] += int(cand_pair.size)
    if budget[0] > budget[1]:
        raise StateGraphTooLarge(
            f"the typed game of policy {game.policy.id!r} exceeds the budget of {budget[1]:,} "
            f"elements at period {t}. Fix: fewer types, a strict order or a shorter horizon"
        )
    C, _, _ = apply_action(game, L.C[L.pair_node[cand_pair]], L.pair_action[cand_pair])
    C[(C == PENDING) & (game.verify >= 1.0)[None, :]] = VERIFIED
    C, M, b, L.cand_x, _ = _unique(C, L.M[L.pair_node[cand_pair]], cand_b)
    L.cand_pair, L.cand_b = cand_pair, cand_b
    L.stages = []
    for i in np.flatnonzero((game.verify > 0.0) & (game.verify < 1.0)):
        split = verification_split(C, int(i), float(game.verify[i]))
        if split is None:
            continue
        parent, prob, C2 = split
        n = C.shape[0]
        C, M, b, child, _ = _unique(C2, M[parent], b[parent])
        L.stages.append(_Chance(parent, child, prob, n))
        budget[0] += int(parent.size)
    mu = np.stack([belief_of(game, m) for m in range(1 << K)])[b]
    M_end, recs = resolve(game, t, C, M, mu=mu, record=True)
    paid = vote_costs(game, recs, C.shape[0])  # veto costs of the period's no votes
    L.end_payoff = np.stack(
        [target_payoff(game.for_type(k), C, M_end) for k in range(K)], axis=1
    ).reshape(C.shape[0], K)
    L.end_payoff_p = (
        np.stack([power_payoffs(game.for_type(k), C, M_end) for k in range(K)], axis=1).reshape(
            C.shape[0], K, game.n_powers
        )
        - paid[:, None, :]
    )
    Cn, Mn, bn, L.end_next, keys = _unique(C, M_end, b)
    budget[0] += int(Cn.shape[0])
    return TypedLayer(Cn, Mn, bn, keys)


# --------------------------------------------------------------------------- backward


def _expect(st: _Chance, E: F64) -> F64:
    flat = E.reshape(E.shape[0], -1)
    F = flat.shape[1]
    w = st.prob[:, None] * flat[st.child]  # (edges, F)
    idx = (st.parent[:, None] * F + np.arange(F)[None, :]).ravel()
    out = np.bincount(idx, weights=w.ravel(), minlength=st.n_parents * F)
    return out.reshape((st.n_parents, *E.shape[1:]))


def _tol(x: float) -> float:
    return TIE_TOLERANCE * max(1.0, abs(x))


def _profiles(
    U: F64, b: int, K: int
) -> list[tuple[tuple[int, ...], list[int], list[float], float]]:
    """Every pure profile of the types in ``b`` at one node, in canonical order, with the
    belief after every action position, each type's payoff and the largest gain from
    deviating (``<= 0``: the profile is an equilibrium). ``U[k, j, s]``: type ``k``'s
    payoff of action position ``j`` when the belief becomes ``submasks(b)[s]``."""
    subs = submasks(b)
    sidx = {m: i for i, m in enumerate(subs)}
    T = types_in(b, K)
    nA = U.shape[1]
    out = []
    for prof in product(range(nA), repeat=len(T)):
        post = [0] * nA
        for i, k in enumerate(T):
            post[prof[i]] |= 1 << k
        star = [float(U[k, prof[i], sidx[post[prof[i]]]]) for i, k in enumerate(T)]
        for j in range(nA):
            if post[j]:
                continue
            plaus = 0
            for i, k in enumerate(T):
                if U[k, j, :].max() > star[i] + _tol(star[i]):
                    plaus |= 1 << k
            post[j] = plaus if plaus else b
        gain = 0.0
        for i, k in enumerate(T):
            dev = max(float(U[k, j, sidx[post[j]]]) for j in range(nA))
            gain = max(gain, dev - star[i] - _tol(star[i]))
        out.append((prof, post, star, gain))
    return out


def _node_payoffs(L: TypedLayer, node: int, K: int) -> tuple[F64, int, int]:
    """``U[k, j, s]`` at one node from the layer's stored continuation values."""
    b = int(L.b[node])
    n_sub = len(submasks(b))
    p0 = int(np.searchsorted(L.pair_node, node))
    p1 = int(np.searchsorted(L.pair_node, node + 1))
    U = np.empty((K, p1 - p0, n_sub))
    for j in range(p1 - p0):
        c0 = int(np.searchsorted(L.cand_pair, p0 + j))
        U[:, j, :] = (L.W[c0 : c0 + n_sub] - L.pair_cost[p0 + j][None, :]).T
    return U, p0, p1


def _groups(b: I64, n_act: I64) -> dict[tuple[int, int], I64]:
    """Node indices grouped by (belief set, number of allowed actions)."""
    out: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(b.tolist(), n_act.tolist(), strict=True)):
        out.setdefault(key, []).append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def _solve_group(
    game: Game,
    L: TypedLayer,
    W: F64,
    WP: F64,
    nodes: I64,
    b: int,
    nA: int,
    pair_start: I64,
    cand_start: I64,
) -> F64:
    """The node equilibrium (module docstring) for every node of ``nodes`` at once
    (the same belief set ``b`` and ``nA`` allowed actions); writes the layer's solution
    and returns the epsilons.

    The profiles are enumerated in the canonical order of :func:`_profiles`, with its
    Bayes and intuitive-criterion beliefs and deviation test; the selection and tie
    rules are the module docstring's. ``tests/reference_pbe.py`` solves one node at a
    time from :func:`_profiles` and a test compares every node."""
    K = game.n_types
    subs = submasks(b)
    n_sub = len(subs)
    sidx = np.full(1 << K, -1, dtype=np.int64)
    sidx[subs] = np.arange(n_sub)
    T = types_in(b, K)
    G = nodes.size
    pairs = pair_start[nodes][:, None] + np.arange(nA)[None, :]  # (G, nA)
    cands = cand_start[pairs][:, :, None] + np.arange(n_sub)[None, None, :]  # (G, nA, S)
    U = (
        np.transpose(W[cands], (0, 3, 1, 2))
        - np.transpose(L.pair_cost[pairs], (0, 2, 1))[:, :, :, None]
    )  # (G, K, nA, S)
    umax = U.max(axis=3)  # best payoff of each action under some belief (G, K, nA)
    mu = belief_of(game, b)
    rows = np.arange(G)
    best_w = np.zeros(G)  # read only where best_prof >= 0
    best_prof = np.full(G, -1, dtype=np.int64)
    least_gain = np.full(G, np.inf)
    least_prof = np.full(G, -1, dtype=np.int64)
    profiles = list(product(range(nA), repeat=len(T)))
    posts: list[I64] = []
    for pi, prof in enumerate(profiles):
        on = [0] * nA
        for i, k in enumerate(T):
            on[prof[i]] |= 1 << k
        star = np.stack([U[:, k, prof[i], sidx[on[prof[i]]]] for i, k in enumerate(T)], axis=1)
        tol = TIE_TOLERANCE * np.maximum(1.0, np.abs(star))  # (G, |T|)
        post = np.empty((G, nA), dtype=np.int64)
        for j in range(nA):
            if on[j]:
                post[:, j] = on[j]
                continue
            plaus = np.zeros(G, dtype=np.int64)
            for i, k in enumerate(T):
                plaus |= np.where(umax[:, k, j] > star[:, i] + tol[:, i], 1 << k, 0)
            post[:, j] = np.where(plaus != 0, plaus, b)
        posts.append(post)
        dev_idx = sidx[post]  # (G, nA)
        gain = np.zeros(G)
        for i, k in enumerate(T):
            dev = U[rows[:, None], k, np.arange(nA)[None, :], dev_idx].max(axis=1)
            gain = np.maximum(gain, dev - star[:, i] - tol[:, i])
        eq = gain <= 0.0
        w = (star * mu[T][None, :]).sum(axis=1)
        better = eq & (
            (best_prof < 0) | (w > best_w + TIE_TOLERANCE * np.maximum(1.0, np.abs(best_w)))
        )
        best_w = np.where(better, w, best_w)
        best_prof = np.where(better, pi, best_prof)
        worse = ~eq & (gain < least_gain)
        least_gain = np.where(worse, gain, least_gain)
        least_prof = np.where(worse, pi, least_prof)
    exact = best_prof >= 0
    chosen = np.where(exact, best_prof, least_prof)
    eps = np.where(exact, 0.0, least_gain)
    prof_arr = np.array(profiles, dtype=np.int64).reshape(len(profiles), len(T))
    post_all = np.stack(posts)  # (P, G, nA)
    post = post_all[chosen, rows]  # (G, nA)
    dev_idx = sidx[post]
    acts = np.zeros((G, K), dtype=np.int64)
    for i, k in enumerate(T):
        acts[:, k] = prof_arr[chosen, i]
    for k in range(K):
        if (b >> k) & 1:
            continue  # not suspected: best response to the belief map (first within tol)
        vals = U[rows[:, None], k, np.arange(nA)[None, :], dev_idx]  # (G, nA)
        top = vals.max(axis=1)
        ok = vals >= (top - TIE_TOLERANCE * np.maximum(1.0, np.abs(top)))[:, None]
        acts[:, k] = ok.argmax(axis=1)
    labels = [classify(list(p)) for p in profiles]
    pair_of = pairs[rows[:, None], acts]  # (G, K) pair of each type's action
    cand_of = cands[rows[:, None], acts, dev_idx[rows[:, None], acts]]  # (G, K)
    L.best[nodes] = L.pair_action[pair_of]
    kk = np.arange(K)[None, :]
    L.V[nodes] = W[cand_of, kk] - L.pair_cost[pair_of, kk]
    L.VP[nodes] = WP[cand_of, kk]
    L.pair_post[pairs] = post
    L.pair_cand[pairs] = cands[rows[:, None], np.arange(nA)[None, :], dev_idx]
    for g, node in enumerate(nodes.tolist()):
        L.kind[node] = labels[int(chosen[g])]
    L.epsilon[nodes] = eps
    out: F64 = eps
    return out


def _solve_joint(game: Game, max_size: int, clock: float) -> TypedSolution:
    K, H = game.n_types, game.horizon
    C0, M0 = game.initial_state()
    b0 = np.array([support(game)], dtype=np.int64)
    layers = [TypedLayer(C0[None, :], M0[None, :], b0, _key_rows(C0[None, :], M0[None, :], b0))]
    budget = [0, max_size]
    for t in range(H):
        layers.append(_forward(game, t, layers[t], budget))
    last = layers[-1]
    n_last = last.n_nodes
    last.V = np.zeros((n_last, K))
    last.VP = np.zeros((n_last, K, game.n_powers))
    if game.tail_persist:
        for k in range(K):
            g = game.for_type(k)
            last.V[:, k] = target_payoff(g, last.C, last.M) / (1.0 - game.target_discount)
            last.VP[:, k, :] = power_payoffs(g, last.C, last.M) / (
                1.0 - game.power_discount[None, :]
            )
    dp = game.power_discount[None, None, :]
    eps_max, flagged = 0.0, 0
    for t in range(H - 1, -1, -1):
        L, nxt = layers[t], layers[t + 1]
        E = L.end_payoff + game.target_discount * nxt.V[L.end_next]
        EP = L.end_payoff_p + dp * nxt.VP[L.end_next]
        for st in reversed(L.stages):
            E, EP = _expect(st, E), _expect(st, EP)
        W, WP = E[L.cand_x], EP[L.cand_x]  # per candidate (pair, posterior)
        L.W = W
        n = L.n_nodes
        L.V = np.zeros((n, K))
        L.VP = np.zeros((n, K, game.n_powers))
        L.best = np.zeros((n, K), dtype=np.int64)
        L.pair_post = np.zeros(L.pair_node.size, dtype=np.int64)
        L.pair_cand = np.zeros(L.pair_node.size, dtype=np.int64)
        L.kind = [""] * n
        L.epsilon = np.zeros(n)
        cand_start = np.searchsorted(L.cand_pair, np.arange(L.pair_node.size + 1))
        pair_start = np.searchsorted(L.pair_node, np.arange(n + 1))
        n_act = np.diff(pair_start)
        # nodes with the same belief set and number of allowed actions are solved together
        for (b, nA), nodes in _groups(L.b, n_act).items():
            eps = _solve_group(game, L, W, WP, nodes, b, nA, pair_start, cand_start)
            if (eps > 0).any():
                flagged += int((eps > 0).sum())
                eps_max = max(eps_max, float(eps.max()))
    by_type = {
        tid: {p: float(layers[0].VP[0, k, j]) for j, p in enumerate(game.power_ids)}
        for k, tid in enumerate(game.type_ids)
    }
    return TypedSolution(
        game=game,
        layers=layers,
        value={tid: float(layers[0].V[0, k]) for k, tid in enumerate(game.type_ids)},
        power_value=_weighted(game, by_type),
        power_value_by_type=by_type,
        status="approximate" if flagged else "exact",
        epsilon=eps_max,
        seconds=time.perf_counter() - clock,
        n_nodes=sum(L.n_nodes for L in layers),
        flagged_nodes=flagged,
    )


# --------------------------------------------------------------------------- paths


@dataclass
class TypePath:
    """Exact distribution of play when the target is of one type."""

    type_id: str
    #: per period t: P(powers' belief in the true type after period t's action) (expected)
    belief_in_truth: list[float]
    #: per period: P(the powers are certain of the true type)
    p_certain: list[float]
    #: per period: expected number of concerns verified at the end of the period
    verified: list[float]
    #: per period: probability mass of nodes by label (pooling/separating/partial/known)
    kinds: list[dict[str, float]]
    #: first period in which the powers can be certain of the true type with P > 0
    first_certain: int | None
    #: per period: P(the belief in the true type is at least ``threshold``)
    p_at_least: list[float] = field(default_factory=list)
    threshold: float | None = None
    #: probability of reaching a node without a pure-strategy PBE (0: exact on the path)
    p_flagged: float = 0.0

    def to_dict(self) -> dict[str, object]:
        r = 6
        return {
            "type": self.type_id,
            "belief_in_truth": [round(x, r) for x in self.belief_in_truth],
            "p_certain": [round(x, r) for x in self.p_certain],
            "verified": [round(x, r) for x in self.verified],
            "first_certain": self.first_certain,
            "kinds": [{k: round(v, r) for k, v in d.items()} for d in self.kinds],
        }


def type_path(sol: AnyTypedSolution, k: int, threshold: float | None = None) -> TypePath:
    """Forward pass of the exact distribution of nodes when the true type is ``k``;
    with ``threshold``, also P(belief in the truth >= threshold) per period."""
    game = sol.game
    K = game.n_types
    nodes: dict[bytes, tuple[U8, U8, int, float]] = {}
    C0, M0 = game.initial_state()
    b0 = support(game)
    nodes[_node_key(C0, M0, b0)] = (C0, M0, b0, 1.0)
    out = TypePath(game.type_ids[k], [], [], [], [], None, threshold=threshold)
    for t in range(game.horizon):
        nxt: dict[bytes, tuple[U8, U8, int, float]] = {}
        bel = cert = ver = reached = 0.0
        kinds: dict[str, float] = {}
        for C, M, b, w in nodes.values():
            kind = sol.node_kind(t, C, M, b)
            kinds[kind] = kinds.get(kind, 0.0) + w
            if sol.node_epsilon(t, C, M, b) > 0:
                out.p_flagged += w
            a = sol.choose(t, C, M, b, k)
            b2 = sol.posterior(t, C, M, b, a)
            mu = belief_of(game, b2)
            bel += w * float(mu[k])
            cert += w * float(b2 == 1 << k)
            if threshold is not None and mu[k] >= threshold - 1e-12:
                reached += w
            Ca, _, _ = apply_action(game, C[None, :], np.array([a], dtype=np.int64))
            _rows, Cv, prob = verification_outcomes(game, Ca)
            Mv = np.repeat(M[None, :], Cv.shape[0], axis=0)
            Me, _ = resolve(game, t, Cv, Mv, mu=np.tile(mu, (Cv.shape[0], 1)))
            for i in range(Cv.shape[0]):
                key = _node_key(Cv[i], Me[i], b2)
                ver += w * float(prob[i]) * float((Cv[i] == VERIFIED).sum())
                old = nxt.get(key)
                mass = w * float(prob[i]) + (old[3] if old else 0.0)
                nxt[key] = (Cv[i].copy(), Me[i].copy(), b2, mass)
        out.belief_in_truth.append(bel)
        out.p_certain.append(cert)
        out.verified.append(ver)
        out.kinds.append(kinds)
        if threshold is not None:
            out.p_at_least.append(reached)
        if out.first_certain is None and cert > 0 and K > 1:
            out.first_certain = t
        nodes = nxt
    return out


def separation(sol: AnyTypedSolution) -> dict[str, object]:
    """Whether play reveals the target's type, from each type's exact path.

    ``verdict``: ``separating`` if every type is known to the powers by the end with
    probability 1, ``pooling`` if no type is ever known, else ``partial``; per type:
    the first period in which it can be known, P(known) and the expected belief in the
    truth at the end, and the expected number of concerns verified.
    """
    game = sol.game
    paths = [type_path(sol, k) for k in range(game.n_types)]
    certain_end = [p.p_certain[-1] if p.p_certain else 0.0 for p in paths]
    ever = [max(p.p_certain, default=0.0) for p in paths]
    if all(c >= 1.0 - 1e-9 for c in certain_end):
        verdict = "separating"
    elif all(e <= 1e-12 for e in ever):
        verdict = "pooling"
    else:
        verdict = "partial"
    return {
        "verdict": verdict,
        "exact_on_path": all(p.p_flagged == 0.0 for p in paths),
        "prior": {tid: float(game.prior[k]) for k, tid in enumerate(game.type_ids)},
        "types": {
            p.type_id: {
                "first_known": p.first_certain,
                "p_known_at_end": round(certain_end[k], 6),
                "belief_in_truth_at_end": round(p.belief_in_truth[-1], 6),
                "verified_at_end": round(p.verified[-1], 6),
            }
            for k, p in enumerate(paths)
        },
    }


class TypedOptimal:
    """Plays type ``k``'s equilibrium strategy and tracks the powers' belief (a
    :class:`~stepdeal.sim.engine.Strategy` and ``BeliefTracker`` in one)."""

    name = "optimal"

    def __init__(self, solution: AnyTypedSolution, k: int) -> None:
        self.solution, self.k = solution, k
        self.type_ids = solution.game.type_ids
        self.b = support(solution.game)

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        return game.actions[self.solution.choose(t, C, M, self.b, self.k)]

    def observe(self, t: int, C: U8, M: U8, action: int) -> F64:
        self.b = self.solution.posterior(t, C, M, self.b, action)
        return belief_of(self.solution.game, self.b)


def _node_key(C: U8, M: U8, b: int) -> bytes:
    return bytes(np.concatenate([C, M]).astype(np.uint8).tobytes()) + bytes([b])


__all__ = [
    "MAX_TYPES",
    "AnyTypedSolution",
    "BeliefFreeSolution",
    "TypePath",
    "TypedOptimal",
    "TypedPlay",
    "TypedSolution",
    "TypesNotSupported",
    "belief_of",
    "classify",
    "separation",
    "solve_typed",
    "submasks",
    "support",
    "type_path",
]
