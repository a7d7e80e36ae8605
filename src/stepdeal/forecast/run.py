"""Run one forecast model by name on an actor table."""

from __future__ import annotations

from typing import Any

from .actors import ActorTable
from .result import ForecastResult

MODELS = ("compromise", "bdm", "smp")


def run_model(
    table: ActorTable, model: str, rounds: int = 10, smp_params: Any = None
) -> ForecastResult:
    """``compromise``, ``bdm`` (``rounds`` rounds, the ``scholz2011`` switches) or ``smp``
    (``smp_params``, e.g. from a KTAB XML file, else KTAB's defaults; to its stop rule)."""
    if model == "compromise":
        from .compromise import compromise

        return compromise(table)
    if model == "bdm":
        from .bdm import BdmSwitches, bdm

        # the reading validated against Scholz et al. (2011), Table 2
        return bdm(table, rounds=rounds, switches=BdmSwitches.preset("scholz2011"))
    if model == "smp":
        from .smp import smp

        return smp(table, smp_params)
    raise ValueError(f"unknown model {model!r}. Fix: use one of {', '.join(MODELS)}")
