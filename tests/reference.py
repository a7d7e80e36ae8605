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
    out = sorted(out, key=lambda combo: (len(combo), sorted(ids.index(c) for c in combo)))
    # then one reversal of a verified, reversible concern, by file order
    out += [
        ("reverse " + c.id,) for c in s.concerns if c.reversible and concerns[c.id] == "verified"
    ]
    return out


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
    """``taken``: this period's action (step ids, or ``"reverse <id>"``)."""
    u = 0.0
    for c in s.concerns:
        if "reverse " + c.id in taken:
            u -= c.reversal_cost
    for m in s.measures:
        u -= factor(s, m.id, measures[m.id]) * m.impact
    for c in s.concerns:
        if concerns[c.id] != "open":
            u -= c.upkeep
        if c.id in taken:
            u -= c.cost
    return u


def veto_cost(s: Scenario, who: str, kind: str, mid: str) -> float:
    """What ``who`` pays for voting no on a ``kind`` proposal on measure ``mid``."""
    m = next(x for x in s.measures if x.id == mid)
    inst = next(i for i in s.institutions if i.id == m.issuer)
    c = inst.veto_cost.get(who, 0.0)
    return float(c) if isinstance(c, float | int) else float(getattr(c, kind))


def fixed_vote(s: Scenario, who: str, kind: str, mid: str, after: str, concerns, measures):
    """A member's vote by its rule; ``None`` for a strategic member."""
    mv = s.votes.get(who)
    rule = "sincere" if mv is None else getattr(mv, kind)
    if rule == "strategic":
        return None
    if rule == "yes":
        return True
    if rule == "no":
        return False
    if rule == "sincere":
        new = dict(measures)
        new[mid] = after
        gain = power_payoff(s, who, concerns, new) - power_payoff(s, who, concerns, measures)
        cost = veto_cost(s, who, kind, mid)
        if cost == 0:
            return gain >= -1e-12
        # blocking is worth gain/(1 - delta) for good; voting no costs ``cost`` once
        delta = next(a.discount for a in s.actors if a.id == who)
        return gain / (1 - delta) >= -cost - 1e-12
    n = sum(1 for v in concerns.values() if v == "verified")
    return (rule.then if n >= rule.if_verified_at_least else rule.else_) == "yes"


def rule_passes(s: Scenario, mid: str, votes: list[bool], reverse_veto: bool = False) -> bool:
    if reverse_veto:  # restore unless every member votes to continue the relief
        return any(votes)
    m = next(x for x in s.measures if x.id == mid)
    inst = next(i for i in s.institutions if i.id == m.issuer)
    if inst.rule == "veto":
        return all(votes)
    return sum(votes) > len(votes) - sum(votes)


def agenda(s: Scenario, policy, t: int) -> list[tuple[str, str, str]]:
    """(kind, measure, source) of every slot of period t, in order."""
    out = []
    if policy.kind == "grit":
        n = len(policy.initiatives)
        if policy.retaliate and any(c.reversible for c in s.concerns):
            out += [("escalate", f"{j}", "grit_restore") for j in reversed(range(n))]
        out += [
            ("relieve", f"{j}", "grit" if t >= j * policy.every else "grit_early") for j in range(n)
        ]
        return out
    if policy.snapback is not None and any(c.reversible for c in s.concerns):
        out += [("escalate", m.id, "snapback") for m in s.measures]
    if policy.kind in ("step_by_step", "hybrid") and any(policy.relief.values()):
        out += [("relieve", m.id, "relief") for m in s.measures]
    if policy.kind in ("escalation", "hybrid") and t > 0 and t % policy.review_every == 0:
        k = t // policy.review_every
        if k <= len(policy.tranches):
            out.append(("escalate", policy.tranches[k - 1], "tranche"))
    if (
        policy.kind in ("escalation", "hybrid", "grand_bargain")
        and policy.on_completion == "lift_all"
    ):
        out += [("relieve", m.id, "completion") for m in s.measures]
    return out


