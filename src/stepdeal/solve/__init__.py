"""Layer 4: strategic analysis — the target's exact best response."""

from .best_response import BestResponse, Layer, reachable_counts, solve_best_response, tail_value
from .optimal import Optimal

__all__ = [
    "BestResponse",
    "Layer",
    "Optimal",
    "reachable_counts",
    "solve_best_response",
    "tail_value",
]
