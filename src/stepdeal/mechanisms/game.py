"""A scenario and one of its policies compiled into arrays.

The :class:`Game` holds everything the rules need as numpy arrays indexed by
file order (concern *i* is the *i*-th concern of the file, measure *j* the
*j*-th measure, power *k* the *k*-th power actor). It is the shared input of the
transition function (:mod:`stepdeal.mechanisms.rules`), the simulator and the
solvers.

Status codes
------------
Concerns: ``OPEN = 0``, ``PENDING = 1``, ``VERIFIED = 2``.
Measures: ``POTENTIAL = 0``, ``ACTIVE = 1``, ``CURTAILED = 2``, ``FROZEN = 3``,
``LIFTED = 4``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray

from ..scenario.models import (
    BeliefVote,
    ConditionalVote,
    EscalationPolicy,
    GrandBargainPolicy,
    GritPolicy,
    HybridPolicy,
    Scenario,
    StepByStepPolicy,
)

OPEN, PENDING, VERIFIED = 0, 1, 2
CONCERN_STATUS = ("open", "pending", "verified")
POTENTIAL, ACTIVE, CURTAILED, FROZEN, LIFTED = 0, 1, 2, 3, 4
MEASURE_STATUS = ("potential", "active", "curtailed", "frozen", "lifted")
_STATUS_CODE = {name: i for i, name in enumerate(MEASURE_STATUS)}

#: relief rank of an action (0 = none)
ACTION_RANK = {"curtail": 1, "freeze": 2, "lift": 3}
#: measure status reached by an action of a given rank
RANK_STATUS = np.array([ACTIVE, CURTAILED, FROZEN, LIFTED], dtype=np.uint8)
#: relief rank of a measure status (potential has none: -1)
STATUS_RANK = np.array([-1, 0, 1, 2, 3], dtype=np.int8)

# vote rule codes
VOTE_YES, VOTE_NO, VOTE_SINCERE, VOTE_CONDITIONAL, VOTE_STRATEGIC = 0, 1, 2, 3, 4
VOTE_BELIEF = 5
KIND_ESCALATE, KIND_RELIEVE = 0, 1
PROPOSAL_KINDS = ("escalate", "relieve")

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

AnyPolicy = StepByStepPolicy | EscalationPolicy | HybridPolicy | GrandBargainPolicy | GritPolicy


@dataclass(frozen=True)
class Game:
    """Numeric form of (scenario, policy). Build it with :func:`compile_game`."""

    scenario: Scenario
    policy: AnyPolicy
    # actors
    target_id: str
    power_ids: tuple[str, ...]
    target_discount: float
    power_discount: F64
    # concerns
    concern_ids: tuple[str, ...]
    cost: F64
    upkeep: F64
    value: F64  # (n_powers, n_concerns)
    verify: F64
    # measures
    measure_ids: tuple[str, ...]
    impact: F64
    burden: F64  # (n_powers, n_measures)
    curtail: F64
    issuer: I64  # institution index per measure
    initial_measures: U8
    # institutions
    institution_ids: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]  # power indices per institution
    veto_rule: B  # True: veto, False: majority
    # votes: rule code and parameters per (power, kind)
    vote_rule: NDArray[np.int8]  # (n_powers, 2)
    vote_k: I64  # (n_powers, 2) threshold of a conditional rule
    vote_then: B  # (n_powers, 2) True = yes
    vote_else: B  # (n_powers, 2)
    # policy
    horizon: int
    tail_persist: bool
    max_steps: int
    order: I64  # concern indices in policy order
    order_pos: I64  # position of each concern in ``order``
    strict: bool
    relief_rank: NDArray[np.int8]  # (n_concerns, n_measures) 0 = no relief
    has_relief: bool
    has_escalation: bool
    has_completion: bool
    demands: B  # (n_concerns,)
    review_every: int
    tranches: I64
    actions: tuple[tuple[int, ...], ...]  # canonical action list, index 0 = no step
    action_mask: B = field(repr=False)  # (n_actions, n_concerns): steps taken
    reverse_mask: B = field(repr=False)  # (n_actions, n_concerns): steps reversed
    reversible: B = field(repr=False)
    reversal_cost: F64 = field(repr=False)
    snapback: bool = False
    snapback_reverse_veto: bool = False
    #: one-off cost to a member of each no vote, per (institution, power, kind); zeros
    #: (the default) is the model without veto costs
    veto_cost: F64 = field(default_factory=lambda: np.zeros((0, 0, 2)), repr=False)
    #: GRIT (``kind: grit``): per initiative, its measure, relief rank and the measure
    #: status a withdrawal restores; the schedule's ``every`` and ``patience``
    grit: bool = False
    grit_measure: I64 = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    grit_rank: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8), repr=False)
    grit_restore: U8 = field(default_factory=lambda: np.zeros(0, np.uint8), repr=False)
    grit_every: int = 1
    grit_patience: int = 0
    grit_retaliate: bool = False
    #: extra per-period payment to the target while a concern is verified (analysis only:
    #: the hold-up search adds relief here; zero for every scenario file)
    bonus: F64 = field(default_factory=lambda: np.zeros(0), repr=False)

    #: private types of the target (empty: complete information); per type, the
    #: payoff parameters that replace ``cost``, ``upkeep``, ``reversal_cost``, ``impact``
    #: and ``value`` (see :meth:`for_type`)
    type_ids: tuple[str, ...] = ()
    prior: F64 = field(default_factory=lambda: np.ones(0), repr=False)
    type_cost: F64 = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    type_upkeep: F64 = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    type_reversal_cost: F64 = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    type_impact: F64 = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    type_value: F64 = field(default_factory=lambda: np.zeros((0, 0, 0)), repr=False)
    #: relief is tabled only while P(type ``relief_belief_type``) >= ``relief_belief_min``
    relief_belief_type: int = -1
    relief_belief_min: float = 0.0
    #: belief vote rules: type index (-1: none) and threshold per (power, kind)
    vote_belief_type: I64 = field(default_factory=lambda: np.zeros((0, 2), np.int64), repr=False)
    vote_belief_min: F64 = field(default_factory=lambda: np.zeros((0, 2)), repr=False)

    def __post_init__(self) -> None:
        if self.bonus.size != len(self.concern_ids):
            object.__setattr__(self, "bonus", np.zeros(len(self.concern_ids)))
        shape = (len(self.institution_ids), len(self.power_ids), 2)
        if self.veto_cost.shape != shape:
            object.__setattr__(self, "veto_cost", np.zeros(shape))

    @property
    def n_types(self) -> int:
        """Number of private types of the target (0: complete information)."""
        return len(self.type_ids)

    @property
    def belief_dependent(self) -> bool:
        """True if some rule reads the powers' belief (then types must be solved jointly)."""
        return self.relief_belief_type >= 0 or bool((self.vote_rule == VOTE_BELIEF).any())

    def for_type(self, k: int) -> Game:
        """The same game with type ``k``'s payoff parameters (complete information)."""
        return replace(
            self,
            cost=self.type_cost[k],
            upkeep=self.type_upkeep[k],
            reversal_cost=self.type_reversal_cost[k],
            impact=self.type_impact[k],
            value=self.type_value[k],
        )

    @property
    def has_strategic(self) -> bool:
        """True if some member votes strategically (the solver then branches on votes)."""
        return bool((self.vote_rule == VOTE_STRATEGIC).any())

    @property
    def n_concerns(self) -> int:
        return len(self.concern_ids)

    @property
    def n_measures(self) -> int:
        return len(self.measure_ids)

    @property
    def n_powers(self) -> int:
        return len(self.power_ids)

    def action_label(self, a: int) -> str:
        """Readable label of action index ``a``: ``none``, ``a+b`` or ``reverse a``."""
        act = self.actions[a]
        if not act:
            return "none"
        return "+".join(self.concern_label(i) for i in act)

    def concern_label(self, i: int) -> str:
        """Concern id for a take index, ``reverse <id>`` for a reversal index (``n + id``)."""
        n = self.n_concerns
        return self.concern_ids[i] if i < n else f"reverse {self.concern_ids[i - n]}"

    def initial_state(self) -> tuple[U8, U8]:
        """Concern and measure status vectors at the start of period 0."""
        return np.zeros(self.n_concerns, dtype=np.uint8), self.initial_measures.copy()


