"""The rules of one period, vectorised over a batch of states.

One implementation serves the simulator (a batch of one state, with the votes
recorded) and the solvers (a batch of every reachable state). The functions
follow ``docs/explanation/model.md`` section 3 and 4:

* :func:`allowed_actions` — which step sets the target may take (4.1);
* :func:`verification_outcomes` — every verification outcome with its probability (3.2);
* :func:`resolve` — proposals tabled by the policy and the votes on them (4.3, 4.4);
* :func:`target_payoff`, :func:`power_payoffs`, :func:`pressure` — payoffs (4.5).

Arrays: ``C`` is ``(n, n_concerns)`` of concern status codes, ``M`` is
``(n, n_measures)`` of measure status codes (see :mod:`stepdeal.mechanisms.game`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .game import (
    ACTIVE,
    CURTAILED,
    F64,
    FROZEN,
    I64,
    KIND_ESCALATE,
    KIND_RELIEVE,
    LIFTED,
    OPEN,
    PENDING,
    POTENTIAL,
    RANK_STATUS,
    STATUS_RANK,
    U8,
    VERIFIED,
    VOTE_BELIEF,
    VOTE_CONDITIONAL,
    VOTE_NO,
    VOTE_SINCERE,
    VOTE_STRATEGIC,
    VOTE_YES,
    B,
    Game,
)


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal tabled on some rows of a batch, with every member's vote."""

    kind: int  # KIND_ESCALATE or KIND_RELIEVE
    measure: int
    rows: I64  # batch rows on which it was tabled
    before: U8  # measure status before, per row
    after: U8  # status if it passes, per row
    members: tuple[int, ...]  # power indices of the issuer's members
    votes: B  # (len(rows), len(members)) True = yes
    passed: B  # (len(rows),)
    source: str = ""  # the agenda slot's source (see :class:`Slot`)


# --------------------------------------------------------------------------- 4.1


def allowed_actions(game: Game, C: U8) -> B:
    """Mask ``(n, n_actions)`` of the step sets the target may take in each state.

    Sets are compared as bit masks over concerns (file index = bit).
    """
    is_open = C == OPEN
    bits = np.left_shift(np.int64(1), np.arange(game.n_concerns, dtype=np.int64))
    open_bits = is_open.astype(np.int64) @ bits
    action_bits = game.action_mask.astype(np.int64) @ bits
    # every concern of the set must be open
    allowed: B = (action_bits[None, :] & ~open_bits[:, None]) == 0
    # a reversal needs a verified, reversible concern
    rev_bits = game.reverse_mask.astype(np.int64) @ bits
    can_reverse = ((C == VERIFIED) & game.reversible[None, :]).astype(np.int64) @ bits
    allowed &= (rev_bits[None, :] & ~can_reverse[:, None]) == 0
    if game.strict:
        # the set must be the first |set| open concerns in policy order ...
        n, nc = C.shape
        pos = np.where(is_open, game.order_pos[None, :], nc + 1)
        ranked = np.argsort(pos, axis=1, kind="stable")[:, : game.max_steps]
        n_open = is_open.sum(axis=1)
        prefix = np.zeros((n, game.max_steps + 1), dtype=np.int64)
        for j in range(1, game.max_steps + 1):
            has = n_open >= j
            add = np.where(has, bits[ranked[:, j - 1]], 0) if ranked.shape[1] >= j else 0
            prefix[:, j] = prefix[:, j - 1] | add
            prefix[~has, j] = -1  # no set of this size exists
        sizes = game.action_mask.sum(axis=1)
        allowed &= prefix[:, sizes] == action_bits[None, :]
        # ... and every concern before them in the order must be verified: no earlier
        # step may be pending (a later one can be, after an earlier step was reversed)
        first_open = pos.min(axis=1)
        waiting = ((C == PENDING) & (game.order_pos[None, :] < first_open[:, None])).any(axis=1)
        allowed[waiting, :] &= sizes[None, :] == 0
    return allowed


