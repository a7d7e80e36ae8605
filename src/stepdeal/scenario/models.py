"""Typed models of the scenario file format.

Each class is one block of the YAML file. Field names are a public contract
(external tests rely on them): add fields, never rename them. Unknown keys are
errors (``extra="forbid"``). Cross-references (a measure's issuer, a relief
action's measure, ...) are checked in :meth:`Scenario._cross_check`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from .history import History
from .uncertainty import Dist, UncertaintySpace

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="identifier: letters, digits, '_', '-', '.'",
    ),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Amount = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegativeAmount = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


def _yes_no(value: Any) -> Any:
    """YAML 1.1 reads unquoted ``yes``/``no`` as booleans; map them back."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return value


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Documented(_Base):
    """Free-text documentation every entity may carry."""

    name: str | None = Field(None, description="human-readable name")
    note: str | None = Field(None, description="assumptions and reasoning behind the numbers")
    sources: list[str] = Field(default_factory=list, description="where the numbers come from")


class Actor(Documented):
    id: Identifier
    role: Literal["target", "power"] = Field(
        description="target: the state asked to take steps; power: a sanctioning state"
    )
    discount: float = Field(
        gt=0.0, lt=1.0, description="per-period discount factor delta, 0 < delta < 1"
    )


class VetoCostByKind(_Base):
    """A member's cost of voting no, per proposal kind (a missing kind costs 0)."""

    escalate: NonNegativeAmount = Field(
        0.0, description="one-off cost of each no vote on an escalate (impose/restore) proposal"
    )
    relieve: NonNegativeAmount = Field(
        0.0, description="one-off cost of each no vote on a relieve proposal"
    )


def _veto_cost_tag(v: Any) -> str:
    return "veto_cost_by_kind" if isinstance(v, dict | VetoCostByKind) else "veto_cost_number"


#: a number (both proposal kinds) or ``{escalate: x, relieve: y}``
VetoCost = Annotated[
    Annotated[NonNegativeAmount, Tag("veto_cost_number")]
    | Annotated[VetoCostByKind, Tag("veto_cost_by_kind")],
    Discriminator(_veto_cost_tag),
]


class Institution(Documented):
    id: Identifier
    members: list[Identifier] = Field(min_length=1, description="ids of power actors")
    rule: Literal["veto", "majority"] = Field(
        description="veto: passes iff no member votes no; majority: passes iff more yes than no"
    )
    veto_cost: dict[Identifier, VetoCost] = Field(
        default_factory=dict,
        description="member id -> one-off political cost (in the scenario's unit) that the "
        "member pays in the period it votes no on a proposal of this institution: a number "
        "(both kinds) or {escalate: x, relieve: y}; default: no cost",
    )


class Concern(Documented):
    id: Identifier
    cost: Amount = Field(description="one-off cost to the target in the period it takes the step")
    upkeep: Amount = Field(0.0, description="per-period cost to the target while the step stands")
    value: dict[Identifier, Amount] = Field(
        default_factory=dict, description="per-period value to each power once verified"
    )
    verify: Probability = Field(
        1.0, description="probability per period that a taken step is verified"
    )
    reversible: bool = Field(False, description="the target may reverse the step once verified")
    reversal_cost: Amount = Field(
        0.0, description="one-off cost to the target in the period it reverses the step"
    )


class Measure(Documented):
    id: Identifier
    issuer: Identifier = Field(description="institution that must vote to change it")
    status: Literal["active", "potential", "curtailed", "frozen", "lifted"] = Field(
        description="initial status; potential = not yet imposed"
    )
    impact: Amount = Field(description="per-period cost to the target while active")
    burden: dict[Identifier, Amount] = Field(
        default_factory=dict, description="per-period cost to each power while active"
    )
    curtail: Share = Field(0.5, description="share of impact and burden left when curtailed")


class Snapback(_Base):
    """Relief withdrawn when a reversal makes it unjustified (see the model spec 4.8)."""

    rule: Literal["issuer", "reverse_veto"] = Field(
        "issuer",
        description="issuer: the issuer's own rule decides a restore proposal; reverse_veto: "
        "relief continues only if every member votes to continue it (JCPOA/UNSCR 2231 "
        "para. 11-12: one member can restore sanctions)",
    )


class ReliefAction(_Base):
    measure: Identifier
    action: Literal["freeze", "curtail", "lift"]


