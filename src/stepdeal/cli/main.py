"""The ``stepdeal`` command line: a thin shell over :mod:`stepdeal.api` and :mod:`stepdeal.report`.

Exit codes: 0 success, 2 bad input (a scenario error names the file, line,
field and fix), 1 anything unexpected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__
from ..api import Run, as_scenario, check_run, compare, run
from ..scenario import Scenario, ScenarioError, builtin_names, json_schema, load_scenario
from ..scenario.loader import builtin_text
from ..solve import StateGraphTooLarge

app = typer.Typer(
    name="stepdeal",
    help="Design and stress-test step-by-step deals: relief for verified steps "
    "vs escalating sanctions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)

ScenarioArg = Annotated[
    str, typer.Argument(help="a built-in scenario name (see `stepdeal list`) or a YAML file")
]
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, help="seed of the verification draws (a whole number ≥ 0)")
]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help="policy id (default: the first)")]
BuiltinArg = Annotated[str, typer.Argument(help="a built-in scenario name (see `stepdeal list`)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
TypeOpt = Annotated[
    str | None,
    typer.Option(
        "--type",
        help="true type of the target when the scenario declares types (default: the first)",
    ),
]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy", help="target strategy: optimal | compliant | defiant (default: the file's)"
    ),
]


def _fail(problems: list[str], code: int = 2) -> None:
    for p in problems:
        # the message is plain text: brackets such as "[0, 1]" must not be read as markup
        err.print(f"[bold red]error:[/] {escape(p)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load(ref: str) -> Scenario:
    try:
        return load_scenario(ref)
    except ScenarioError as exc:
        _fail([str(p) for p in exc.problems])
    raise AssertionError("unreachable")


def _check_strategy(strategy: str | None) -> None:
    if strategy is not None and strategy not in ("optimal", "compliant", "defiant"):
        _fail(
            [f"--strategy {strategy!r} is not a strategy. Fix: use optimal, compliant or defiant"]
        )


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")


@app.command("list")
def list_cmd() -> None:
    """List the built-in scenarios."""
    table = Table(title="Built-in scenarios")
    table.add_column("name")
    table.add_column("title")
    table.add_column("policies")
    for name in builtin_names():
        s = load_scenario(name)
        table.add_row(name, s.title or "", ", ".join(p.id for p in s.policies))
    out.print(table)


@app.command()
def show(name: BuiltinArg) -> None:
    """Print a built-in scenario's YAML (a starting point for your own file)."""
    if name not in builtin_names():
        _fail(
            [
                f"{name}: no built-in scenario of that name. "
                f"Fix: use one of {', '.join(builtin_names())}"
            ]
        )
    sys.stdout.write(builtin_text(name))


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@app.command()
def validate(file: ScenarioArg) -> None:
    """Check a scenario file; print every problem with its line and a fix."""
    s = _load(file)
    out.print(
        f"[green]ok[/]: {file} — scenario {s.name!r}: {_count(len(s.actors), 'actor')}, "
        f"{_count(len(s.concerns), 'concern')}, {_count(len(s.measures), 'measure')}, "
        f"{_count(len(s.policies), 'policy', 'policies')} ({', '.join(p.id for p in s.policies)})",
        highlight=False,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    _print_json(json_schema())


def _policy_or_fail(s: Scenario, policy: str | None) -> str:
    if policy is None:
        return s.policies[0].id
    ids = [p.id for p in s.policies]
    if policy not in ids:
        _fail(
            [
                f"scenario {s.name!r} has no policy {policy!r}. "
                f"Fix: use --policy with one of {', '.join(ids)}"
            ]
        )
    return policy


@app.command("run")
def run_cmd(
    scenario: ScenarioArg,
    policy: PolicyOpt = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    strategy: StrategyOpt = None,
    true_type: TypeOpt = None,
) -> None:
    """Run one policy and show what happens period by period."""
    from ..report import run_table

    _check_strategy(strategy)
    s = _load(scenario)
    pid = _policy_or_fail(s, policy)
    _type_or_fail(s, true_type)
    with _refusals(scenario):
        result = run(s, pid, strategy, seed, true_type)
    if json_out:
        _print_json(result.to_dict())
        return
    out.print(run_table(s, result.timeline))


def _type_or_fail(s: Scenario, true_type: str | None) -> None:
    ids = [t.id for t in s.types]
    if true_type is not None and true_type not in ids:
        known = ", ".join(ids) if ids else "none: the scenario declares no types"
        _fail([f"scenario {s.name!r} has no type {true_type!r}. Fix: use --type with {known}"])


@contextmanager
def _refusals(ref: str) -> Iterator[None]:
    """Turn a solver's refusal (graph over the size budget, an unsupported typed game)
    into a clear exit-2 error."""
    from ..solve.pbe import TypesNotSupported

    try:
        yield
    except (StateGraphTooLarge, TypesNotSupported) as exc:
        _fail([f"{ref}: {exc}"])


def _compare(
    ref: str, s: Scenario, strategy: str | None, seed: int, true_type: str | None = None
) -> dict[str, Run]:
    _type_or_fail(s, true_type)
    with _refusals(ref):
        return compare(s, strategy, seed, true_type)
    raise AssertionError("unreachable")


def _timelines(results: dict[str, Run]) -> dict[str, Any]:
    return {pid: r.timeline for pid, r in results.items()}


@app.command("compare")
def compare_cmd(
    scenario: ScenarioArg,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    strategy: StrategyOpt = None,
    true_type: TypeOpt = None,
) -> None:
    """Run every policy of a scenario side by side."""
    from ..report import comparison_table

    _check_strategy(strategy)
    s = _load(scenario)
    results = _compare(scenario, s, strategy, seed, true_type)
    if json_out:
        _print_json({pid: r.to_dict() for pid, r in results.items()})
        return
    out.print(comparison_table(s, _timelines(results)))


@app.command("check")
def check_cmd(
    scenario: ScenarioArg,
    policy: PolicyOpt = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    true_type: TypeOpt = None,
) -> None:
    """Self-enforcement table: every step and vote on the path, and the hold-up point."""
    from ..report import check_tables

    s = _load(scenario)
    pid = _policy_or_fail(s, policy)
    _type_or_fail(s, true_type)
    with _refusals(scenario):
        result = run(s, pid, "optimal", seed, true_type)
        table = check_run(result, true_type)
    if json_out:
        _print_json(table.to_dict())
        return
    for renderable in check_tables(s, table):
        out.print(renderable)


ObjectiveOpt = Annotated[
    str,
    typer.Option(
        "--objective",
        help="resolved (expected concerns verified, then powers' total utility) | "
        "powers (powers' total utility) | welfare (powers' + target's utility)",
    ),
]


@app.command("design")
def design_cmd(
    scenario: ScenarioArg,
    objective: ObjectiveOpt = "resolved",
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="seed of the heuristic search (a whole number ≥ 0)")
    ] = 0,
    max_exact: Annotated[
        int,
        typer.Option("--max-exact", min=1, help="search exhaustively up to this many designs"),
    ] = 300_000,
    restarts: Annotated[
        int, typer.Option("--restarts", min=0, help="random starts of the heuristic search")
    ] = 24,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="also write the scenario with the designed policy"),
    ] = None,
    json_out: JsonOpt = False,
    target_posterior: Annotated[
        str | None,
        typer.Option(
            "--target-posterior",
            help="TYPE=P: design for reassurance: maximise P(the powers' belief in TYPE "
            "reaches P by the horizon | the target is TYPE) (needs types)",
        ),
    ] = None,
) -> None:
    """Design the strict step-by-step roadmap that resolves the most in equilibrium."""
    from ..report import check_tables, design_table
    from ..solve.check import check
    from ..solve.design import DesignRefused, design

    s = _load(scenario)
    try:
        with _refusals(scenario):
            if target_posterior is not None:
                from ..solve.design_types import design_for_posterior

                ttype, _, level = target_posterior.partition("=")
                try:
                    threshold = float(level)
                except ValueError:
                    raise DesignRefused(
                        f"--target-posterior {target_posterior!r} is not TYPE=P. "
                        "Fix: write e.g. --target-posterior latency=0.9"
                    ) from None
                result = design_for_posterior(
                    s, ttype, threshold, objective, seed, max_exact, restarts
                )
            else:
                result = design(s, objective, seed, max_exact, restarts)
            designed = run(result.scenario, result.policy["id"], "optimal", 0)
            table: Any
            if designed.typed is not None:
                from ..solve.check_typed import check_typed

                tid = (
                    target_posterior.partition("=")[0]
                    if target_posterior
                    else designed.typed.game.type_ids[0]
                )
                table = check_typed(designed.typed, designed.timeline, tid)
            else:
                assert designed.solution is not None
                table = check(designed.solution, designed.timeline)
    except DesignRefused as exc:
        _fail([f"{scenario}: {exc}"])
        return
    if output is not None:
        import yaml

        data = result.scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(yaml.safe_dump(data, sort_keys=False, width=88), encoding="utf-8")
        except OSError as exc:
            _fail([f"{output}: cannot write ({exc.strerror}). Fix: choose a writable path with -o"])
    if json_out:
        payload = result.to_dict()
        payload["check"] = table.to_dict()
        payload["yaml"] = result.to_yaml()
        _print_json(payload)
        return
    out.print(design_table(s, result))
    out.print("[bold]Paste under policies: in the scenario file[/]")
    out.print(result.to_yaml(), highlight=False, markup=False, soft_wrap=True)
    for renderable in check_tables(result.scenario, table):
        out.print(renderable)
    if output is not None:
        out.print(f"wrote {output}", highlight=False)


