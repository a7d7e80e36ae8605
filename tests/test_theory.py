"""Validation against theory: Lockwood–Thomas (B1) and Admati–Perry (B2).

Oracles: /work/shared/data/domain-iran-and-theory.md, section B. The mapping, the
derivations and the limits are explained in ``docs/explanation/theory.md``; every
closed form used here is derived in the docstring of the test that uses it and is
checked against the exact solver to 1e-9.

Notation: δ is the common discount factor, PV(stream) = Σ_s δ^s u_s (+ tail).
Every scenario is written in stepdeal's own YAML and read with ``parse_scenario``;
all use the defaults ``verify: 1`` and irreversible steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from stepdeal.mechanisms.game import ACTIVE, LIFTED, VERIFIED, Game, compile_game
from stepdeal.mechanisms.rules import power_payoffs, target_payoff
from stepdeal.scenario import parse_scenario
from stepdeal.solve import BestResponse, solve_best_response

TOL = 1e-9


def num(x: float) -> str:
    """A float written so that YAML reads back exactly the same double."""
    text = repr(float(x))
    assert "e" not in text and "inf" not in text and "nan" not in text, text
    return text


def approx(x: float) -> object:
    return pytest.approx(x, abs=TOL, rel=TOL)


# --------------------------------------------------------------------------- B1
# Lockwood & Thomas (2002), linear case: π(x_i, x_j) = b·x_j − c·x_i, 0 < c < b.
# Target level x = sum of the verified increments (concerns); power level y = sum of
# the lifted increments (measures). Concern t: upkeep c·Δ_t (target), value b·Δ_t
# (power). Measure m_t: impact b·Δ_t (target), burden −c·Δ_t (power: it gains c·Δ_t
# per period while m_t stands, so lifting m_t costs it c·Δ_t per period). Hence, with
# X_N = Σ_t Δ_t, per-period payoffs are
#     u_target = b·y − c·x − b·X_N = π(x, y) − b·X_N,
#     u_power  = b·x − c·y + c·X_N = π(y, x) + c·X_N.

B, C_, DELTA = 1.0, 0.5, 0.8  # section B1's example: r = c/(δb) = 0.625
R = C_ / (DELTA * B)


def lt_yaml(
    steps: list[float], relieve: str = "yes", b: float = B, c: float = C_, delta: float = DELTA
) -> str:
    """One concern and one measure per L–T increment; strict order; one step a period."""
    n = len(steps)
    concerns = "\n".join(
        f"  - {{id: s{t}, cost: 0, upkeep: {num(c * d)}, value: {{power: {num(b * d)}}}}}"
        for t, d in enumerate(steps)
    )
    measures = "\n".join(
        f"  - {{id: m{t}, issuer: council, status: active, impact: {num(b * d)}, "
        f"burden: {{power: {num(-c * d)}}}}}"
        for t, d in enumerate(steps)
    )
    relief = "\n".join(f"      s{t}: [{{measure: m{t}, action: lift}}]" for t in range(n))
    order = ", ".join(f"s{t}" for t in range(n))
    return f"""\
name: lockwood-thomas
title: Lockwood-Thomas linear gradualism, one increment per period
period: period
horizon: {n + 1}
tail: persist
max_steps_per_period: 1
actors:
  - {{id: target, role: target, discount: {num(delta)}}}
  - {{id: power, role: power, discount: {num(delta)}}}
institutions:
  - {{id: council, members: [power], rule: veto}}
concerns:
{concerns}
measures:
{measures}
policies:
  - id: gradual
    kind: step_by_step
    order: [{order}]
    strict: true
    relief:
{relief}
votes:
  power: {{escalate: sincere, relieve: {relieve}}}