def canonical_actions(
    n_concerns: int, max_steps: int, reversible: list[int] | None = None
) -> tuple[tuple[int, ...], ...]:
    """All sets of at most ``max_steps`` concerns, in tie-breaking order.

    No step first, then fewer steps before more, then lexicographic on file
    indices: ``(), (0,), (1,), ..., (0, 1), (0, 2), ...``; then one reversal of a
    reversible concern ``i``, encoded as ``(n_concerns + i,)``, by file index.
    """
    out: list[tuple[int, ...]] = []
    for size in range(0, min(max_steps, n_concerns) + 1):
        out.extend(combinations(range(n_concerns), size))
    out.extend((n_concerns + i,) for i in sorted(reversible or []))
    return tuple(out)


def _policy_order(s: Scenario, policy: AnyPolicy) -> list[int]:
    ids = [c.id for c in s.concerns]
    order = getattr(policy, "order", "by_cost")
    if isinstance(order, list):
        listed = [ids.index(c) for c in order]
        return listed + [i for i in range(len(ids)) if i not in listed]
    # ascending cost, ties by file order (a stable sort)
    return sorted(range(len(ids)), key=lambda i: s.concerns[i].cost)


def _veto_costs(s: Scenario, pidx: dict[str, int]) -> F64:
    """``(n_institutions, n_powers, 2)`` cost of one no vote, by ``KIND_*``."""
    out = np.zeros((len(s.institutions), len(pidx), 2))
    for i, inst in enumerate(s.institutions):
        for who, c in inst.veto_cost.items():
            if isinstance(c, float | int):
                out[i, pidx[who], :] = float(c)
            else:
                out[i, pidx[who], KIND_ESCALATE] = c.escalate
                out[i, pidx[who], KIND_RELIEVE] = c.relieve
    return out