def apply_action(game: Game, C: U8, actions: I64) -> tuple[U8, B, B]:
    """Step 1 of a period: row ``i`` takes action ``actions[i]`` in state ``C[i]``.

    Taken steps become pending; reversed steps become open (a reversal is observed
    at once). Returns the new concern status and the taken / reversed masks (whose
    one-off costs the target pays this period).
    """
    taken: B = game.action_mask[actions]
    reversed_: B = game.reverse_mask[actions]
    C = C.copy()
    C[reversed_] = OPEN
    C[taken] = PENDING
    return C, taken, reversed_


# --------------------------------------------------------------------------- 3.2


def verification_outcomes(game: Game, C: U8) -> tuple[I64, U8, F64]:
    """Expand each row of ``C`` (after steps were taken) into its verification outcomes.

    Returns ``(row, C_after, prob)``: for every outcome, the input row it comes
    from, the concern status after verification and its probability. Pending
    concerns with ``verify`` 1 are always verified, with 0 never; each one with
    0 < ``verify`` < 1 doubles the outcomes of its row.
    """
    pending = C == PENDING
    p = game.verify
    sure = pending & (p >= 1.0)[None, :]
    uncertain = pending & ((p > 0.0) & (p < 1.0))[None, :]
    k = uncertain.sum(axis=1)
    count = np.left_shift(1, k)
    row = np.repeat(np.arange(C.shape[0]), count)
    starts = np.cumsum(count) - count
    j = np.arange(row.size) - np.repeat(starts, count)
    unc = uncertain[row]
    rank = np.cumsum(unc, axis=1) - 1
    hit = unc & (((j[:, None] >> np.maximum(rank, 0)) & 1) == 1)
    C_after = C[row].copy()
    C_after[sure[row] | hit] = VERIFIED
    factors = np.where(unc, np.where(hit, p[None, :], 1.0 - p[None, :]), 1.0)
    prob = factors.prod(axis=1)
    return row, C_after, prob


# --------------------------------------------------------------------------- 4.4


def _factor(game: Game, m: int, status: U8) -> F64:
    """Share of impact/burden of measure ``m`` that applies in ``status``."""
    f = np.zeros(status.shape, dtype=np.float64)
    f[status == ACTIVE] = 1.0
    f[status == CURTAILED] = game.curtail[m]
    return f


def beliefs(game: Game, mu: F64 | None, n: int) -> F64:
    """``(n, n_types)`` belief of the powers per row; ``None`` holds them at the prior
    (analyses that ignore types)."""
    if mu is not None:
        return mu
    return np.tile(game.prior, (n, 1)).reshape(n, game.n_types)


def fixed_votes(
    game: Game,
    kind: int,
    m: int,
    before: U8,
    after: U8,
    n_verified: I64,
    mu: F64 | None = None,
) -> tuple[tuple[int, ...], B, B]:
    """Votes of the issuer's members on a proposal, per row.

    Returns ``(members, votes, strategic)``: ``votes[:, j]`` is member ``j``'s vote
    by its rule; ``strategic[j]`` marks members whose rule is ``strategic`` (their
    column is a placeholder that the caller fills from the equilibrium).
    """
    inst = int(game.issuer[m])
    members = game.members[inst]
    votes = np.ones((before.size, len(members)), dtype=bool)
    strategic = np.zeros(len(members), dtype=bool)
    delta_f = _factor(game, m, after) - _factor(game, m, before)
    for col, p in enumerate(members):
        rule = game.vote_rule[p, kind]
        if rule == VOTE_YES:
            votes[:, col] = True
        elif rule == VOTE_NO:
            votes[:, col] = False
        elif rule == VOTE_SINCERE:
            # payoff change of member p: only this measure's burden changes; with a
            # cost of voting no, the discounted per-period gain of blocking must exceed it
            gain = -game.burden[p, m] * delta_f
            cost = float(game.veto_cost[inst, p, kind])
            if cost == 0.0:
                votes[:, col] = gain >= -1e-12
            else:
                votes[:, col] = gain / (1.0 - game.power_discount[p]) >= -cost - 1e-12
        elif rule == VOTE_CONDITIONAL:
            votes[:, col] = np.where(
                n_verified >= game.vote_k[p, kind], game.vote_then[p, kind], game.vote_else[p, kind]
            )
        elif rule == VOTE_BELIEF:
            belief = beliefs(game, mu, before.size)[:, game.vote_belief_type[p, kind]]
            votes[:, col] = np.where(
                belief >= game.vote_belief_min[p, kind] - 1e-12,
                game.vote_then[p, kind],
                game.vote_else[p, kind],
            )
        else:
            assert rule == VOTE_STRATEGIC
            strategic[col] = True
    return members, votes, strategic


