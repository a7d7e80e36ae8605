r"""Exact best response of the target: backward induction over (period, state).

Given a compiled :class:`~stepdeal.mechanisms.game.Game` (scenario + policy +
vote rules), the target faces a finite-horizon Markov decision problem. With
:math:`S_t` the states reachable at the start of period :math:`t`,
:math:`A(s)` the step sets allowed in :math:`s`, :math:`o` a verification
outcome with probability :math:`P(o \mid s, a)`, :math:`r(s,a,o)` the target's
payoff of period :math:`t` and :math:`s'(s,a,o)` the state at its end,

.. math::

    V_H(s) = [\text{tail}=\text{persist}]\ \frac{\bar u(s)}{1-\delta},\qquad
    Q_t(s,a) = \sum_o P(o\mid s,a)\,\bigl(r(s,a,o) + \delta\, V_{t+1}(s'(s,a,o))\bigr),

    V_t(s) = Q_t(s, a^*_t(s)),\quad a^*_t(s) = \text{first } a \text{ in canonical order with }
    Q_t(s,a) \ge \max_b Q_t(s,b) - \varepsilon\,\max(1, |\max_b Q_t(s,b)|),

with :math:`\varepsilon = 10^{-9}` (ties go to no step, then fewer steps, then
earlier concerns). Then :math:`V_0(s_0)` is the target's expected utility
:math:`E[\sum_t \delta^t u_t + \text{tail}]`.

Algorithm. A period is split into stages so that equal intermediate states are
merged as early as possible: (1) the decision stage maps each (state, allowed
step set) pair to the state after the steps are taken; (2) one chance stage per
concern with 0 < ``verify`` < 1 branches each state with that concern pending
into "verified" (probability p) and "still pending" (1 − p); concerns with
``verify`` 1 are verified at once; (3) the policy and the votes (the shared
transition function :func:`~stepdeal.mechanisms.rules.resolve`) map each
post-verification state to the end-of-period state. After every stage equal
states are merged by their packed integer keys (``np.unique``). The payoff of the
period splits into −cost(step set), paid at the decision stage, and the payoff of
the end-of-period state. The forward pass enumerates the reachable graph
layer by layer with one vectorised call per stage; the backward pass computes
the expectations with ``np.bincount`` and the maxima with segment reductions.
Work and memory are linear in the number of merged stage states and edges.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..mechanisms.game import F64, I64, PENDING, U8, VERIFIED, B, Game
from ..mechanisms.rules import (
    allowed_actions,
    apply_action,
    fixed_votes,
    has_veto_cost,
    passes,
    period_slots,
    power_payoffs,
    resolve,
    tabled,
    target_payoff,
    vote_costs,
)
from ..mechanisms.state import Keys, as_keys, find_key, pack, unique_states

TIE_TOLERANCE = 1e-9
#: default budget of stored graph elements (states + state-action pairs + chance edges,
#: summed over periods); about 40 bytes each, so the default keeps a solve under ~2 GiB
DEFAULT_MAX_SIZE = 30_000_000


class StateGraphTooLarge(ValueError):
    """The reachable state graph exceeds the size budget; nothing was solved."""


class _Budget:
    def __init__(self, game: Game, limit: int) -> None:
        self.game, self.limit, self.used = game, limit, 0

    def take(self, n: int, t: int, what: str) -> None:
        self.used += int(n)
        if self.used > self.limit:
            raise StateGraphTooLarge(
                f"the reachable state graph of policy {self.game.policy.id!r} exceeds the "
                f"budget of "
                f"{self.limit:,} elements (reached at period {t} while adding {n:,} {what}). "
                "Fix: use a strict step order (strict: true), fewer concerns with 0 < verify < 1, "
                "a shorter horizon, or raise max_size if the machine has the memory"
            )


@dataclass
class ChanceStage:
    """One verification stage: edges from parent states to merged child states."""

    parent: I64
    child: I64
    prob: F64
    n_parents: int
    concern: int = -1  # the concern being verified (-1: a merge stage, probability 1)
    #: (n_parents, n_powers) veto costs paid by the powers before this merge stage (empty:
    #: none); subtracted from the parents' values in the backward pass
    cost_p: F64 = field(default_factory=lambda: np.zeros((0, 0)))


@dataclass
class VoteStage:
    """One agenda slot with strategic voters: every tabled state branches into pass and fail.

    Parents are the (merged, key-sorted) states before the slot; ``self_child[i]`` is
    parent ``i`` unchanged (also the "fail" outcome of a tabled row), ``pass_child[j]``
    the state after tabled row ``rows[j]`` passes. The backward pass fills
    ``strategic_votes`` (each strategic member votes yes iff its value after passing
    is at least its value after failing) and selects the outcome by the issuer's rule.
    """

    slot: int
    measure: int
    parent_keys: Keys
    rows: I64
    self_child: I64
    pass_child: I64
    members: tuple[int, ...]
    fixed: B  # (len(rows), len(members)) votes of the non-strategic members
    strategic: B  # (len(members),)
    reverse_veto: bool = False
    #: (len(members),) each member's cost of voting no on this proposal (``veto_cost``)
    no_cost: F64 = field(default_factory=lambda: np.zeros(0))
    strategic_votes: B = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    passed: B = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n_parents(self) -> int:
        return int(self.self_child.size)


Stage = ChanceStage | VoteStage


@dataclass
class Layer:
    """Reachable states at the start of one period and their transitions."""

    C: U8  # (n_states, n_concerns)
    M: U8  # (n_states, n_measures)
    keys: Keys  # sorted keys of the states (row i <-> keys[i])
    pair_state: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # per (state, action)
    pair_action: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_cost: F64 = field(default_factory=lambda: np.zeros(0))  # one-off cost of the step set
    pair_x: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # state after the steps
    stages: list[Stage] = field(default_factory=list)
    end_payoff: F64 = field(default_factory=lambda: np.zeros(0))  # per post-verification state
    end_payoff_p: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # powers' payoffs
    end_next: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # its end state
    #: vetoes cast in the agenda of each post-verification state (``count_vetoes`` only)
    end_vetoes: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    #: (post-verification states, powers) veto costs paid in the agenda of each state
    #: (games with a ``veto_cost`` and fixed votes; empty otherwise)
    end_vote_cost: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    Q: F64 = field(default_factory=lambda: np.zeros(0))  # per (state, action)
    V: F64 = field(default_factory=lambda: np.zeros(0))  # per state
    VP: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # powers' values per state
    best: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # action index per state

    @property
    def n_states(self) -> int:
        return int(self.C.shape[0])

    def index(self, C: U8, M: U8) -> int:
        """Row of the state ``(C, M)`` in this layer (KeyError if unreachable)."""
        C = np.asarray(C, dtype=np.uint8)
        M = np.asarray(M, dtype=np.uint8)
        return find_key(self.keys, as_keys(pack(C[None, :], M[None, :]))[0])


@dataclass
class BestResponse:
    """The solved target policy and its value, with how it was obtained."""

    game: Game
    layers: list[Layer]  # layers[t - t0] for t = t0..H (the last holds states and tail values)
    value: float  # expected utility of the target from the initial state
    status: str = "exact"
    method: str = "backward induction over reachable (period, state) graph"
    seconds: float = 0.0
    n_states: int = 0  # sum over periods of reachable states
    n_pairs: int = 0  # sum of (state, action) pairs
    n_outcomes: int = 0  # sum of chance-stage edges
    t0: int = 0  # first period solved (a sub-game may start later than 0)
    power_value: dict[str, float] = field(default_factory=dict)  # powers' expected utilities

    def layer(self, t: int) -> Layer:
        if not self.t0 <= t <= self.t0 + len(self.layers) - 1:
            raise KeyError(f"period {t} is outside the solved range {self.t0}..{self.game.horizon}")
        return self.layers[t - self.t0]

    def action(self, t: int, C: U8, M: U8) -> tuple[int, ...]:
        """Optimal step set (concern indices) in period ``t`` and state ``(C, M)``."""
        layer = self.layer(t)
        return self.game.actions[int(layer.best[layer.index(C, M)])]

    def vote_oracle(self, t: int, k: int, C: U8, M: U8) -> B:
        """Equilibrium votes of the strategic members on agenda slot ``k`` of period ``t``.

        ``C``, ``M``: the states (rows) at that point of the period. Raises ``KeyError``
        for a state off the solved graph.
        """
        layer = self.layer(t)
        stage = next((s for s in layer.stages if isinstance(s, VoteStage) and s.slot == k), None)
        if stage is None:
            raise KeyError(f"no strategic vote at slot {k} of period {t}")
        keys = as_keys(pack(np.asarray(C, np.uint8), np.asarray(M, np.uint8)))
        idx = np.searchsorted(stage.parent_keys, keys)
        if (idx >= stage.parent_keys.size).any() or (
            stage.parent_keys[np.minimum(idx, stage.parent_keys.size - 1)] != keys
        ).any():
            raise KeyError("state not reachable under this policy")
        j = np.searchsorted(stage.rows, idx)
        if (j >= stage.rows.size).any() or (
            stage.rows[np.minimum(j, stage.rows.size - 1)] != idx
        ).any():
            raise KeyError("no proposal tabled in this state")
        out: B = stage.strategic_votes[j]
        return out

    def values(self, t: int, C: U8, M: U8) -> dict[str, float]:
        """Every actor's expected utility from period ``t`` on, discounted to ``t``."""
        layer = self.layer(t)
        s = layer.index(C, M)
        out = {self.game.target_id: float(layer.V[s])}
        out.update({p: float(layer.VP[s, k]) for k, p in enumerate(self.game.power_ids)})
        return out

    def q_values(self, t: int, C: U8, M: U8) -> dict[tuple[int, ...], float]:
        """Value of every allowed step set in period ``t`` and state ``(C, M)``."""
        layer = self.layer(t)
        s = layer.index(C, M)
        rows = np.flatnonzero(layer.pair_state == s)
        return {self.game.actions[int(layer.pair_action[r])]: float(layer.Q[r]) for r in rows}

    def stats(self) -> dict[str, object]:
        return {
            "status": self.status,
            "method": self.method,
            "seconds": round(self.seconds, 6),
            "states": self.n_states,
            "state_actions": self.n_pairs,
            "chance_edges": self.n_outcomes,
        }