class _GritFields(TypedDict):
    grit: bool
    grit_measure: I64
    grit_rank: NDArray[np.int8]
    grit_restore: U8
    grit_every: int
    grit_patience: int
    grit_retaliate: bool


def _grit_fields(s: Scenario, policy: AnyPolicy, midx: dict[str, int]) -> _GritFields:
    """Game fields of a GRIT schedule (the defaults for other kinds)."""
    if not isinstance(policy, GritPolicy):
        return _GritFields(
            grit=False,
            grit_measure=np.zeros(0, np.int64),
            grit_rank=np.zeros(0, np.int8),
            grit_restore=np.zeros(0, np.uint8),
            grit_every=1,
            grit_patience=0,
            grit_retaliate=False,
        )
    measure = np.array([midx[a.measure] for a in policy.initiatives], dtype=np.int64)
    rank = np.array([ACTION_RANK[a.action] for a in policy.initiatives], dtype=np.int8)
    # a withdrawal restores the strongest earlier initiative on the same measure, or the
    # measure's initial status (validation makes every initiative exceed it)
    restore = np.empty(measure.size, dtype=np.uint8)
    for j in range(measure.size):
        m = int(measure[j])
        earlier = [int(rank[i]) for i in range(j) if measure[i] == m]
        start = int(STATUS_RANK[_STATUS_CODE[s.measures[m].status]])
        restore[j] = RANK_STATUS[max([start, *earlier])]
    return _GritFields(
        grit=True,
        grit_measure=measure,
        grit_rank=rank,
        grit_restore=restore,
        grit_every=policy.every,
        grit_patience=policy.patience,
        grit_retaliate=policy.retaliate,
    )


