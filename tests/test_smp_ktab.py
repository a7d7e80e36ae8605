"""KTAB's SMP against KTAB's own reference logs, plus loaders and properties.

The reference runs are KTAB's ``20170530_ref-dummyData_3Dim.txt`` (default parameters,
deterministic) and ``20170530_ref-smpExample.txt`` (MarkovIncentive PCE, PropCbc votes,
ideal adjustment, *stochastic* transitions). Every number is compared after rounding to
the digits the log prints. The stochastic run is replayed: the bargain each actor adopts
is read from the log (KTAB samples in thread-scheduling order, so its draws cannot be
reproduced), and every other number -- including the probabilities from which KTAB drew
-- is computed and checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepdeal.forecast.actors import ActorTable, ActorTableError
from stepdeal.forecast.ktab_io import load_ktab_csv, load_ktab_xml
from stepdeal.forecast.smp import KTAB_PARAMETERS, SmpParams, distinct_positions, smp

KTAB = Path(__file__).resolve().parent / "data" / "ktab"
DUMMY_CSV = KTAB / "dummyData_3Dim.csv"
DUMMY_LOG = KTAB / "20170530_ref-dummyData_3Dim.txt"
EXAMPLE_XML = KTAB / "smpExample.xml"
EXAMPLE_LOG = KTAB / "20170530_ref-smpExample.txt"

pytestmark = pytest.mark.skipif(not KTAB.is_dir(), reason="KTAB reference data not present")


# ------------------------------------------------------------------ the log parser


@dataclass
class KtabLog:
    """What a KTAB ``smpc`` log prints, as the printed strings."""

    n_states: int = 0
    risk: list[list[str]] = field(default_factory=list)  # per state
    positions: list[list[list[str]]] = field(default_factory=list)  # states 1.., per actor
    ideals: list[list[list[str]]] = field(default_factory=list)  # states 1..
    fractional: list[str] = field(default_factory=list)  # per step
    probs: dict[str, list[str]] = field(default_factory=dict)  # actor -> per state
    # per turn: actor -> (target, worth %.3f, prob %.4f, gain %+.4f)
    challenges: list[dict[int, tuple[int, str, str, str]]] = field(default_factory=list)
    # per turn: (i, j) -> {"IIJ" | "JIJ" | "PW": (initiator's, receiver's position)}
    bargains: list[dict[tuple[int, int], dict[str, tuple[list[str], list[str]]]]] = field(
        default_factory=list
    )
    queues: list[dict[int, list[tuple[int, int]]]] = field(default_factory=list)  # per turn
    queue_probs: list[dict[int, list[str]]] = field(default_factory=list)  # per turn
    chosen: list[dict[int, int]] = field(default_factory=list)  # per turn: index in queue


def _numbers(line: str) -> list[str]:
    return line.split()


def _adopt(lines: list[str], k: int) -> tuple[list[str], list[str]]:
    """The two ``... adopt: x y z`` lines after line ``k`` (KTAB's threads sometimes
    interleave another line)."""
    found = [ln.split("adopt:")[1].split() for ln in lines[k + 1 : k + 6] if "adopt:" in ln]
    return found[0], found[1]


def parse_ktab_log(path: Path) -> KtabLog:
    lines = path.read_text().splitlines()
    log = KtabLog()
    turn_ch: dict[int, tuple[int, str, str, str]] = {}
    turn_br: dict[tuple[int, int], dict[str, tuple[list[str], list[str]]]] = {}
    postn: list[list[str]] = []
    ideal: list[list[str]] = []
    actor_k = -1
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        if line.startswith("Starting Model::run iteration"):
            turn_ch, turn_br = {}, {}
            log.challenges.append(turn_ch)
            log.bargains.append(turn_br)
        elif line == "Inferred risk attitudes:":
            n = len(log.risk[0]) if log.risk else None
            vals = []
            j = k + 1
            while j < len(lines) and re.fullmatch(r"[+-]\d\.\d{3}", lines[j].strip()):
                vals.append(lines[j].strip())
                j += 1
            assert n is None or len(vals) == n
            log.risk.append(vals)
        elif m := re.match(
            r"In turn (\d+) actor (\d+) has most advantageous target (\d+) worth (\S+)", line
        ):
            i, tgt = int(m.group(2)), int(m.group(3))
            pattern = (
                rf"Est by\s+{i} of prob (\S+) that \[\s*{i}>\s*{tgt}\], "
                rf"with expected gain to\s+{i} of (\S+)"
            )
            own = next(o for ln in lines[k + 1 : k + 8] if (o := re.search(pattern, ln)))
            turn_ch[i] = (tgt, m.group(4), own.group(1), own.group(2))
        elif m := re.match(r"Bargain \[\d+, (\d+):(\d+)\] from\s+(\d+)'s perspective", line):
            i, j, who = int(m.group(1)), int(m.group(2)), int(m.group(3))
            turn_br.setdefault((i, j), {})["IIJ" if who == i else "JIJ"] = _adopt(lines, k)
        elif m := re.match(r"Power-weighted compromise \[\d+, (\d+):(\d+)\]", line):
            i, j = int(m.group(1)), int(m.group(2))
            turn_br.setdefault((i, j), {})["PW"] = _adopt(lines, k)
        elif line == "Bargains to be resolved":
            log.queues.append({})
            log.queue_probs.append({})
            log.chosen.append({})
        elif m := re.match(r"Bargains involving actor\s+(\d+): (.*)", line):
            log.queues[-1][int(m.group(1))] = [
                (int(a), int(b)) for a, b in re.findall(r"\[\d+, (\d+):(\d+)\]", m.group(2))
            ]
        elif m := re.match(r"Doing scalarPCE for the (\d+) bargains of actor (\d+)", line):
            nb, actor_k = int(m.group(1)), int(m.group(2))
            j = k
            while lines[j].strip() != "Probability Opt_i":
                j += 1
            log.queue_probs[-1][actor_k] = [lines[j + 1 + q].strip() for q in range(nb)]
        elif m := re.match(r"Chosen bargain \( \w+ \): \d+ (\d+) out of (\d+)", line):
            log.chosen[-1][actor_k] = int(m.group(1)) - 1
        elif m := re.match(r"postn\s+\d+\s*,\s*\d+\s*:", line):
            postn.append(_numbers(lines[k + 1]))
        elif m := re.match(r"ideal\s+\d+\s*,\s*\d+\s*:", line):
            ideal.append(_numbers(lines[k + 1]))
        elif line.startswith("rms (pstn, ideal)"):
            log.positions.append(postn)
            log.ideals.append(ideal)
            postn, ideal = [], []
        elif m := re.match(r"Fractional change compared to first step: (\S+)", line):
            log.fractional.append(m.group(1))
        elif m := re.match(r"There were (\d+) states", line):
            log.n_states = int(m.group(1))
        elif m := re.match(r"(.+), prob : (.*)", line):
            log.probs[m.group(1)] = _numbers(m.group(2))
        k += 1
    return log


def fmt(values: Sequence[float] | np.ndarray, spec: str) -> list[str]:
    return [format(float(v), spec) for v in values]


# ------------------------------------------------------------------ dummyData_3Dim


@pytest.fixture(scope="module")
def dummy_log() -> KtabLog:
    return parse_ktab_log(DUMMY_LOG)


@pytest.fixture(scope="module")
def dummy_table() -> ActorTable:
    return load_ktab_csv(DUMMY_CSV)


@pytest.fixture(scope="module")
def dummy_run(dummy_table: ActorTable):  # type: ignore[no-untyped-def]
    return smp(dummy_table)


def test_dummy_csv_is_read_as_ktab_does(dummy_table: ActorTable) -> None:
    assert dummy_table.name == "DummyData_3Dim"
    assert dummy_table.dimensions == ("Pstn1", "Pstn2", "Pstn3")
    assert dummy_table.n == 7
    assert dummy_table.capability[0] == 102.543
    assert list(dummy_table.position[2]) == [82.45, 90.89, 0.07]
    assert list(dummy_table.salience[6]) == [31.75, 27.93, 26.03]


def test_dummy_number_of_states(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert dummy_log.n_states == 11
    assert len(dummy_run.rounds) == dummy_log.n_states
    assert dummy_run.extras["iterations"] == 10
    assert dummy_run.extras["converged"]


def test_dummy_state0_probabilities(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    printed = [dummy_log.probs[a][0] for a in dummy_run.actors]
    assert printed == ["0.0047", "0.0302", "0.0054", "0.1492", "0.6001", "0.1447", "0.0656"]
    assert fmt(dummy_run.probabilities[0], ".4f") == printed


def test_dummy_probabilities_of_every_state(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    for i, a in enumerate(dummy_run.actors):
        ours = [p[i] for p in dummy_run.probabilities]
        assert fmt(ours, ".4f") == dummy_log.probs[a], a


def test_dummy_risk_attitudes_of_every_state(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert dummy_log.risk[0] == [
        "-0.500",
        "-0.459",
        "-0.499",
        "-0.274",
        "+1.000",
        "-0.232",
        "-0.430",
    ]
    assert len(dummy_log.risk) == dummy_log.n_states
    for t, printed in enumerate(dummy_log.risk):
        ours = [dummy_run.extras["risk"][t][a] for a in dummy_run.actors]
        assert fmt(ours, "+.3f") == printed, t


def test_dummy_positions_of_every_state_and_actor(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert len(dummy_log.positions) == dummy_log.n_states - 1
    for t, printed in enumerate(dummy_log.positions, 1):
        for i, row in enumerate(printed):
            assert fmt(dummy_run.rounds[t][i], ".4f") == row, (t, i)
    # the note's headline: A6 moves to (75.6, 24.8, 72.0); A2 never moves
    assert fmt(dummy_run.rounds[1][6], ".2f") == ["75.61", "24.79", "71.95"]
    assert all(np.array_equal(r[2], dummy_run.rounds[0][2]) for r in dummy_run.rounds)


def test_dummy_fractional_changes(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert dummy_log.fractional[0] == "0.9999"
    assert fmt(dummy_run.extras["fractional_change"], ".4f") == dummy_log.fractional


def _assert_challenges(run, log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    """Every turn's best challenge of every actor, as the log prints it."""
    names = list(run.actors)
    for t, printed in enumerate(log.challenges[:-1]):
        ours = {
            names.index(c["actor"]): (
                names.index(c["target"]),
                format(c["gain"], ".3f"),
                format(c["prob"], ".4f"),
                format(c["gain"], "+.4f"),
            )
            for c in run.extras["challenges"][t]
        }
        assert ours == printed, t