def passes(game: Game, m: int, votes: B, reverse_veto: bool = False) -> B:
    """The issuer's rule applied to ``votes`` (rows x members): veto or majority.

    ``reverse_veto`` (snapback under UNSCR 2231 rules): the proposal to restore
    passes unless every member votes to continue the relief, i.e. iff any votes yes.
    """
    yes = votes.sum(axis=1)
    no = votes.shape[1] - yes
    if reverse_veto:
        out: B = yes > 0
    else:
        out = (no == 0) if game.veto_rule[int(game.issuer[m])] else (yes > no)
    return out


# --------------------------------------------------------------------------- 4.3


@dataclass(frozen=True)
class Slot:
    """A place in a period's agenda: one possible proposal on one measure."""

    kind: int  # KIND_ESCALATE or KIND_RELIEVE
    measure: int
    #: "snapback", "relief", "tranche", "completion", "grit_restore" or "grit"
    source: str
    index: int = -1  # the GRIT initiative (0-based) of a "grit"/"grit_restore" slot
    due: bool = False  # a "grit" slot: its initiative is due by the schedule this period

    def reverse_veto(self, game: Game) -> bool:
        return self.source == "snapback" and game.snapback_reverse_veto


def period_slots(game: Game, t: int) -> list[Slot]:
    """The agenda of period ``t`` in order: snapback restores, relief by measure, the
    tranche, completion lifts."""
    slots: list[Slot] = []
    if game.snapback and game.reversible.any():
        slots += [Slot(KIND_ESCALATE, m, "snapback") for m in range(game.n_measures)]
    if game.has_relief:
        slots += [Slot(KIND_RELIEVE, m, "relief") for m in range(game.n_measures)]
    if game.has_escalation and game.review_every > 0 and t > 0 and t % game.review_every == 0:
        k = t // game.review_every
        if k <= game.tranches.size:
            slots.append(Slot(KIND_ESCALATE, int(game.tranches[k - 1]), "tranche"))
    if game.has_completion:
        slots += [Slot(KIND_RELIEVE, m, "completion") for m in range(game.n_measures)]
    if game.grit:
        slots += grit_slots(game, t)
    return slots


def grit_slots(game: Game, t: int) -> list[Slot]:
    """GRIT's agenda (the same every period): withdrawals of initiatives, latest first
    (only with ``retaliate`` and a reversible concern: without a reversal no withdrawal
    is ever due), then one slot per initiative in schedule order."""
    n = int(game.grit_measure.size)
    out: list[Slot] = []
    if game.grit_retaliate and game.reversible.any():
        out += [
            Slot(KIND_ESCALATE, int(game.grit_measure[j]), "grit_restore", j)
            for j in range(n - 1, -1, -1)
        ]
    out += [
        Slot(KIND_RELIEVE, int(game.grit_measure[j]), "grit", j, t >= j * game.grit_every)
        for j in range(n)
    ]
    return out


def grit_in_force(game: Game, M: U8) -> B:
    """``(n, n_initiatives)``: initiative ``j`` is in force iff its measure's relief rank is
    at least the rank of its action."""
    out: B = STATUS_RANK[M[:, game.grit_measure]] >= game.grit_rank[None, :]
    return out


