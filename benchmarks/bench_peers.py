"""Benchmark: stepdeal against OpenSpiel and pygambit on the same roadmap games (on demand).

For each game and growing horizon, in one run:

(a) stepdeal: ``solve_best_response(compile_game(scenario, policy))``, backward induction
    over the merged (period, state) graph (best of ``--repeat`` in one fresh process);
(b) ``export_efg``: the same game written as a Gambit ``.efg`` tree (reported apart, not
    part of any ratio);
(c) OpenSpiel: ``pyspiel.load_efg_game(text)`` (parse) and backward induction in Python
    over its C++ states (``state.child(a)``), the tie rule of tests/test_export.py;
(d) pygambit, when an interpreter with it is available (``--gambit-python``, default
    /tmp/gbt-venv/bin/python): ``pygambit.read_efg`` (parse) and the same backward
    induction over its ``Node`` objects.

Neither peer ships a general-sum subgame-perfect solver, so (c) and (d) are the short
recursions a user would write. Every measurement runs in a fresh subprocess with a wall
timeout; a peer is dropped from a game at the first horizon where parse + backward
induction exceeds ``--limit`` seconds (60), and a game stops when no peer is left.
The target's value must agree with stepdeal's to 1e-9 (relative, or absolute near 0)
wherever both finish; a mismatch is printed and makes the exit status 1.

Usage::

    python benchmarks/bench_peers.py                      # all games, default horizons
    python benchmarks/bench_peers.py --games holdup-sbs --horizons 1-6
    python benchmarks/bench_peers.py --no-gambit --json peers.json

Prints one Markdown table per game: horizon, tree nodes, stepdeal states, stepdeal s,
export s, OpenSpiel parse s, BI s, ratio (OpenSpiel parse + BI over stepdeal), pygambit
parse s, BI s, ratio, and whether the values agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GAMBIT_PYTHON = "/tmp/gbt-venv/bin/python"
MEM_CAP = 16 * 2**30  # address-space cap of every child (bytes)
SLACK = 10.0  # seconds a peer child gets beyond the limit (interpreter start, file read)
REL_TOL = 1e-9

# Children: one JSON line per result on stdout; arguments as one JSON string in argv[1].

STEPDEAL_CHILD = r"""
import json, resource, sys, time
args = json.loads(sys.argv[1])
sys.path.insert(0, args["here"])
from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario, load_scenario
from stepdeal.solve import solve_best_response
from stepdeal.solve.export import export_efg, tree_size
from generate import benchmark_scenario

t = time.perf_counter()
if args["source"] == "builtin":
    data = load_scenario(args["name"]).model_dump(mode="json", by_alias=True, exclude_none=True)
    data["horizon"] = args["horizon"]
    scenario = Scenario.model_validate(data)
else:
    scenario = benchmark_scenario(horizon=args["horizon"], **args["generate"])
game = compile_game(scenario, args["policy"])
compile_s = time.perf_counter() - t
times = []
for _ in range(args["repeat"]):
    t = time.perf_counter()
    br = solve_best_response(game)
    times.append(time.perf_counter() - t)
size = tree_size(game)
out = {"compile_s": compile_s, "solve_s": times, "stats": br.stats(), "value": br.value,
       "power_value": [br.power_value[p] for p in game.power_ids],
       "tree": [size.decision, size.chance, size.terminal], "tree_nodes": size.total}
if args["efg"] and size.total <= args["max_nodes"]:
    t = time.perf_counter()
    text = export_efg(game, max_nodes=args["max_nodes"])
    out["export_s"] = time.perf_counter() - t
    out["efg_bytes"] = len(text.encode())
    with open(args["efg"], "w") as fh:
        fh.write(text)
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out), flush=True)
"""

# The backward induction shared by both peers (as in tests/test_export.py): the target
# (player 1) maximises its value, ties within 1e-9 x max(1, |best|) go to the first listed
# action; chance nodes take the expectation; every player's value is carried up.
_BI = r"""
TIE = 1e-9

def pick(values):
    best = max(v[0] for v in values)
    tol = TIE * max(1.0, abs(best))
    return next(v for v in values if v[0] >= best - tol)

def expect(pairs):
    total = None
    for p, v in pairs:
        total = [p * x for x in v] if total is None else [a + p * x for a, x in zip(total, v)]
    return total
"""

OPENSPIEL_CHILD = (
    r"""
import json, resource, sys, time
import pyspiel
args = json.loads(sys.argv[1])
with open(args["efg"]) as fh:
    text = fh.read()
"""
    + _BI
    + r"""