def test_dummy_challenges_of_every_turn(dummy_run, dummy_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    _assert_challenges(dummy_run, dummy_log)
    # the note's check: actor 0 targets actor 6 with P = 0.7643 and gain +0.0947
    assert dummy_log.challenges[0][0] == (6, "0.095", "0.7643", "+0.0947")


def test_dummy_bargain_probabilities_of_every_turn(
    dummy_table: ActorTable, dummy_log: KtabLog
) -> None:
    checked = 0

    def check(step: int, actor: int, queue: Sequence[tuple[int, int]], probs: np.ndarray) -> int:
        nonlocal checked
        logged = dict(
            zip(dummy_log.queues[step][actor], dummy_log.queue_probs[step][actor], strict=True)
        )
        assert sorted(queue) == sorted(logged)
        assert {q: format(p, ".4f") for q, p in zip(queue, probs, strict=True)} == logged
        checked += 1
        return int(np.argmax(probs))

    smp(dummy_table, chooser=check)
    assert checked == 7 * 10


@pytest.mark.parametrize("model", ["InitOnlyInterp", "InitRcvrInterp", "PWCompInterp"])
def test_dummy_turn0_bargains_of_every_bargaining_model(
    dummy_table: ActorTable, dummy_log: KtabLog, model: str
) -> None:
    """The log prints, for each challenge of turn 0, the bargain from the initiator's and
    the receiver's perspective and their power-weighted compromise; each bargaining model
    must reproduce its own (KTAB's two slips included, ``ktab_quirks=True``)."""
    r = smp(dummy_table, SmpParams(bargn_model=model, max_iterations=1))  # type: ignore[arg-type]
    names = list(r.actors)
    proposals = r.extras["proposals"][0]
    printed = dummy_log.bargains[0]
    kinds = {"InitOnlyInterp": ["IIJ"], "InitRcvrInterp": ["IIJ", "JIJ"], "PWCompInterp": ["PW"]}
    expected = [
        (pair, kind) for pair in sorted(printed, key=lambda p: p[0]) for kind in kinds[model]
    ]
    assert len(proposals) == len(expected)
    for prop, (pair, kind) in zip(proposals, expected, strict=True):
        assert (names.index(prop["initiator"]), names.index(prop["receiver"])) == pair
        pi, pj = printed[pair][kind]
        assert fmt(prop["initiator_position"], ".3f") == pi, (pair, kind)
        assert fmt(prop["receiver_position"], ".3f") == pj, (pair, kind)


def test_dummy_forecast_and_json(dummy_run) -> None:  # type: ignore[no-untyped-def]
    final = dummy_run.rounds[-1]
    probs = dummy_run.probabilities[-1]
    # distinct final positions with their probabilities
    reps = sorted({dummy_run.actors.index(h) for h in dummy_run.extras["groups"][-1].values()})
    assert reps == _representatives(final)
    assert sum(probs[i] for i in reps) == pytest.approx(1.0, abs=1e-12)
    expected = sum(probs[i] * final[i] for i in reps)
    assert np.allclose(dummy_run.forecast, expected)
    modal = final[max(reps, key=lambda i: probs[i])]
    assert np.allclose(dummy_run.extras["modal"], modal)
    d = json.loads(json.dumps(dummy_run.to_dict()))
    assert d["model"] == "smp"
    assert len(d["rounds"]) == 11 and len(d["probabilities"]) == 11
    assert d["params"]["voting_rule"] == "Prop"


# ------------------------------------------------------------------ smpExample (XML)


@pytest.fixture(scope="module")
def example_log() -> KtabLog:
    return parse_ktab_log(EXAMPLE_LOG)


@pytest.fixture(scope="module")
def example_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[ActorTable, SmpParams]:
    """``smpExample.xml`` with Alice's first coordinate, blank in the shared copy, set to
    the 52.80 that KTAB's log reports reading."""
    text = EXAMPLE_XML.read_text(encoding="utf-8-sig")
    assert text.count("<dCoord></dCoord>") == 1
    p = tmp_path_factory.mktemp("ktab") / "smpExample.xml"
    p.write_text(text.replace("<dCoord></dCoord>", "<dCoord>52.8</dCoord>"))
    return load_ktab_xml(p)


def test_example_xml_with_the_blank_coordinate_is_refused_with_its_line() -> None:
    with pytest.raises(ActorTableError) as e:
        load_ktab_xml(EXAMPLE_XML)
    assert "line 32" in str(e.value) and "Alice" in str(e.value) and "empty" in str(e.value)


def test_example_xml_parameters(example_input: tuple[ActorTable, SmpParams]) -> None:
    table, params = example_input
    assert table.actors == ("Alice", "Bob", "Carol", "David", "Ellie")
    assert table.dimensions == ("FirstDim", "SecondDim", "YADN")
    assert list(table.position[0]) == [52.8, 39.8, 39.6]
    assert params.victory_prob_model == "Linear"
    assert params.pce_model == "MarkovIncentive"
    assert params.state_transitions == "Stochastic"
    assert params.voting_rule == "PropCbc"
    assert params.big_r_adjust == "OneThird" and params.big_r_range == "Mid"
    assert params.third_party_commit == "SemiCommit"
    assert params.inter_vec_brgn == "S2P2" and params.bargn_model == "InitOnlyInterp"
    assert params.seed == 3507583219545544127
    assert params.accommodation == (
        ("Alice", "Alice", 0.87),
        ("Bob", "Bob", 0.75),
        ("Bob", "Alice", 0.07),
        ("Carol", "Carol", 0.65),
        ("Carol", "David", 0.13),
        ("David", "David", 0.57),
    )


@pytest.fixture(scope="module")
def example_replay(example_input: tuple[ActorTable, SmpParams], example_log: KtabLog):  # type: ignore[no-untyped-def]
    """Replay the logged choices; check the probabilities KTAB drew from on the way."""
    table, params = example_input
    seen: list[tuple[int, int]] = []

    def replay(step: int, actor: int, queue: Sequence[tuple[int, int]], probs: np.ndarray) -> int:
        logged_queue = example_log.queues[step][actor]
        logged = dict(zip(logged_queue, example_log.queue_probs[step][actor], strict=True))
        assert sorted(queue) == sorted(logged), (step, actor)
        assert {q: format(p, ".4f") for q, p in zip(queue, probs, strict=True)} == logged, (
            step,
            actor,
        )
        seen.append((step, actor))
        return list(queue).index(logged_queue[example_log.chosen[step][actor]])

    result = smp(table, params, chooser=replay)
    assert len(seen) == 5 * (example_log.n_states - 1)
    return result


def test_example_number_of_states_and_fractional_changes(
    example_replay, example_log: KtabLog
) -> None:  # type: ignore[no-untyped-def]
    assert example_log.n_states == 15
    assert len(example_replay.rounds) == 15
    assert fmt(example_replay.extras["fractional_change"], ".4f") == example_log.fractional


def test_example_probabilities_of_every_state(example_replay, example_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert example_log.probs["Alice"][0] == "0.3154"
    for i, a in enumerate(example_replay.actors):
        ours = [p[i] for p in example_replay.probabilities]
        assert fmt(ours, ".4f") == example_log.probs[a], a


def test_example_risk_attitudes_of_every_state(example_replay, example_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    assert len(example_log.risk) == 15
    for t, printed in enumerate(example_log.risk):
        ours = [example_replay.extras["risk"][t][a] for a in example_replay.actors]
        assert fmt(ours, "+.3f") == printed, t


def test_example_positions_and_ideals_of_every_state(example_replay, example_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    for t, (pos, ide) in enumerate(zip(example_log.positions, example_log.ideals, strict=True), 1):
        for i, a in enumerate(example_replay.actors):
            assert fmt(example_replay.rounds[t][i], ".4f") == pos[i], (t, a)
            assert fmt(example_replay.extras["ideals"][t][a], ".4f") == ide[i], (t, a)


def test_example_challenges_of_every_turn(example_replay, example_log: KtabLog) -> None:  # type: ignore[no-untyped-def]
    _assert_challenges(example_replay, example_log)


def test_example_stochastic_runs_are_seeded(example_input: tuple[ActorTable, SmpParams]) -> None:
    table, params = example_input
    a, b = smp(table, params), smp(table, params, rng=params.seed)
    assert a.extras["seed"] == params.seed
    assert all(np.array_equal(x, y) for x, y in zip(a.rounds, b.rounds, strict=True))
    fresh = smp(table, SmpParams(state_transitions="Stochastic", max_iterations=5))
    again = smp(
        table, SmpParams(state_transitions="Stochastic", max_iterations=5), rng=fresh.extras["seed"]
    )
    assert all(np.array_equal(x, y) for x, y in zip(fresh.rounds, again.rounds, strict=True))


# ------------------------------------------------------------------ loaders


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_final_commas_are_optional(tmp_path: Path, dummy_table: ActorTable) -> None:
    text = "\n".join(line.rstrip().rstrip(",") for line in DUMMY_CSV.read_text().splitlines())
    t = load_ktab_csv(_write(tmp_path, text))
    assert t.actors == dummy_table.actors
    assert np.array_equal(t.position, dummy_table.position)
    assert np.array_equal(t.salience, dummy_table.salience)


def test_csv_influence_title_quotes_and_missing_dimension_names(tmp_path: Path) -> None:
    text = (
        'S,"a, quoted, description",3,2\n'
        "Actor,Description,Influence,,Sal1,,Sal2\n"
        'A,"x, y",10,0,50,100,50\n'
        "B,,20,50,20,50,20\n"
        "C,z,30,100,10,0,0\n"
    )
    t = load_ktab_csv(_write(tmp_path, text))
    assert t.dimensions == ("Dim1", "Dim2")
    assert t.descriptions == ("x, y", "", "z")
    assert t.notes["description"] == "a, quoted, description"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S,d,3\n", "line 1"),
        ("S,d,three,1\nActor,Description,Power,P,S\n", "line 1: number of actors 'three'"),
        ("S,d,2,1\nActor,Description,Power,P,S\nA,,1,1,1\nB,,1,1,1\n", "line 1: 2 actors"),
        ("S,d,3,1\nActor,Description,Power,P\n", "line 2: 4 column titles, expected 5"),
        ("S,d,3,1\nActor,Description,Votes,P,S\n", "third column titled 'Votes'"),
        ("S,d,3,1\nActor,Description,Power,P,S\nA,,1,1,1\nB,,1,1,1\n", "2 actor lines follow"),
        (
            "S,d,3,1\nActor,Description,Power,P,S\nA,,1,1,1\nB,,1,x,1\nC,,1,1,1\n",
            "line 4 (B): position on P 'x' is not a number",
        ),
        (
            "S,d,3,1\nActor,Description,Power,P,S\nA,,1,1,1\nB,,1,101,1\nC,,1,1,1\n",
            "line 4 (B): position 1 = 101 outside [0, 100]",
        ),
        (
            "S,d,3,2\nActor,Description,Power,P,S,Q,T\nA,,1,1,60,1,50\nB,,1,1,1,1,1\nC,,1,1,1,1,1\n",
            "line 3 (A): total salience 110 exceeds 100",
        ),
        ("S,d,3,1\nActor,Description,Power,P,S\nA,,1,1,1\nA,,1,1,1\nC,,1,1,1\n", "appears twice"),
        ("S,d,3,1\nActor,Description,Power,P,S\nA,,1,1\nB,,1,1,1\nC,,1,1,1\n", "line 3: 4 fields"),
    ],
)
def test_csv_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ActorTableError) as e:
        load_ktab_csv(_write(tmp_path, text))
    assert message in str(e.value)


def _xml(actors: str, extra: str = "", params: str = "") -> str:
    return (
        '<?xml version="1.0"?>\n<Scenario><name>x</name><desc>d</desc><prngSeed>0</prngSeed>'
        f"{params}<Dimensions><dName>D</dName></Dimensions><Actors>{actors}</Actors>{extra}"
        "</Scenario>\n"
    )


def _actor(name: str, cap: str = "10", pos: str = "50", sal: str = "50") -> str:
    return (
        f"<Actor><name>{name}</name><description/><capability>{cap}</capability>"
        f"<Position><dCoord>{pos}</dCoord></Position><Salience><dSal>{sal}</dSal></Salience>"
        "</Actor>"
    )


ABC = _actor("A", pos="10") + _actor("B", pos="50") + _actor("C", pos="90")


def test_xml_defaults_and_seed_zero(tmp_path: Path) -> None:
    table, params = load_ktab_xml(_write(tmp_path, _xml(ABC), "x.xml"))
    assert table.actors == ("A", "B", "C") and params == SmpParams()
    r = smp(table, params)
    assert r.rounds[0].shape == (3, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<Scenario/>', "DTDs and entity"),
        ("<Scenario><name>x</name>\n<Actors></Scenario>", "line 2: malformed XML"),
        (
            _xml(
                ABC, params="<ModelParameters><VotingRule>Majority</VotingRule></ModelParameters>"
            ),
            "VotingRule 'Majority'",
        ),
        (
            _xml(ABC, params="<ModelParameters><Speed>1</Speed></ModelParameters>"),
            "unknown model parameter <Speed>",
        ),
        (_xml(_actor("A") + _actor("B", cap="") + _actor("C")), "capability is empty"),
        (
            _xml(
                ABC,
                "<IdealAdjustment><iaPair><adjustingIdeal>A</adjustingIdeal>"
                "<referencePos>Z</referencePos><adjust>0.5</adjust></iaPair></IdealAdjustment>",
            ),
            "unknown actor 'Z'",
        ),
        (
            _xml(
                ABC,
                "<IdealAdjustment><iaPair><adjustingIdeal>A</adjustingIdeal>"
                "<referencePos>B</referencePos><adjust>0.5</adjust></iaPair></IdealAdjustment>",
            ),
            "A's adjustment rates sum to 1.5",
        ),
    ],
)
def test_xml_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ActorTableError) as e:
        load_ktab_xml(_write(tmp_path, text, "x.xml"))
    assert message in str(e.value)


