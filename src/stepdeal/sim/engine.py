"""Run a compiled game under a target strategy into a :class:`Timeline`.

The engine applies the shared rules (:mod:`stepdeal.mechanisms.rules`) to a
batch of one state and records every event. Verification draws come from a
``numpy.random.Generator``: one draw per pending step whose ``verify`` is
strictly between 0 and 1, in file order, every period. The same game, strategy
and seed therefore give the same timeline.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ..mechanisms.game import (
    ACTIVE,
    CONCERN_STATUS,
    CURTAILED,
    FROZEN,
    LIFTED,
    MEASURE_STATUS,
    PENDING,
    PROPOSAL_KINDS,
    U8,
    VERIFIED,
    Game,
)
from ..mechanisms.rules import (
    VoteOracle,
    allowed_actions,
    apply_action,
    power_payoffs,
    pressure,
    resolve,
    target_payoff,
    vote_costs,
)
from .timeline import Event, PeriodRecord, Timeline

ACTION_NAME = {ACTIVE: "impose", CURTAILED: "curtail", FROZEN: "freeze", LIFTED: "lift"}


class BeliefTracker(Protocol):
    """The powers' belief over the target's types (games with ``types``).

    ``observe`` is told the target's action (an index into ``game.actions``) taken in
    period ``t`` from state ``(C, M)`` and returns the belief after it, by type.
    """

    type_ids: tuple[str, ...]

    def observe(self, t: int, C: U8, M: U8, action: int) -> NDArray[np.float64]: ...


class Strategy(Protocol):
    """A target strategy: which step set to take in period ``t`` and state ``(C, M)``."""

    name: str

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]: ...


def make_rng(rng: int | np.random.Generator | None) -> tuple[np.random.Generator, int | None]:
    """A generator and the seed to record (``None`` means fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.default_rng().integers(0, 2**63 - 1))
        return np.random.default_rng(seed), seed
    return np.random.default_rng(int(rng)), int(rng)


def discounted(payoffs: list[float], delta: float, tail: float | None) -> float:
    """``sum_t delta^t u_t`` plus ``delta^H / (1 - delta) * tail`` when a tail is given."""
    total = 0.0
    for t, u in enumerate(payoffs):
        total += delta**t * u
    if tail is not None:
        total += delta ** len(payoffs) / (1.0 - delta) * tail
    return total