"""


def lt_game(steps: list[float], relieve: str = "yes", **kw: float) -> Game:
    return compile_game(parse_scenario(lt_yaml(steps, relieve, **kw), "lockwood-thomas.yaml"))


def geometric(n: int) -> list[float]:
    """L–T binding path with X = 1: Δ_t = (1 − r)·r^t, x_t = 1 − r^(t+1)."""
    return [(1 - R) * R**t for t in range(n)]


def path_state(n: int, x_steps: int, y_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``x_steps`` concerns verified, first ``y_steps`` measures lifted."""
    C = np.zeros(n, np.uint8)
    M = np.full(n, ACTIVE, np.uint8)
    C[:x_steps] = VERIFIED
    M[:y_steps] = LIFTED
    return C, M


def follower_slack(steps: list[float]) -> list[float]:
    """The power's L–T incentive slack S_t, t = 0..N−1, computed with the solver.

    S_t = V_eq(t) − V_dev(t). V_eq(t): the power's solved value at the start of
    period t on the path (its relief committed by ``relieve: yes``). V_dev(t): it
    refuses the lift of m_t after the target's step t and never relieves again:
    its period-t payoff (the model's ``power_payoffs`` on that state) plus δ times
    its solved value from t+1 in the same state under ``relieve: no`` (the
    target's best response to a power that never relieves is to stop).
    """
    n = len(steps)
    game, never = lt_game(steps), lt_game(steps, "no")
    sol = solve_best_response(game)
    out = []
    for t in range(n):
        C, M = path_state(n, t, t)
        assert sol.action(t, C, M) == (t,)  # the path: increment t in period t
        v_eq = sol.values(t, C, M)["power"]
        C1, _ = path_state(n, t + 1, t)
        u_dev = float(power_payoffs(game, C1[None, :], M[None, :])[0, 0])
        x_t, x_prev = sum(steps[: t + 1]), sum(steps[:t])
        assert u_dev == approx(B * x_t - C_ * x_prev + C_ * sum(steps))  # π(x_{t−1}, x_t) + cX_N
        sub = solve_best_response(never, start=(t + 1, C1, M))
        if t + 1 < n:
            assert sub.action(t + 1, C1, M) == ()  # the target stops
        out.append(v_eq - (u_dev + DELTA * sub.power_value["power"]))
    return out


def test_lt_stage_payoffs_and_path_values() -> None:
    """The scenario realises L–T's stage game, and the path is played.

    For every (x, y) reachable by prefixes, the model's payoffs equal
    π(x, y) − bX_N (target) and π(y, x) + cX_N (power). With the power committed
    (``relieve: yes``) each step pays the target (b − c)Δ_t > 0 at once, so the
    target takes increment t in period t: x_t = 1 − r^(t+1) = 0.375, 0.609375,
    0.755859375, … (section B1's numbers). Utilities over the horizon N + 1 with
    the tail: U_T = Σ_{s<N} δ^s((b − c)x_s − bX_N) + δ^N/(1 − δ)·((b − c)X_N − bX_N),
    U_P = Σ_{s<N} δ^s((b − c)x_s + cX_N) + δ^N/(1 − δ)·((b − c)X_N + cX_N).
    """
    n = 8
    steps = geometric(n)
    game = lt_game(steps)
    xs = np.cumsum(steps)
    assert xs[:3] == pytest.approx([0.375, 0.609375, 0.755859375], abs=1e-15)
    X = float(xs[-1])
    for i in range(n + 1):
        for j in range(n + 1):
            C, M = path_state(n, i, j)
            x, y = sum(steps[:i]), sum(steps[:j])
            assert target_payoff(game, C[None], M[None])[0] == approx(B * y - C_ * x - B * X)
            assert power_payoffs(game, C[None], M[None])[0, 0] == approx(B * x - C_ * y + C_ * X)
    sol = solve_best_response(game)
    for t in range(n):
        assert sol.action(t, *path_state(n, t, t)) == (t,)
    disc = DELTA ** np.arange(n)
    tail = DELTA**n / (1 - DELTA)
    u_t = float(disc @ ((B - C_) * xs - B * X) + tail * ((B - C_) * X - B * X))
    u_p = float(disc @ ((B - C_) * xs + C_ * X) + tail * ((B - C_) * X + C_ * X))
    assert sol.value == approx(u_t)
    assert sol.power_value["power"] == approx(u_p)