def tail_value(game: Game, C: U8, M: U8) -> F64:
    """Value at the horizon of each final state: stationary payoff / (1 - delta) or 0."""
    if not game.tail_persist:
        return np.zeros(C.shape[0])
    return target_payoff(game, C, M) / (1.0 - game.target_discount)


def power_tail_values(game: Game, C: U8, M: U8) -> F64:
    """``(n, n_powers)`` tail values of the powers."""
    if not game.tail_persist:
        return np.zeros((C.shape[0], game.n_powers))
    out: F64 = power_payoffs(game, C, M) / (1.0 - game.power_discount[None, :])
    return out


def verification_split(C: U8, i: int, p: float) -> tuple[I64, F64, U8] | None:
    """One chance stage: every row stays (probability 1, or 1 - p if concern ``i`` is
    pending) and every row with ``i`` pending also gets a child with ``i`` verified
    (probability p). Returns ``(parent, prob, C_children)``, or ``None`` if nothing is
    pending."""
    pend = np.flatnonzero(C[:, i] == PENDING)
    if pend.size == 0:
        return None
    n = C.shape[0]
    parent = np.concatenate([np.arange(n), pend])
    prob = np.ones(parent.size)
    prob[pend] = 1.0 - p
    prob[n:] = p
    C2 = C[parent].copy()
    C2[n:, i] = VERIFIED
    return parent, prob, C2


