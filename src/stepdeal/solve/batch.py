r"""Exact best response for many parameter samples at once, on a shared state graph.

The reachable graph of a game (:func:`~stepdeal.solve.best_response.forward_graph`)
depends on the parameters only through its *structure*: which concerns have
``verify`` 0, strictly between 0 and 1, or 1, and how members with the ``sincere``
rule vote (the sign of their burden change). Samples with the same structure share
one graph; costs, payoffs, probabilities and discounts differ per sample. The
backward pass of :mod:`stepdeal.solve.best_response` then runs once per group with
a sample axis on every array:

.. math::

    Q_t(s,a)[g] = \sum_o P_g(o\mid s,a)\,\bigl(r_g(s,a,o) + \delta_g V_{t+1}(s')[g]\bigr),
    \qquad V_t(s)[g] = Q_t(s, a^*_t(s)[g])[g]

with the same tie rule, so each column equals a separate solve of that sample. No
BLAS call is used (``np.einsum`` without ``optimize``), so a sample's numbers do not
depend on the thread count of the machine or worker that computes them
(``tests/test_batch.py`` checks it against :func:`solve_best_response` and the
forward pass of :mod:`stepdeal.solve.outcomes`). A forward pass of the probability
mass under the chosen actions then gives the expected outcomes: the powers'
utilities, the probability that each concern is verified by the horizon, the
expected periods until it is (censored at the horizon), the expected sum of the
target's sanctions cost over the horizon and the expected number of vetoes cast.

Games with strategic voters are refused (:class:`NotBatchable`): their votes depend
on the sample's values, so the graph is not shared; the ensemble solves them one
sample at a time with the full solver. A member's ``veto_cost`` (a fixed number) is
supported: a sincere member's vote then also depends on its sample discount, which
enters the structure key, and the costs paid in each post-verification state are
recorded with the graph and charged in the forward pass.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from ..mechanisms.game import (
    ACTIVE,
    CURTAILED,
    F64,
    I64,
    KIND_ESCALATE,
    KIND_RELIEVE,
    OPEN,
    VERIFIED,
    VOTE_SINCERE,
    Game,
)
from ..mechanisms.rules import has_veto_cost
from .best_response import (
    DEFAULT_MAX_SIZE,
    TIE_TOLERANCE,
    ChanceStage,
    Layer,
    StateGraphTooLarge,
    forward_graph,
)

#: target number of float64 elements per batched channel array (keeps memory bounded)
ELEMENT_BUDGET = 25_000_000


class NotBatchable(ValueError):
    """The game cannot be solved on a shared graph (strategic voters)."""


@dataclass(frozen=True)
class BatchParams:
    """Per-sample parameter arrays; the first axis is the sample."""

    cost: F64  # (S, nc)
    upkeep: F64
    verify: F64
    reversal_cost: F64
    value: F64  # (S, npw, nc)
    impact: F64  # (S, nm)
    burden: F64  # (S, npw, nm)
    curtail: F64  # (S, nm)
    target_discount: F64  # (S,)
    power_discount: F64  # (S, npw)

    @property
    def size(self) -> int:
        return int(self.cost.shape[0])

    @classmethod
    def of_game(cls, game: Game, n: int = 1) -> BatchParams:
        """``n`` copies of the game's own parameters."""

        def rep(x: F64) -> F64:
            return np.repeat(np.asarray(x, dtype=np.float64)[None, ...], n, axis=0)

        return cls(
            cost=rep(game.cost),
            upkeep=rep(game.upkeep),
            verify=rep(game.verify),
            reversal_cost=rep(game.reversal_cost),
            value=rep(game.value),
            impact=rep(game.impact),
            burden=rep(game.burden),
            curtail=rep(game.curtail),
            target_discount=np.full(n, game.target_discount),
            power_discount=rep(game.power_discount),
        )

    def take(self, idx: I64) -> BatchParams:
        return BatchParams(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})

    def game(self, base: Game, s: int) -> Game:
        """``base`` with sample ``s``'s parameters."""
        return replace(
            base,
            cost=self.cost[s].copy(),
            upkeep=self.upkeep[s].copy(),
            verify=self.verify[s].copy(),
            reversal_cost=self.reversal_cost[s].copy(),
            value=self.value[s].copy(),
            impact=self.impact[s].copy(),
            burden=self.burden[s].copy(),
            curtail=self.curtail[s].copy(),
            target_discount=float(self.target_discount[s]),
            power_discount=self.power_discount[s].copy(),
        )


