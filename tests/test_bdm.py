"""The compromise and BDM expected-utility forecasts (docs/explanation/forecast-bdm.md).

Validation: the 1994 EC car-emission-standards example (Bueno de Mesquita 1994,
Table 1 p. 78) against Scholz, Calbert & Smith (2011) Table 2, and against the log of
the public re-run of Scholz's code (``dmasad/bdm-scholz-expected-utility-model``,
``Example.log``, numbers only). Positions are years (4–10); they are valid positions
on the ActorTable's 0–100 scale and, with ``span="initial"``, the model only sees
distances divided by the initial range, so the years are used as they are (and a
test checks that mapping 4–10 linearly onto 0–100 and back gives the same numbers).
Saliences 0–1 become 0–100.

Tolerance: Table 2 prints one decimal, medians truncated (9.962 → 9.9) and means
rounded or truncated (7.590 → 7.6 but 7.461 → 7.4). A published ``p`` is matched by
our ``v`` when ``v`` rounds or truncates to ``p``: ``p - 0.05 <= v < p + 0.1``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepdeal.forecast.actors import ActorTable
from stepdeal.forecast.bdm import (
    PRESETS,
    BdmSwitches,
    bdm,
    distance_powers,
    simulate,
    win_probabilities,
)
from stepdeal.forecast.compromise import compromise

EC = [  # actor, capability, position (years), salience (0-1)
    ("Netherlands", 0.08, 4, 0.8),
    ("Belgium", 0.08, 7, 0.4),
    ("Luxembourg", 0.03, 4, 0.2),
    ("Germany", 0.16, 4, 0.8),
    ("France", 0.16, 10, 0.6),
    ("Italy", 0.16, 10, 0.6),
    ("UK", 0.16, 10, 0.9),
    ("Ireland", 0.05, 7, 0.1),
    ("Denmark", 0.05, 4, 1.0),
    ("Greece", 0.08, 7, 0.7),
]
TABLE2_MEDIAN = [8.4, 9.9, 9.9, 9.9, 9.9, 7.4, 8.8, 9.6]  # rounds 1..8
TABLE2_MEAN = [7.4, 7.5, 7.6, 7.3, 7.3, 7.4, 7.5, 7.6]
SCHOLZ = PRESETS["scholz2011"]


def ec_table(to_0_100: bool = False) -> ActorTable:
    years = np.array([[float(r[2])] for r in EC])
    return ActorTable(
        name="ec-emissions-1994",
        dimensions=("years",),
        actors=tuple(r[0] for r in EC),
        capability=np.array([r[1] for r in EC]),
        position=(years - 4.0) / 6.0 * 100.0 if to_0_100 else years,
        salience=np.array([[r[3] * 100.0] for r in EC]),
    )


def matches(v: float, p: float) -> bool:
    """``v`` rounds or truncates to the one-decimal figure ``p``."""
    return p - 0.05 - 1e-12 <= v < p + 0.1


def by_round(key: str, r: object) -> np.ndarray:
    return np.asarray(r.extras[key])[:, 0]  # type: ignore[attr-defined]


# --- the initial state and the compromise model --------------------------------------


def test_initial_weighted_median_and_compromise_mean() -> None:
    r = bdm(ec_table(), 0)
    assert by_round("median_by_round", r)[0] == 7.0
    assert r.forecast[0] == 7.0
    c = compromise(ec_table())
    assert round(float(c.forecast[0]), 5) == 7.38996
    assert by_round("mean_by_round", r)[0] == pytest.approx(c.forecast[0], abs=1e-12)


def test_compromise_hand_example() -> None:
    # weights c*s: dimension a 20, 80, 40; dimension b 80, 20, 60
    t = ActorTable(
        name="hand",
        dimensions=("a", "b"),
        actors=("x", "y", "z"),
        capability=np.array([1.0, 2.0, 1.0]),
        position=np.array([[0.0, 10.0], [50.0, 20.0], [100.0, 90.0]]),
        salience=np.array([[20.0, 80.0], [40.0, 10.0], [40.0, 60.0]]),
    )
    r = compromise(t)
    assert r.forecast == pytest.approx([8000 / 140, 6600 / 160])
    assert r.extras["influence"]["y"] == pytest.approx([4 / 7, 1 / 8])
    d = r.to_dict()
    assert list(d)[:5] == ["model", "dimensions", "actors", "rounds", "forecast"]
    assert d["model"] == "compromise" and len(d["rounds"]) == 1
    # the lever is exact: moving y by 7 on a moves the forecast by 4/7 * 7
    moved = replace(t, position=t.position + np.array([[0.0, 0.0], [7.0, 0.0], [0.0, 0.0]]))
    assert compromise(moved).forecast[0] - r.forecast[0] == pytest.approx(4.0)


def test_compromise_refuses_a_dimension_without_weight() -> None:
    t = replace(ec_table(), salience=np.zeros((10, 1)))
    with pytest.raises(ValueError, match="no actor has both capability and salience"):
        compromise(t)
    with pytest.raises(ValueError, match="no actor has both capability and salience"):
        bdm(t)


# --- Scholz et al. (2011) Table 2 ---------------------------------------------------


def test_scholz2011_table2_means_all_rounds() -> None:
    means = by_round("mean_by_round", bdm(ec_table(), 8, SCHOLZ))[1:]
    assert [matches(v, p) for v, p in zip(means, TABLE2_MEAN, strict=True)] == [True] * 8


def test_scholz2011_table2_medians_all_rounds_but_round_2() -> None:
    medians = by_round("median_by_round", bdm(ec_table(), 8, SCHOLZ))[1:]
    ok = [matches(v, p) for v, p in zip(medians, TABLE2_MEDIAN, strict=True)]
    assert ok == [True, False, True, True, True, True, True, True]
    # the documented deviation: Belgium is the median voter at 9.61, Table 2 prints 9.9
    assert medians[1] == pytest.approx(9.610859134, abs=1e-9)


def test_scholz2011_reproduces_the_scholz_code_log() -> None:
    """Belgium's position and the mean after each round, from ``Example.log``."""
    r = bdm(ec_table(), 10, SCHOLZ)
    belgium = [p[1, 0] for p in r.rounds[1:]]
    assert belgium == pytest.approx(
        [
            8.415932315426764,
            9.610859134120188,
            9.961979590401311,
            4.800881140632622,
            5.524237694197356,
            7.47204636191629,
            8.824593855262423,
            9.671129769802048,
            4.144849062500606,
            4.291541224979646,
        ],
        abs=1e-9,
    )
    assert by_round("mean_by_round", r)[1:] == pytest.approx(
        [
            7.461314378277189,
            7.552500865855845,
            7.590144997451547,
            7.358130531334201,
            7.3491739896752115,
            7.414877545372958,
            7.510457183677219,
            7.5724470975503,
            7.324989065683666,
            7.242130958473938,
        ],
        abs=1e-9,
    )
    # medians of the re-run (notes §2.4) and the final positions
    assert by_round("median_by_round", r)[1:] == pytest.approx(
        [8.416, 9.611, 9.962, 9.962, 9.962, 7.472, 8.825, 9.671, 9.671, 7.0], abs=1e-3
    )
    final = dict(zip(r.actors, r.rounds[-1][:, 0], strict=True))
    assert final["Belgium"] == pytest.approx(4.292, abs=1e-3)
    assert final["Luxembourg"] == final["Ireland"] == pytest.approx(4.145, abs=1e-3)
    assert [final[a] for a in ("France", "Italy", "UK", "Greece")] == [10, 10, 10, 7]
    assert r.extras["moves_by_round"] == [[3]] * 10  # Belgium, Luxembourg, Ireland
    assert r.extras["first_idle_round"] == [None]  # never settles
    assert r.forecast[0] == 7.0


