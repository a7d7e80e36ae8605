"""Unit tests of the shared rules (mechanisms layer)."""

from __future__ import annotations

import numpy as np

from stepdeal.mechanisms import allowed_actions, compile_game, resolve, verification_outcomes
from stepdeal.mechanisms.game import (
    ACTIVE,
    CURTAILED,
    FROZEN,
    LIFTED,
    OPEN,
    PENDING,
    POTENTIAL,
    VERIFIED,
)
from stepdeal.mechanisms.rules import power_payoffs, pressure, target_payoff
from stepdeal.mechanisms.state import pack
from stepdeal.scenario import parse_scenario

from .conftest import DEMO


def C(*codes: int) -> np.ndarray:
    return np.array([codes], dtype=np.uint8)


def test_canonical_actions_and_strict_order(tiny) -> None:
    g = compile_game(tiny, "step-by-step")
    assert g.actions == ((), (0,), (1,), (2,))
    assert list(g.order) == [0, 1, 2]  # by cost
    allowed = allowed_actions(
        g, np.array([[OPEN] * 3, [VERIFIED, OPEN, OPEN], [PENDING, OPEN, OPEN]], dtype=np.uint8)
    )
    assert allowed.tolist() == [
        [True, True, False, False],  # only the cheapest
        [True, False, True, False],  # then the next
        [True, False, False, False],  # wait while a step is pending
    ]


def test_free_order_allows_any_open_concern(tiny) -> None:
    g = compile_game(tiny, "dual-track")
    allowed = allowed_actions(g, C(PENDING, OPEN, VERIFIED))
    assert allowed.tolist() == [[True, False, True, False]]


def test_verification_outcomes_sum_to_one() -> None:
    s = parse_scenario(
        DEMO.replace("{id: a, cost: 1,", "{id: a, cost: 1, verify: 0.3,").replace(
            "{id: b, cost: 2,", "{id: b, cost: 2, verify: 0.6,"
        ),
        "x.yaml",
    )
    g = compile_game(s, "dual-track")
    row, after, prob = verification_outcomes(g, C(PENDING, PENDING, PENDING))
    assert row.tolist() == [0, 0, 0, 0]
    assert np.isclose(prob.sum(), 1.0)
    assert (after[:, 2] == VERIFIED).all()  # verify 1
    got = {(int(a[0]), int(a[1])): p for a, p in zip(after, prob, strict=True)}
    assert np.isclose(got[(VERIFIED, VERIFIED)], 0.18)
    assert np.isclose(got[(PENDING, PENDING)], 0.28)


def test_relief_passes_and_is_strongest_action(tiny) -> None:
    g = compile_game(tiny, "step-by-step")
    M0 = g.initial_measures[None, :]
    M1, recs = resolve(g, 0, C(VERIFIED, OPEN, OPEN), M0, record=True)
    assert M1[0].tolist() == [FROZEN, ACTIVE, POTENTIAL, POTENTIAL]
    assert len(recs) == 1 and recs[0].passed.tolist() == [True]
    # c verified: lift beats freeze on m1
    M2, _ = resolve(g, 0, C(VERIFIED, VERIFIED, VERIFIED), M0)
    assert M2[0].tolist() == [LIFTED, LIFTED, POTENTIAL, POTENTIAL]


def test_failed_relief_is_retabled() -> None:
    s = parse_scenario(
        DEMO.replace(
            "usa: {escalate: yes, relieve: sincere}",
            "usa: {escalate: yes, relieve: {if_verified_at_least: 2, then: yes, else: no}}",
        ),
        "x.yaml",
    )
    g = compile_game(s, "step-by-step")
    M0 = g.initial_measures[None, :]
    M1, recs = resolve(g, 0, C(VERIFIED, OPEN, OPEN), M0, record=True)
    assert M1[0, 0] == ACTIVE and not recs[0].passed[0]
    # next period the same relief is tabled again, and passes once two are verified
    M2, recs = resolve(g, 1, C(VERIFIED, VERIFIED, OPEN), M1, record=True)
    assert M2[0, 0] == FROZEN and M2[0, 1] == CURTAILED


