"""The ``optimal`` target strategy: play the solved best response."""

from __future__ import annotations

from ..mechanisms.game import U8, Game
from .best_response import BestResponse, solve_best_response


class Optimal:
    """Plays the exact best response computed by :func:`solve_best_response`."""

    name = "optimal"

    def __init__(self, game: Game, solution: BestResponse | None = None) -> None:
        self.solution = solution if solution is not None else solve_best_response(game)

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        return self.solution.action(t, C, M)