def simulate(
    game: Game,
    strategy: Strategy,
    rng: int | np.random.Generator | None = None,
    oracle: VoteOracle | None = None,
    beliefs: BeliefTracker | None = None,
) -> Timeline:
    """Simulate ``game`` for ``horizon`` periods with the target playing ``strategy``.

    ``oracle`` gives the strategic members' votes (from a solved equilibrium); it is
    required when some member's vote rule is ``strategic``. ``beliefs`` updates the
    powers' belief over the target's types on each action (belief-conditional rules
    read it; without it they read the prior); pass the game of the true type
    (:meth:`~stepdeal.mechanisms.game.Game.for_type`) so payoffs are that type's.
    """
    gen, seed = make_rng(rng)
    s = game.scenario
    tl = Timeline(
        scenario=s.name,
        policy=game.policy.id,
        strategy=strategy.name,
        seed=seed,
        unit=s.unit,
        period=s.period,
        horizon=game.horizon,
    )
    C, M = game.initial_state()
    ids = game.concern_ids
    mids = game.measure_ids
    target_u: list[float] = []
    power_u: list[list[float]] = [[] for _ in game.power_ids]
    for t in range(game.horizon):
        action = strategy.choose(game, t, C, M)
        allowed = allowed_actions(game, C[None, :])[0]
        if action not in game.actions or not allowed[game.actions.index(action)]:
            names = [game.concern_label(i) for i in action]
            raise ValueError(
                f"strategy {strategy.name!r} took a step set not allowed at t={t}: {names}"
            )
        n = game.n_concerns
        a = np.array([game.actions.index(action)], dtype=np.int64)
        mu = None if beliefs is None else beliefs.observe(t, C, M, int(a[0]))
        C2, taken2, reversed2 = apply_action(game, C[None, :], a)
        C, taken, reversed_ = C2[0], taken2[0], reversed2[0]
        for i in sorted(action):
            if i < n:
                tl.events.append(Event(t, "step", {"concern": ids[i]}))
            else:
                tl.events.append(Event(t, "reversed", {"concern": ids[i - n]}))
        for i in range(game.n_concerns):
            if C[i] != PENDING:
                continue
            p = game.verify[i]
            ok = p >= 1.0 or (p > 0.0 and gen.random() < p)
            if ok:
                C[i] = VERIFIED
                tl.events.append(Event(t, "verified", {"concern": ids[i]}))
        M2, records = resolve(
            game,
            t,
            C[None, :],
            M[None, :],
            record=True,
            oracle=oracle,
            mu=None if mu is None else mu[None, :],
        )
        for rec in records:
            inst = game.institution_ids[int(game.issuer[rec.measure])]
            after = int(rec.after[0])
            # a GRIT withdrawal restores a relieved measure: "withdraw:<measure>"
            name = "withdraw" if rec.source == "grit_restore" else ACTION_NAME[after]
            prop = f"{name}:{mids[rec.measure]}"
            kind = PROPOSAL_KINDS[rec.kind]
            passed = bool(rec.passed[0])
            tl.events.append(
                Event(t, "proposal", {"proposal": prop, "proposal_kind": kind, "institution": inst})
            )
            veto_inst = bool(game.veto_rule[int(game.issuer[rec.measure])])
            for col, p in enumerate(rec.members):
                yes = bool(rec.votes[0, col])
                tl.events.append(
                    Event(
                        t,
                        "vote",
                        {
                            "proposal": prop,
                            "institution": inst,
                            "member": game.power_ids[p],
                            "vote": "yes" if yes else "no",
                            "veto": veto_inst and not yes and not passed,
                        },
                    )
                )
            tl.events.append(
                Event(t, "decision", {"proposal": prop, "institution": inst, "passed": passed})
            )
            if passed:
                tl.events.append(
                    Event(
                        t,
                        "status",
                        {
                            "measure": mids[rec.measure],
                            "before": MEASURE_STATUS[int(rec.before[0])],
                            "after": MEASURE_STATUS[after],
                        },
                    )
                )
        M = M2[0]
        u_target = float(
            target_payoff(game, C[None, :], M[None, :], taken[None, :], reversed_[None, :])[0]
        )
        # a member pays its veto cost (if any) for each no vote of the period
        u_powers = (power_payoffs(game, C[None, :], M[None, :]) - vote_costs(game, records, 1))[0]
        target_u.append(u_target)
        for k in range(game.n_powers):
            power_u[k].append(float(u_powers[k]))
        payoffs = {game.target_id: u_target} | {
            game.power_ids[k]: float(u_powers[k]) for k in range(game.n_powers)
        }
        tl.periods.append(
            PeriodRecord(
                t=t,
                concerns={ids[i]: CONCERN_STATUS[int(C[i])] for i in range(game.n_concerns)},
                measures={mids[j]: MEASURE_STATUS[int(M[j])] for j in range(game.n_measures)},
                pressure=float(pressure(game, M[None, :])[0]),
                payoffs=payoffs,
                belief=None
                if mu is None or beliefs is None
                else {tid: float(x) for tid, x in zip(beliefs.type_ids, mu, strict=True)},
            )
        )
    # utilities with the stationary tail of the final state
    tail_t = float(target_payoff(game, C[None, :], M[None, :])[0]) if game.tail_persist else None
    tail_p = power_payoffs(game, C[None, :], M[None, :])[0]
    tl.utilities[game.target_id] = discounted(target_u, game.target_discount, tail_t)
    for k, pid in enumerate(game.power_ids):
        tail = float(tail_p[k]) if game.tail_persist else None
        tl.utilities[pid] = discounted(power_u[k], float(game.power_discount[k]), tail)
    return tl


__all__ = ["BeliefTracker", "Strategy", "discounted", "make_rng", "simulate"]