def _merge(C: U8, M: U8) -> tuple[U8, U8, I64, Keys]:
    first, inverse, keys = unique_states(C, M)
    return C[first], M[first], inverse, keys


def _forward(
    game: Game,
    t: int,
    layer: Layer,
    budget: _Budget,
    forbid: int | None,
    count_vetoes: bool = False,
) -> Layer:
    """Fill the transitions of ``layer``; return the next layer (states only)."""
    allowed = allowed_actions(game, layer.C)
    if forbid is not None:
        allowed &= ~game.action_mask[:, forbid][None, :]
    pair_state, pair_action = np.nonzero(allowed)
    budget.take(pair_state.size, t, "state-action pairs")
    layer.pair_state = pair_state.astype(np.int64)
    layer.pair_action = pair_action.astype(np.int64)
    # (1) decision stage; concerns with verify >= 1 are verified at once
    C, taken, reversed_ = apply_action(game, layer.C[pair_state], layer.pair_action)
    layer.pair_cost = taken @ game.cost + reversed_ @ game.reversal_cost
    C[(C == PENDING) & (game.verify >= 1.0)[None, :]] = VERIFIED
    C, M, layer.pair_x, keys = _merge(C, layer.M[pair_state])
    # (2) one chance stage per uncertain concern
    layer.stages = []
    for i in np.flatnonzero((game.verify > 0.0) & (game.verify < 1.0)):
        split = verification_split(C, int(i), float(game.verify[i]))
        if split is None:
            continue
        parent, prob, C2 = split
        budget.take(parent.size, t, "chance edges")
        n = C.shape[0]
        C, M, child, keys = _merge(C2, M[parent])
        layer.stages.append(ChanceStage(parent, child, prob, n, int(i)))
    # (3) proposals and votes
    paid = None  # veto costs per post-vote row, when some member has one
    if game.has_strategic:
        C, M_end, paid = _vote_stages(game, t, layer, C, M, keys, budget)
    else:
        costly = has_veto_cost(game)
        M_end, records = resolve(game, t, C, M, record=count_vetoes or costly)
        if costly:
            paid = vote_costs(game, records, C.shape[0])
            layer.end_vote_cost = paid
        if count_vetoes:
            layer.end_vetoes = np.zeros(C.shape[0], dtype=np.int64)
            for rec in records:
                if game.veto_rule[int(game.issuer[rec.measure])]:
                    no = (~rec.votes).sum(axis=1)
                    np.add.at(layer.end_vetoes, rec.rows, np.where(rec.passed, 0, no))
    layer.end_payoff = target_payoff(game, C, M_end)
    layer.end_payoff_p = power_payoffs(game, C, M_end)
    if paid is not None:
        layer.end_payoff_p = layer.end_payoff_p - paid
    C_next, M_next, layer.end_next, keys = _merge(C, M_end)
    budget.take(C_next.shape[0], t, "states")
    return Layer(C_next, M_next, keys)