class ConditionalVote(_Base):
    """Vote ``then`` if at least ``if_verified_at_least`` concerns are verified, else ``else``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    if_verified_at_least: int = Field(ge=0)
    then: Literal["yes", "no"]
    else_: Literal["yes", "no"] = Field(alias="else")

    @field_validator("then", "else_", mode="before")
    @classmethod
    def _bools(cls, v: Any) -> Any:
        return _yes_no(v)


class BeliefVote(_Base):
    """Vote ``then`` if the powers' belief that the target is of type ``if_belief`` is at
    least ``at_least``, else ``else`` (needs ``types``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    if_belief: Identifier = Field(description="a type id of the scenario's types block")
    at_least: Probability = Field(description="minimum posterior probability of that type")
    then: Literal["yes", "no"]
    else_: Literal["yes", "no"] = Field(alias="else")

    @field_validator("then", "else_", mode="before")
    @classmethod
    def _bools(cls, v: Any) -> Any:
        return _yes_no(v)


VoteRule = Literal["yes", "no", "sincere", "strategic"] | ConditionalVote | BeliefVote


class MemberVotes(_Base):
    escalate: VoteRule = "sincere"
    relieve: VoteRule = "sincere"

    @field_validator("escalate", "relieve", mode="before")
    @classmethod
    def _bools(cls, v: Any) -> Any:
        return _yes_no(v)


class _PolicyBase(Documented):
    id: Identifier
    snapback: Snapback | None = Field(
        None, description="restore relief when a reversal makes it unjustified (default: none)"
    )


class BeliefCondition(_Base):
    """A condition on the powers' belief: P(type) >= at_least."""

    type: Identifier = Field(description="a type id of the scenario's types block")
    at_least: Probability = Field(description="minimum posterior probability of that type")


class _ReliefPart(_Base):
    relief_if_belief: BeliefCondition | None = Field(
        None,
        description="table relief only while the powers' belief in this type is at least "
        "at_least (needs types; default: relief does not depend on beliefs)",
    )
    order: Literal["by_cost"] | list[Identifier] = Field(
        "by_cost", description="by_cost (ascending cost, ties by file order) or a list of ids"
    )
    strict: bool = Field(True, description="only the next concern in order may be taken")
    relief: dict[Identifier, list[ReliefAction]] = Field(
        description="concern id -> actions proposed once that concern is verified"
    )


class _EscalationPart(_Base):
    demands: Literal["all"] | list[Identifier] = "all"
    review_every: int = Field(ge=1, description="escalation reviews at t = k * review_every")
    tranches: list[Identifier] = Field(
        description="potential measures proposed one per review, in order"
    )
    on_completion: Literal["lift_all", "none"] = "lift_all"


class StepByStepPolicy(_PolicyBase, _ReliefPart):
    kind: Literal["step_by_step"]


class EscalationPolicy(_PolicyBase, _EscalationPart):
    kind: Literal["escalation"]


class HybridPolicy(_PolicyBase, _ReliefPart, _EscalationPart):
    kind: Literal["hybrid"]


class GrandBargainPolicy(_PolicyBase):
    kind: Literal["grand_bargain"]
    demands: Literal["all"] | list[Identifier] = "all"
    on_completion: Literal["lift_all"] = "lift_all"


class GritPolicy(Documented):
    """Osgood's GRIT (1962): an announced schedule of unilateral relief initiatives.

    Initiative k (1-based) of ``initiatives`` is due at period (k-1)*every; it is tabled
    when due while fewer than ``patience`` initiatives stand unreciprocated, and at once
    (ahead of schedule) when the verified steps match the initiatives in force. With
    ``retaliate`` the latest initiatives are withdrawn after a reversal. Any open concern
    counts as reciprocation (see the model spec 4.9).
    """

    id: Identifier
    kind: Literal["grit"]
    initiatives: list[ReliefAction] = Field(
        min_length=1,
        description="the announced schedule of relief actions, smallest first; on one "
        "measure the actions must strictly increase (curtail < freeze < lift)",
    )
    every: int = Field(
        ge=1,
        description="periods between scheduled initiatives: initiative k is due at "
        "t = (k-1) * every",
    )
    patience: int = Field(
        ge=0,
        description="initiatives that may stand unreciprocated: a due initiative is tabled "
        "while initiatives in force - verified steps < patience",
    )
    retaliate: bool = Field(
        True,
        description="withdraw the latest initiatives in force when they exceed verified "
        "steps + max(patience, 1) (only after a reversal)",
    )


Policy = Annotated[
    StepByStepPolicy | EscalationPolicy | HybridPolicy | GrandBargainPolicy | GritPolicy,
    Field(discriminator="kind"),
]


class TargetType(Documented):
    """One possible type of the target (its private information), with its prior.

    Every override is optional: a concern or measure not listed keeps the value given
    in its own block, so the base file describes a complete-information benchmark.
    """

    id: Identifier
    prior: Probability = Field(description="prior probability of this type (priors sum to 1)")
    cost: dict[Identifier, Amount] = Field(
        default_factory=dict, description="concern id -> one-off cost of the step for this type"
    )
    upkeep: dict[Identifier, Amount] = Field(
        default_factory=dict, description="concern id -> per-period upkeep for this type"
    )
    reversal_cost: dict[Identifier, Amount] = Field(
        default_factory=dict, description="concern id -> one-off cost of reversing for this type"
    )
    impact: dict[Identifier, Amount] = Field(
        default_factory=dict, description="measure id -> per-period cost of it to this type"
    )
    value: dict[Identifier, dict[Identifier, Amount]] = Field(
        default_factory=dict,
        description="concern id -> power id -> per-period value to that power once verified, "
        "when the target is of this type",
    )


class Strategies(_Base):
    target: Literal["optimal", "compliant", "defiant"] = "optimal"


Score = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]


