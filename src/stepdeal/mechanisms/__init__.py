"""Layer 2: policies as executable rules, and the transition function they share."""

from .game import (
    CONCERN_STATUS,
    MEASURE_STATUS,
    PROPOSAL_KINDS,
    Game,
    compile_game,
)
from .rules import (
    ProposalRecord,
    allowed_actions,
    power_payoffs,
    pressure,
    resolve,
    target_payoff,
    verification_outcomes,
)

__all__ = [
    "CONCERN_STATUS",
    "MEASURE_STATUS",
    "PROPOSAL_KINDS",
    "Game",
    "ProposalRecord",
    "allowed_actions",
    "compile_game",
    "power_payoffs",
    "pressure",
    "resolve",
    "target_payoff",
    "verification_outcomes",
]