def test_years_or_0_100_give_the_same_trajectory() -> None:
    years = bdm(ec_table(), 10, SCHOLZ)
    scaled = bdm(ec_table(to_0_100=True), 10, SCHOLZ)
    for a, b in zip(years.rounds, scaled.rounds, strict=True):
        assert a == pytest.approx(b / 100.0 * 6.0 + 4.0, abs=1e-9)
    assert years.forecast == pytest.approx(scaled.forecast / 100.0 * 6.0 + 4.0, abs=1e-9)


def test_paper_preset_on_the_ec_example() -> None:
    """The paper reading (per-pair probabilities) keeps the median at 7.0 (regression)."""
    r = bdm(ec_table(), 10, PRESETS["paper"])
    assert by_round("median_by_round", r) == pytest.approx([7.0] * 11)
    assert by_round("mean_by_round", r)[1:4] == pytest.approx(
        [7.043613, 7.266233, 7.456448], abs=1e-6
    )


def test_conflict_without_moves_settles_near_9_53() -> None:
    """Dynamic range and an unresolved conflict quadrant: the median settles at 9.53,
    the value reported for the independent ``hamzagul07/schelling`` reading (notes §2.4)."""
    sw = BdmSwitches(confrontation=False, span="dynamic")
    medians = by_round("median_by_round", bdm(ec_table(), 10, sw))
    assert medians[1:] == pytest.approx([9.529952] * 10, abs=1e-6)