def test_parameter_names_and_refusals(dummy_table: ActorTable) -> None:
    assert set(KTAB_PARAMETERS) == {
        "VictoryProbModel", "PCEModel", "StateTransitions", "VotingRule", "BigRAdjust",
        "BigRRange", "ThirdPartyCommit", "InterVecBrgn", "BargnModel",
    }  # fmt: skip
    with pytest.raises(ValueError, match="voting_rule"):
        SmpParams(voting_rule="Majority")  # type: ignore[arg-type]
    with pytest.raises(ActorTableError, match="unknown actor 'Nobody'"):
        smp(dummy_table, SmpParams(accommodation=(("Nobody", "SActor-00", 0.5),)))
    zero = ActorTable(
        name="z",
        dimensions=("d",),
        actors=("a", "b", "c"),
        capability=np.array([1.0, 0.0, 1.0]),
        position=np.array([[0.0], [50.0], [100.0]]),
        salience=np.array([[50.0], [50.0], [0.0]]),
    )
    with pytest.raises(ActorTableError) as e:
        smp(zero)
    assert "b: capability 0" in str(e.value) and "c: all saliences 0" in str(e.value)


# ------------------------------------------------------------------ properties


def _representatives(positions: np.ndarray) -> list[int]:
    """KTAB's distinct positions of a state (closer than 0.1 on 0–100 count as one)."""
    reps, _ = distinct_positions(positions / 100.0, 1e-3)
    return [int(i) for i in reps]