def test_lt_follower_ic_on_the_geometric_path() -> None:
    """L–T's incentive constraint is the power's (the follower's) IC, exactly.

    Within a period the target moves first and the power votes after, so a power
    that refuses at t gets π(x_{t−1}, x_t) for ever: L–T's deviation payoff. With
    S_t = Σ_{s≥t} δ^{s−t} π(x_s, x_s) − π(x_{t−1}, x_t)/(1 − δ), one finds for any
    path S_t − δS_{t+1} = (δbΔ_{t+1} − cΔ_t)/(1 − δ), which vanishes iff
    Δ_{t+1} = rΔ_t with r = c/(δb) (section B1's recursion). On the infinite path
    S_t = 0 for all t. Truncated after N increments (x stays at x_{N−1}), the last
    IC is S_{N−1} = −cΔ_{N−1}/(1 − δ) and so S_t = −cΔ_{N−1}δ^{N−1−t}/(1 − δ).
    Numbers (b = 1, c = 0.5, δ = 0.8, N = 8, δr = c/b = 1/2):
    S_0 = −0.5·0.375·0.5^7/0.2 = −0.00732421875, S_7 = −2.5·0.375·0.625^7.
    """
    n = 8
    steps = geometric(n)
    S = follower_slack(steps)
    for t in range(n):
        assert S[t] == approx(-C_ * steps[-1] * DELTA ** (n - 1 - t) / (1 - DELTA))
    assert S[0] == approx(-0.00732421875)
    assert S[-1] == approx(-2.5 * 0.375 * 0.625**7)
    for t in range(n - 1):
        assert S[t] == approx(DELTA * S[t + 1])  # binding relative to the truncation


def test_lt_ic_recursion_for_equal_steps() -> None:
    """A non-geometric path breaks the equalisation, by the closed form.

    Equal increments Δ = 1/8: S_t − δS_{t+1} = Δ(δb − c)/(1 − δ) = 0.1875 and
    S_7 = −cΔ/(1 − δ) = −0.3125, so S_t = 0.9375 − 1.25·0.8^(7−t): early ICs are
    slack (S_0 = 0.675356), the last two fail (S_6 = −0.0625).
    """
    n = 8
    S = follower_slack([1 / n] * n)
    for t in range(n - 1):
        assert S[t] - DELTA * S[t + 1] == approx(0.1875)
    for t in range(n):
        assert S[t] == approx(0.9375 - 1.25 * 0.8 ** (n - 1 - t))
    assert S[0] == approx(0.675356)
    assert S[5] > 0 > S[6]


def test_lt_immediate_full_jump_is_never_ic() -> None:
    """One increment X: S_0 = (b − c)X/(1 − δ) − bX/(1 − δ) = −cX/(1 − δ) (−2.5 at X = 1).

    Section B1: "an immediate jump to X is never IC". Gradualism shrinks the
    violation: N geometric increments reach X_N = 1 − r^N with
    S_0 = −c(1 − r)(c/b)^(N−1)/(1 − δ): −0.46875 for N = 2 (X_2 = 0.609375, jump
    −1.5234375) and −0.00732421875 for N = 8 (X_8 = 0.976…, jump −2.44…).
    """
    assert follower_slack([1.0]) == [approx(-2.5)]
    for n, gradual in [(2, -0.46875), (8, -2.5 * 0.375 * 0.5**7)]:
        x_n = 1 - R**n
        assert follower_slack(geometric(n))[0] == approx(gradual)
        assert follower_slack([x_n])[0] == approx(-C_ * x_n / (1 - DELTA))
        assert gradual > -C_ * x_n / (1 - DELTA)


