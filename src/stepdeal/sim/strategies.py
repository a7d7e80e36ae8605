"""Reference target strategies that need no solver: ``compliant`` and ``defiant``.

The ``optimal`` strategy lives in :mod:`stepdeal.solve` (it needs the solved
best response); all three follow the :class:`~stepdeal.sim.engine.Strategy`
protocol.
"""

from __future__ import annotations

from ..mechanisms.game import OPEN, U8, Game
from ..mechanisms.rules import allowed_actions


class Defiant:
    """Never takes a step."""

    name = "defiant"

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        return ()


class Compliant:
    """Every period, takes the allowed steps that come first in the policy's order.

    For ``step_by_step`` and ``hybrid`` that is the policy's ``order``; for
    ``escalation`` and ``grand_bargain`` the demanded concerns by ascending
    cost (the policy order restricted to demands). Up to
    ``max_steps_per_period`` steps per period.
    """

    name = "compliant"

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        kind = game.policy.kind
        wanted = [
            int(i)
            for i in game.order
            if C[i] == OPEN and (kind in ("step_by_step", "hybrid") or game.demands[i])
        ]
        chosen = tuple(sorted(wanted[: game.max_steps]))
        allowed = allowed_actions(game, C[None, :])[0]
        # shrink until allowed (a strict order only admits prefixes)
        while chosen and not allowed[game.actions.index(chosen)]:
            chosen = tuple(sorted(wanted[: len(chosen) - 1]))
        return chosen


def by_name(name: str) -> Compliant | Defiant:
    if name == "compliant":
        return Compliant()
    if name == "defiant":
        return Defiant()
    raise ValueError(f"unknown strategy {name!r}; use optimal, compliant or defiant")


__all__ = ["Compliant", "Defiant", "by_name"]