def bi(state):
    if state.is_terminal():
        return list(state.returns())
    if state.is_chance_node():
        return expect([(p, bi(state.child(a))) for a, p in state.chance_outcomes()])
    assert state.current_player() == 0  # powers never move
    return pick([bi(state.child(a)) for a in state.legal_actions()])

t = time.perf_counter()
game = pyspiel.load_efg_game(text)
load_s = time.perf_counter() - t
del text
print(json.dumps({"load_s": load_s}), flush=True)
t = time.perf_counter()
values = bi(game.new_initial_state())
bi_s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_s": load_s, "bi_s": bi_s, "values": values, "rss_mib": rss}), flush=True)
"""
)

GAMBIT_CHILD = (
    r"""
import io, json, re, resource, sys, time, warnings
import pygambit as gbt
args = json.loads(sys.argv[1])
with open(args["efg"]) as fh:
    text = fh.read()
if args["unlabelled"]:  # blank every node label (not timed): see PEERS.md
    head, _, body = text.partition("\n")
    head2, _, body = body.partition("\n")
    body = re.sub(r'^([pct]) "[^"]*"', r'\1 ""', body, flags=re.M)
    body = re.sub(r'^(t "" \d+) "[^"]*"', r'\1 ""', body, flags=re.M)
    text = head + "\n" + head2 + "\n" + body
"""
    + _BI
    + r"""
def bi(node):
    if node.is_terminal:
        outcome = node.outcome
        return [float(outcome[p]) for p in players]
    if node.infoset.is_chance:
        return expect([(float(a.prob), bi(c))
                       for a, c in zip(node.infoset.actions, node.children)])
    assert node.player == players[0]  # powers never move
    return pick([bi(c) for c in node.children])

t = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    game = gbt.read_efg(io.StringIO(text))
load_s = time.perf_counter() - t
del text
players = list(game.players)
print(json.dumps({"load_s": load_s}), flush=True)
t = time.perf_counter()
values = bi(game.root)
bi_s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_s": load_s, "bi_s": bi_s, "values": values, "rss_mib": rss,
                  "version": gbt.__version__}), flush=True)
"""
)


@dataclass(frozen=True)
class GameSpec:
    key: str
    label: str
    source: str  # "builtin" (a built-in scenario by name) or "generate" (benchmarks/generate.py)
    policy: str
    horizons: tuple[int, ...]
    name: str = ""
    generate: dict[str, Any] = field(default_factory=dict)


def _span(text: str) -> tuple[int, ...]:
    """Parse a horizon list: "1-8,12,16" -> (1, ..., 8, 12, 16)."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return tuple(out)


GAMES = [
    GameSpec(
        "holdup-sbs",
        "holdup-demo, step-by-step (3 concerns, strict order, verify 1)",
        "builtin",
        "step-by-step",
        _span("1-8,12,16,20,24"),
        name="holdup-demo",
    ),
    GameSpec(
        "holdup-dual",
        "holdup-demo, dual-track (3 concerns, any order, 2 escalation tranches, verify 1)",
        "builtin",
        "dual-track",
        _span("1-8,12,16,20,24"),
        name="holdup-demo",
    ),
    GameSpec(
        "gen4-dual",
        "generated 4 concerns x 4 measures, dual-track (any order), verify U[0.6, 1]",
        "generate",
        "dual-track",
        _span("1-12"),
        generate={"n_concerns": 4, "n_measures": 4, "seed": 0, "verify_low": 0.6},
    ),
    GameSpec(
        "gen4-sbs",
        "generated 4 concerns x 4 measures, step-by-step (strict), verify U[0.6, 1]",
        "generate",
        "step-by-step",
        _span("1-24"),
        generate={"n_concerns": 4, "n_measures": 4, "seed": 0, "verify_low": 0.6},
    ),
]
DEFAULT_GAMES = "holdup-sbs,holdup-dual,gen4-dual"


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_CAP, MEM_CAP))


def _last_json(text: str | bytes | None) -> dict[str, Any] | None:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [x for x in (text or "").strip().splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def run_child(
    python: str, code: str, args: dict[str, Any], timeout: float | None
) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last JSON line, plus wall time and status."""
    t = time.perf_counter()
    try:
        p = subprocess.run(
            [python, "-c", code, json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_cap_memory,
        )
    except subprocess.TimeoutExpired as exc:
        partial = _last_json(exc.stdout) or {}
        return {**partial, "status": "timeout", "wall_s": time.perf_counter() - t}
    wall = time.perf_counter() - t
    rec = _last_json(p.stdout)
    if p.returncode != 0 or rec is None:
        tail = p.stderr.strip().splitlines()[-1:] or [f"exit status {p.returncode}"]
        return {**(rec or {}), "status": "error", "error": tail[0], "wall_s": wall}
    return {**rec, "status": "ok", "wall_s": wall}


def gambit_available(python: str) -> str | None:
    """pygambit's version when ``python`` can import it, else None."""
    if not Path(python).exists():
        return None
    p = subprocess.run(
        [python, "-c", "import pygambit; print(pygambit.__version__)"],
        capture_output=True,
        text=True,
    )
    return p.stdout.strip() if p.returncode == 0 else None


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL)


