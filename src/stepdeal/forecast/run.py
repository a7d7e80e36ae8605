"""Run one forecast model by name on an actor table."""

from __future__ import annotations

from .actors import ActorTable
from .result import ForecastResult

MODELS = ("compromise", "bdm", "smp")


def run_model(table: ActorTable, model: str, rounds: int = 10) -> ForecastResult:
    """``compromise``, ``bdm`` (``rounds`` rounds) or ``smp`` (to KTAB's stop rule)."""
    if model == "compromise":
        from .compromise import compromise

        return compromise(table)
    if model == "bdm":
        from .bdm import bdm

        return bdm(table, rounds=rounds)
    if model == "smp":
        from .smp import smp

        return smp(table)
    raise ValueError(f"unknown model {model!r}. Fix: use one of {', '.join(MODELS)}")