def _vote_stages(
    game: Game, t: int, layer: Layer, C: U8, M: U8, keys: Keys, budget: _Budget
) -> tuple[U8, U8, F64 | None]:
    """Agenda slots of period ``t`` as stages; strategic slots branch into pass/fail.

    Returns the states after the agenda and, when some member has a ``veto_cost``, the
    costs of the no votes cast by fixed rules since the last stage, per returned row
    (earlier costs are attached to the stages: a merge stage's ``cost_p``, a vote
    stage's ``no_cost``)."""
    n_verified = (C == VERIFIED).sum(axis=1)
    merged = True
    costly = has_veto_cost(game)
    acc = np.zeros((C.shape[0], game.n_powers)) if costly else None
    for k, slot in enumerate(period_slots(game, t)):
        rows, after = tabled(game, slot, C, M)
        if rows.size == 0:
            continue
        m = slot.measure
        members, votes, strategic = fixed_votes(
            game, slot.kind, m, M[rows, m], after, n_verified[rows]
        )
        no_cost = game.veto_cost[int(game.issuer[m]), list(members), slot.kind]
        if not strategic.any():  # decided by the rules: apply in place
            passed = passes(game, m, votes, slot.reverse_veto(game))
            M = M.copy()
            M[rows[passed], m] = after[passed]
            if acc is not None:
                cols = np.array(members, dtype=np.int64)
                acc[np.ix_(rows, cols)] += (~votes) * no_cost[None, :]
            merged = False
            continue
        if not merged:  # parents must be merged and sorted for look-ups
            n = C.shape[0]
            C, M, inv, keys = _merge(C, M)
            merge = ChanceStage(np.arange(n), inv, np.ones(n), n)
            if acc is not None:
                merge.cost_p, acc = acc, np.zeros((C.shape[0], game.n_powers))
            layer.stages.append(merge)
            rows, after = tabled(game, slot, C, M)
            n_verified = (C == VERIFIED).sum(axis=1)
            members, votes, strategic = fixed_votes(
                game, slot.kind, m, M[rows, m], after, n_verified[rows]
            )
        n = C.shape[0]
        budget.take(n + rows.size, t, "vote edges")
        parent = np.concatenate([np.arange(n), rows])
        M2 = M[parent].copy()
        M2[n:, m] = after
        C, M, child, new_keys = _merge(C[parent], M2)
        layer.stages.append(
            VoteStage(
                slot=k,
                measure=m,
                parent_keys=keys,
                rows=rows,
                self_child=child[:n],
                pass_child=child[n:],
                members=members,
                fixed=votes[:, ~strategic],
                strategic=strategic,
                reverse_veto=slot.reverse_veto(game),
                no_cost=no_cost,
            )
        )
        keys = new_keys
        n_verified = (C == VERIFIED).sum(axis=1)
        merged = True
        if acc is not None:
            acc = np.zeros((C.shape[0], game.n_powers))
    return C, M, acc


