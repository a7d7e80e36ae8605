"""A slow reference of the typed equilibrium (docs/explanation/types.md), written from
the definition.

It walks the full game tree (no merging of states or beliefs): every node is a
period, a state and the powers' belief as a probability vector, obtained by
Bayes' rule from the previous belief. At every node it enumerates every pure
profile of the types in the belief's support, computes on-path beliefs by Bayes'
rule and off-path beliefs by the intuitive criterion (Bayes on the types that could
gain from the deviation under some belief restricted to the support), keeps the
profiles where no type gains by deviating, and selects the one with the highest
belief-weighted value (ties: the first in canonical order). The period's
transitions (allowed steps, verification outcomes, votes) come from
``stepdeal.mechanisms.rules``, which ``tests/reference.py`` checks separately;
what this file re-derives is the belief and equilibrium layer.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from stepdeal.mechanisms.game import Game
from stepdeal.mechanisms.rules import (
    allowed_actions,
    apply_action,
    power_payoffs,
    resolve,
    target_payoff,
    verification_outcomes,
    vote_costs,
)
from stepdeal.solve.pbe import _profiles, classify, submasks, types_in

TOL = 1e-9


def _tol(x: float) -> float:
    return TOL * max(1.0, abs(x))


def _restrict(mu: tuple[float, ...], keep: set[int]) -> tuple[float, ...]:
    w = [m if k in keep else 0.0 for k, m in enumerate(mu)]
    total = sum(w)
    return tuple(x / total for x in w)


def _restrictions(mu: tuple[float, ...]) -> list[tuple[float, ...]]:
    supp = [k for k, m in enumerate(mu) if m > 0]
    out = []
    for bits in product([0, 1], repeat=len(supp)):
        keep = {k for k, bit in zip(supp, bits, strict=True) if bit}
        if keep:
            out.append(_restrict(mu, keep))
    return out


class ReferencePBE:
    def __init__(self, game: Game) -> None:
        self.game = game
        self.K = game.n_types

    def after(
        self, t: int, C: np.ndarray, M: np.ndarray, a: int, mu: tuple[float, ...], k: int
    ) -> float:
        """Type ``k``'s value of action ``a`` when the belief becomes ``mu``."""
        g = self.game
        gk = g.for_type(k)
        Ca, taken, rev = apply_action(g, C[None, :], np.array([a]))
        cost = float(taken[0] @ gk.cost + rev[0] @ gk.reversal_cost)
        _, Cv, prob = verification_outcomes(g, Ca)
        total = 0.0
        for i in range(Cv.shape[0]):
            Me, _ = resolve(g, t, Cv[i : i + 1], M[None, :], mu=np.array([mu]))
            u = float(target_payoff(gk, Cv[i : i + 1], Me)[0])
            cont = self.node(t + 1, Cv[i], Me[0], mu)["V"][k]
            total += float(prob[i]) * (u + g.target_discount * cont)
        return total - cost

    def after_powers(
        self, t: int, C: np.ndarray, M: np.ndarray, a: int, mu: tuple[float, ...], k: int
    ) -> np.ndarray:
        g = self.game
        gk = g.for_type(k)
        Ca, _, _ = apply_action(g, C[None, :], np.array([a]))
        _, Cv, prob = verification_outcomes(g, Ca)
        total = np.zeros(g.n_powers)
        for i in range(Cv.shape[0]):
            Me, recs = resolve(g, t, Cv[i : i + 1], M[None, :], mu=np.array([mu]), record=True)
            u = power_payoffs(gk, Cv[i : i + 1], Me)[0] - vote_costs(g, recs, 1)[0]
            cont = self.node(t + 1, Cv[i], Me[0], mu)["VP"][k]
            total += float(prob[i]) * (u + g.power_discount * cont)
        return total

    def node(self, t: int, C: np.ndarray, M: np.ndarray, mu: tuple[float, ...]) -> dict:
        g = self.game
        K = self.K
        if t == g.horizon:
            V, VP = [], []
            for k in range(K):
                gk = g.for_type(k)
                if g.tail_persist:
                    V.append(
                        float(target_payoff(gk, C[None, :], M[None, :])[0])
                        / (1 - g.target_discount)
                    )
                    VP.append(power_payoffs(gk, C[None, :], M[None, :])[0] / (1 - g.power_discount))
                else:
                    V.append(0.0)
                    VP.append(np.zeros(g.n_powers))
            return {"V": V, "VP": VP}
        acts = [int(a) for a in np.flatnonzero(allowed_actions(g, C[None, :])[0])]
        supp = [k for k in range(K) if mu[k] > 0]
        beliefs = _restrictions(mu)
        U = {
            (k, a, b): self.after(t, C, M, a, b, k) for k in range(K) for a in acts for b in beliefs
        }
        best = None
        least = None
        for prof in product(acts, repeat=len(supp)):
            choice = dict(zip(supp, prof, strict=True))
            post = {}
            for a in acts:
                users = {k for k in supp if choice[k] == a}
                if users:
                    post[a] = _restrict(mu, users)
            star = {k: U[(k, choice[k], post[choice[k]])] for k in supp}
            for a in acts:
                if a in post:
                    continue
                plaus = {
                    k for k in supp if max(U[(k, a, b)] for b in beliefs) > star[k] + _tol(star[k])
                }
                post[a] = _restrict(mu, plaus) if plaus else mu
            gain = max(
                max(U[(k, a, post[a])] for a in acts) - star[k] - _tol(star[k]) for k in supp
            )
            if gain <= 0:
                w = sum(mu[k] * star[k] for k in supp)
                if best is None or w > best[0] + _tol(best[0]):
                    best = (w, choice, post)
            elif least is None or gain < least[0]:
                least = (gain, choice, post)
        _, choice, post = best if best is not None else least
        choice = dict(choice)
        for k in range(K):
            if k not in choice:
                vals = [U[(k, a, post[a])] for a in acts]
                top = max(vals)
                choice[k] = next(a for a, v in zip(acts, vals, strict=True) if v >= top - _tol(top))
        V = [U[(k, choice[k], post[choice[k]])] for k in range(K)]
        VP = [self.after_powers(t, C, M, choice[k], post[choice[k]], k) for k in range(K)]
        return {
            "V": V,
            "VP": VP,
            "choice": choice,
            "post": post,
            "exact": best is not None,
        }

    def root(self) -> dict:
        C, M = self.game.initial_state()
        return self.node(0, C, M, tuple(float(x) for x in self.game.prior))