def compile_game(s: Scenario, policy_id: str | None = None) -> Game:
    """Compile ``s`` under policy ``policy_id`` (default: the first policy)."""
    policy = s.policies[0] if policy_id is None else s.policy(policy_id)
    powers = [a.id for a in s.powers]
    pidx = {p: i for i, p in enumerate(powers)}
    concerns = [c.id for c in s.concerns]
    cidx = {c: i for i, c in enumerate(concerns)}
    measures = [m.id for m in s.measures]
    midx = {m: i for i, m in enumerate(measures)}
    insts = [i.id for i in s.institutions]
    iidx = {x: i for i, x in enumerate(insts)}
    nc, nm, npw = len(concerns), len(measures), len(powers)

    value = np.zeros((npw, nc))
    for j, c in enumerate(s.concerns):
        for who, v in c.value.items():
            value[pidx[who], j] = v
    burden = np.zeros((npw, nm))
    for j, m in enumerate(s.measures):
        for who, v in m.burden.items():
            burden[pidx[who], j] = v

    vote_rule = np.full((npw, 2), VOTE_SINCERE, dtype=np.int8)
    vote_k = np.zeros((npw, 2), dtype=np.int64)
    vote_then = np.zeros((npw, 2), dtype=bool)
    vote_else = np.zeros((npw, 2), dtype=bool)
    type_ids = [t.id for t in s.types]
    vote_belief_type = np.full((npw, 2), -1, dtype=np.int64)
    vote_belief_min = np.zeros((npw, 2))
    for who, mv in s.votes.items():
        for k, rule in enumerate((mv.escalate, mv.relieve)):
            p = pidx[who]
            if isinstance(rule, BeliefVote):
                vote_rule[p, k] = VOTE_BELIEF
                vote_belief_type[p, k] = type_ids.index(rule.if_belief)
                vote_belief_min[p, k] = rule.at_least
                vote_then[p, k] = rule.then == "yes"
                vote_else[p, k] = rule.else_ == "yes"
            elif isinstance(rule, ConditionalVote):
                vote_rule[p, k] = VOTE_CONDITIONAL
                vote_k[p, k] = rule.if_verified_at_least
                vote_then[p, k] = rule.then == "yes"
                vote_else[p, k] = rule.else_ == "yes"
            else:
                vote_rule[p, k] = {
                    "yes": VOTE_YES,
                    "no": VOTE_NO,
                    "sincere": VOTE_SINCERE,
                    "strategic": VOTE_STRATEGIC,
                }[rule]

    order = _policy_order(s, policy)
    order_pos = np.empty(nc, dtype=np.int64)
    order_pos[np.array(order, dtype=np.int64)] = np.arange(nc)

    relief_rank = np.zeros((nc, nm), dtype=np.int8)
    relief = getattr(policy, "relief", None) or {}
    for cid, acts in relief.items():
        for a in acts:
            j = midx[a.measure]
            relief_rank[cidx[cid], j] = max(relief_rank[cidx[cid], j], ACTION_RANK[a.action])

    demands_spec = getattr(policy, "demands", "all")
    demands = np.ones(nc, dtype=bool)
    if isinstance(demands_spec, list):
        demands[:] = False
        demands[[cidx[c] for c in demands_spec]] = True

    kind = policy.kind
    has_escalation = kind in ("escalation", "hybrid")
    has_completion = kind in ("escalation", "hybrid", "grand_bargain") and (
        getattr(policy, "on_completion", "lift_all") == "lift_all"
    )
    tranches = np.array([midx[m] for m in getattr(policy, "tranches", [])], dtype=np.int64)
    strict = bool(getattr(policy, "strict", False)) and kind in ("step_by_step", "hybrid")

    reversible = [i for i, c in enumerate(s.concerns) if c.reversible]
    actions = canonical_actions(nc, s.max_steps_per_period, reversible)
    action_mask = np.zeros((len(actions), nc), dtype=bool)
    reverse_mask = np.zeros((len(actions), nc), dtype=bool)
    for a, act in enumerate(actions):
        action_mask[a, [i for i in act if i < nc]] = True
        reverse_mask[a, [i - nc for i in act if i >= nc]] = True
    snapback = getattr(policy, "snapback", None)

    target = s.target
    cost = np.array([c.cost for c in s.concerns])
    upkeep = np.array([c.upkeep for c in s.concerns])
    reversal_cost = np.array([c.reversal_cost for c in s.concerns])
    impact = np.array([m.impact for m in s.measures])
    nt = len(s.types)
    type_cost = np.tile(cost, (nt, 1))
    type_upkeep = np.tile(upkeep, (nt, 1))
    type_reversal_cost = np.tile(reversal_cost, (nt, 1))
    type_impact = np.tile(impact, (nt, 1)).reshape(nt, nm)
    type_value = np.tile(value, (nt, 1, 1)).reshape(nt, npw, nc)
    for k, ty in enumerate(s.types):
        for arr, over in (
            (type_cost, ty.cost),
            (type_upkeep, ty.upkeep),
            (type_reversal_cost, ty.reversal_cost),
        ):
            for cid, x in over.items():
                arr[k, cidx[cid]] = x
        for mid, x in ty.impact.items():
            type_impact[k, midx[mid]] = x
        for cid, per in ty.value.items():
            for who, x in per.items():
                type_value[k, pidx[who], cidx[cid]] = x
    cond = getattr(policy, "relief_if_belief", None)
    return Game(
        scenario=s,
        policy=policy,
        target_id=target.id,
        power_ids=tuple(powers),
        target_discount=target.discount,
        power_discount=np.array([a.discount for a in s.powers]),
        concern_ids=tuple(concerns),
        cost=cost,
        upkeep=upkeep,
        value=value,
        verify=np.array([c.verify for c in s.concerns]),
        measure_ids=tuple(measures),
        impact=impact,
        burden=burden,
        curtail=np.array([m.curtail for m in s.measures]),
        issuer=np.array([iidx[m.issuer] for m in s.measures], dtype=np.int64),
        initial_measures=np.array([_STATUS_CODE[m.status] for m in s.measures], dtype=np.uint8),
        institution_ids=tuple(insts),
        members=tuple(tuple(pidx[m] for m in i.members) for i in s.institutions),
        veto_rule=np.array([i.rule == "veto" for i in s.institutions], dtype=bool),
        vote_rule=vote_rule,
        vote_k=vote_k,
        vote_then=vote_then,
        vote_else=vote_else,
        horizon=s.horizon,
        tail_persist=s.tail == "persist",
        max_steps=s.max_steps_per_period,
        order=np.array(order, dtype=np.int64),
        order_pos=order_pos,
        strict=strict,
        relief_rank=relief_rank,
        has_relief=bool(relief_rank.any()),
        has_escalation=has_escalation,
        has_completion=has_completion,
        demands=demands,
        review_every=int(getattr(policy, "review_every", 0) or 0),
        tranches=tranches,
        actions=actions,
        action_mask=action_mask,
        reverse_mask=reverse_mask,
        reversible=np.array([c.reversible for c in s.concerns], dtype=bool),
        reversal_cost=reversal_cost,
        snapback=snapback is not None,
        snapback_reverse_veto=snapback is not None and snapback.rule == "reverse_veto",
        veto_cost=_veto_costs(s, pidx),
        **_grit_fields(s, policy, midx),
        type_ids=tuple(type_ids),
        prior=np.array([t.prior for t in s.types]),
        type_cost=type_cost,
        type_upkeep=type_upkeep,
        type_reversal_cost=type_reversal_cost,
        type_impact=type_impact,
        type_value=type_value,
        relief_belief_type=-1 if cond is None else type_ids.index(cond.type),
        relief_belief_min=0.0 if cond is None else float(cond.at_least),
        vote_belief_type=vote_belief_type,
        vote_belief_min=vote_belief_min,
    )