@app.command()
def export(
    scenario: ScenarioArg,
    policy: PolicyOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="output format: efg (Gambit)")] = "efg",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file to write (default: stdout)")
    ] = None,
    max_nodes: Annotated[
        int, typer.Option("--max-nodes", min=1, help="refuse larger trees")
    ] = 200_000,
) -> None:
    """Export the game tree (target decisions and verification chance) for Gambit/OpenSpiel."""
    from ..mechanisms import compile_game
    from ..solve.export import TreeTooLarge, export_efg

    if fmt != "efg":
        _fail([f"--format {fmt!r} is not supported. Fix: use --format efg"])
    s = _load(scenario)
    pid = _policy_or_fail(s, policy)
    try:
        text = export_efg(compile_game(s, pid), max_nodes=max_nodes)
    except TreeTooLarge as exc:
        _fail([f"{scenario}: {exc}"])
        return
    except ValueError as exc:
        _fail([f"{scenario}: {exc}"])
        return
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail([f"{output}: cannot write ({exc.strerror}). Fix: choose a writable path with -o"])
    out.print(f"wrote {output}", highlight=False)


@app.command()
def report(
    scenario: ScenarioArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path(
        "report.html"
    ),
    png: Annotated[
        Path | None, typer.Option("--png", help="also save the summary figure as PNG")
    ] = None,
    seed: SeedOpt = 0,
    strategy: StrategyOpt = None,
    sobol: Annotated[
        bool, typer.Option("--sobol", help="ensemble runs: include Sobol indices")
    ] = False,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="ensemble runs: satisficing threshold")
    ] = None,
    prim_cond: Annotated[
        str | None,
        typer.Option("--prim", help="ensemble runs: PRIM condition POLICY:OUTCOME<VALUE"),
    ] = None,
) -> None:
    """Write a self-contained HTML report (charts included, no network needed).

    SCENARIO may also be the --out folder of `stepdeal ensemble`: the report then shows
    the ensemble's distributions, robustness, Sobol indices and PRIM box.
    """
    from ..report import save_png, summary_figure, write_html

    if Path(scenario).is_dir() and (Path(scenario) / "manifest.json").exists():
        _ensemble_report(Path(scenario), output, sobol, threshold, prim_cond)
        return
    _check_strategy(strategy)
    s = _load(scenario)
    tls = _timelines(_compare(scenario, s, strategy, seed))
    try:
        path = write_html(s, tls, output)
        if png is not None:
            save_png(summary_figure(s, tls), png)
    except OSError as exc:
        _fail(
            [
                f"{exc.filename or output}: cannot write ({exc.strerror}). "
                "Fix: choose a writable path with -o"
            ]
        )
    out.print(f"wrote {path}" + (f" and {png}" if png else ""), highlight=False)