def proposal(s: Scenario, policy, slot, concerns, measures) -> str | None:
    """Status proposed by a slot in this state, or None if nothing is tabled."""
    _, mid, source = slot
    if source.startswith("grit"):
        return grit_proposal(s, policy, int(mid), source, concerns, measures)
    now = measures[mid]
    if source == "snapback":
        justified = "active"
        for cid, actions in (getattr(policy, "relief", None) or {}).items():
            if concerns[cid] == "verified":
                for a in actions:
                    if a.measure == mid and RANK[ACTION_STATUS[a.action]] > RANK[justified]:
                        justified = ACTION_STATUS[a.action]
        demands = getattr(policy, "demands", "all")
        demanded = [c.id for c in s.concerns] if demands == "all" else list(demands)
        completion = policy.kind in ("escalation", "hybrid", "grand_bargain") and (
            policy.on_completion == "lift_all"
        )
        if completion and all(concerns[c] == "verified" for c in demanded):
            justified = "lifted"
        if now in ("curtailed", "frozen", "lifted") and RANK[now] > RANK[justified]:
            return justified
        return None
    if source == "relief":
        best = None
        for cid, actions in policy.relief.items():
            if concerns[cid] != "verified":
                continue
            for a in actions:
                if a.measure == mid and (
                    best is None or RANK[ACTION_STATUS[a.action]] > RANK[best]
                ):
                    best = ACTION_STATUS[a.action]
        if best is not None and now in ("active", "curtailed") and RANK[now] < RANK[best]:
            return best
        return None
    demands = getattr(policy, "demands", "all")
    demanded = [c.id for c in s.concerns] if demands == "all" else list(demands)
    unmet = any(concerns[c] != "verified" for c in demanded)
    if source == "tranche":
        return "active" if unmet and now == "potential" else None
    return "lifted" if not unmet and now in ("active", "curtailed", "frozen") else None


def grit_in_force(s: Scenario, policy, measures) -> list[bool]:
    """Initiative j is in force iff its measure ranks at least as high as its action."""
    return [
        measures[a.measure] != "potential"
        and RANK[measures[a.measure]] >= RANK[ACTION_STATUS[a.action]]
        for a in policy.initiatives
    ]


def grit_proposal(s: Scenario, policy, j: int, source: str, concerns, measures) -> str | None:
    """GRIT (model spec 4.9): table initiative j, or withdraw it after a reversal."""
    force = grit_in_force(s, policy, measures)
    n = sum(force)
    v = sum(1 for x in concerns.values() if x == "verified")
    ini = policy.initiatives[j]
    if source == "grit_restore":
        latest = force[j] and not any(force[j + 1 :])
        if not (latest and n - v > max(policy.patience, 1)):
            return None
        back = next(x for x in s.measures if x.id == ini.measure).status
        for a in policy.initiatives[:j]:
            if a.measure == ini.measure and RANK[ACTION_STATUS[a.action]] > RANK[back]:
                back = ACTION_STATUS[a.action]
        return back
    first = not force[j] and all(force[:j])
    due = source == "grit"  # "grit_early": not yet due by the schedule
    if first and (v >= n or (due and n - v < policy.patience)):
        return ACTION_STATUS[ini.action]
    return None


def measure_of(policy, slot) -> str:
    """The measure a slot votes on (GRIT slots name an initiative index)."""
    _, mid, source = slot
    return policy.initiatives[int(mid)].measure if source.startswith("grit") else mid


def actor_ids(s: Scenario) -> list[str]:
    return [a.id for a in s.actors]


def end_values(s: Scenario, policy, t, concerns, measures, taken) -> dict[str, float]:
    """Payoff of period t on the end state plus each actor's discounted value from t+1."""
    nxt = values_at(s, policy, t + 1, concerns, measures)[0]
    out = {}
    for a in s.actors:
        if a.role == "target":
            u = target_payoff(s, concerns, measures, taken)
        else:
            u = power_payoff(s, a.id, concerns, measures)
        out[a.id] = u + a.discount * nxt[a.id]
    return out


