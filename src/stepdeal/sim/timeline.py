"""The record of one simulated run: events, per-period states and payoffs, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened in period ``t``.

    ``kind`` is one of ``step`` (the target took a step), ``verified``,
    ``proposal`` (tabled: ``proposal`` like ``freeze:m1``, ``institution``),
    ``vote`` (``member``, ``vote`` yes/no), ``decision`` (``passed``),
    ``status`` (a measure changed: ``measure``, ``before``, ``after``).
    """

    t: int
    kind: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, **self.data}


@dataclass(frozen=True)
class PeriodRecord:
    """State and payoffs at the end of period ``t``."""

    t: int
    concerns: dict[str, str]  # concern id -> open | pending | verified
    measures: dict[str, str]  # measure id -> status
    pressure: float  # cost of sanctions to the target this period (scenario unit)
    payoffs: dict[str, float]  # actor id -> payoff this period (scenario unit)
    #: the powers' belief over the target's types after this period's action (typed games)
    belief: dict[str, float] | None = None


@dataclass
class Timeline:
    """A run of one scenario under one policy and target strategy."""

    scenario: str
    policy: str
    strategy: str
    seed: int | None
    unit: str
    period: str
    horizon: int
    events: list[Event] = field(default_factory=list)
    periods: list[PeriodRecord] = field(default_factory=list)
    utilities: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    # -- metrics ------------------------------------------------------------------
    def steps(self) -> list[dict[str, Any]]:
        """Every step taken, in order: ``{concern, taken, verified}`` (periods)."""
        verified = {e.data["concern"]: e.t for e in self.events if e.kind == "verified"}
        return [
            {
                "concern": e.data["concern"],
                "taken": e.t,
                "verified": verified.get(e.data["concern"]),
            }
            for e in self.events
            if e.kind == "step"
        ]

    def resolved(self) -> list[str]:
        """Concern ids verified (and not reversed since), in the order they were verified."""
        last: dict[str, tuple[int, str]] = {}
        for i, e in enumerate(self.events):
            if e.kind in ("verified", "reversed"):
                last[e.data["concern"]] = (i, e.kind)
        return [
            c
            for c, (_, kind) in sorted(last.items(), key=lambda kv: kv[1][0])
            if kind == "verified"
        ]

    def reversals(self) -> list[dict[str, Any]]:
        """Every reversal: ``{concern, period}``."""
        return [
            {"concern": e.data["concern"], "period": e.t}
            for e in self.events
            if e.kind == "reversed"
        ]

    def final_measures(self) -> dict[str, str]:
        return dict(self.periods[-1].measures) if self.periods else {}

    def pressure(self) -> list[float]:
        return [p.pressure for p in self.periods]

    def vetoes(self) -> list[dict[str, Any]]:
        return [
            {k: e.data[k] for k in ("institution", "member", "proposal")} | {"period": e.t}
            for e in self.events
            if e.kind == "vote" and e.data.get("veto")
        ]

    def to_dict(self) -> dict[str, Any]:
        """The ``run --json`` contract, plus extra keys."""
        vetoes = [
            {
                "period": v["period"],
                "institution": v["institution"],
                "member": v["member"],
                "proposal": v["proposal"],
            }
            for v in self.vetoes()
        ]
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "policy": self.policy,
            "seed": self.seed,
            "resolved": self.resolved(),
            "steps": self.steps(),
            "measures": self.final_measures(),
            "pressure": [round(x, 12) for x in self.pressure()],
            "utilities": {k: round(v, 12) for k, v in self.utilities.items()},
            "vetoes": vetoes,
            "reversals": self.reversals(),
            "strategy": self.strategy,
            "unit": self.unit,
            "period": self.period,
            "horizon": self.horizon,
        }
        if any(p.belief is not None for p in self.periods):
            out["beliefs"] = [
                {k: round(v, 12) for k, v in (p.belief or {}).items()} for p in self.periods
            ]
        out.update(self.extras)
        return out