def _unambiguous(positions: np.ndarray) -> bool:
    """Whether KTAB's grouping is independent of the actors' order: positions either
    coincide or lie at least the tolerance apart (closeness is not transitive)."""
    dist = np.linalg.norm(positions[:, None] - positions[None, :], axis=2)
    return bool(np.all((dist == 0) | (dist >= 0.1 + 1e-9)))


@st.composite
def tables(draw: st.DrawFn, max_actors: int = 7, max_dims: int = 3) -> ActorTable:
    n = draw(st.integers(3, max_actors))
    dims = draw(st.integers(1, max_dims))
    coord = st.floats(0, 100, allow_nan=False)
    pos = np.array([[draw(coord) for _ in range(dims)] for _ in range(n)])
    cap = np.array(draw(st.lists(st.floats(1, 200), min_size=n, max_size=n, unique=True)))
    raw = np.array([[draw(st.floats(1, 100)) for _ in range(dims)] for _ in range(n)])
    total = np.array([draw(st.floats(10, 100)) for _ in range(n)])
    sal = raw / raw.sum(axis=1, keepdims=True) * total[:, None] * (1 - 1e-9)
    return ActorTable(
        name="h",
        dimensions=tuple(f"d{k}" for k in range(dims)),
        actors=tuple(f"a{i}" for i in range(n)),
        capability=cap,
        position=pos,
        salience=sal,
    ).validate()