def _fmt_s(x: float) -> str:
    return f"{x:.2g}" if x < 0.001 else f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _fmt_ratio(x: float) -> str:
    return f"{x:.2g}×" if x < 10 else f"{x:,.0f}×"


def _peer_cells(rec: dict[str, Any] | None, ref_s: float, limit: float) -> tuple[str, str, str]:
    """(parse s, BI s, ratio) cells of one peer measurement."""
    if rec is None:
        return "–", "–", "–"
    if rec.get("skipped"):
        return rec["skipped"], "", ""
    load = rec.get("load_s")
    load_cell = _fmt_s(load) if load is not None else f"> {limit:.0f}"
    if rec["status"] == "timeout":
        return load_cell, f"killed at {rec['wall_s']:.0f} s", f"> {limit:.0f} s"
    if rec["status"] == "error":
        return load_cell, f"error: {rec.get('error', '')[:60]}", ""
    total = rec["load_s"] + rec["bi_s"]
    ratio = _fmt_ratio(total / ref_s)
    if total > limit:
        ratio += f" (> {limit:.0f} s)"
    return load_cell, _fmt_s(rec["bi_s"]), ratio


def _agreement(sd: dict[str, Any], rec: dict[str, Any] | None) -> tuple[str, bool]:
    """('✓' / 'MISMATCH ...' / '', mismatch?) for the target's value (and the powers')."""
    if rec is None or rec.get("status") != "ok":
        return "", False
    vals = rec["values"]
    rec["target_diff"] = abs(vals[0] - sd["value"])
    rec["power_diff"] = max(
        (abs(a - b) for a, b in zip(vals[1:], sd["power_value"], strict=True)), default=0.0
    )
    if not _close(vals[0], sd["value"]):
        return f"MISMATCH {vals[0]!r} vs {sd['value']!r}", True
    powers_ok = all(_close(a, b) for a, b in zip(vals[1:], sd["power_value"], strict=True))
    return ("✓" if powers_ok else "✓ (powers differ)"), False


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(x.split(":", 1)[1].strip() for x in fh if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} vCPU ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _versions() -> str:
    from importlib import metadata

    out = []
    for dist in ("numpy", "open_spiel"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} not installed")
    return ", ".join(out)


