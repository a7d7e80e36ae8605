"""Layer 4: strategic analysis — the target's exact best response."""

from .best_response import (
    DEFAULT_MAX_SIZE,
    BestResponse,
    Layer,
    StateGraphTooLarge,
    reachable_counts,
    solve_best_response,
    tail_value,
)
from .optimal import Optimal

__all__ = [
    "DEFAULT_MAX_SIZE",
    "BestResponse",
    "Layer",
    "Optimal",
    "StateGraphTooLarge",
    "reachable_counts",
    "solve_best_response",
    "tail_value",
]