class Dimension(Documented):
    """An issue the stakeholders take positions on, scored 0-100."""

    id: Identifier
    low: str | None = Field(None, description="what a position of 0 means")
    high: str | None = Field(None, description="what a position of 100 means")


class Stakeholder(Documented):
    """One stakeholder: its clout and, per dimension, position (0-100) and salience."""

    id: Identifier
    capability: float = Field(ge=0.0, le=1e8, allow_inf_nan=False)
    position: dict[Identifier, Score] = Field(description="0-100 per dimension id")
    salience: dict[Identifier, Score] = Field(
        description="0-100 per dimension id; at most 100 in total (KTAB's rule)"
    )


class VoteLink(_Base):
    """A forecast position sets a power's vote rule (below / between / above thresholds)."""

    kind: Literal["vote_rule"]
    dimension: Identifier
    stakeholder: Identifier
    power: Identifier
    vote: Literal["escalate", "relieve"]
    thresholds: tuple[Score, Score] = Field(description="[lo, hi] on the 0-100 scale")
    below: VoteRule
    between: VoteRule
    above: VoteRule
    note: str | None = None
    sources: list[str] = Field(default_factory=list)

    @field_validator("below", "between", "above", mode="before")
    @classmethod
    def _bools(cls, v: Any) -> Any:
        return _yes_no(v)


class CostLink(_Base):
    """A capability-weighted forecast position scales concerns' one-off costs linearly:
    ``factor = at_0 + (at_100 - at_0) * position / 100``."""

    kind: Literal["cost_scale"]
    dimension: Identifier
    stakeholders: list[Identifier] = Field(min_length=1)
    concerns: Literal["all"] | list[Identifier] = "all"
    at_0: float = Field(gt=0, allow_inf_nan=False)
    at_100: float = Field(gt=0, allow_inf_nan=False)
    note: str | None = None
    sources: list[str] = Field(default_factory=list)


class Stakeholders(_Base):
    """Stakeholder table for the forecast models, and its links to the game."""

    dimensions: list[Dimension] = Field(min_length=1)
    actors: list[Stakeholder] = Field(min_length=3, max_length=250)
    links: list[Annotated[VoteLink | CostLink, Field(discriminator="kind")]] = Field(
        default_factory=list
    )
    note: str | None = None
    sources: list[str] = Field(default_factory=list)