def _choose(game: Game, st: VoteStage, E: F64, EP: F64) -> tuple[F64, F64]:
    """Backward step of a vote stage: strategic votes, the issuer's rule, parent values."""
    fail = st.self_child[st.rows]
    cols = [p for p, s in zip(st.members, st.strategic, strict=True) if s]
    gain = EP[st.pass_child][:, cols] - EP[fail][:, cols]
    tol = TIE_TOLERANCE * np.maximum(1.0, np.abs(EP[fail][:, cols]))
    # as if pivotal: yes iff passing is worth at least failing minus the cost of a no
    cost = st.no_cost[st.strategic][None, :] if st.no_cost.size else 0.0
    st.strategic_votes = gain >= -cost - tol
    votes = np.empty((st.rows.size, len(st.members)), dtype=bool)
    votes[:, ~st.strategic] = st.fixed
    votes[:, st.strategic] = st.strategic_votes
    st.passed = passes(game, st.measure, votes, st.reverse_veto)
    out_E = E[st.self_child].copy()
    out_EP = EP[st.self_child].copy()
    out_E[st.rows] = np.where(st.passed, E[st.pass_child], E[fail])
    out_EP[st.rows] = np.where(st.passed[:, None], EP[st.pass_child], EP[fail])
    if st.no_cost.any():
        cols_all = np.array(st.members, dtype=np.int64)
        out_EP[np.ix_(st.rows, cols_all)] -= (~votes) * st.no_cost[None, :]
    return out_E, out_EP


def _expect(st: ChanceStage, E: F64) -> F64:
    """Expectation over one chance stage (``E`` per child; 1-D or 2-D by actor)."""
    w = st.prob[:, None] * E[st.child] if E.ndim == 2 else st.prob * E[st.child]
    if E.ndim == 1:
        return np.asarray(np.bincount(st.parent, weights=w, minlength=st.n_parents), np.float64)
    out = np.zeros((st.n_parents, E.shape[1]))
    np.add.at(out, st.parent, w)
    return out


def forward_graph(
    game: Game,
    max_size: int = DEFAULT_MAX_SIZE,
    start: tuple[int, U8, U8] | None = None,
    forbid: int | None = None,
    budget: _Budget | None = None,
    count_vetoes: bool = False,
) -> list[Layer]:
    """The reachable (period, state) graph with its transitions, not yet solved:
    ``layers[t - t0]`` for ``t = t0..H``. Raises :class:`StateGraphTooLarge`.
    ``count_vetoes`` also records the vetoes cast in each post-verification state."""
    budget = _Budget(game, max_size) if budget is None else budget
    if start is None:
        t0, (C0, M0) = 0, game.initial_state()
    else:
        t0, C0, M0 = start
    C0, M0 = np.asarray(C0, np.uint8)[None, :], np.asarray(M0, np.uint8)[None, :]
    layers = [Layer(C0, M0, as_keys(pack(C0, M0)))]
    for t in range(t0, game.horizon):
        layers.append(_forward(game, t, layers[t - t0], budget, forbid, count_vetoes))
    return layers