@settings(max_examples=40, deadline=None)
@given(tables())
def test_probabilities_sum_to_one_over_distinct_positions(table: ActorTable) -> None:
    r = smp(table)
    index = {a: i for i, a in enumerate(r.actors)}
    for x, p, groups in zip(r.rounds, r.probabilities, r.extras["groups"], strict=True):
        rep = np.array([index[groups[a]] for a in r.actors])
        heads = sorted(set(rep))
        assert sum(p[i] for i in heads) == pytest.approx(1.0, abs=1e-9)
        assert np.all(p >= 0) and np.all(p <= 1 + 1e-12)
        # each actor gets the probability of its group (KTAB: the last representative
        # within the tolerance, so not necessarily an earlier actor)
        assert np.array_equal(p, p[rep])
        assert all(rep[h] == h for h in heads)
        assert all(np.linalg.norm(x[i] - x[rep[i]]) < 0.1 + 1e-9 for i in range(len(x)))


@settings(max_examples=40, deadline=None)
@given(tables())
def test_positions_stay_on_the_scale(table: ActorTable) -> None:
    r = smp(table)
    assert all(np.all((x >= 0) & (x <= 100)) for x in r.rounds)
    assert np.all((r.forecast >= 0) & (r.forecast <= 100))
    assert len(r.extras["fractional_change"]) == len(r.rounds) - 1