class Uncertainty(Dist):
    """A named uncertainty: one draw shared by every field that refers to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    name: str | None = Field(None, description="human-readable name")
    note: str | None = Field(None, description="assumptions and reasoning behind the numbers")
    sources: list[str] = Field(default_factory=list, description="where the numbers come from")


class Scenario(Documented):
    """A complete, validated scenario."""

    name: Identifier = Field(description="identifier; built-ins are addressed by it")
    title: str | None = None
    period: str = Field(min_length=1, description="label of one period, e.g. month")
    unit: str = Field(
        "payoff units",
        description="money unit of payoffs: one-off costs and utilities are in this unit, "
        "per-period amounts (upkeep, value, impact, burden, pressure) in this unit per period",
    )
    start: str | None = Field(None, description="calendar label of t = 0, e.g. 2011-07")
    horizon: int = Field(ge=1, le=10_000, description="periods simulated/solved: t = 0..horizon-1")
    tail: Literal["persist", "none"]
    max_steps_per_period: int = Field(1, ge=1, le=8)
    actors: list[Actor] = Field(min_length=2)
    institutions: list[Institution] = Field(default_factory=list)
    concerns: list[Concern] = Field(min_length=1)
    measures: list[Measure] = Field(default_factory=list)
    policies: list[Policy] = Field(min_length=1)
    votes: dict[Identifier, MemberVotes] = Field(default_factory=dict)
    strategies: Strategies = Field(default_factory=Strategies)
    stakeholders: Stakeholders | None = Field(
        None, description="stakeholders for `stepdeal forecast` (positions 0-100)"
    )
    uncertainties: list[Uncertainty] = Field(
        default_factory=list,
        description="named uncertainties; fields refer to them with {uncertainty: id, scale: x}",
    )
    history: History | None = Field(
        None, description="the observed record of a real case, for `stepdeal backtest`"
    )
    types: list[TargetType] = Field(
        default_factory=list,
        description="private types of the target with priors (incomplete information); "
        "empty: the target's payoffs are common knowledge",
    )
    _space: UncertaintySpace | None = PrivateAttr(default=None)

    @property
    def uncertainty(self) -> UncertaintySpace:
        """The uncertain inputs read from the file (empty for a point scenario)."""
        return self._space if self._space is not None else UncertaintySpace((), ())

    # -- convenience ----------------------------------------------------------------
    @property
    def target(self) -> Actor:
        return next(a for a in self.actors if a.role == "target")

    @property
    def powers(self) -> list[Actor]:
        return [a for a in self.actors if a.role == "power"]

    def policy(
        self, policy_id: str
    ) -> StepByStepPolicy | EscalationPolicy | HybridPolicy | GrandBargainPolicy | GritPolicy:
        for p in self.policies:
            if p.id == policy_id:
                return p
        known = ", ".join(p.id for p in self.policies)
        raise KeyError(f"scenario {self.name!r} has no policy {policy_id!r}; it has: {known}")

    # -- cross-references ---------------------------------------------------------
    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        problems = cross_check(self)
        if problems:
            raise CrossReferenceErrors(problems)
        return self


class CrossReferenceProblem:
    """One failed cross-reference: a path into the file, a message and a fix."""

    def __init__(self, path: tuple[str | int, ...], message: str, fix: str) -> None:
        self.path = path
        self.message = message
        self.fix = fix


class CrossReferenceErrors(ValueError):
    def __init__(self, problems: list[CrossReferenceProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _dupes(items: list[str]) -> list[int]:
    seen: set[str] = set()
    out = []
    for i, x in enumerate(items):
        if x in seen:
            out.append(i)
        seen.add(x)
    return out


def cross_check(s: Scenario) -> list[CrossReferenceProblem]:
    """Every check that spans more than one block of the file."""
    P = CrossReferenceProblem
    out: list[CrossReferenceProblem] = []
    for block, items in (
        ("actors", [a.id for a in s.actors]),
        ("institutions", [i.id for i in s.institutions]),
        ("concerns", [c.id for c in s.concerns]),
        ("measures", [m.id for m in s.measures]),
        ("policies", [p.id for p in s.policies]),
    ):
        for i in _dupes(items):
            out.append(
                P((block, i, "id"), f"duplicate id {items[i]!r}", "give every entry its own id")
            )
    targets = [a.id for a in s.actors if a.role == "target"]
    if len(targets) != 1:
        out.append(
            P(
                ("actors",),
                f"expected exactly one actor with role: target, found {len(targets)}",
                "mark exactly one actor as role: target and the others as role: power",
            )
        )
    powers = {a.id for a in s.actors if a.role == "power"}
    power_list = ", ".join(sorted(powers)) or "(none)"
    institutions = {i.id for i in s.institutions}
    concerns = [c.id for c in s.concerns]
    measures = {m.id: m for m in s.measures}
    for i, inst in enumerate(s.institutions):
        for j, mem in enumerate(inst.members):
            if mem not in powers:
                out.append(
                    P(
                        ("institutions", i, "members", j),
                        f"member {mem!r} is not a power actor",
                        f"use one of the powers: {power_list}",
                    )
                )
        for j in _dupes(list(inst.members)):
            out.append(
                P(
                    ("institutions", i, "members", j),
                    f"member {inst.members[j]!r} listed twice",
                    "list each member once",
                )
            )
        for who in inst.veto_cost:
            if who not in inst.members:
                out.append(
                    P(
                        ("institutions", i, "veto_cost", who),
                        f"{who!r} is not a member of institution {inst.id!r}",
                        "veto_cost is given per member of this institution: "
                        + ", ".join(inst.members),
                    )
                )
    for i, c in enumerate(s.concerns):
        for who in c.value:
            if who not in powers:
                out.append(
                    P(
                        ("concerns", i, "value", who),
                        f"{who!r} is not a power actor",
                        f"value is given per power: {power_list}",
                    )
                )
    for i, m in enumerate(s.measures):
        if m.issuer not in institutions:
            out.append(
                P(
                    ("measures", i, "issuer"),
                    f"issuer {m.issuer!r} is not an institution",
                    "use one of: "
                    + (", ".join(sorted(institutions)) or "(define institutions first)"),
                )
            )
        for who in m.burden:
            if who not in powers:
                out.append(
                    P(
                        ("measures", i, "burden", who),
                        f"{who!r} is not a power actor",
                        f"burden is given per power: {power_list}",
                    )
                )
    cset = set(concerns)

    def refs(
        path: tuple[str | int, ...],
        ids: list[str],
        known: set[str] | dict[str, Measure],
        what: str,
        keyed: bool = False,
    ) -> None:
        """Report ids not in ``known``; ``keyed``: the ids are mapping keys, not list items."""
        for j, x in enumerate(ids):
            if x not in known:
                where = (*path, x if keyed else j)
                out.append(P(where, f"unknown {what} {x!r}", f"use {what} ids: {', '.join(known)}"))

    for i, p in enumerate(s.policies):
        order = getattr(p, "order", None)
        if isinstance(order, list):
            refs(("policies", i, "order"), order, cset, "concern")
            for j in _dupes(order):
                out.append(
                    P(
                        ("policies", i, "order", j),
                        f"concern {order[j]!r} listed twice",
                        "list each concern once",
                    )
                )
        relief = getattr(p, "relief", None) or {}
        refs(("policies", i, "relief"), list(relief), cset, "concern", keyed=True)
        for cid, actions in relief.items():
            refs(("policies", i, "relief", cid), [a.measure for a in actions], measures, "measure")
        demands = getattr(p, "demands", None)
        if isinstance(demands, list):
            refs(("policies", i, "demands"), demands, cset, "concern")
        tranches = getattr(p, "tranches", None) or []
        refs(("policies", i, "tranches"), tranches, measures, "measure")
        for j, mid in enumerate(tranches):
            if mid in measures and measures[mid].status != "potential":
                out.append(
                    P(
                        ("policies", i, "tranches", j),
                        f"tranche {mid!r} has status {measures[mid].status!r}",
                        "a tranche must be a measure with status: potential",
                    )
                )
        if isinstance(p, GritPolicy):
            out += _grit_problems(p, i, measures)
    for who in s.votes:
        if who not in powers:
            out.append(
                P(
                    ("votes", who),
                    f"{who!r} is not a power actor",
                    f"votes are given per power: {power_list}",
                )
            )
    if s.stakeholders is not None:
        out += _stakeholder_problems(s, powers, set(concerns))
    if s.history is not None:
        out += _history_problems(s, set(concerns), set(measures))
    out += _type_problems(s, powers, set(concerns), set(measures))
    return out


def _type_problems(
    s: Scenario, powers: set[str], concerns: set[str], measures: set[str]
) -> list[CrossReferenceProblem]:
    P = CrossReferenceProblem
    out: list[CrossReferenceProblem] = []
    ids = [t.id for t in s.types]
    for i in _dupes(ids):
        out.append(P(("types", i, "id"), f"duplicate type id {ids[i]!r}", "give each its own id"))
    if len(ids) == 1:
        out.append(
            P(
                ("types",),
                "a single type is complete information",
                "declare at least two types, or remove the types block",
            )
        )
    if s.types:
        total = sum(t.prior for t in s.types)
        if abs(total - 1.0) > 1e-9:
            out.append(
                P(
                    ("types",),
                    f"priors sum to {total:g}, not 1",
                    "give priors that sum to 1 (e.g. 0.6 and 0.4)",
                )
            )
    for i, t in enumerate(s.types):
        for key in ("cost", "upkeep", "reversal_cost", "value"):
            for cid in getattr(t, key):
                if cid not in concerns:
                    out.append(
                        P(
                            ("types", i, key, cid),
                            f"unknown concern {cid!r}",
                            f"use concern ids: {', '.join(sorted(concerns))}",
                        )
                    )
        for cid, per in t.value.items():
            for who in per:
                if who not in powers:
                    out.append(
                        P(
                            ("types", i, "value", cid, who),
                            f"{who!r} is not a power actor",
                            f"use one of {', '.join(sorted(powers))}",
                        )
                    )
        for mid in t.impact:
            if mid not in measures:
                out.append(
                    P(
                        ("types", i, "impact", mid),
                        f"unknown measure {mid!r}",
                        f"use measure ids: {', '.join(sorted(measures))}",
                    )
                )
    known = ", ".join(ids) if ids else "(none: add a types block)"
    for i, p in enumerate(s.policies):
        cond = getattr(p, "relief_if_belief", None)
        if cond is not None and cond.type not in ids:
            out.append(
                P(
                    ("policies", i, "relief_if_belief", "type"),
                    f"unknown type {cond.type!r}",
                    f"use a type id declared under types: {known}",
                )
            )
    for who, mv in s.votes.items():
        for kind in ("escalate", "relieve"):
            rule = getattr(mv, kind)
            if isinstance(rule, BeliefVote) and rule.if_belief not in ids:
                out.append(
                    P(
                        ("votes", who, kind, "if_belief"),
                        f"unknown type {rule.if_belief!r}",
                        f"use a type id declared under types: {known}",
                    )
                )
    return out


_GRIT_RANK = {"curtail": 1, "freeze": 2, "lift": 3}
_STATUS_RELIEF_RANK = {"active": 0, "curtailed": 1, "frozen": 2, "lifted": 3}


def _grit_problems(
    p: GritPolicy, i: int, measures: dict[str, Measure]
) -> list[CrossReferenceProblem]:
    """A GRIT schedule: known, relievable measures; on one measure, increasing actions."""
    P = CrossReferenceProblem
    out: list[CrossReferenceProblem] = []
    last: dict[str, tuple[int, str]] = {}  # measure -> (index, action) of its latest initiative
    for j, ini in enumerate(p.initiatives):
        where: tuple[str | int, ...] = ("policies", i, "initiatives", j)
        m = measures.get(ini.measure)
        if m is None:
            out.append(
                P(
                    (*where, "measure"),
                    f"unknown measure {ini.measure!r}",
                    f"use measure ids: {', '.join(measures) or '(define measures first)'}",
                )
            )
            continue
        if m.status == "potential":
            out.append(
                P(
                    (*where, "measure"),
                    f"measure {m.id!r} has status potential: there is nothing to relieve",
                    "an initiative must relieve a measure with status active or curtailed",
                )
            )
        elif _GRIT_RANK[ini.action] <= _STATUS_RELIEF_RANK[m.status]:
            out.append(
                P(
                    (*where, "action"),
                    f"measure {m.id!r} starts {m.status}, so {ini.action!r} would be in force "
                    "before it is made",
                    "use a stronger action (curtail < freeze < lift) or drop this initiative",
                )
            )
        if ini.measure in last and _GRIT_RANK[ini.action] <= _GRIT_RANK[last[ini.measure][1]]:
            k, prev = last[ini.measure]
            out.append(
                P(
                    (*where, "action"),
                    f"{ini.action!r} on {m.id!r} does not go beyond initiative {k + 1} "
                    f"({prev!r}) on the same measure",
                    "on one measure, list actions in strictly increasing order: "
                    "curtail < freeze < lift",
                )
            )
        last[ini.measure] = (j, ini.action)
    return out


def _history_problems(
    s: Scenario, concerns: set[str], measures: set[str]
) -> list[CrossReferenceProblem]:
    P = CrossReferenceProblem
    h = s.history
    assert h is not None
    out: list[CrossReferenceProblem] = []
    ids = [p.id for p in s.policies]
    if h.policy not in ids:
        out.append(
            P(("history", "policy"), f"no policy {h.policy!r}", f"use one of {', '.join(ids)}")
        )
    named: list[tuple[tuple[str | int, ...], str | None, set[str], str]] = []
    named += [
        (("history", "steps", i, "concern"), x.concern, concerns, "concern")
        for i, x in enumerate(h.steps)
    ]
    named += [
        (("history", "reversals", i, "concern"), x.concern, concerns, "concern")
        for i, x in enumerate(h.reversals)
    ]
    named += [
        (("history", "relief", i, "measure"), x.measure, measures, "measure")
        for i, x in enumerate(h.relief)
    ]
    for key in ("stalled", "broke_down"):
        end = getattr(h, key)
        if end is not None:
            named.append((("history", key, "concern"), end.concern, concerns, "concern"))
    for path, ident, known, what in named:
        if ident is not None and ident not in known:
            out.append(P(path, f"no {what} {ident!r}", f"use one of {', '.join(sorted(known))}"))
    periods: list[tuple[tuple[str | int, ...], int | None]] = []
    for i, st in enumerate(h.steps):
        periods += [
            (("history", "steps", i, "taken"), st.taken),
            (("history", "steps", i, "verified"), st.verified),
        ]
        if st.taken is not None and st.verified is not None and st.verified < st.taken:
            out.append(
                P(
                    ("history", "steps", i, "verified"),
                    "verified before it was taken",
                    "give a verified period at or after taken",
                )
            )
    periods += [(("history", "relief", i, "period"), x.period) for i, x in enumerate(h.relief)]
    for path, t in periods:
        if t is not None and t >= s.horizon:
            out.append(
                P(
                    path,
                    f"period {t} is beyond the horizon ({s.horizon} {s.period}s)",
                    "raise horizon or correct the period",
                )
            )
    return out


def _stakeholder_problems(
    s: Scenario, powers: set[str], concerns: set[str]
) -> list[CrossReferenceProblem]:
    P = CrossReferenceProblem
    out: list[CrossReferenceProblem] = []
    sh = s.stakeholders
    assert sh is not None
    dims = [d.id for d in sh.dimensions]
    names = [a.id for a in sh.actors]
    for block, items in (("dimensions", dims), ("actors", names)):
        for i in _dupes(items):
            out.append(
                P(
                    ("stakeholders", block, i, "id"),
                    f"duplicate id {items[i]!r}",
                    "give each its own id",
                )
            )
    for i, a in enumerate(sh.actors):
        total = sum(a.salience.values())
        if total > 100 + 1e-9:
            out.append(
                P(
                    ("stakeholders", "actors", i, "salience"),
                    f"total salience {total:g} exceeds 100 (KTAB's rule)",
                    "scale this actor's saliences so that they sum to at most 100",
                )
            )
        for key in ("position", "salience"):
            given = getattr(a, key)
            missing = [d for d in dims if d not in given]
            extra = [d for d in given if d not in dims]
            if missing:
                out.append(
                    P(
                        ("stakeholders", "actors", i, key),
                        f"no {key} for dimension(s) {', '.join(missing)}",
                        f"give a {key} (0-100) for every dimension: {', '.join(dims)}",
                    )
                )
            for d in extra:
                out.append(
                    P(
                        ("stakeholders", "actors", i, key, d),
                        f"unknown dimension {d!r}",
                        f"use dimension ids: {', '.join(dims)}",
                    )
                )
    for j, link in enumerate(sh.links):
        where = ("stakeholders", "links", j)
        if link.dimension not in dims:
            out.append(
                P(
                    (*where, "dimension"),
                    f"unknown dimension {link.dimension!r}",
                    f"use one of {', '.join(dims)}",
                )
            )
        who = [link.stakeholder] if isinstance(link, VoteLink) else link.stakeholders
        for w in who:
            if w not in names:
                out.append(P(where, f"unknown stakeholder {w!r}", f"use one of {', '.join(names)}"))
        if isinstance(link, VoteLink):
            if link.power not in powers:
                out.append(
                    P(
                        (*where, "power"),
                        f"{link.power!r} is not a power actor",
                        f"use one of {', '.join(sorted(powers))}",
                    )
                )
            if link.thresholds[0] > link.thresholds[1]:
                out.append(
                    P((*where, "thresholds"), "lo is above hi", "write [lo, hi] with lo <= hi")
                )
        elif isinstance(link.concerns, list):
            for c in link.concerns:
                if c not in concerns:
                    out.append(
                        P(
                            (*where, "concerns"),
                            f"unknown concern {c!r}",
                            f"use concern ids: {', '.join(sorted(concerns))}",
                        )
                    )
    return out