def resolve_values(s: Scenario, policy, t, concerns, measures, k, taken) -> dict[str, float]:
    """Values of every actor from agenda slot k of period t on (votes as if pivotal)."""
    slots = agenda(s, policy, t)
    if k == len(slots):
        return end_values(s, policy, t, concerns, measures, taken)
    after = proposal(s, policy, slots[k], concerns, measures)
    if after is None:
        return resolve_values(s, policy, t, concerns, measures, k + 1, taken)
    kind = slots[k][0]
    mid = measure_of(policy, slots[k])
    m = next(x for x in s.measures if x.id == mid)
    inst = next(i for i in s.institutions if i.id == m.issuer)
    new = dict(measures)
    new[mid] = after
    fixed = [fixed_vote(s, who, kind, mid, after, concerns, measures) for who in inst.members]
    reverse_veto = slots[k][2] == "snapback" and policy.snapback.rule == "reverse_veto"
    cost = {who: veto_cost(s, who, kind, mid) for who in inst.members}

    def pay(values: dict[str, float], votes: list[bool]) -> dict[str, float]:
        """Each member voting no pays its veto cost (in this period)."""
        out = dict(values)
        for who, yes in zip(inst.members, votes, strict=True):
            if not yes:
                out[who] -= cost[who]
        return out

    if None not in fixed:  # no strategic member: the rules decide, follow one branch
        chosen = new if rule_passes(s, mid, fixed, reverse_veto) else measures
        return pay(resolve_values(s, policy, t, concerns, chosen, k + 1, taken), fixed)
    v_pass = resolve_values(s, policy, t, concerns, new, k + 1, taken)
    v_fail = resolve_values(s, policy, t, concerns, measures, k + 1, taken)
    votes = []
    for who, f in zip(inst.members, fixed, strict=True):
        if f is None:  # strategic: yes iff passing is at least as good as failing and paying
            f = v_pass[who] >= v_fail[who] - cost[who] - TOL * max(1.0, abs(v_fail[who]))
        votes.append(f)
    return pay(v_pass if rule_passes(s, mid, votes, reverse_veto) else v_fail, votes)


def branches(s: Scenario, concerns: dict[str, str], taken: tuple[str, ...]):
    """Every (probability, concerns) after taking ``taken`` and verification."""
    c1 = dict(concerns)
    for c in taken:
        if c.startswith("reverse "):
            c1[c[len("reverse ") :]] = "open"  # a reversal is observed at once
        else:
            c1[c] = "pending"
    pending = [c for c in s.concerns if c1[c.id] == "pending"]
    options = []
    for c in pending:
        opts = []
        if c.verify > 0:
            opts.append((c.id, True, c.verify))
        if c.verify < 1:
            opts.append((c.id, False, 1 - c.verify))
        options.append(opts)
    for combo in product(*options):
        prob = 1.0
        c2 = dict(c1)
        for cid, ok, p in combo:
            prob *= p
            if ok:
                c2[cid] = "verified"
        yield prob, c2


def initial(s: Scenario) -> tuple[dict[str, str], dict[str, str]]:
    return {c.id: "open" for c in s.concerns}, {m.id: m.status for m in s.measures}


def values_at(s: Scenario, policy, t: int, concerns, measures):
    """(values of every actor, target's Q per allowed step set) at the start of period t."""
    if t == s.horizon:
        if s.tail != "persist":
            return {a: 0.0 for a in actor_ids(s)}, {}
        out = {}
        for a in s.actors:
            u = (
                target_payoff(s, concerns, measures, ())
                if a.role == "target"
                else power_payoff(s, a.id, concerns, measures)
            )
            out[a.id] = u / (1 - a.discount)
        return out, {}
    tid = s.target.id
    q: dict[tuple[str, ...], float] = {}
    vals: dict[tuple[str, ...], dict[str, float]] = {}
    for taken in allowed_sets(s, policy, concerns):
        total = {a: 0.0 for a in actor_ids(s)}
        for prob, c2 in branches(s, concerns, taken):
            v = resolve_values(s, policy, t, c2, measures, 0, taken)
            for a in total:
                total[a] += prob * v[a]
        q[taken] = total[tid]
        vals[taken] = total
    best = max(q.values())
    tol = TOL * max(1.0, abs(best))
    for taken, v in q.items():  # canonical order: first within tolerance wins
        if v >= best - tol:
            return vals[taken], q
    raise AssertionError("unreachable")


def best_response(s: Scenario, policy_id: str) -> tuple[float, dict[tuple[str, ...], float]]:
    """Target's value and first-period Q-values by full tree enumeration."""
    policy = s.policy(policy_id)
    c, m = initial(s)
    vals, q = values_at(s, policy, 0, c, m)
    return vals[s.target.id], q


def all_values(s: Scenario, policy_id: str) -> dict[str, float]:
    """Every actor's equilibrium value from the initial state."""
    policy = s.policy(policy_id)
    c, m = initial(s)
    return values_at(s, policy, 0, c, m)[0]
