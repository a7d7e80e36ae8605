"""The ``history:`` block: what really happened in a case, for `stepdeal backtest`.

A case scenario (``jpoa-2013``, ``dprk-2007``, ...) carries, next to its model, the
observed record in the same ids and periods: which concerns the target took and
when they were verified, which relief was granted, where the process stalled or
broke down, which steps were reversed. Every entry has its sources. Parameters that
were *fitted* to the outcome (rather than set from sources) are listed under
``fitted`` with the sourced value they replaced, so the back-test can show what the
verdict would be without each fit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Period = Annotated[int, Field(ge=0, description="period index (t = 0 is the scenario start)")]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: str | None = Field(None, description="calendar date, e.g. 2007-08-21")
    note: str | None = None
    sources: list[str] = Field(default_factory=list)


class ObservedStep(_Entry):
    """A concern the target acted on."""

    concern: Id
    taken: Period | None = Field(description="period the step was taken (null: never)")
    verified: Period | None = Field(None, description="period it was verified (null: never)")


class ObservedRelief(_Entry):
    """A change to a measure that really happened."""

    measure: Id
    action: Literal["curtail", "freeze", "lift", "impose", "snapback"]
    period: Period


class ObservedEnd(_Entry):
    """Where the process stalled (stopped with concerns open) or broke down."""

    period: Period
    concern: Id | None = Field(None, description="the concern it stopped at, if one")
    reason: str


class ObservedReversal(_Entry):
    concern: Id
    period: Period


class Fitted(BaseModel):
    """A parameter set by fitting to the outcome instead of from a source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="field path, e.g. concerns.alleged-studies.cost")
    sourced: float = Field(description="the value the sources alone would give")
    reason: str


class History(BaseModel):
    """The observed record of a case (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    policy: Id = Field(description="the policy that was actually played")
    summary: str = Field(description="what happened, in two or three sentences")
    steps: list[ObservedStep] = Field(default_factory=list)
    relief: list[ObservedRelief] = Field(default_factory=list)
    stalled: ObservedEnd | None = None
    broke_down: ObservedEnd | None = None
    reversals: list[ObservedReversal] = Field(default_factory=list)
    tolerance: int = Field(
        2, ge=0, description="periods within which a predicted timing counts as matching"
    )
    fitted: list[Fitted] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