@settings(max_examples=30, deadline=None)
@given(tables(), st.integers(0, 2**32 - 1))
def test_permuting_actors_permutes_results(table: ActorTable, seed: int) -> None:
    """Equivariance holds for generic tables; exact ties (between equidistant targets,
    say) are broken by actor index, as in KTAB, so the drawn table is jittered."""
    g = np.random.default_rng(seed)
    pos = np.clip(table.position + g.uniform(-0.01, 0.01, table.position.shape), 0, 100)
    sal = table.salience * g.uniform(0.99, 0.999, table.salience.shape)
    cap = table.capability * g.uniform(0.99, 1.01, table.n)
    table = ActorTable(table.name, table.dimensions, table.actors, cap, pos, sal).validate()
    perm = [int(i) for i in g.permutation(table.n)]
    other = ActorTable(
        name=table.name,
        dimensions=table.dimensions,
        actors=tuple(table.actors[i] for i in perm),
        capability=cap[perm],
        position=pos[perm],
        salience=sal[perm],
    )
    a, b = smp(table), smp(other)
    assert len(a.rounds) == len(b.rounds)
    for xa, xb in zip(a.rounds, b.rounds, strict=True):
        assert np.allclose(xa[perm], xb, atol=1e-9)
    # probabilities of a state are reported per group of (nearly) equal positions; KTAB
    # represents a group by its first actor, so they are equivariant where the grouping
    # does not depend on the order
    for x, pa, pb in zip(a.rounds, a.probabilities, b.probabilities, strict=True):
        if _unambiguous(x):
            assert np.allclose(pa[perm], pb, atol=1e-9)
    if _unambiguous(a.rounds[-1]):
        assert np.allclose(a.forecast, b.forecast, atol=1e-9)