def _grit_tabled(game: Game, slot: Slot, C: U8, M: U8) -> tuple[I64, U8]:
    """Rows on which a GRIT slot tables its proposal (model spec 4.9).

    With ``n`` initiatives in force, ``v`` verified concerns and initiative ``j``:

    * ``grit``: ``j`` is the first initiative not in force, and either ``v >= n``
      (reciprocation: at once, ahead of schedule) or ``t >= j * every`` (``slot.due``) and
      ``n - v < patience`` (still within patience);
    * ``grit_restore``: ``j`` is the latest initiative in force and
      ``n - v > max(patience, 1)`` (more than the schedule itself can reach: a
      reversal); it restores the strongest earlier initiative on the measure (or its
      initial status).
    """
    j = slot.index
    force = grit_in_force(game, M)
    n_in = force.sum(axis=1)
    v = (C == VERIFIED).sum(axis=1)
    later = force[:, j + 1 :].any(axis=1)
    if slot.source == "grit_restore":
        ok = force[:, j] & ~later & (n_in - v > max(game.grit_patience, 1))
        rows = np.flatnonzero(ok)
        return rows, np.full(rows.size, game.grit_restore[j], dtype=np.uint8)
    first = ~force[:, j] & force[:, :j].all(axis=1)
    ok = first & ((v >= n_in) | (slot.due & (n_in - v < game.grit_patience)))
    rows = np.flatnonzero(ok)
    return rows, np.full(rows.size, RANK_STATUS[game.grit_rank[j]], dtype=np.uint8)


def tabled(game: Game, slot: Slot, C: U8, M: U8, mu: F64 | None = None) -> tuple[I64, U8]:
    """Rows on which ``slot`` tables a proposal, and the measure status it proposes.

    ``mu``: the powers' belief per row (``None``: the prior); a policy with
    ``relief_if_belief`` tables relief only where the belief in its type is high enough.
    """
    if slot.source in ("grit", "grit_restore"):
        return _grit_tabled(game, slot, C, M)
    m = slot.measure
    col = M[:, m]
    verified = C == VERIFIED
    if slot.source == "snapback":
        # relief still justified: by verified concerns' relief, or by completion
        justified = np.where(verified, game.relief_rank[None, :, m], 0).max(axis=1)
        if game.has_completion:
            met = ~(~verified & game.demands[None, :]).any(axis=1)
            justified = np.where(met, 3, justified)
        relieved = (col == CURTAILED) | (col == FROZEN) | (col == LIFTED)
        rows = np.flatnonzero(relieved & (STATUS_RANK[col] > justified))
        return rows, RANK_STATUS[justified[rows]]
    if slot.source == "relief":
        target_rank = np.where(verified, game.relief_rank[None, :, m], 0).max(axis=1)
        ok = ((col == ACTIVE) | (col == CURTAILED)) & (target_rank > STATUS_RANK[col])
        if game.relief_belief_type >= 0:
            belief = beliefs(game, mu, C.shape[0])[:, game.relief_belief_type]
            ok &= belief >= game.relief_belief_min - 1e-12
        rows = np.flatnonzero(ok)
        return rows, RANK_STATUS[target_rank[rows]]
    unmet = (~verified & game.demands[None, :]).any(axis=1)
    if slot.source == "tranche":
        rows = np.flatnonzero(unmet & (col == POTENTIAL))
        return rows, np.full(rows.size, ACTIVE, dtype=np.uint8)
    rows = np.flatnonzero(~unmet & ((col == ACTIVE) | (col == CURTAILED) | (col == FROZEN)))
    return rows, np.full(rows.size, LIFTED, dtype=np.uint8)


#: ``oracle(t, k, C, M)`` -> votes (rows x strategic members) of the strategic members on
#: the proposal of agenda slot ``k``, for states ``(C, M)`` at that point of period ``t``.
VoteOracle = Callable[[int, int, U8, U8], B]