@dataclass(frozen=True)
class BatchOutcomes:
    """Per-sample equilibrium outcomes from period 0 (first axis: sample)."""

    target_utility: F64  # (S,)
    power_utility: F64  # (S, npw)
    p_verified: F64  # (S, nc)
    periods_to: F64  # (S, nc)
    expected_pressure: F64  # (S,)
    expected_vetoes: F64 = field(default_factory=lambda: np.zeros(0))  # (S,)
    n_graphs: int = 1  # distinct structures (graphs built)
    n_states: int = 0  # states of the largest graph
    errors: tuple[str | None, ...] = ()  # per sample: why it was not solved (NaN outcomes)

    @property
    def expected_resolved(self) -> F64:
        out: F64 = self.p_verified.sum(axis=1)
        return out


def structure_keys(game: Game, params: BatchParams) -> list[bytes]:
    """One key per sample; samples with equal keys share the reachable graph."""
    v = params.verify
    vclass = np.where(v <= 0.0, 0, np.where(v >= 1.0, 2, 1)).astype(np.uint8)
    # sincere votes: yes iff -burden * (f_after - f_before) >= -1e-12, for the status
    # changes a proposal can make; f in {1, curtail, 0} for active/curtailed/other
    sincere = (game.vote_rule == VOTE_SINCERE).any(axis=1)  # (npw,)
    b = params.burden[:, sincere, :]  # (S, k, nm)
    c = params.curtail[:, None, :]
    deltas = [c - 1.0, -c, -np.ones_like(c), 1.0 - c, c, np.ones_like(c)]
    votes = np.stack([(-b * d) >= -1e-12 for d in deltas], axis=-1)  # (S, k, nm, 6)
    if has_veto_cost(game):
        # as rules.fixed_votes: with a cost c of voting no, yes iff gain/(1-delta) >= -c;
        # the first three deltas are relief (kind relieve), the last three escalation
        cost = game.veto_cost[game.issuer][:, sincere, :]  # (nm, k, 2)
        cost = np.transpose(cost, (1, 0, 2))[None]  # (1, k, nm, 2)
        disc = params.power_discount[:, sincere][:, :, None]  # (S, k, 1)
        for j, d in enumerate(deltas):
            c = cost[..., KIND_RELIEVE if j < 3 else KIND_ESCALATE]
            with_cost = (-b * d) / (1.0 - disc) >= -c - 1e-12
            votes[..., j] = np.where(c == 0.0, votes[..., j], with_cost)
    zero = np.stack([params.curtail == 0.0, params.curtail == 1.0], axis=-1)
    return [
        vclass[s].tobytes() + np.packbits(votes[s]).tobytes() + np.packbits(zero[s]).tobytes()
        for s in range(params.size)
    ]


def _target_payoff(game: Game, L: Layer, P: BatchParams) -> F64:
    """Target payoff (n, G) of the states of ``L`` taken as end-of-period states."""
    act = (L.M == ACTIVE).astype(np.float64)
    cur = (L.M == CURTAILED).astype(np.float64)
    ver = (L.C == VERIFIED).astype(np.float64)
    press = np.einsum("nm,gm->ng", act, P.impact) + np.einsum(
        "nm,gm->ng", cur, P.curtail * P.impact
    )
    on = (L.C != OPEN).astype(np.float64)
    u: F64 = -press - np.einsum("nc,gc->ng", on, P.upkeep) + (ver * game.bonus).sum(axis=1)[:, None]
    return u


def _aggregates(L: Layer, mass: F64, P: BatchParams) -> tuple[F64, F64, F64]:
    """Mass-weighted powers' payoffs (G, npw), pressure (G,) and P(verified) (G, nc)."""
    act = np.einsum("ng,nm->gm", mass, (L.M == ACTIVE).astype(np.float64))  # (G, nm)
    cur = np.einsum("ng,nm->gm", mass, (L.M == CURTAILED).astype(np.float64))
    ver = np.einsum("ng,nc->gc", mass, (L.C == VERIFIED).astype(np.float64))  # (G, nc)
    cur_share = cur * P.curtail
    up = np.einsum("gc,gpc->gp", ver, P.value) - np.einsum("gm,gpm->gp", act + cur_share, P.burden)
    press = ((act + cur_share) * P.impact).sum(axis=1)
    return up, press, ver