def test_lt_leader_ic_is_slack() -> None:
    """The target (the leader: it moves first and is paid in the same period).

    Waiting one period shifts the rest of the path by one period, so
    Q(step t) − Q(wait) = (b − c)Σ_{s=t}^{N−1} δ^{s−t}Δ_s
                        = (b − c)(1 − r)r^t(1 − (δr)^{N−t})/(1 − δr)
                        = 0.375·0.625^t·(1 − 0.5^{N−t})   (b − c = 0.5, δr = 0.5).
    """
    n = 8
    sol = solve_best_response(lt_game(geometric(n)))
    for t in range(n):
        q = sol.q_values(t, *path_state(n, t, t))
        assert set(q) == {(), (t,)}
        assert q[(t,)] - q[()] == approx(0.375 * 0.625**t * (1 - 0.5 ** (n - t)))


@pytest.mark.parametrize(("b", "c", "delta"), [(1.0, 0.5, 0.8), (10.0, 0.1, 0.99)])
def test_lt_strategic_follower_unravels(b: float, c: float, delta: float) -> None:
    """With ``relieve: strategic`` no relief passes and no step is taken.

    Backward induction: in the last period a lift costs the power c·Δ per period
    for ever and buys nothing, so it fails; the target's step payoffs are additive,
    so earlier relief never raises its incentive to take a later step, and every
    lift fails; a step then costs the target upkeep for nothing. The outcome is the
    status quo: U_T = −bX_N/(1 − δ), U_P = +cX_N/(1 − δ), even when b ≫ c.
    """
    n = 5
    steps = [1 / n] * n
    game = lt_game(steps, "strategic", b=b, c=c, delta=delta)
    assert game.has_strategic
    sol = solve_best_response(game)
    C0, M0 = game.initial_state()
    assert sol.action(0, C0, M0) == ()
    X = sum(steps)
    assert sol.value == approx(-b * X / (1 - delta))
    assert sol.power_value["power"] == approx(c * X / (1 - delta))
    # the lift really is refused: after the target's first step, m0 stays active
    C1, M1 = path_state(n, 1, 0)
    sub = solve_best_response(game, start=(n, C1, M1))
    assert sub.power_value["power"] == approx((b * 0.2 + c * X) / (1 - delta))


# --------------------------------------------------------------------------- B2
# Admati & Perry (1991). The deal is the project: the target pays the concerns'
# one-off costs (K in PV) and values the project at V_T (negative upkeep −a: it gains
# a per period while the step stands, V_T = a/(1 − δ)); the power values it at
# V_P = v/(1 − δ) (concern value). The power's contribution is a pledge: a measure of
# impact p with burden −p (a pure transfer of p per period, P = p/(1 − δ)), lifted only
# on completion (grand_bargain, lift_all): paid only if the project is completed.

D2 = 0.9  # 1/(1 − δ) = 10 (up to rounding)


def deal_yaml(
    costs: list[float],
    own: float,
    value: float,
    pledge: float,
    burden: float | None = None,
    relieve: str = "yes",
    max_steps: int = 1,
    horizon: int = 4,
) -> str:
    """A grand bargain; ``own`` is a (target's own value), spread over the concerns."""
    burden = -pledge if burden is None else burden
    n = len(costs)
    concerns = "\n".join(
        f"  - {{id: c{i}, cost: {num(k)}, upkeep: {num(-own / n)}, "
        f"value: {{power: {num(value / n)}}}}}"
        for i, k in enumerate(costs)
    )
    return f"""\
name: subscription
title: Admati-Perry subscription game, the powers' pledge paid on completion
period: period
horizon: {horizon}
tail: persist
max_steps_per_period: {max_steps}
actors:
  - {{id: target, role: target, discount: {num(D2)}}}
  - {{id: power, role: power, discount: {num(D2)}}}
institutions:
  - {{id: council, members: [power], rule: veto}}
concerns:
{concerns}
measures:
  - id: pledge
    issuer: council
    status: active
    impact: {num(pledge)}
    burden: {{power: {num(burden)}}}
policies:
  - id: deal
    kind: grand_bargain
    demands: all
votes:
  power: {{escalate: sincere, relieve: {relieve}}}
"""


