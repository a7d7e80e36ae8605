"""Why the target stops: the value of each remaining step where it stalls.

For a run under the optimal strategy, the *stall period* is the first period
after the last step the target took (0 if it took none) in which some step is
allowed (under a strict order the target may have to wait for verification).
There, for every step set the target could take, ``gain`` = Q(take it) − Q(take
nothing), in the scenario's unit discounted to that period. A negative gain is
the reason the target waits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..mechanisms.game import CONCERN_STATUS, MEASURE_STATUS, U8, Game
from ..sim.timeline import Timeline
from .best_response import BestResponse


def state_at_start(game: Game, timeline: Timeline, t: int) -> tuple[U8, U8]:
    """Concern and measure status at the start of period ``t`` of ``timeline``."""
    if t == 0:
        return game.initial_state()
    rec = timeline.periods[t - 1]
    C = np.array([CONCERN_STATUS.index(rec.concerns[c]) for c in game.concern_ids], dtype=np.uint8)
    M = np.array([MEASURE_STATUS.index(rec.measures[m]) for m in game.measure_ids], dtype=np.uint8)
    return C, M


def explain_stall(solution: BestResponse, timeline: Timeline) -> dict[str, Any]:
    """Where the optimal target stops and what each remaining step is worth to it."""
    game = solution.game
    steps = [e.t for e in timeline.events if e.kind == "step"]
    taken = {e.data["concern"] for e in timeline.events if e.kind == "step"}
    remaining = [c for c in game.concern_ids if c not in taken]
    if not remaining:
        return {"stalled": False, "period": None, "options": [], "unit": game.scenario.unit}
    first = (max(steps) + 1) if steps else 0
    for t in range(first, game.horizon):
        C, M = state_at_start(game, timeline, t)
        q = solution.q_values(t, C, M)
        if len(q) > 1:  # some step is allowed here (not only waiting for verification)
            wait = q[()]
            options = [
                {"concerns": [game.concern_ids[i] for i in act], "gain_vs_wait": round(v - wait, 9)}
                for act, v in q.items()
                if act and all(i < game.n_concerns for i in act)  # steps, not reversals
            ]
            return {"stalled": True, "period": t, "options": options, "unit": game.scenario.unit}
    return {"stalled": True, "period": None, "options": [], "unit": game.scenario.unit}