def _scatter(index: I64, weights: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """``out[index[i, g], g] += weights[i, g]`` for a (rows, G) batch; a 1-D ``index``
    is the same for every sample."""
    G = weights.shape[1]
    idx = index[:, None] if index.ndim == 1 else index
    flat = (idx * G + np.arange(G)[None, :]).ravel()
    out: F64 = np.asarray(np.bincount(flat, weights=weights.ravel(), minlength=n * G), np.float64)
    out = out.reshape(n, G)
    return out


def _edge_weights(st: ChanceStage, verify: F64) -> NDArray[np.float64]:
    """(edges, G) probability of each edge of a chance stage for each sample."""
    n, G = st.n_parents, verify.shape[0]
    w = np.ones((st.parent.size, G))
    if st.concern >= 0:
        p = verify[:, st.concern][None, :]
        stay = np.flatnonzero(st.prob[:n] != 1.0)
        w[stay] = 1.0 - p
        w[n:] = p
    return w


def _solve_group(game: Game, layers: list[Layer], P: BatchParams) -> BatchOutcomes:
    """Backward pass for the target's value and choices, then a forward pass of the
    probability mass for the expected outcomes (both with a sample axis)."""
    G = P.size
    cols = np.arange(G)[None, :]
    dT = P.target_discount[None, :]
    last = layers[-1]
    u_last = _target_payoff(game, last, P)
    V = u_last / (1.0 - dT) if game.tail_persist else np.zeros_like(u_last)
    chosen_by_t: list[NDArray[np.int64]] = [np.zeros((0, 0), np.int64)] * (len(layers) - 1)
    for t in range(len(layers) - 2, -1, -1):
        L, nxt = layers[t], layers[t + 1]
        u = u_last if t == len(layers) - 2 else _target_payoff(game, nxt, P)
        E = u[L.end_next] + dT * V[L.end_next]
        for st in reversed(L.stages):
            assert isinstance(st, ChanceStage)
            E = _scatter(st.parent, _edge_weights(st, P.verify) * E[st.child], st.n_parents)
        taken = game.action_mask[L.pair_action].astype(np.float64)
        rev = game.reverse_mask[L.pair_action].astype(np.float64)
        cost = np.einsum("ac,gc->ag", taken, P.cost) + np.einsum("ac,gc->ag", rev, P.reversal_cost)
        Q = E[L.pair_x] - cost  # (pairs, G)
        starts = np.searchsorted(L.pair_state, np.arange(L.n_states))
        best_q = np.maximum.reduceat(Q, starts, axis=0)
        tol = TIE_TOLERANCE * np.maximum(1.0, np.abs(best_q))
        ok = (best_q - tol)[L.pair_state] <= Q
        idx = np.where(ok, np.arange(Q.shape[0])[:, None], Q.shape[0])
        chosen = np.minimum.reduceat(idx, starts, axis=0)  # (n_states, G) pair rows
        V = Q[chosen, cols]
        chosen_by_t[t] = chosen
    # forward: probability mass over states, per sample
    nc, npw = game.n_concerns, game.n_powers
    mass = np.ones((1, G))
    dP = P.power_discount  # (G, npw)
    power = np.zeros((G, npw))
    periods = np.zeros((G, nc))
    press_sum = np.zeros(G)
    vetoes = np.zeros(G)
    for t in range(len(layers) - 1):
        L, nxt = layers[t], layers[t + 1]
        x = L.pair_x[chosen_by_t[t]]  # (n_states, G)
        m = _scatter(x, mass, int(L.pair_x.max()) + 1)
        for st in L.stages:
            assert isinstance(st, ChanceStage)
            w = _edge_weights(st, P.verify)
            m = _scatter(st.child, w * m[st.parent], _n_children(st))
        if L.end_vetoes.size:
            vetoes += (m * L.end_vetoes[:, None]).sum(axis=0)
        if L.end_vote_cost.size:  # veto costs paid this period, per sample and power
            power -= (dP**t) * (m.T @ L.end_vote_cost)
        mass = _scatter(L.end_next, m, nxt.n_states)
        up, press, ver = _aggregates(nxt, mass, P)
        power += (dP**t) * up
        press_sum += press
        periods += 1.0 - ver
    H = len(layers) - 1
    up, _, p_verified = _aggregates(last, mass, P)
    if game.tail_persist:
        power += (dP**H) * up / (1.0 - dP)
    return BatchOutcomes(
        target_utility=V[0],
        power_utility=power,
        p_verified=p_verified,
        periods_to=periods,
        expected_pressure=press_sum,
        expected_vetoes=vetoes,
        n_graphs=1,
        n_states=sum(layer.n_states for layer in layers),
    )


def _n_children(st: ChanceStage) -> int:
    return int(st.child.max()) + 1 if st.child.size else 0


#: the last few graphs built in this process (a worker solving chunk after chunk of the
#: same scenario builds each graph once); keyed by content, not identity
_GRAPHS: OrderedDict[tuple[str, str, bytes, int], list[Layer]] = OrderedDict()
GRAPH_CACHE_SIZE = 2


def _graph(game: Game, key: bytes, max_size: int) -> list[Layer]:
    from ..scenario import scenario_hash

    k = (scenario_hash(game.scenario), game.policy.id, key, max_size)
    if k in _GRAPHS:
        _GRAPHS.move_to_end(k)
        return _GRAPHS[k]
    layers = forward_graph(game, max_size, count_vetoes=True)
    _GRAPHS[k] = layers
    while len(_GRAPHS) > GRAPH_CACHE_SIZE:
        _GRAPHS.popitem(last=False)
    return layers


def solve_batch(
    game: Game,
    params: BatchParams,
    max_size: int = DEFAULT_MAX_SIZE,
    record_refusals: bool = False,
) -> BatchOutcomes:
    """Solve every sample of ``params`` exactly; groups samples by graph structure.

    A group whose graph exceeds ``max_size`` raises :class:`StateGraphTooLarge`, or with
    ``record_refusals`` gets NaN outcomes and its reason in ``errors``.
    """
    if game.has_strategic:
        raise NotBatchable(
            "strategic voters' votes depend on each sample's values, so samples cannot share "
            "a state graph"
        )
    S, npw, nc = params.size, game.n_powers, game.n_concerns
    out = BatchOutcomes(
        target_utility=np.empty(S),
        power_utility=np.empty((S, npw)),
        p_verified=np.empty((S, nc)),
        periods_to=np.empty((S, nc)),
        expected_pressure=np.empty(S),
        expected_vetoes=np.empty(S),
        n_graphs=0,
    )
    keys = structure_keys(game, params)
    groups: dict[bytes, list[int]] = {}
    for s, k in enumerate(keys):
        groups.setdefault(k, []).append(s)
    n_states = 0
    errors: list[str | None] = [None] * S
    for members in groups.values():
        idx = np.array(members, dtype=np.int64)
        try:
            layers = _graph(params.game(game, int(idx[0])), keys[int(idx[0])], max_size)
        except StateGraphTooLarge as exc:
            if not record_refusals:
                raise
            for s in members:
                errors[s] = str(exc)
            for arr in (out.target_utility, out.power_utility, out.p_verified, out.periods_to):
                arr[idx] = np.nan
            out.expected_pressure[idx] = np.nan
            out.expected_vetoes[idx] = np.nan
            continue
        width = max(layer.n_states for layer in layers) + max(
            int(layer.pair_state.size) for layer in layers
        )
        chunk = max(1, ELEMENT_BUDGET // max(1, width * (npw + 4)))
        for lo in range(0, idx.size, chunk):
            part = idx[lo : lo + chunk]
            res = _solve_group(game, layers, params.take(part))
            out.target_utility[part] = res.target_utility
            out.power_utility[part] = res.power_utility
            out.p_verified[part] = res.p_verified
            out.periods_to[part] = res.periods_to
            out.expected_pressure[part] = res.expected_pressure
            out.expected_vetoes[part] = res.expected_vetoes
        n_states = max(n_states, sum(layer.n_states for layer in layers))
    return replace(out, n_graphs=len(groups), n_states=n_states, errors=tuple(errors))


__all__ = [
    "BatchOutcomes",
    "BatchParams",
    "NotBatchable",
    "solve_batch",
    "structure_keys",
]
