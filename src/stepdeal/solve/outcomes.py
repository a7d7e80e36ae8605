r"""Expected outcomes of a solved game by a forward pass over its equilibrium path.

Starting from the initial state with probability 1, each period applies the
target's optimal action, branches on verification and resolves the agenda (the
shared rules), accumulating probability mass on end-of-period states. From the
mass :math:`\mu_t` at the end of period :math:`t`:

* ``p_verified[c]`` :math:`= \mu_{H-1}(\{s: c \text{ verified in } s\})`;
* ``periods_to[c]`` :math:`= \sum_{t<H} \mu_t(\{s: c \text{ not verified}\})`, the
  expected number of periods before ``c`` is verified, censored at the horizon
  (:math:`H` if never);
* ``expected_pressure`` :math:`= \sum_{t<H} E_{\mu_t}[\text{pressure}]`, the
  undiscounted sum of the target's sanctions cost per period;
* ``expected_vetoes``: the expected number of vetoes cast over the horizon (a "no"
  of a member of a veto institution on a proposal that fails, as in the timeline).

Plain Python over a dictionary of states: slow, obviously correct, the reference of
the batched solver (:mod:`stepdeal.solve.batch`) and its fallback for strategic voters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mechanisms.game import F64, VERIFIED
from ..mechanisms.rules import apply_action, pressure, resolve, verification_outcomes
from .best_response import BestResponse


@dataclass(frozen=True)
class PathOutcomes:
    p_verified: F64  # (n_concerns,)
    periods_to: F64  # (n_concerns,)
    expected_pressure: float
    expected_vetoes: float = 0.0

    @property
    def expected_resolved(self) -> float:
        return float(self.p_verified.sum())


def path_outcomes(solution: BestResponse) -> PathOutcomes:
    """Forward pass over the equilibrium of ``solution`` (solved from period 0)."""
    game = solution.game
    C0, M0 = game.initial_state()
    mass: dict[tuple[bytes, bytes], float] = {(C0.tobytes(), M0.tobytes()): 1.0}
    nc = game.n_concerns
    periods = np.zeros(nc)
    press = 0.0
    vetoes = 0.0
    oracle = solution.vote_oracle if game.has_strategic else None
    for t in range(game.horizon):
        nxt: dict[tuple[bytes, bytes], float] = {}
        for (cb, mb), pr in mass.items():
            C = np.frombuffer(cb, dtype=np.uint8).copy()
            M = np.frombuffer(mb, dtype=np.uint8).copy()
            a = game.actions.index(solution.action(t, C, M))
            C1, _, _ = apply_action(game, C[None, :], np.array([a]))
            _, Cv, pv = verification_outcomes(game, C1)
            M2, recs = resolve(
                game, t, Cv, np.repeat(M[None, :], len(pv), axis=0), record=True, oracle=oracle
            )
            for rec in recs:
                if game.veto_rule[int(game.issuer[rec.measure])]:
                    for r, row in enumerate(rec.rows):
                        if not rec.passed[r]:
                            vetoes += pr * float(pv[row]) * float((~rec.votes[r]).sum())
            for j in range(len(pv)):
                key = (Cv[j].tobytes(), M2[j].tobytes())
                nxt[key] = nxt.get(key, 0.0) + pr * float(pv[j])
        mass = nxt
        for (cb, mb), pr in mass.items():
            C = np.frombuffer(cb, dtype=np.uint8)
            M = np.frombuffer(mb, dtype=np.uint8)
            periods += pr * (C != VERIFIED)
            press += pr * float(pressure(game, M[None, :])[0])
    p_ver = np.zeros(nc)
    for (cb, _), pr in mass.items():
        p_ver += pr * (np.frombuffer(cb, dtype=np.uint8) == VERIFIED)
    return PathOutcomes(
        p_verified=p_ver, periods_to=periods, expected_pressure=press, expected_vetoes=vetoes
    )