def solve_best_response(
    game: Game,
    max_size: int = DEFAULT_MAX_SIZE,
    start: tuple[int, U8, U8] | None = None,
    forbid: int | None = None,
) -> BestResponse:
    """Solve the target's problem exactly; see the module docstring for the maths.

    ``start = (t0, C, M)`` solves the sub-game from period ``t0`` in state ``(C, M)``
    (default: period 0, initial state); ``forbid`` is a concern index the target may
    never take (used for "gain vs never"). The powers' expected utilities under the
    target's best response are computed alongside (ties between target actions are
    broken as documented; powers follow their vote rules).

    Raises :class:`StateGraphTooLarge` (before using more memory) when the graph
    would exceed ``max_size`` stored elements.
    """
    clock = time.perf_counter()
    budget = _Budget(game, max_size)
    if start is None:
        t0, (C0, M0) = 0, game.initial_state()
    else:
        t0, C0, M0 = start
    layers = forward_graph(game, max_size, (t0, C0, M0), forbid, budget)
    delta = game.target_discount
    dp = game.power_discount[None, :]
    last = layers[-1]
    last.V = tail_value(game, last.C, last.M)
    last.VP = power_tail_values(game, last.C, last.M)
    for t in range(game.horizon - 1, t0 - 1, -1):
        layer, nxt = layers[t - t0], layers[t - t0 + 1]
        E = layer.end_payoff + delta * nxt.V[layer.end_next]
        EP = layer.end_payoff_p + dp * nxt.VP[layer.end_next]
        for st in reversed(layer.stages):
            if isinstance(st, VoteStage):
                E, EP = _choose(game, st, E, EP)
            else:
                E = _expect(st, E)
                EP = _expect(st, EP)
                if st.cost_p.size:
                    EP = EP - st.cost_p
        layer.Q = E[layer.pair_x] - layer.pair_cost
        chosen = _argmax_first(layer.pair_state, layer.Q, layer.n_states)
        layer.best, layer.V = layer.pair_action[chosen], layer.Q[chosen]
        layer.VP = EP[layer.pair_x[chosen]]
    n_states = sum(L.n_states for L in layers)
    n_pairs = sum(int(L.pair_state.size) for L in layers)
    n_edges = sum(
        int(st.parent.size) if isinstance(st, ChanceStage) else st.n_parents + int(st.rows.size)
        for L in layers
        for st in L.stages
    )
    return BestResponse(
        game=game,
        layers=layers,
        value=float(layers[0].V[0]),
        seconds=time.perf_counter() - clock,
        t0=t0,
        power_value={p: float(layers[0].VP[0, k]) for k, p in enumerate(game.power_ids)},
        n_states=n_states,
        n_pairs=n_pairs,
        n_outcomes=n_edges,
    )


def _argmax_first(pair_state: I64, Q: F64, n_states: int) -> I64:
    """Per state, the pair of the first action (canonical order) within tolerance of the best."""
    starts = np.searchsorted(pair_state, np.arange(n_states))
    best_q = np.maximum.reduceat(Q, starts)
    tol = TIE_TOLERANCE * np.maximum(1.0, np.abs(best_q))
    ok = (best_q - tol)[pair_state] <= Q
    idx = np.where(ok, np.arange(Q.size), Q.size)
    chosen: I64 = np.minimum.reduceat(idx, starts).astype(np.int64)
    return chosen


def reachable_counts(result: BestResponse) -> NDArray[np.int64]:
    """Number of reachable states at the start of each period."""
    return np.array([L.n_states for L in result.layers], dtype=np.int64)


__all__ = [
    "DEFAULT_MAX_SIZE",
    "BestResponse",
    "Layer",
    "StateGraphTooLarge",
    "reachable_counts",
    "solve_best_response",
    "tail_value",
]
