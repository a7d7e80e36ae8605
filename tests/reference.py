"""A slow, obviously-correct reference of the model, written straight from the spec.

It shares no code with ``stepdeal.mechanisms`` or ``stepdeal.solve``: states are
plain dicts of status names, every rule of ``docs/explanation/model.md`` is
written out once more in scalar Python, and the target's best response is found
by enumerating every action sequence (expectimax over the full game tree: every
action in every period after every verification outcome, no merging of states).
"""

from __future__ import annotations

from itertools import combinations, product

from stepdeal.scenario import Scenario

RANK = {"active": 0, "curtailed": 1, "frozen": 2, "lifted": 3}
ACTION_STATUS = {"curtail": "curtailed", "freeze": "frozen", "lift": "lifted"}
TOL = 1e-9

State = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def policy_order(s: Scenario, policy) -> list[str]:
    ids = [c.id for c in s.concerns]
    order = getattr(policy, "order", "by_cost")
    if isinstance(order, list):
        return list(order) + [c for c in ids if c not in order]
    return [c.id for c in sorted(s.concerns, key=lambda c: c.cost)]


def allowed_sets(s: Scenario, policy, concerns: dict[str, str]) -> list[tuple[str, ...]]:
    """Allowed step sets in canonical order: fewer steps first, then by file index."""
    ids = [c.id for c in s.concerns]
    open_ = [c for c in ids if concerns[c] == "open"]
    strict = policy.kind in ("step_by_step", "hybrid") and getattr(policy, "strict", False)
    out: list[tuple[str, ...]] = []
    for size in range(0, s.max_steps_per_period + 1):
        for combo in combinations(open_, size):
            if strict and size > 0:
                order = policy_order(s, policy)
                nxt = [c for c in order if concerns[c] == "open"][:size]
                if set(nxt) != set(combo):
                    continue
                first = min(order.index(c) for c in combo)
                if any(concerns[c] != "verified" for c in order[:first]):
                    continue  # an earlier concern is still pending
            out.append(combo)
    return sorted(out, key=lambda combo: (len(combo), sorted(ids.index(c) for c in combo)))


def factor(s: Scenario, mid: str, status: str) -> float:
    m = next(x for x in s.measures if x.id == mid)
    return {"active": 1.0, "curtailed": m.curtail}.get(status, 0.0)


def power_payoff(
    s: Scenario, who: str, concerns: dict[str, str], measures: dict[str, str]
) -> float:
    u = 0.0
    for c in s.concerns:
        if concerns[c.id] == "verified":
            u += c.value.get(who, 0.0)
    for m in s.measures:
        u -= factor(s, m.id, measures[m.id]) * m.burden.get(who, 0.0)
    return u


def target_payoff(
    s: Scenario, concerns: dict[str, str], measures: dict[str, str], taken: tuple[str, ...]
) -> float:
    u = 0.0
    for m in s.measures:
        u -= factor(s, m.id, measures[m.id]) * m.impact
    for c in s.concerns:
        if concerns[c.id] != "open":
            u -= c.upkeep
        if c.id in taken:
            u -= c.cost
    return u


def vote(s: Scenario, who: str, kind: str, mid: str, after: str, concerns, measures) -> bool:
    mv = s.votes.get(who)
    rule = "sincere" if mv is None else getattr(mv, kind)
    if rule == "yes":
        return True
    if rule == "no":
        return False
    if rule == "sincere":
        new = dict(measures)
        new[mid] = after
        return (
            power_payoff(s, who, concerns, new) >= power_payoff(s, who, concerns, measures) - 1e-12
        )
    n = sum(1 for v in concerns.values() if v == "verified")
    return (rule.then if n >= rule.if_verified_at_least else rule.else_) == "yes"


def decide(s: Scenario, kind: str, mid: str, after: str, concerns, measures) -> bool:
    m = next(x for x in s.measures if x.id == mid)
    inst = next(i for i in s.institutions if i.id == m.issuer)
    votes = [vote(s, who, kind, mid, after, concerns, measures) for who in inst.members]
    if inst.rule == "veto":
        return all(votes)
    return sum(votes) > len(votes) - sum(votes)