# --- the vectorised pieces against loops written from the equations -----------------


def _probability_loops(
    x: np.ndarray, w: np.ndarray, rho: np.ndarray, span: float, mode: str
) -> np.ndarray:
    n = len(x)

    def delta(k: int, m: int) -> float:
        return float((abs(x[k] - x[m]) / span) ** rho[k])

    out = np.zeros((n, n))
    triples = sum(
        w[k] * abs(delta(k, b) - delta(k, a)) for k in range(n) for a in range(n) for b in range(n)
    )
    for i, j in itertools.product(range(n), range(n)):
        if x[i] == x[j]:
            continue
        votes = [w[k] * (delta(k, j) - delta(k, i)) for k in range(n)]
        num = sum(v for v in votes if v > 0)
        den = sum(abs(v) for v in votes) if mode == "pair" else triples
        out[i, j] = num / den
    return out


@pytest.mark.parametrize("mode", ["pair", "triples"])
@pytest.mark.parametrize("seed", range(6))
def test_probabilities_match_the_triple_loop(mode: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    x = (
        rng.choice([0.0, 20.0, 35.5, 50.0, 50.0, 71.0, 100.0], n)
        if seed % 2
        else rng.uniform(0, 100, n)
    )
    w = rng.uniform(0.01, 1.0, n)
    rho = rng.uniform(0.5, 2.0, n) if seed % 3 else np.ones(n)
    span = float(x.max() - x.min())
    got = win_probabilities(x, w, distance_powers(x, span, rho), mode)  # type: ignore[arg-type]
    assert got == pytest.approx(_probability_loops(x, w, rho, span, mode), abs=1e-12)
    if mode == "pair":
        distinct = x[:, None] != x[None, :]
        assert (got + got.T)[distinct] == pytest.approx(1.0)


def _round_loops(x: np.ndarray, c: np.ndarray, s: np.ndarray, sw: BdmSwitches) -> np.ndarray:
    """One BDM round written as plain loops over actors, straight from the equations."""
    n, w = len(x), c * s
    span = float(x.max() - x.min())
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    mu = float(x[order][np.searchsorted(cum, 0.5 * w.sum() - 1e-12 * w.sum())])

    def prob(i: int, j: int, rho: list[float]) -> float:
        return float(_probability_loops(x, w, np.array(rho), span, sw.probability)[i, j])

    def utilities(i: int, j: int, r: float) -> tuple[float, float, float, float]:
        d, dm = abs(x[i] - x[j]) / span, abs(x[i] - mu) / span
        us, uf = 2 - 4 * max(0.5 - 0.5 * d, 0) ** r, 2 - 4 * (0.5 + 0.5 * d) ** r
        ub, uw = 2 - 4 * max(0.5 - 0.25 * (dm + d), 0) ** r, 2 - 4 * (0.5 + 0.25 * (dm + d)) ** r
        t = {"better": 1, "worse": 0, "median": int(abs(x[i] - mu) < abs(x[i] - x[j]))}[sw.t]
        return us, uf, 2 - 4 * 0.5**r, t * ub + (1 - t) * uw

    def eu(i: int, j: int, r: float, rho: list[float]) -> float:  # i challenges j
        if x[i] == x[j]:
            return 0.0
        us, uf, usq, nc = utilities(i, j, r)
        p, lead = prob(i, j, rho), s[j] if sw.salience == "target" else s[i]
        return lead * (p * us + (1 - p) * uf) + (1 - lead) * us - sw.q * usq - (1 - sw.q) * nc

    def eu_of_target(i: int, j: int, rho: list[float]) -> float:  # i when j challenges i
        if x[i] == x[j]:
            return 0.0
        us, uf, usq, nc = utilities(i, j, 1.0)
        p, lead = prob(j, i, rho), s[i] if sw.salience == "target" else s[j]
        return lead * (p * uf + (1 - p) * us) + (1 - lead) * uf - sw.q * usq - (1 - sw.q) * nc

    ones = [1.0] * n
    r, rho = ones, ones
    if sw.risk:
        if sw.security == "challengers":
            sec = [sum(eu(j, i, 1.0, ones) for j in range(n) if j != i) for i in range(n)]
        else:
            sec = [sum(eu_of_target(i, j, ones) for j in range(n) if j != i) for i in range(n)]
        hi, lo = max(sec), min(sec)
        if hi - lo > 1e-12 * max(1.0, abs(hi), abs(lo)):
            big = [(2 * v - hi - lo) / (hi - lo) for v in sec]
            r = [(1 - b / 3) / (1 + b / 3) for b in big]
        rho = r if sw.vote_risk else ones
    new = x.copy()
    for i in range(n):
        offers = []  # (type rank, key, new position)
        for j in range(n):
            if x[j] == x[i]:
                continue
            a = eu(i, j, r[i], rho)
            b = eu(j, i, r[j] if sw.perception == "own" else r[i], rho)
            if sw.confrontation and b > a > 0:
                kind, pos = 0, x[j]
            elif (sw.compromise_minus == "figure" and a < 0 < b and b > -a) or (
                sw.compromise_minus == "text" and b < a < 0
            ):
                kind, pos = 1, x[i] + (x[j] - x[i]) * abs(a / b)
            elif sw.capitulation and a < 0 < b and -a >= b:
                kind, pos = 2, x[j]
            else:
                continue
            key = abs(pos - x[i]) if sw.choice == "least_move" else -b
            if kind == 1 and sw.compromise_key == "weighted_position":
                key = (abs(a) * x[i] + abs(b) * x[j]) / (abs(a) + abs(b))
            offers.append((kind if sw.by_type else 0, key, pos))
        if offers:
            new[i] = min(offers)[2]
    return new


SWITCH_OPTIONS: dict[str, list[object]] = {
    "salience": ["target", "challenger"],
    "security": ["challengers", "target"],
    "compromise_minus": ["figure", "text"],
    "confrontation": [True, False],
    "capitulation": [True, False],
    "by_type": [False, True],
    "choice": ["least_move", "highest_eu"],
    "compromise_key": ["choice", "weighted_position"],
    "q": [1.0, 0.5, 0.0],
    "t": ["median", "better", "worse"],
    "risk": [True, False],
    "median": ["weighted", "condorcet"],
    "span": ["initial", "dynamic", "scale"],
    "probability": ["pair", "triples"],
    "perception": ["own", "receiver"],
    "vote_risk": [False, True],
}


def random_switches(rng: np.random.Generator) -> BdmSwitches:
    kw = {k: v[int(rng.integers(len(v)))] for k, v in SWITCH_OPTIONS.items()}
    if kw["compromise_key"] == "weighted_position":
        kw["by_type"] = True
    return BdmSwitches(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(60))
def test_one_round_matches_the_loops(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    sw = replace(random_switches(rng), span="initial")
    n = int(rng.integers(3, 8))
    x, c, s = rng.uniform(0, 100, n), rng.uniform(0.05, 1, n), rng.uniform(0.05, 1, n)
    if seed % 4 == 0:  # shared positions
        x[: n // 2] = x[0]
    got = simulate(x, c, s, 1, sw).positions[1]
    assert got == pytest.approx(_round_loops(x, c, s, sw), abs=1e-9)


# --- properties ---------------------------------------------------------------------


@st.composite
def tables(draw: st.DrawFn, max_actors: int = 7) -> ActorTable:
    n = draw(st.integers(3, max_actors))
    n_dims = draw(st.integers(1, 2))
    grid = st.sampled_from([0.0, 10.0, 25.0, 50.0, 50.0, 75.0, 100.0])
    coord = st.one_of(grid, st.floats(0.0, 100.0, allow_nan=False))
    pos = [[draw(coord) for _ in range(n_dims)] for _ in range(n)]
    sal = [[draw(st.floats(1.0, 50.0)) for _ in range(n_dims)] for _ in range(n)]
    cap = [draw(st.sampled_from([0.1, 0.5, 1.0]) | st.floats(0.01, 1.0)) for _ in range(n)]
    return ActorTable(
        name="random",
        dimensions=tuple(f"d{d}" for d in range(n_dims)),
        actors=tuple(f"a{i}" for i in range(n)),
        capability=np.array(cap),
        position=np.array(pos),
        salience=np.array(sal),
    )


@st.composite
def switches(draw: st.DrawFn) -> BdmSwitches:
    kw = {k: draw(st.sampled_from(v)) for k, v in SWITCH_OPTIONS.items()}
    if kw["compromise_key"] == "weighted_position":
        kw["by_type"] = True
    return BdmSwitches(**kw)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(tables(), switches(), st.integers(0, 6))
def test_positions_stay_within_the_input_range(
    table: ActorTable, sw: BdmSwitches, rounds: int
) -> None:
    r = bdm(table, rounds, sw)
    lo, hi = table.position.min(axis=0), table.position.max(axis=0)
    assert len(r.rounds) == rounds + 1
    for p in r.rounds:
        assert np.all(p >= lo - 1e-9) and np.all(p <= hi + 1e-9)
    assert np.all(r.forecast >= lo - 1e-9) and np.all(r.forecast <= hi + 1e-9)


@settings(max_examples=150, deadline=None)
@given(tables(), switches(), st.data())
def test_permuting_actors_permutes_the_result(
    table: ActorTable, sw: BdmSwitches, data: st.DataObject
) -> None:
    perm = np.array(data.draw(st.permutations(list(range(table.n)))))
    shuffled = ActorTable(
        name=table.name,
        dimensions=table.dimensions,
        actors=tuple(table.actors[i] for i in perm),
        capability=table.capability[perm],
        position=table.position[perm],
        salience=table.salience[perm],
    )
    a, b = bdm(table, 4, sw), bdm(shuffled, 4, sw)
    for pa, pb in zip(a.rounds, b.rounds, strict=True):
        np.testing.assert_array_equal(pa[perm], pb)
    np.testing.assert_array_equal(a.forecast, b.forecast)
    assert a.extras["median_by_round"] == b.extras["median_by_round"]
    c1, c2 = compromise(table), compromise(shuffled)
    assert c1.forecast == pytest.approx(c2.forecast, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(tables(), switches(), st.floats(0.0, 100.0))
def test_equal_positions_never_move(table: ActorTable, sw: BdmSwitches, at: float) -> None:
    same = replace(table, position=np.full_like(table.position, at))
    r = bdm(same, 5, sw)
    for p in r.rounds:
        assert np.all(p == at)
    assert np.all(r.forecast == at)
    assert r.extras["first_idle_round"] == [1] * table.D
    assert compromise(same).forecast == pytest.approx([at] * table.D)


# --- the contract and the switches ---------------------------------------------------


def test_result_contract_is_json() -> None:
    r = bdm(ec_table(), 3, SCHOLZ)
    d = json.loads(json.dumps(r.to_dict()))
    assert list(d)[:5] == ["model", "dimensions", "actors", "rounds", "forecast"]
    assert d["model"] == "bdm" and d["dimensions"] == ["years"]
    assert len(d["rounds"]) == 4 and d["rounds"][0]["Belgium"] == [7.0]
    assert d["forecast"] == [pytest.approx(9.961979590401311)]
    assert len(d["median_by_round"]) == len(d["mean_by_round"]) == 4
    assert d["switches"]["probability"] == "triples"


def test_switches_are_checked() -> None:
    with pytest.raises(ValueError, match="span"):
        BdmSwitches(span="wide")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="q="):
        BdmSwitches(q=1.5)
    with pytest.raises(ValueError, match="by_type=True"):
        BdmSwitches(compromise_key="weighted_position")
    with pytest.raises(ValueError, match="unknown BDM preset"):
        BdmSwitches.preset("bdm1994")
    assert BdmSwitches.preset("paper") == BdmSwitches()
    with pytest.raises(ValueError, match="rounds"):
        bdm(ec_table(), -1)