def deal(**kw: Any) -> tuple[Game, BestResponse]:
    game = compile_game(parse_scenario(deal_yaml(**kw), "subscription.yaml"))
    return game, solve_best_response(game)


def completes(game: Game, sol: BestResponse) -> bool:
    """Does the target start the project at once (it then completes it: no hold-up)?"""
    C0, M0 = game.initial_state()
    return sol.action(0, C0, M0) != ()


@pytest.mark.parametrize("pledge", [0.0, 1.0, 1.4, 1.5, 1.6, 2.0])
def test_subscription_completes_iff_value_covers_cost(pledge: float) -> None:
    """One step of cost K = 25, V_T = 10 (a = 1), pledge P = 10p, δ = 0.9.

    Complete at t = 0: U_T = −K + a/(1 − δ) = −15, U_P = v/(1 − δ) = 20 (v = 2).
    Never: U_T = −p/(1 − δ), U_P = p/(1 − δ). So the target completes iff
    V_T + P > K, i.e. p > (1 − δ)K − a = 1.5; at p = 1.5 it is indifferent and the
    tie goes to no step (model 4.2).
    """
    game, sol = deal(costs=[25.0], own=1.0, value=2.0, pledge=pledge)
    one = 1 / (1 - D2)
    assert completes(game, sol) is (pledge > 1.5)
    if pledge > 1.5:
        assert sol.value == approx(-25.0 + one)
        assert sol.power_value["power"] == approx(2.0 * one)
    else:
        assert sol.value == approx(-pledge * one)
        assert sol.power_value["power"] == approx(pledge * one)


def test_subscription_pledge_choice_is_efficient() -> None:
    """The power picks its pledge (outer loop over p = 0, 0.1, …, 3): efficiency.

    Surpluses over no deal (the same scenario with the target barred from the
    step, ``forbid``): target (a + p)/(1 − δ) − K, power (v − p)/(1 − δ) if
    completed, else 0 for both. The power's best pledge is the smallest grid p
    with a + p > (1 − δ)K = 2.5 if that p < v, else none; so at its optimum the
    project is completed iff V_T + V_P > K (up to the grid step 0.1):
      a = 1, v = 2   (V_T + V_P = 30 > 25): p = 1.6, surpluses 1 and 4;
      a = 1, v = 1.2 (22 < 25): no completion;
      a = 3, v = 2   (V_T = 30 > 25 alone): p = 0, surpluses 5 and 20.
    """
    one = 1 / (1 - D2)
    cases = {(1.0, 2.0): (1.6, 1.0, 4.0), (1.0, 1.2): None, (3.0, 2.0): (0.0, 5.0, 20.0)}
    for (a, v), expected in cases.items():
        best: tuple[float, float, float, bool] | None = None
        for i in range(31):
            p = i / 10
            game, sol = deal(costs=[25.0], own=a, value=v, pledge=p)
            nodeal = solve_best_response(game, forbid=0)
            gain_p = sol.power_value["power"] - nodeal.power_value["power"]
            gain_t = sol.value - nodeal.value
            if best is None or gain_p > best[1] + TOL:
                best = (p, gain_p, gain_t, completes(game, sol))
        assert best is not None
        p, gain_p, gain_t, done = best
        assert done is (a * one + v * one > 25.0)
        if expected is None:
            assert gain_p == approx(0.0) and gain_t == approx(0.0)
        else:
            assert (p, gain_t, gain_p) == (expected[0], approx(expected[1]), approx(expected[2]))
            assert gain_t + gain_p == approx((a + v) * one - 25.0)