@pytest.mark.parametrize(
    "switch",
    [{"victory_prob_model": v} for v in ("Square", "Quartic", "Octic", "Binary")]
    + [{"pce_model": v} for v in ("MarkovIncentive", "MarkovUniform")]
    + [{"voting_rule": v} for v in ("Binary", "PropBin", "PropCbc", "Cubic", "ASymProsp")]
    + [{"big_r_adjust": v} for v in ("None", "Half", "TwoThirds", "Full")]
    + [{"big_r_range": v} for v in ("Min", "Max")]
    + [{"third_party_commit": v} for v in ("NoCommit", "FullCommit")]
    + [{"inter_vec_brgn": v} for v in ("S1P1", "S2PMax")]
    + [{"bargn_model": v} for v in ("InitRcvrInterp", "PWCompInterp")]
    + [{"bargn_model": "PWCompInterp", "ktab_quirks": False}],
)
def test_every_switch_runs(dummy_table: ActorTable, switch: dict[str, object]) -> None:
    r = smp(dummy_table, SmpParams(**switch))  # type: ignore[arg-type]
    assert r.extras["params"] | switch == r.extras["params"]
    for x, p, groups in zip(r.rounds, r.probabilities, r.extras["groups"], strict=True):
        assert np.all((x >= 0) & (x <= 100))
        heads = {r.actors.index(h) for h in groups.values()}
        assert sum(p[i] for i in heads) == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(tables(max_actors=9), st.integers(0, 2**32 - 1))