def test_tranche_at_review_and_conditional_veto(tiny) -> None:
    g = compile_game(tiny, "dual-track")
    M0 = g.initial_measures[None, :]
    M, recs = resolve(g, 1, C(OPEN, OPEN, OPEN), M0, record=True)
    assert recs == [] and (M == M0).all()  # not a review period
    M, recs = resolve(g, 2, C(OPEN, OPEN, OPEN), M0, record=True)
    assert M[0, 2] == ACTIVE  # no verified step: russia votes yes
    M, recs = resolve(g, 2, C(VERIFIED, OPEN, OPEN), M0, record=True)
    assert M[0, 2] == POTENTIAL  # russia vetoes
    assert recs[0].votes.tolist() == [[True, False]]
    # second review proposes the second tranche, issued by the US: passes
    M, _ = resolve(g, 4, C(VERIFIED, OPEN, OPEN), M0)
    assert M[0, 3] == ACTIVE and M[0, 2] == POTENTIAL


def test_completion_lifts_everything(tiny) -> None:
    g = compile_game(tiny, "dual-track")
    M0 = np.array([[ACTIVE, CURTAILED, ACTIVE, POTENTIAL]], dtype=np.uint8)
    M, recs = resolve(g, 3, C(VERIFIED, VERIFIED, VERIFIED), M0, record=True)
    assert M[0].tolist() == [LIFTED, LIFTED, LIFTED, POTENTIAL]
    assert len(recs) == 3


def test_sincere_vote_follows_own_burden() -> None:
    s = parse_scenario(
        DEMO.replace(
            "russia: {escalate: {if_verified_at_least: 1, then: no, else: yes}, relieve: yes}",
            "russia: {escalate: sincere, relieve: sincere}",
        ),
        "x.yaml",
    )
    g = compile_game(s, "dual-track")
    M, recs = resolve(g, 2, C(OPEN, OPEN, OPEN), g.initial_measures[None, :], record=True)
    assert M[0, 2] == POTENTIAL  # n1 burdens russia (0.1): sincere no
    assert recs[0].votes.tolist() == [[True, False]]


def test_majority_rule() -> None:
    s = parse_scenario(
        DEMO.replace(
            "{id: unsc, members: [usa, russia], rule: veto}",
            "{id: unsc, members: [usa, russia], rule: majority}",
        ),
        "x.yaml",
    )
    g = compile_game(s, "dual-track")
    M, _ = resolve(g, 2, C(VERIFIED, OPEN, OPEN), g.initial_measures[None, :])
    assert M[0, 2] == POTENTIAL  # 1 yes vs 1 no: not more yes than no


def test_payoffs(tiny) -> None:
    g = compile_game(tiny, "step-by-step")
    Cs = C(VERIFIED, PENDING, OPEN)
    M = np.array([[FROZEN, CURTAILED, POTENTIAL, ACTIVE]], dtype=np.uint8)
    assert pressure(g, M).tolist() == [0.5 + 0.5]
    taken = np.array([[False, True, False]])
    assert target_payoff(g, Cs, M, taken).tolist() == [-1.0 - 2.0]
    # usa: value of a (1); russia: value of a (0.5), no burden (m1 frozen)
    assert power_payoffs(g, Cs, M).tolist() == [[1.0, 0.5]]


def test_state_keys_distinguish_states() -> None:
    rng = np.random.default_rng(0)
    Cs = rng.integers(0, 3, size=(500, 12)).astype(np.uint8)
    Ms = rng.integers(0, 5, size=(500, 16)).astype(np.uint8)
    keys = pack(Cs, Ms)
    assert keys.shape == (500, 1)  # 3^12 * 5^16 < 2^64
    X = np.concatenate([Cs, Ms], axis=1)
    assert len({tuple(r) for r in X}) == len(set(keys[:, 0].tolist()))