def bench_game(spec: GameSpec, opts: argparse.Namespace, gambit: str | None) -> dict[str, Any]:
    horizons = _span(opts.horizons) if opts.horizons else spec.horizons
    alive = {"openspiel": True, "pygambit": gambit is not None}
    rows: list[dict[str, Any]] = []
    print(f"\n### {spec.label}\n", flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}\n")
    print(
        "| H | tree nodes | stepdeal states | stepdeal s | export s | OpenSpiel parse s "
        "| OpenSpiel BI s | ratio | pygambit parse s | pygambit BI s | ratio | values |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        for h in horizons:
            if not any(alive.values()):
                break
            efg = str(Path(tmp) / f"{spec.key}-{h}.efg")
            sd = run_child(
                sys.executable,
                STEPDEAL_CHILD,
                {
                    "here": str(HERE),
                    "source": spec.source,
                    "name": spec.name,
                    "generate": spec.generate,
                    "policy": spec.policy,
                    "horizon": h,
                    "repeat": opts.repeat,
                    "efg": efg,
                    "max_nodes": opts.max_nodes,
                },
                None,
            )
            if sd["status"] != "ok":
                raise SystemExit(f"stepdeal failed at H={h}: {sd.get('error')}")
            ref = min(sd["solve_s"])
            row: dict[str, Any] = {"horizon": h, "stepdeal": sd}
            exported = "export_s" in sd
            for peer, python, code in (
                ("openspiel", sys.executable, OPENSPIEL_CHILD),
                ("pygambit", gambit, GAMBIT_CHILD),
            ):
                if not alive[peer] or python is None:
                    row[peer] = None
                    continue
                if not exported:
                    row[peer] = {"skipped": f"tree > {opts.max_nodes:,} nodes", "status": "skip"}
                    alive[peer] = False
                    continue
                args = {"efg": efg, "unlabelled": opts.gambit_unlabelled}
                rec = run_child(python, code, args, opts.limit + SLACK)
                row[peer] = rec
                over = rec["status"] != "ok" or rec["load_s"] + rec["bi_s"] > opts.limit
                if over:
                    alive[peer] = False
            if exported:
                os.unlink(efg)
            checks = []
            for peer in ("openspiel", "pygambit"):
                text, bad = _agreement(sd, row[peer])
                row[f"{peer}_mismatch"] = bad
                if text:
                    checks.append(f"{'OS' if peer == 'openspiel' else 'gbt'} {text}")
            rows.append(row)
            os_cells = _peer_cells(row["openspiel"], ref, opts.limit)
            gb_cells = _peer_cells(row["pygambit"], ref, opts.limit)
            export = _fmt_s(sd["export_s"]) if exported else "not exported"
            print(
                f"| {h} | {sd['tree_nodes']:,} | {sd['stats']['states']:,} | {_fmt_s(ref)} "
                f"| {export} | {' | '.join(os_cells)} | {' | '.join(gb_cells)} "
                f"| {'; '.join(checks)} |",
                flush=True,
            )
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    return {"game": spec.key, "label": spec.label, "rows": rows}


def headline(result: dict[str, Any], limit: float) -> list[str]:
    """For each peer: the largest horizon it finished within the limit, and the ratio there."""
    out = []
    for peer in ("openspiel", "pygambit"):
        done = [
            r
            for r in result["rows"]
            if r[peer] is not None
            and r[peer].get("status") == "ok"
            and r[peer]["load_s"] + r[peer]["bi_s"] <= limit
        ]
        over = [
            r
            for r in result["rows"]
            if r[peer] is not None and r not in done and r[peer].get("status") != "skip"
        ]
        if not done:
            continue
        r = done[-1]
        ref = min(r["stepdeal"]["solve_s"])
        total = r[peer]["load_s"] + r[peer]["bi_s"]
        stop = f"; over {limit:.0f} s first at H={over[0]['horizon']}" if over else ""
        skipped = [r for r in result["rows"] if r[peer] and r[peer].get("status") == "skip"]
        if skipped and not over:
            stop = f"; not run from H={skipped[0]['horizon']} ({skipped[0][peer]['skipped']})"
        out.append(
            f"- {result['game']}, {peer}: largest horizon within {limit:.0f} s H={r['horizon']} "
            f"({r['stepdeal']['tree_nodes']:,} tree nodes): {total:.3g} s vs stepdeal "
            f"{ref:.3g} s = **{_fmt_ratio(total / ref)}**{stop}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--games", default=DEFAULT_GAMES, help=f"among {[g.key for g in GAMES]}")
    ap.add_argument("--horizons", default="", help='override, e.g. "1-8,12" (all chosen games)')
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per peer (parse + BI)")
    ap.add_argument("--max-nodes", type=int, default=10_000_000, help="largest tree exported")
    ap.add_argument("--repeat", type=int, default=3, help="stepdeal solves per horizon (best)")
    ap.add_argument("--gambit-python", default=GAMBIT_PYTHON, help="interpreter with pygambit")
    ap.add_argument("--no-gambit", action="store_true")
    ap.add_argument(
        "--gambit-unlabelled",
        action="store_true",
        help="blank the node labels before pygambit parses the file (untimed)",
    )
    ap.add_argument("--json", default="", help="also write every measurement to this file")
    opts = ap.parse_args()
    specs = {g.key: g for g in GAMES}
    chosen = [specs[k] for k in opts.games.split(",")]
    gambit_version = None if opts.no_gambit else gambit_available(opts.gambit_python)
    gambit = opts.gambit_python if gambit_version else None
    t0 = time.perf_counter()
    print(f"machine: {machine()}; {_versions()}")
    print(
        f"pygambit: {gambit_version} ({opts.gambit_python})"
        if gambit
        else "pygambit: not available"
    )
    print(
        f"limit {opts.limit:.0f} s per peer measurement (parse + BI, fresh process, single run); "
        f"stepdeal: best of {opts.repeat} solves in a fresh process; ratio = peer parse + BI "
        "over stepdeal solve (export not included)"
    )
    results = [bench_game(spec, opts, gambit) for spec in chosen]
    print("\n### Headline\n")
    for res in results:
        for line in headline(res, opts.limit):
            print(line)
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"machine": machine(), "results": results}))
    if any(
        r[f"{p}_mismatch"]
        for res in results
        for r in res["rows"]
        for p in ("openspiel", "pygambit")
    ):
        print("VALUE MISMATCH: see the tables", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