def test_fast_paths_equal_their_references(table: ActorTable, seed: int) -> None:
    """The pruned search for targets equals the exhaustive one, the batched Conditional
    PCE over all queues equals one ``scalar_pce`` per queue, and the simplified
    proportional third-party votes equal KTAB's term-by-term ones (lagging ideals make
    some actors prefer others' positions to their own)."""
    from stepdeal.forecast import smp as smp_mod

    g = np.random.default_rng(seed)
    n = table.n
    lag = tuple((a, a, float(g.uniform(0.5, 1.0))) for a in table.actors[: n // 2])
    params = SmpParams(accommodation=lag)
    m = smp_mod._model(table, params)
    x = table.position / 100.0
    ideal = np.clip(x + g.uniform(-0.05, 0.05, x.shape), 0, 1) if lag else x
    st_ = smp_mod._State(x, ideal)
    smp_mod._assess(m, st_)
    idx = np.arange(n)
    others = np.array([[j for j in range(n) if j != i] for i in range(n)])
    phi, edu = smp_mod.challenge(m, st_, idx, idx, others)
    target, prob, gain = smp_mod._best_challenges(m, st_)
    for i in range(n):
        ok = edu[i] > smp_mod.MIN_GAIN
        if not ok.any():
            assert target[i] == -1
            continue
        q = int(np.argmax(np.where(ok, edu[i], -np.inf)))  # first maximum = lowest index
        assert target[i] == others[i, q]
        assert (prob[i], gain[i]) == pytest.approx((phi[i, q], edu[i, q]), rel=1e-12, abs=1e-15)
    # third parties: simplified proportional path against the term-by-term one
    r = smp_mod.est_nra(st_.risk[:, None], st_.risk[None, :], params.big_r_adjust)
    ch0, cj0 = g.uniform(1e-10, 50, others.shape), g.uniform(1e-10, 50, others.shape)
    uni = smp_mod.risk_utility(st_.d.T, r)  # U^i[n, i]
    unn = smp_mod.risk_utility(np.diagonal(st_.d)[None, :], r)  # U^i[n, n]
    fast = smp_mod._third_parties_prop(m, st_, r, uni, unn, idx, others, ch0, cj0)
    slow = smp_mod._third_parties(m, st_, r, uni, unn, idx, others, ch0, cj0)
    for f, s_ in zip(fast, slow, strict=True):
        assert np.allclose(f, s_, rtol=1e-9, atol=1e-9)
    # one step's queues: batched against one PCE per queue
    b = smp_mod._propose(m, st_, target, prob)
    u = g.uniform(0.2, 1.0, (n, 1 + len(b.init)))
    kk, qq = np.nonzero((b.init[None, :] == idx[:, None]) | (b.rcvr[None, :] == idx[:, None]))
    sizes = 1 + np.bincount(kk, minlength=n)
    offsets = np.cumsum(sizes) - sizes
    options = np.zeros(int(sizes.sum()), dtype=np.int64)
    options[offsets[kk] + 1 + np.arange(len(kk)) - (offsets[kk] - kk)] = 1 + qq
    batched = smp_mod._queue_pce(m, u, options, sizes, offsets)
    for k in range(n):
        sl = slice(offsets[k], offsets[k] + sizes[k])
        ref = smp_mod.scalar_pce(m.cap, u[:, options[sl]], "Prop", "Linear", "Conditional")
        assert np.allclose(batched[sl], ref, rtol=1e-9, atol=1e-12)
