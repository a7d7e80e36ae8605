"""The self-enforcement table and the hold-up relief."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stepdeal.api import run
from stepdeal.solve import solve_best_response
from stepdeal.solve.check import check
from stepdeal.solve.explain import state_at_start


@pytest.fixture(scope="module")
def demo():
    r = run("holdup-demo", "step-by-step", rng=0)
    return r, check(r.solution, r.timeline)


def test_steps_on_path_are_self_enforcing(demo) -> None:
    r, res = demo
    assert [s.concern for s in res.steps] == [s["concern"] for s in r.timeline.steps()]
    for s in res.steps:
        assert s.gain_vs_wait >= 0 and s.gain_vs_never >= s.gain_vs_wait - 1e-9


def test_holdup_relief_is_the_threshold(demo) -> None:
    r, res = demo
    h = res.holdup
    assert h is not None and h.concern == "c" and h.extra_relief is not None
    game = r.game
    c = game.concern_ids.index("c")
    C, M = state_at_start(game, r.timeline, h.period)

    def takes(relief: float) -> bool:
        bonus = np.zeros(game.n_concerns)
        bonus[c] = relief
        g = replace(game, bonus=bonus)
        return c in solve_best_response(g, start=(h.period, C, M)).action(h.period, C, M)

    assert takes(h.extra_relief)
    assert not takes(h.extra_relief * (1 - 1e-3))
    assert not takes(0.0)


def test_vote_gains_zero_when_not_pivotal_and_signed_otherwise() -> None:
    r = run("iran-2011", "dual-track", rng=0)
    res = check(r.solution, r.timeline)
    by = {(v.member, v.proposal): v for v in res.votes}
    # two vetoes on the UN tranche: neither Russia nor China is pivotal alone, so the
    # outcome does not depend on Russia's vote and its gain is only the veto cost it
    # pays for voting no (4 USD bn-equivalent, the unsc veto_cost of the file)
    assert by[("russia", "impose:unsc-new")].vote == "no"
    assert by[("russia", "impose:unsc-new")].gain_vs_opposite == -4.0
    assert by[("china", "impose:unsc-new")].gain_vs_opposite == 0.0
    # the US pays a burden for s.1245 and its rule makes it vote yes anyway
    assert by[("usa", "impose:us-ndaa-1245")].gain_vs_opposite < 0


def test_frames(demo) -> None:
    _, res = demo
    frames = res.frames()
    assert list(frames["steps"].columns) == ["concern", "period", "gain_vs_wait", "gain_vs_never"]
    assert len(frames["votes"]) == len(res.votes)


def test_no_holdup_when_everything_is_taken() -> None:
    r = run("holdup-demo", "dual-track", rng=0)
    assert check(r.solution, r.timeline).holdup is None


def test_reversal_rows_follow_the_path_and_snapback_keeps_steps() -> None:
    from stepdeal.api import run
    from stepdeal.solve.check import check

    for policy in ("jcpoa", "jcpoa-no-snapback"):
        r = run("jcpoa-2015", policy, "optimal", 0)
        assert r.solution is not None
        rows = check(r.solution, r.timeline).reversals
        on_path = {(x["concern"], x["period"]) for x in r.timeline.reversals()}
        reversed_rows = {(x.concern, x.period) for x in rows if x.action == "reverse"}
        assert reversed_rows == on_path, policy
        assert all(x.gain >= 0 for x in rows if x.action == "reverse")
        if policy == "jcpoa":  # with snapback nothing is reversed and keeping pays
            assert not on_path and rows and all(x.gain > 0 for x in rows)
        else:
            assert on_path  # without it the target undoes some steps
    r = run("holdup-demo", "step-by-step", "optimal", 0)
    assert r.solution is not None and check(r.solution, r.timeline).reversals == []