def node_equilibrium(
    U: np.ndarray, b: int, mu: np.ndarray, K: int
) -> tuple[list[int], list[int], str, float]:
    """Solve one node from the profiles of ``pbe._profiles``, one profile at a time.
    Returns per-type action positions, the belief after every action position, the node
    label and the epsilon (0 if exact)."""
    subs = submasks(b)
    sidx = {m: i for i, m in enumerate(subs)}
    T = types_in(b, K)
    nA = U.shape[1]
    best_eq: tuple[float, tuple[int, ...], list[int]] | None = None
    least: tuple[float, tuple[int, ...], list[int]] | None = None
    for prof, post, star, gain in _profiles(U, b, K):
        if gain <= 0.0:
            w = float(sum(mu[k] * star[i] for i, k in enumerate(T)))
            if best_eq is None or w > best_eq[0] + _tol(best_eq[0]):
                best_eq = (w, prof, post)
        elif least is None or gain < least[0]:
            least = (gain, prof, post)
    if best_eq is not None:
        _, prof, post = best_eq
        eps = 0.0
    else:
        assert least is not None
        eps, prof, post = least
    acts = [0] * K
    for i, k in enumerate(T):
        acts[k] = prof[i]
    # types outside the support best-respond to the belief map
    for k in range(K):
        if not (b >> k) & 1:
            vals = [float(U[k, j, sidx[post[j]]]) for j in range(nA)]
            top = max(vals)
            acts[k] = next(j for j in range(nA) if vals[j] >= top - _tol(top))
    return acts, post, classify([prof[i] for i in range(len(T))]), eps