def resolve(
    game: Game,
    t: int,
    C: U8,
    M: U8,
    record: bool = False,
    flip: tuple[int, int] | None = None,
    oracle: VoteOracle | None = None,
    mu: F64 | None = None,
) -> tuple[U8, list[ProposalRecord]]:
    """Table and vote every proposal of period ``t`` on each state of the batch.

    ``C`` is the concern status after verification; ``M`` the measure status
    before the votes. Returns the measure status after the votes (a new array)
    and, with ``record``, one :class:`ProposalRecord` per proposal tabled.
    Strategic members' votes come from ``oracle`` (a solved equilibrium).
    ``flip = (k, p)`` reverses power ``p``'s vote on the ``k``-th proposal tabled
    (counting from 0, for a batch of one state): the counterfactual of a
    self-enforcement check. ``mu`` is the powers' belief over the target's types per
    row (``None``: the prior), read by belief-conditional relief and votes.
    """
    M = M.copy()
    records: list[ProposalRecord] = []
    n_verified = (C == VERIFIED).sum(axis=1)
    n_tabled = 0
    for k, slot in enumerate(period_slots(game, t)):
        rows, after = tabled(game, slot, C, M, mu)
        if rows.size == 0:
            continue
        m = slot.measure
        before = M[rows, m].copy()
        members, votes, strategic = fixed_votes(
            game, slot.kind, m, before, after, n_verified[rows], None if mu is None else mu[rows]
        )
        if strategic.any():
            if oracle is None:
                raise ValueError("strategic votes need a solved equilibrium (an oracle)")
            votes[:, strategic] = oracle(t, k, C[rows], M[rows])
        if flip is not None and n_tabled == flip[0] and flip[1] in members:
            col = members.index(flip[1])
            votes[:, col] = ~votes[:, col]
        n_tabled += 1
        passed = passes(game, m, votes, slot.reverse_veto(game))
        M[rows[passed], m] = after[passed]
        if record:
            records.append(
                ProposalRecord(
                    slot.kind, m, rows, before, after, members, votes, passed, slot.source
                )
            )
    return M, records


def has_veto_cost(game: Game) -> bool:
    """True if some member pays a cost for voting no (``institutions[].veto_cost``)."""
    return bool((game.veto_cost != 0.0).any())


def vote_costs(game: Game, records: list[ProposalRecord], n: int) -> F64:
    """``(n, n_powers)`` veto costs paid in the period: for every recorded proposal,
    each member voting no pays its ``veto_cost`` for that institution and kind."""
    out = np.zeros((n, game.n_powers))
    for rec in records:
        inst = int(game.issuer[rec.measure])
        cost = game.veto_cost[inst, list(rec.members), rec.kind]  # (len(members),)
        if not cost.any():
            continue
        paid = (~rec.votes) * cost[None, :]
        np.add.at(out, (rec.rows[:, None], np.array(rec.members)[None, :]), paid)
    return out


# --------------------------------------------------------------------------- 4.5


def measure_factors(game: Game, M: U8) -> F64:
    """``(n, n_measures)`` share of each measure's impact and burden in force."""
    out: F64 = np.where(M == ACTIVE, 1.0, np.where(M == CURTAILED, game.curtail[None, :], 0.0))
    return out


def pressure(game: Game, M: U8) -> F64:
    """Cost of sanctions to the target per period, per row."""
    out: F64 = measure_factors(game, M) @ game.impact
    return out


def target_payoff(
    game: Game, C: U8, M: U8, taken: B | None = None, reversed_: B | None = None
) -> F64:
    """Target's per-period payoff on end-of-period state; ``taken``/``reversed_``: steps
    taken / reversed this period (their one-off costs)."""
    u: F64 = -pressure(game, M) - (C != OPEN) @ game.upkeep + (C == VERIFIED) @ game.bonus
    if taken is not None:
        u = u - taken @ game.cost
    if reversed_ is not None:
        u = u - reversed_ @ game.reversal_cost
    return u


def power_payoffs(game: Game, C: U8, M: U8) -> F64:
    """``(n, n_powers)`` per-period payoff of each power on end-of-period state."""
    u: F64 = (C == VERIFIED) @ game.value.T - measure_factors(game, M) @ game.burden.T
    return u