def test_sunk_steps_under_a_pledge_cheapest_first() -> None:
    """Several sunk steps, one a period, pledge I paid on completion (a = v = 0).

    Costs (file order) 3, 1, 2; δ = 0.9. Completing in periods 0, 1, 2 costs
    PV = Σ_j δ^j k_(j), least in ascending order: 1 + 0.9·2 + 0.81·3 = 5.23
    (file order 5.52). U_T(complete) = −5.23 − I(1 + δ), U_T(never) = −I/(1 − δ):
    complete iff I > (1 − δ)·5.23/δ² = 0.645679…; I = 0.7 gives −6.56 (vs −7),
    I = 0.6 gives −6 (vs −6.37). Allowed three steps a period, the target takes all
    three at once (U_T = −6; no gradual accumulation under complete information,
    cf. Compte–Jehiel 2003 in section B4).
    """
    costs = [3.0, 1.0, 2.0]
    game, sol = deal(costs=costs, own=0.0, value=3.0, pledge=0.7)
    C, M = game.initial_state()
    for t, i in enumerate([1, 2, 0]):
        assert sol.action(t, C, M) == (i,)
        C = C.copy()
        C[i] = VERIFIED
    assert sol.value == approx(-5.23 - 0.7 * (1 + D2))
    game, sol = deal(costs=costs, own=0.0, value=3.0, pledge=0.6)
    assert not completes(game, sol) and sol.value == approx(-0.6 / (1 - D2))
    threshold = (1 - D2) * 5.23 / D2**2
    for pledge, done in [(threshold * (1 + 1e-6), True), (threshold * (1 - 1e-6), False)]:
        assert completes(*deal(costs=costs, own=0.0, value=3.0, pledge=pledge)) is done
    game, sol = deal(costs=costs, own=0.0, value=3.0, pledge=0.7, max_steps=3)
    assert sol.action(0, *game.initial_state()) == (0, 1, 2)
    assert sol.value == approx(-6.0)


def test_no_commitment_pledge_is_never_paid() -> None:
    """``relieve: strategic``: the pledge is voted after the sunk step, so it fails.

    Lifting costs the power p per period for ever and buys nothing once the step
    is taken (irreversible), so it votes no, every period. The target completes iff
    V_T > K alone: the completion region {V_T > K} lies strictly inside
    {V_T + V_P > K}. With a = 1, v = 2, p = 2 (efficient, and completed when the
    pledge is committed): no completion, U_T = −p/(1 − δ) = −20. With a = 3
    (V_T = 30 > 25) the target completes unpaid: U_T = −25 + (3 − 2)/(1 − δ) = −15,
    U_P = (v + p)/(1 − δ) = 40. A lift the power wants anyway (burden +0.5 > 0)
    passes: a = 1, p = 2 then completes, U_T = −25 + 1/(1 − δ) = −15.
    """
    one = 1 / (1 - D2)
    assert completes(*deal(costs=[25.0], own=1.0, value=2.0, pledge=2.0))
    game, sol = deal(costs=[25.0], own=1.0, value=2.0, pledge=2.0, relieve="strategic")
    assert game.has_strategic and not completes(game, sol)
    assert sol.value == approx(-2.0 * one)
    game, sol = deal(costs=[25.0], own=3.0, value=2.0, pledge=2.0, relieve="strategic")
    assert completes(game, sol)
    assert sol.value == approx(-25.0 + (3.0 - 2.0) * one)
    assert sol.power_value["power"] == approx((2.0 + 2.0) * one)
    game, sol = deal(costs=[25.0], own=1.0, value=2.0, pledge=2.0, burden=0.5, relieve="strategic")
    assert completes(game, sol)
    assert sol.value == approx(-25.0 + 1.0 * one)
    assert sol.power_value["power"] == approx(2.0 * one)