def proposals_and_votes(
    s: Scenario, policy, t: int, concerns: dict[str, str], measures: dict[str, str]
) -> dict[str, str]:
    measures = dict(measures)
    relief = getattr(policy, "relief", None) or {}
    for m in s.measures:  # relief, by measure in file order
        best = None
        for cid, actions in relief.items():
            if concerns[cid] != "verified":
                continue
            for a in actions:
                if a.measure == m.id and (
                    best is None or RANK[ACTION_STATUS[a.action]] > RANK[best]
                ):
                    best = ACTION_STATUS[a.action]
        now = measures[m.id]
        outstanding = best is not None and now in ("active", "curtailed") and RANK[now] < RANK[best]
        if outstanding and decide(s, "relieve", m.id, best, concerns, measures):
            measures[m.id] = best
    demands = getattr(policy, "demands", "all")
    demanded = [c.id for c in s.concerns] if demands == "all" else list(demands)
    unmet = any(concerns[c] != "verified" for c in demanded)
    if policy.kind in ("escalation", "hybrid") and t > 0 and t % policy.review_every == 0:
        k = t // policy.review_every
        if k <= len(policy.tranches):
            mid = policy.tranches[k - 1]
            if (
                unmet
                and measures[mid] == "potential"
                and decide(s, "escalate", mid, "active", concerns, measures)
            ):
                measures[mid] = "active"
    if (
        policy.kind in ("escalation", "hybrid", "grand_bargain")
        and policy.on_completion == "lift_all"
        and not unmet
    ):
        for m in s.measures:
            if measures[m.id] in ("active", "curtailed", "frozen") and decide(
                s, "relieve", m.id, "lifted", concerns, measures
            ):
                measures[m.id] = "lifted"
    return measures


def outcomes(
    s: Scenario,
    policy,
    t: int,
    concerns: dict[str, str],
    measures: dict[str, str],
    taken: tuple[str, ...],
):
    """Every (probability, concerns, measures, target payoff) after the target takes ``taken``."""
    c1 = dict(concerns)
    for c in taken:
        c1[c] = "pending"
    pending = [c for c in s.concerns if c1[c.id] == "pending"]
    branches = []
    for c in pending:
        opts = []
        if c.verify > 0:
            opts.append((True, c.verify))
        if c.verify < 1:
            opts.append((False, 1 - c.verify))
        branches.append([(c.id, ok, p) for ok, p in opts])
    out = []
    for combo in product(*branches):
        prob = 1.0
        c2 = dict(c1)
        for cid, ok, p in combo:
            prob *= p
            if ok:
                c2[cid] = "verified"
        m2 = proposals_and_votes(s, policy, t, c2, measures)
        out.append((prob, c2, m2, target_payoff(s, c2, m2, taken)))
    return out


def initial(s: Scenario) -> tuple[dict[str, str], dict[str, str]]:
    return {c.id: "open" for c in s.concerns}, {m.id: m.status for m in s.measures}


def expectimax(
    s: Scenario, policy, t: int, concerns, measures
) -> tuple[float, dict[tuple[str, ...], float]]:
    """(value, Q per allowed step set) at period ``t`` by full tree enumeration."""
    delta = s.target.discount
    if t == s.horizon:
        if s.tail == "persist":
            return target_payoff(s, concerns, measures, ()) / (1 - delta), {}
        return 0.0, {}
    q: dict[tuple[str, ...], float] = {}
    for taken in allowed_sets(s, policy, concerns):
        total = 0.0
        for prob, c2, m2, r in outcomes(s, policy, t, concerns, measures, taken):
            v, _ = expectimax(s, policy, t + 1, c2, m2)
            total += prob * (r + delta * v)
        q[taken] = total
    best = max(q.values())
    tol = TOL * max(1.0, abs(best))
    for v in q.values():  # canonical order: first within tolerance wins
        if v >= best - tol:
            return v, q
    raise AssertionError("unreachable")


def best_response(s: Scenario, policy_id: str) -> tuple[float, dict[tuple[str, ...], float]]:
    policy = s.policy(policy_id)
    c, m = initial(s)
    return expectimax(s, policy, 0, c, m)