@app.command("ensemble")
def ensemble_cmd(
    scenario: ScenarioArg,
    n: Annotated[int, typer.Option("-n", min=1, help="number of samples (Sobol: base N)")] = 1000,
    design: Annotated[str, typer.Option("--design", help="lhs | mc | sobol")] = "lhs",
    policies: Annotated[
        str | None, typer.Option("--policies", help="comma-separated policy ids (default: all)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="seed of the design")] = 0,
    executor: Annotated[str, typer.Option("--executor", help="local | processes | dask")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes / Dask workers")] = 2,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, tcp://host:port")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for the results (resumable)")
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="samples per chunk (one Parquet file)")
    ] = 1000,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate every policy on N samples of the scenario's uncertainties."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ..ensemble.analysis import distributions
    from ..ensemble.run import run_ensemble
    from ..ensemble.store import StoreError

    s = _load(scenario)
    pids = [p.strip() for p in policies.split(",") if p.strip()] if policies else None
    if not s.uncertainty.variables and not json_out:
        err.print(
            f"note: {scenario} declares no uncertainties, so every sample is the point "
            "scenario (see docs/how-to/add-uncertainty.md)",
            highlight=False,
        )
    if executor == "dask" and scheduler is None and workers < 2:
        workers = 2
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} samples"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=json_out) as bar:
        task = bar.add_task(f"ensemble {s.name}", total=0)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with _refusals(scenario):
                res = run_ensemble(
                    scenario,
                    n,
                    design,
                    pids,
                    seed,
                    executor,
                    workers,
                    scheduler,
                    out_dir,
                    chunk_size,
                    progress=progress,
                    collect=out_dir is None or json_out,
                )
        except (ValueError, StoreError) as exc:
            _fail([str(exc)])
            return
    if json_out:
        _print_json(
            {
                "run": res.manifest,
                "out": str(res.out) if res.out else None,
                "seconds": round(res.seconds, 3),
                "results": json.loads(res.results.to_json(orient="records")),
            }
        )
        return
    table = Table(
        title=f"{s.name}: {res.manifest['rows']:,} samples ({design}, seed {seed}) — "
        "expected concerns verified by the horizon"
    )
    for col in ("policy", "ok", "failed", "mean", "p5", "p50", "p95"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    if res.out is not None:
        from ..ensemble.store import summary

        dist = summary(res.out)
    else:
        dist = distributions(res.results, "expected_resolved")
    for pid, row in dist.iterrows():
        table.add_row(
            str(pid),
            f"{int(row['n_ok']):,}",
            f"{int(row['n_error']):,}",
            *(f"{row[c]:.3g}" for c in ("mean", "p5", "p50", "p95")),
        )
    out.print(table)
    where = (
        f"stored in {res.out} — `stepdeal analyze {res.out}`"
        if res.out
        else "not stored (use --out)"
    )
    out.print(f"{res.seconds:.1f} s; {where}", highlight=False)


def _stat(x: Any) -> str:
    """A statistic for a table: 4 significant digits, float noise below 1e-9 shown as 0,
    whole counts without an exponent."""
    v = float(x)
    if v != v:
        return "n/a"
    if abs(v) < 1e-9:
        return "0"
    if v.is_integer() and abs(v) < 1e12:
        return f"{int(v):,}"
    return f"{v:.4g}"


def _analysis_tables(a: Any, unit: str) -> list[Any]:
    tables: list[Any] = []
    for outcome, df in a.distributions.items():
        u = "concerns" if outcome == "expected_resolved" else unit
        t = Table(title=f"{outcome} ({u}) per policy")
        t.add_column("policy")
        for c in ("n_ok", "n_error", "mean", "sd", "p5", "p50", "p95"):
            t.add_column(c, justify="right")
        for pid, row in df.iterrows():
            t.add_row(
                str(pid),
                *(_stat(row[c]) for c in ("n_ok", "n_error", "mean", "sd", "p5", "p50", "p95")),
            )
        tables.append(t)
    u = "concerns" if a.outcome == "expected_resolved" else unit
    from ..ensemble.analyze import larger_is_better

    sign = "≥" if larger_is_better(a.outcome) else "≤"
    t = Table(
        title=f"Robustness on {a.outcome}: regret vs the best policy in each sample ({u})",
        caption="share best: samples where the policy is (one of) the best"
        + (
            f"; satisficing: share with {a.outcome} {sign} {a.threshold:g}"
            if a.threshold is not None
            else ""
        ),
    )
    cols = ["n_samples", "mean_regret", "p50_regret", "p95_regret", "max_regret", "share_best"]
    if a.threshold is not None:
        cols.append("satisficing")
    t.add_column("policy")
    for c in cols:
        t.add_column(c, justify="right")
    for pid, row in a.robustness.iterrows():
        t.add_row(str(pid), *(_stat(row[c]) for c in cols))
    tables.append(t)
    for pid, df in a.sobol.items():
        t = Table(title=f"Sobol indices of {a.outcome} under {pid}")
        for c in ("input", "S1", "S1 ±", "ST", "ST ±"):
            t.add_column(c, justify="left" if c == "input" else "right")
        for _, row in df.sort_values("ST", ascending=False).iterrows():
            t.add_row(
                str(row["name"]), *(f"{row[c]:.3f}" for c in ("S1", "S1_conf", "ST", "ST_conf"))
            )
        tables.append(t)
    if a.prim is not None:
        p = a.prim
        t = Table(
            title=f"PRIM box: where {a.condition}",
            caption=f"coverage {p.coverage:.2f} (share of those samples inside the box), "
            f"density {p.density:.2f} (share of the box's samples that are), mass {p.mass:.2f}",
        )
        t.add_column("input")
        t.add_column("from", justify="right")
        t.add_column("to", justify="right")
        t.add_column("sampled range", justify="right")
        for name, (lo, hi) in p.limits.items():
            rng = a.ranges.get(name, (float("nan"), float("nan")))
            t.add_row(name, f"{lo:.4g}", f"{hi:.4g}", f"{rng[0]:.4g} to {rng[1]:.4g}")
        tables.append(t)
    return tables


@app.command("analyze")
def analyze_cmd(
    run_dir: Annotated[Path, typer.Argument(help="the --out folder of `stepdeal ensemble`")],
    outcome: Annotated[
        str, typer.Option("--outcome", help="outcome for robustness/Sobol")
    ] = "expected_resolved",
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="satisficing threshold of the outcome")
    ] = None,
    sobol: Annotated[bool, typer.Option("--sobol", help="Sobol indices (Sobol designs)")] = False,
    prim_cond: Annotated[
        str | None,
        typer.Option(
            "--prim",
            help="PRIM condition POLICY:OUTCOME<VALUE (default: first policy "
            "below its median resolved)",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Distributions, robustness, Sobol indices and PRIM boxes of an ensemble run."""
    from ..ensemble.analyze import analyze_run, json_safe
    from ..ensemble.store import StoreError, load

    try:
        manifest, inputs, results = load(run_dir)
        a = analyze_run(manifest, inputs, results, outcome, threshold, sobol, prim_cond)
    except (StoreError, ValueError) as exc:
        _fail([f"{run_dir}: {exc}" if str(run_dir) not in str(exc) else str(exc)])
        return
    if json_out:
        _print_json(json_safe(a.to_dict()))
        return
    for t in _analysis_tables(a, manifest.get("unit", "")):
        out.print(t)
    if len(a.errors):
        t = Table(title="Failed samples (their outcomes are left out of every statistic)")
        for c in ("policy", "error", "samples"):
            t.add_column(c, justify="right" if c == "samples" else "left")
        for row in a.errors.itertuples(index=False):
            t.add_row(str(row.policy), str(row.error), f"{int(row.samples):,}")
        out.print(t)
    for note in a.notes:
        out.print(f"note: {note}", highlight=False)


@app.command("query")
def query_cmd(
    run_dir: Annotated[Path, typer.Argument(help="the --out folder of `stepdeal ensemble`")],
    sql: Annotated[str, typer.Argument(help="SQL over the views `inputs` and `results`")],
    json_out: JsonOpt = False,
) -> None:
    """Query an ensemble run with DuckDB SQL (views: inputs, results)."""
    from ..ensemble.store import StoreError, query

    try:
        frame = query(run_dir, sql)
    except StoreError as exc:
        _fail([str(exc)])
        return
    except Exception as exc:  # duckdb's own errors: show their message, not a traceback
        _fail([f"{run_dir}: the query failed: {exc}. Fix: check the SQL (views: inputs, results)"])
        return
    if json_out:
        sys.stdout.write(frame.to_json(orient="records") + "\n")
        return
    table = Table()
    for c in frame.columns:
        table.add_column(str(c))
    for row in frame.head(200).itertuples(index=False):
        table.add_row(*(f"{x:.6g}" if isinstance(x, float) else str(x) for x in row))
    out.print(table)
    if len(frame) > 200:
        out.print(f"({len(frame):,} rows; first 200 shown; use --json for all)")


def _ensemble_report(
    run_dir: Path, output: Path, sobol: bool, threshold: float | None, prim_cond: str | None
) -> None:
    from ..ensemble.analyze import analyze_run
    from ..ensemble.store import StoreError, load
    from ..report.ensemble_html import write_ensemble_html

    try:
        manifest, inputs, results = load(run_dir)
        a = analyze_run(manifest, inputs, results, "expected_resolved", threshold, sobol, prim_cond)
        path = write_ensemble_html(a, inputs, results, output)
    except (StoreError, ValueError) as exc:
        _fail([f"{run_dir}: {exc}"])
        return
    except OSError as exc:
        _fail([f"{output}: cannot write ({exc.strerror}). Fix: choose a writable path with -o"])
        return
    out.print(f"wrote {path}", highlight=False)


def _actor_table(source: str) -> tuple[Any, Scenario | None, Any]:
    from ..forecast.actors import ActorTableError
    from ..forecast.link import table_from_scenario

    low = source.lower()
    try:
        if low.endswith(".csv"):
            from ..forecast.ktab_io import load_ktab_csv

            return load_ktab_csv(Path(source)), None, None
        if low.endswith(".xml"):
            from ..forecast.ktab_io import load_ktab_xml

            xml_table, params = load_ktab_xml(Path(source))
            return xml_table, None, params
        s = _load(source)
        return table_from_scenario(s), s, None
    except (ActorTableError, ValueError, OSError) as exc:
        _fail([str(exc) if str(source) in str(exc) else f"{source}: {exc}"])
    raise AssertionError("unreachable")


@app.command("forecast")
def forecast_cmd(
    source: Annotated[
        str, typer.Argument(help="a scenario with stakeholders, or a KTAB SMP .csv/.xml file")
    ],
    model: Annotated[str, typer.Option("--model", help="compromise | bdm | smp | all")] = "all",
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="BDM rounds")] = 10,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="save positions per round as PNG")
    ] = None,
    apply_to: Annotated[
        str | None,
        typer.Option("--apply-to", help="scenario whose parameters the forecast sets (links)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="with --apply-to: the new YAML file")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Forecast where the stakeholders land (compromise, BDM, KTAB SMP); optionally set
    the game's parameters from the forecast."""
    from ..forecast.run import MODELS, run_model
    from ..report.forecast_view import forecast_figure, forecasts_table, rounds_table

    if model not in (*MODELS, "all"):
        _fail([f"--model {model!r} is not a model. Fix: use compromise, bdm, smp or all"])
    table, scenario, smp_params = _actor_table(source)
    names = list(MODELS) if model == "all" else [model]
    try:
        results = [run_model(table, m, rounds, smp_params) for m in names]
    except ValueError as exc:
        _fail([f"{source}: {exc}"])
        return
    changes: list[str] = []
    if apply_to is not None:
        from ..forecast.link import apply_links

        target = _load(apply_to)
        if target.stakeholders is None and scenario is not None:
            target = target.model_copy(update={"stakeholders": scenario.stakeholders})
        chosen = results[0] if model != "all" else results[names.index("compromise")]
        try:
            new, changes = apply_links(target, chosen)
        except ValueError as exc:
            _fail([f"{apply_to}: {exc}"])
            return
        if output is None:
            _fail(["--apply-to needs -o FILE for the new scenario. Fix: add -o new.yaml"])
            return
        import yaml

        data = new.model_dump(mode="json", by_alias=True, exclude_none=True)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(yaml.safe_dump(data, sort_keys=False, width=88), encoding="utf-8")
        except OSError as exc:
            _fail([f"{output}: cannot write ({exc.strerror}). Fix: choose a writable path with -o"])
    if plot is not None:
        from ..report import save_png

        try:
            save_png(forecast_figure(results), plot)
        except OSError as exc:
            _fail([f"{plot}: cannot write ({exc.strerror}). Fix: choose a writable --plot path"])
    if json_out:
        if model == "all":
            _print_json({"models": {r.model: r.to_dict() for r in results}, "applied": changes})
        else:
            payload = results[0].to_dict()
            if apply_to is not None:
                payload["applied"] = changes
            _print_json(payload)
        return
    out.print(forecasts_table(results, f"Stakeholder forecast: {table.name}"))
    for r in results:
        out.print(rounds_table(r))
    for c in changes:
        out.print(f"applied: {c}", highlight=False)
    if output is not None and apply_to is not None:
        out.print(f"wrote {output}", highlight=False)
    if plot is not None:
        out.print(f"wrote {plot}", highlight=False)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@app.command("backtest")
def backtest_cmd(
    case: Annotated[
        str | None, typer.Argument(help="a case scenario (built-in name or file)")
    ] = None,
    all_cases: Annotated[
        bool, typer.Option("--all", help="every built-in scenario with a history block")
    ] = False,
    n: Annotated[
        int, typer.Option("-n", min=0, help="samples for the sensitivity share (0: skip)")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0, help="seed (a whole number ≥ 0)")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """The model's equilibrium prediction for a real case next to what happened."""
    from ..backtest import NoHistory, backtest
    from ..report.backtest_view import backtest_tables

    if all_cases == (case is not None):
        _fail(["give a CASE or --all (not both). Fix: e.g. `stepdeal backtest jpoa-2013`"])
    refs = (
        [case]
        if case is not None
        else [name for name in builtin_names() if load_scenario(name).history is not None]
    )
    if not refs:
        _fail(["no built-in scenario has a history block. Fix: give a CASE file"])
    results = []
    for ref in refs:
        s = _load(ref)
        try:
            with _refusals(ref):
                results.append(backtest(s, n, seed).to_dict())
        except NoHistory as exc:
            _fail([f"{ref}: {exc}"])
        except ValueError as exc:
            _fail([f"{ref}: {exc}"])
    if json_out:
        _print_json(results[0] if case is not None else {"cases": results})
        return
    for d in results:
        for renderable in backtest_tables(d):
            out.print(renderable)
        out.print(d["explanation"], highlight=False, markup=False)
        out.print()
    if len(results) > 1:
        summary = Table(title="Back-tests")
        for col in ("case", "policy", "verdict", "samples: match / partly / not"):
            summary.add_column(col)
        for d in results:
            sens = d["sensitivity"]
            share = (
                "—"
                if not sens
                else " / ".join(
                    f"{100 * sens['share'][k]:.0f}%"
                    for k in ("matches", "partly matches", "does not match")
                )
            )
            summary.add_row(d["case"], d["policy"], d["verdict"], share)
        out.print(summary)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="STEPDEAL_TOKEN",
            help="require this bearer token (env STEPDEAL_TOKEN)",
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="SQLite file of saved scenarios (default: user data folder)"),
    ] = None,
) -> None:
    """Start the local web app: pages at /, JSON API under /api, OpenAPI at /openapi.json.

    Binds to 127.0.0.1 by default; a non-local host needs a token."""
    if host not in LOCAL_HOSTS and not token:
        _fail(
            [
                f"--host {host} would expose the app beyond this machine without a token. "
                "Fix: set --token (or STEPDEAL_TOKEN), or bind to 127.0.0.1"
            ]
        )
    import uvicorn

    from ..web.app import create_app

    local = host in LOCAL_HOSTS
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"#token={token}" if token else "")
    err.print(f"stepdeal {__version__}: open {url} in a browser (Ctrl+C stops)", markup=False)
    uvicorn.run(create_app(token, db, local_only=local), host=host, port=port, log_level="info")


@app.command()
def version() -> None:
    """Print the stepdeal version."""
    out.print(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()


__all__ = ["app", "as_scenario"]
