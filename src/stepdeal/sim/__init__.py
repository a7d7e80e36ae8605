"""Layer 3: simulation of a scenario under a policy and target strategy."""

from .engine import Strategy, discounted, make_rng, simulate
from .strategies import Compliant, Defiant, by_name
from .timeline import Event, PeriodRecord, Timeline

__all__ = [
    "Compliant",
    "Defiant",
    "Event",
    "PeriodRecord",
    "Strategy",
    "Timeline",
    "by_name",
    "discounted",
    "make_rng",
    "simulate",
]
