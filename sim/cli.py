"""The ``volsim`` command line.

Bad input (an unknown key, a wrong type or range, an unknown policy, a missing file, an output
folder that cannot be written) is reported as one line naming the file and the key, with exit
status 2 and no traceback. A result that cannot be written after all (a full disk) is one line
with exit status 1, and Ctrl-C one line with exit status 130; neither leaves a half-written file.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from sim import scenario as scenario_module
from sim.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OUTPUT, InputError, OutputError
from sim.scenario import MAX_DAYS, POLICY_NAMES, parse_chain
from sim.storage import json_safe

#: arguments that name a file, folder, address or policy: an empty value (``--out ""``) is bad
#: input, never taken as the argument's absence
_NAMING = frozenset(
    {"scenario", "file", "dir", "out", "scheduler", "tls_ca_file", "tls_cert", "tls_key"}
    | {"robustness", "sobol_design", "ranges", "export", "baseline", "host", "policy"}
)


def _given(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty: give a value or leave the option out")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``volsim run: error: ...``), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.dest in _NAMING and action.type is None and action.choices is None:
            action.type = _given
        return action


def _parse_sets(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError("--set", item, "expected KEY=VALUE, e.g. demand.max_wait_min=60")
        overrides[key.strip()] = scenario_module.parse_value(value.strip())
    return overrides


def _check_policy(policy: str | None) -> None:
    if policy is None:
        return
    names = parse_chain(policy)
    for name in names:
        if name not in POLICY_NAMES:
            raise InputError(
                "--policy", None, f"unknown policy {name!r} (choose from {', '.join(POLICY_NAMES)})"
            )
    twice = scenario_module.repeated_in_chain(names)
    if twice is not None:
        raise InputError("--policy", None, f"{policy!r} names {twice} twice in one chain")


def _print_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"volsim run: {summary['policy']}, seed {summary['seed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, text)
    Console().print(table)


def _run_with_progress(model, show: bool) -> None:
    if not show:
        model.run()
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("simulated days"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("run", total=model.days)
        model.run(on_day=lambda day: progress.update(task, completed=day))


def _out_folder(text: str | None) -> Path | None:
    """The ``--out`` folder (None without ``--out``; an empty value is bad input)."""
    if text is None:
        return None
    if not text.strip():
        raise InputError("--out", None, "is empty: give a folder, e.g. --out results/run1")
    return Path(text)


def _check_days(days: int | None) -> None:
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InputError("--days", None, f"must be from 1 to {MAX_DAYS} (got {days})")


def _command_run(args: argparse.Namespace) -> int:
    from sim.model import VolunteerModel
    from sim.storage import check_writable, remove_created, write_run_outputs

    _check_policy(args.policy)
    _check_days(args.days)
    if args.seed < 0:
        raise InputError("--seed", None, f"must be 0 or more (got {args.seed})")
    overrides = _parse_sets(args.set)
    if args.days is not None:  # the run's days, for the checks of a day's and a run's orders
        overrides["simulation.days"] = args.days
    out = _out_folder(args.out)
    if out is not None and (out / "manifest.json").exists():  # its layout, tables and report
        raise InputError(
            "--out",
            str(out),
            "holds the results of an experiment, calibration or search"
            " (manifest.json): give a folder of its own",
        )
    params = scenario_module.load(args.scenario, overrides)
    try:
        model = VolunteerModel(params, policy=args.policy, rng=args.seed)  # days: in params
    except InputError as error:  # what only building it finds: named as in the file
        if error.source != "scenario":
            raise
        given = "--set" if error.key in overrides else args.scenario
        raise InputError(given, error.key, error.message) from None
    created = check_writable(out, "--out") if out is not None else None
    try:
        show = not args.json and sys.stdout.isatty() and sys.stderr.isatty()
        _run_with_progress(model, show)
        summary = model.summary()
        if out is not None:
            write_run_outputs(model, out)
    except BaseException:
        remove_created(created)
        raise
    if args.json:
        print(json.dumps(json_safe(summary)))
    else:
        _print_table(summary)
    return 0


class _RunProgress:
    """Runs done, failed and time left: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        self._bar = None
        self._last_percent = -1

    def __enter__(self) -> _RunProgress:
        if sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("runs"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} done, {task.fields[failed]} failed"),
                TimeRemainingColumn(),
                console=None,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("runs", total=None, failed=0)
        return self

    def __call__(self, done: int, failed: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done + failed, total=total, failed=failed)
            return
        percent = (100 * (done + failed)) // max(1, total)
        if percent // 5 != self._last_percent // 5 or done + failed == total:
            self._last_percent = percent
            print(f"{done + failed}/{total} runs done ({failed} failed)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _parse_target(text: str | None) -> tuple[str, float] | None:
    if text is None:
        return None
    metric, sep, value = text.partition("=")
    try:
        halfwidth = float(value)
    except ValueError:
        halfwidth = -1.0
    if not sep or not metric or not halfwidth > 0:
        raise InputError("--target-halfwidth", text, "expected METRIC=VALUE with VALUE > 0")
    return metric, halfwidth


def _resume_command(argv: list[str]) -> str:
    """The command that resumes an experiment: the same one, without --fresh."""
    return shlex.join(["volsim", *(a for a in argv if a != "--fresh")])


def _notice(text: str) -> None:
    print(f"volsim experiment: {text}", file=sys.stderr, flush=True)


def _command_experiment(args: argparse.Namespace) -> int:
    from sim.experiment.design import load_experiment
    from sim.experiment.runner import Interrupted, RunOptions, run_experiment

    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", None, "must be at least 1")
    if args.seeds is not None and args.seeds < 1:
        raise InputError("--seeds", None, "must be at least 1")
    _check_days(args.days)
    if args.run_timeout is not None and not 0 < args.run_timeout < float("inf"):
        raise InputError("--run-timeout", None, "must be a positive number of seconds")
    tls = _tls_files(args)
    target = _parse_target(args.target_halfwidth)
    experiment = load_experiment(args.file, seeds=args.seeds, days=args.days)
    if target is not None and target[0] not in experiment.metrics:
        raise InputError("--target-halfwidth", target[0], "not one of the experiment's metrics")
    if target is not None:
        experiment.command_overrides["target_halfwidth"] = list(target)
    out = Path(args.out) if args.out else _default_out(experiment.name, args)
    workers = args.workers or os.cpu_count() or 1
    resume = _resume_command(args.argv)
    try:
        with _RunProgress() as progress:
            options = RunOptions(
                workers,
                args.scheduler,
                args.fresh,
                target,
                progress,
                _notice,
                run_timeout_s=args.run_timeout,
                tls=tls,
            )
            manifest = run_experiment(experiment, out, options)
    except Interrupted as signal_name:
        _notice(f"stopped at once by a second {signal_name}; finished runs are kept in {out}")
        _notice(f"resume with: {resume}")
        return EXIT_INTERRUPTED
    failed, total = manifest["failed_runs"], len(manifest["runs"])
    if manifest.get("stopped"):
        done = manifest["done_runs"]
        tables = "tables for those written" if manifest["tables_written"] else "no tables written"
        _notice(
            f"stopped ({manifest['stopped']}) with {done} of {total} runs done, {failed} failed; "
            f"{tables} in {out}"
        )
        _notice(f"resume with: {resume}")
        return EXIT_INTERRUPTED if manifest.get("interrupted") else 1
    print(f"{experiment.name}: {total} runs, {failed} failed; results in {out}")
    return 1 if failed else 0


#: TLS flags of ``volsim experiment`` and the ``distributed.security.Security`` keys they fill
TLS_FLAGS = {
    "--tls-ca-file": "tls_ca_file",
    "--tls-cert": "tls_client_cert",
    "--tls-key": "tls_client_key",
}


def _tls_files(args: argparse.Namespace) -> dict[str, str]:
    """The TLS files given on the command line, checked: Security() keyword arguments."""
    given = {
        flag: getattr(args, flag[2:].replace("-", "_"))
        for flag in TLS_FLAGS
        if getattr(args, flag[2:].replace("-", "_"))
    }
    if not given:
        return {}
    flag = next(iter(given))
    if not (args.scheduler or "").startswith("tls://"):
        raise InputError(flag, None, "needs --scheduler tls://HOST:PORT")
    for flag, value in given.items():
        if not Path(value).is_file():
            raise InputError(flag, value, "no such file")
    if "--tls-cert" in given and "--tls-ca-file" not in given:
        raise InputError("--tls-cert", None, "needs --tls-ca-file (the CA that signed the cluster)")
    return {TLS_FLAGS[flag]: value for flag, value in given.items()}


def _default_out(name: str, args: argparse.Namespace) -> Path:
    """results/NAME, or results/NAME-quick-... for a quick look with --seeds or --days."""
    suffix = "".join(
        f"-{flag}{value}" for flag, value in (("seeds", args.seeds), ("days", args.days)) if value
    )
    return Path("results") / (f"{name}-quick{suffix}" if suffix else name)


def _command_status(args: argparse.Namespace) -> int:
    from sim.experiment.store import ResultsFolder

    folder = ResultsFolder(args.dir)
    manifest = folder.read_manifest()
    if manifest is None:
        raise InputError(str(args.dir), None, "no manifest.json: not a results folder")
    runs = manifest.get("runs", [])
    statuses, damaged = folder.inspect_runs({r["run_id"]: r["seed"] for r in runs if "seed" in r})
    damaged.update(folder.damaged_tables())
    missing = folder.missing_files(manifest)
    counts = {"done": 0, "failed": 0, "missing": 0}
    failures = []
    for run in runs:
        status = statuses.get(run["run_id"], "missing")
        counts[status] += 1
        if status == "failed":
            failures.append(run)
    print(
        f"{manifest.get('experiment')}: {len(runs)} runs: {counts['done']} done, "
        f"{counts['failed']} failed, {counts['missing']} missing"
        + (f", {len(damaged)} damaged files" if damaged else "")
        + (f", {len(missing)} missing files" if missing else "")
    )
    if failures:
        rows = folder.read_runs([r["run_id"] for r in failures])
        for row in rows.to_dict("records"):
            print(f"  failed: point {row.get('point')}, seed {row.get('seed')}: {row.get('error')}")
    for path, problem in damaged.items():
        print(f"  damaged: {path}: {problem}")
    for path, reason in missing.items():
        print(f"  missing: {path}: {reason}")
    return 1 if damaged or missing else 0


def _command_ranges(args: argparse.Namespace) -> int:
    from sim import ranges as ranges_module

    scenario = scenario_module.load(args.scenario)
    path = Path(args.ranges) if args.ranges else ranges_module.default_path(args.scenario)
    table = ranges_module.load(path)
    rows = ranges_module.rows(scenario, table)
    if args.json:
        data = {"scenario": args.scenario, "ranges": str(path), "rows": rows}
        print(json.dumps(json_safe(data), ensure_ascii=False))
    else:
        ranges_module.print_table(args.scenario, table, rows)
    return 0


def _command_discover(args: argparse.Namespace) -> int:
    from sim import discover
    from sim.storage import check_writable, write_text, writing

    if Path(args.dir).is_dir():  # a read-only folder: one line, before any work
        check_writable(Path(args.dir), "DIR")
    sobol = out = None
    if args.sobol_design is None:
        for flag in ("top", "samples", "seeds"):
            if getattr(args, flag) is not None:
                raise InputError(f"--{flag}", None, "only with --sobol-design")
    else:  # the design first: a refused option leaves the folder as it was
        out = Path(args.sobol_design)
        if not args.sobol_design.strip() or out.is_dir():
            raise InputError(
                "--sobol-design", args.sobol_design, "give a file name, e.g. sobol.toml"
            )
        top = 8 if args.top is None else args.top
        samples = 32 if args.samples is None else args.samples
        sobol = discover.sobol_design(args.dir, out, top, samples, args.seeds)
    table = discover.discover(args.dir)
    path = discover.write(args.dir, table)
    discover.print_table(table)
    print(f"written to {path} (and discovery.parquet)")
    if sobol is not None and out is not None:
        text, parameters = sobol
        with writing("the Sobol design", out):
            write_text(text, out)
        print(f"Sobol design over the top {parameters} parameters written to {out}")
    return 0


def _command_report(args: argparse.Namespace) -> int:
    from sim.report import write_report

    started = time.perf_counter()
    robustness = Path(args.robustness) if args.robustness else None
    index = write_report(
        Path(args.dir), lang=args.lang, baseline=args.baseline, robustness=robustness
    )
    print(f"report written to {index} in {time.perf_counter() - started:.1f} s")
    return 0


def _command_app(args: argparse.Namespace) -> int:
    if args.scenario is not None and not Path(args.scenario).is_file():
        raise InputError(args.scenario, None, "no such scenario file")
    if not 0 < args.port < 65536:
        raise InputError("--port", None, "must be between 1 and 65535")
    try:
        import solara  # noqa: F401
    except ImportError:
        raise InputError(
            "app", None, "the page needs the optional extra: pip install -e '.[app]'"
        ) from None
    from sim.app import serve

    return serve(args.scenario, args.host, args.port)


def _command_optimise(args: argparse.Namespace) -> int:
    from sim.experiment.runner import Interrupted, RunOptions
    from sim.optimise import Search, default_out, parse_levers, parse_objectives, run_search

    for flag in ("workers", "seeds", "recheck_seeds", "recheck_top", "trials"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise InputError(f"--{flag.replace('_', '-')}", None, "must be at least 1")
    _check_days(args.days)
    overrides = _parse_sets(args.set)
    if args.days is not None:
        overrides["simulation.days"] = args.days
    scenario = scenario_module.load(args.scenario, overrides)
    search = Search(
        args.scenario,
        scenario,
        parse_levers(args.lever, scenario),
        parse_objectives(args.objective),
        seeds=args.seeds,
        recheck_seeds=args.recheck_seeds,
        recheck_top=args.recheck_top,
        root_seed=args.root_seed,
        sampler=args.sampler,
        trials=args.trials,
        overrides=overrides,
    )
    out = _out_folder(args.out) or default_out(scenario)
    resume = _resume_command(args.argv)

    def notice(text: str) -> None:
        print(f"volsim optimise: {text}", file=sys.stderr, flush=True)

    try:
        with _RunProgress() as progress:
            options = RunOptions(args.workers or 1, None, args.fresh, None, progress, notice)
            manifest = run_search(search, out, options)
    except Interrupted as signal_name:
        notice(f"stopped at once by a second {signal_name}; the study is kept in {out}")
        notice(f"resume with: {resume}")
        return EXIT_INTERRUPTED
    if manifest.get("stopped"):
        notice(
            f"stopped ({manifest['stopped']}) with {manifest['complete_trials']} trials done; "
            f"tables for those in {out}"
        )
        notice(f"resume with: {resume}")
        return EXIT_INTERRUPTED if manifest.get("interrupted") else 1
    best = manifest.get("best")
    print(f"{manifest['complete_trials']} trials; results in {out}")
    if not best and len(search.objectives) > 1:
        print(
            f"Pareto front: {manifest['front_size']} candidates, {manifest['rechecked']} "
            f"re-checked on {args.recheck_seeds} fresh seeds (front.csv, recheck.csv)"
        )
    if best:
        print(
            f"best (re-checked on {args.recheck_seeds} fresh seeds): {best['overrides']}: "
            f"{best['metric']} {best['mean']:.4g} ({best['interval']}; "
            f"{best['search_mean']:.4g} on the search seeds)"
        )
    return 0


def _command_calibrate(args: argparse.Namespace) -> int:
    from sim.calibration import command

    return command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="volsim",
        description=(
            "Agent-based simulation of community volunteer service for elderly neighbours "
            "(Chaoyangli, Tianjin): which pairing or dispatch policy serves elders best?"
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="simulate one scenario with one policy and seed",
        description=(
            "Simulate one scenario with one policy and seed; print its metrics "
            "(a table, or one JSON object with --json). Exit status 2 for bad input (one line "
            "naming the file or flag and the key), 1 if --out cannot be written after the run "
            "(e.g. a full disk), 130 on Ctrl-C."
        ),
    )
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/chaoyangli.toml")
    run.add_argument(
        "--policy",
        help=(
            f"dispatch policy: {', '.join(POLICY_NAMES)}; chain fallbacks with '+', "
            "e.g. pairing+broadcast (default: the scenario's dispatch.policy)"
        ),
    )
    run.add_argument("--seed", type=int, default=0, help="root random seed, 0 or more (default 0)")
    run.add_argument(
        "--days", type=int, help=f"simulated days, 1-{MAX_DAYS} (default: simulation.days)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "override a scenario key in dotted form, e.g. demand.max_wait_min=inf or a policy's "
            "own table's dispatch.broadcast.k=5 (repeatable)"
        ),
    )
    run.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    run.add_argument(
        "--out",
        metavar="DIR",
        help=(
            "write orders, daily and yearly series, per-grid/building tables and the layout "
            "(layout.parquet, metres) as Parquet, per-community tables for a district "
            "(communities.parquet), and summary.json, to DIR (created if missing; checked "
            "before the run starts; all files or none)"
        ),
    )
    run.set_defaults(handler=_command_run)

    experiment = commands.add_parser(
        "experiment",
        help="run (or resume) an experiment file: designs × policies × seeds",
        description=(
            "Run an experiment file into a results folder: one Parquet file per run, "
            "manifest.json, summary and paired-difference tables. Rerunning the same "
            "experiment into the same folder runs only what is missing. Ctrl-C stops it "
            "(tables for what is done; a second Ctrl-C at once). Exit status 1 if some runs "
            "failed or a file could not be written, 2 for bad input, 130 if interrupted."
        ),
    )
    experiment.add_argument(
        "file", help="experiment file (TOML), e.g. experiments/pairing-policies.toml"
    )
    experiment.add_argument(
        "--workers", type=int, help="local worker processes (default: all cores)"
    )
    experiment.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "run on a Dask distributed cluster instead (workers must share the results folder "
            "and run the same volsim, mesa and numpy); tls://HOST:PORT with the --tls-* files"
        ),
    )
    experiment.add_argument(
        "--tls-ca-file",
        metavar="PEM",
        help="CA certificate of a tls:// scheduler (default: Dask's distributed.comm.tls config)",
    )
    experiment.add_argument(
        "--tls-cert", metavar="PEM", help="this client's certificate for a tls:// scheduler"
    )
    experiment.add_argument(
        "--tls-key", metavar="PEM", help="this client's key (if not in the --tls-cert file)"
    )
    experiment.add_argument(
        "--run-timeout",
        type=float,
        metavar="SECONDS",
        help="a run still going after SECONDS is recorded as failed; the sweep goes on",
    )
    experiment.add_argument(
        "--out", metavar="DIR", help="results folder (default results/<experiment name>)"
    )
    experiment.add_argument(
        "--fresh", action="store_true", help="discard what the folder holds and start over"
    )
    experiment.add_argument(
        "--seeds", type=int, help="seeds per design point (quick look; a different experiment)"
    )
    experiment.add_argument(
        "--days", type=int, help="simulated days per run (quick look; a different experiment)"
    )
    experiment.add_argument(
        "--target-halfwidth",
        metavar="METRIC=VALUE",
        help=(
            "add seeds in batches until every design point's 95%% CI half-width for METRIC "
            "is at most VALUE, or experiment.max_seeds is reached"
        ),
    )
    experiment.set_defaults(handler=_command_experiment)

    calibrate = commands.add_parser(
        "calibrate",
        help="calibrate the history scenario by ABC-SMC (resumable)",
        description=(
            "Draw the history's tuned values from their priors, simulate each draw once and "
            "keep those that reproduce the registry counts and residents within tolerance "
            "(docs/ODD.md 7.11). Each draw is written to DIR/runs as it ends; rerunning into "
            "the same folder simulates only the rest. Writes accepted.parquet/.csv, "
            "samples.parquet and summary.csv/.json (posterior mean, median, 90% interval). "
            "ABC-SMC in 3 generations (--generations); it says how long it expects and shows "
            "a progress bar."
        ),
    )
    calibrate.add_argument("scenario", help="e.g. scenarios/chaoyangli-history.toml")
    calibrate.add_argument(
        "--out", metavar="DIR", default="results/calibration", help="(default %(default)s)"
    )
    calibrate.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    calibrate.add_argument(
        "--samples",
        type=int,
        help="draws in all (default 150: 3 generations of 50; at most 1,000,000)",
    )
    calibrate.add_argument(
        "--generations",
        type=int,
        default=3,
        help="ABC-SMC generations the draws are split into (default 3; more generations "
        "concentrate later draws where the targets are met, so more are accepted)",
    )
    calibrate.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    calibrate.add_argument(
        "--export",
        metavar="CSV",
        help="also write the accepted sets, with the command in a comment, to CSV (e.g. "
        "scenarios/calibration/chaoyangli-history-accepted.csv, which experiments/ageing.toml "
        "samples)",
    )
    calibrate.set_defaults(handler=_command_calibrate)

    optimise = commands.add_parser(
        "optimise",
        help="search the levers a community controls for the best headline metrics",
        description=(
            "Search levers (service point sites, where and how many to recruit, broadcast k "
            "and radius, pairing distance and load) with optuna for one objective (the best) or "
            "several (a Pareto front). Every candidate runs on the same seeds; the best (or the "
            "front) are re-checked on fresh seeds with 95% confidence intervals. Results go to "
            "DIR: manifest.json, study.db (SQLite: a killed search resumes when run again), "
            "trials, front and recheck tables (Parquet and CSV); `volsim report DIR` draws them. "
            "Exit status 2 for a bad lever, objective or scenario, 130 if interrupted."
        ),
    )
    optimise.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/chaoyangli.toml")
    optimise.add_argument(
        "--lever",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help=(
            "a lever to search (repeatable): broadcast.k=1..10, broadcast.radius_m=200..1500"
            "[/100], pairing.max_distance_m=50..300, pairing.max_elders_per_helper=1..6, "
            "policy=nearest,broadcast, points=N[@S1,S2,..] (N service point sites among the "
            "stairwells), recruit=grid:N[@G1,..] (N recruits shared over grids), "
            "recruit=stairwell:N/K (N recruits over K chosen stairwells); see docs/ODD.md 7.16"
        ),
    )
    optimise.add_argument(
        "--objective",
        action="append",
        default=[],
        metavar="METRIC[:min|max]",
        help=(
            "a metric of `volsim run --json` to optimise (repeatable: several give a Pareto "
            "front), e.g. urgent_response_time_p90_min, urgent_within_window_share, "
            "urgent_unmet_share; headline metrics know their direction"
        ),
    )
    optimise.add_argument("--trials", type=int, default=30, help="trials in all (default 30)")
    optimise.add_argument(
        "--seeds", type=int, default=3, help="seeds per candidate, the same for all (default 3)"
    )
    optimise.add_argument(
        "--recheck-seeds", type=int, default=10, help="fresh seeds of the re-check (default 10)"
    )
    optimise.add_argument(
        "--recheck-top",
        type=int,
        default=3,
        help="candidates re-checked: the best N, or up to N of the front (default 3)",
    )
    optimise.add_argument("--root-seed", type=int, default=0, help="seeds and sampler (default 0)")
    optimise.add_argument(
        "--sampler",
        choices=("auto", "tpe", "nsga2", "grid", "random"),
        default="auto",
        help="auto: TPE (NSGA-II for several objectives and 200+ trials); grid enumerates",
    )
    optimise.add_argument(
        "--days", type=int, help="simulated days per run (default: the scenario's)"
    )
    optimise.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a scenario key"
    )
    optimise.add_argument("--workers", type=int, help="local worker processes (default 1)")
    optimise.add_argument(
        "--out", metavar="DIR", help="results folder (default results/optimise-<scenario name>)"
    )
    optimise.add_argument("--fresh", action="store_true", help="discard the study, start over")
    optimise.set_defaults(handler=_command_optimise)

    status = commands.add_parser(
        "status",
        help="done, failed and missing runs of a results folder",
        description=(
            "Show a results folder's done, failed and missing runs, the errors, and any damaged "
            "or missing files, one line each: a run file or table that cannot be read or is "
            "not the kind of file it should be (runs/ a file, a run file a folder), and what "
            "the manifest says was written but is gone (runs/, a finished experiment's run "
            "files, its tables). Exit status 1 if there are some (a rerun of the experiment "
            "runs damaged and missing runs again and rewrites the tables), 2 if DIR is not a "
            "results folder or its manifest is damaged."
        ),
    )
    status.add_argument("dir", help="results folder")
    status.set_defaults(handler=_command_status)

    ranges = commands.add_parser(
        "ranges",
        help="the assumed parameters' plausible ranges beside a scenario's values",
        description=(
            "List every assumed parameter of the ranges table (default: ranges/assumed.toml in "
            "the scenario's folder) with the scenario's value, the plausible low and high and "
            "why; a value outside its range is flagged. Exit status 2 for a bad scenario or "
            "table (one line naming the file and the key)."
        ),
    )
    ranges.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/chaoyangli.toml")
    ranges.add_argument(
        "--ranges", metavar="FILE", help="ranges table (default: ranges/assumed.toml beside it)"
    )
    ranges.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    ranges.set_defaults(handler=_command_ranges)

    discover = commands.add_parser(
        "discover",
        help="where in the plausible space one policy beats another, and what decides it",
        description=(
            "Scenario discovery on a results folder of an experiment that samples ranges "
            "(e.g. experiments/robustness-discovery.toml, a Latin hypercube): for each "
            "scenario, pair of policies and headline metric (urgent p90, urgent within window, "
            "urgent unmet), the share of sampled points where A beats B, and a PRIM box naming "
            "the few assumptions, with thresholds, under which the usual winner loses, checked "
            "on held-out halves of the points (column confirmed). Writes DIR/discovery.csv and "
            "DIR/discovery.parquet. A comparison holds when A beats B at 90% of the points or "
            "more and B beats A beyond the seeds' noise at fewer than 5%; neither beating the "
            "other beyond the noise at 5% of the points is 'equal' (docs/ODD.md §7.15). "
            "With --sobol-design, also writes a Sobol experiment over the --top parameters "
            "with the largest Morris mu* (DIR must be a finished Morris experiment). "
            "Exit status 2 if DIR is not such a results folder."
        ),
    )
    discover.add_argument("dir", help="results folder of `volsim experiment`")
    discover.add_argument(
        "--sobol-design",
        metavar="OUT.toml",
        help="write a Sobol experiment over the parameters that matter most to OUT.toml",
    )
    discover.add_argument(
        "--top", type=int, help="parameters in the Sobol design (default 8, or all if fewer)"
    )
    discover.add_argument("--samples", type=int, help="Sobol N, a power of two (default 32)")
    discover.add_argument(
        "--seeds", type=int, help="seeds of the Sobol design (default: the folder's)"
    )
    discover.set_defaults(handler=_command_discover)

    report = commands.add_parser(
        "report",
        help="write an experiment's report (HTML and figures) for policy makers",
        description=(
            "Write DIR/report/index.html: a self-contained page (works offline) with a summary "
            "in plain words, the policy comparison, response-time distributions, a map of the "
            "community, daily series, workloads and (where swept or computed) parameter effects "
            "and sensitivity indices; every figure also as PNG and SVG beside it. A robustness "
            "design (an LHS, Morris or Sobol design over ranged parameters, or a folder with "
            "discovery results) "
            "gets the section 'What holds, and what depends on assumptions' (discovery is run if "
            "missing), and its summary states as findings only what holds. The folder is "
            "checked before drawing and the files are written all or none (exit status 2 for "
            "bad input, 1 if they cannot be written, e.g. a full disk)."
        ),
    )
    report.add_argument("dir", help="results folder of `volsim experiment`")
    report.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="language (default zh: Chinese)"
    )
    report.add_argument(
        "--baseline", help="policy to compare against (default: the experiment's baseline_policy)"
    )
    report.add_argument(
        "--robustness",
        metavar="ROBUSTNESS_DIR",
        help=(
            "results folder of a robustness experiment (experiments/robustness.toml): the "
            "summary then says which of this report's comparisons hold across the plausible "
            "ranges and which assumptions could flip the others"
        ),
    )
    report.set_defaults(handler=_command_report)

    app = commands.add_parser(
        "app",
        help="watch the community in the browser (a Mesa SolaraViz page, works offline)",
        description=(
            "Serve the volsim page: the community map with volunteers walking and serving and "
            "orders waiting, live plots, and controls for policy, active share, scenario, seed, "
            "step interval and play speed. Needs the optional extra: pip install -e '.[app]'. "
            "`solara run sim/app.py` serves the same page."
        ),
    )
    app.add_argument(
        "scenario", nargs="?", help="scenario file the page opens with (default: the baseline)"
    )
    app.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 = everyone)",
    )
    app.set_defaults(handler=_command_app)
    return parser


class _ClosedStream(io.TextIOBase):
    """Standard output or error started closed (``>&-``): writing to it is a fault named as
    such (a result printed there would be lost with exit status 0); nothing else is."""

    def __init__(self, name: str) -> None:
        self._name = name

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "closed when volsim started: the output is lost", self._name)


def _open_streams() -> None:
    """Stand-ins for standard streams the process started without."""
    if sys.stdout is None:
        sys.stdout = _ClosedStream("standard output")
    if sys.stderr is None:  # nowhere to say anything: the exit status still tells
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def _terminate(signum: int, frame: Any) -> NoReturn:
    """SIGTERM as one Ctrl-C, for commands without their own handler (an experiment's or a
    search's stops scheduling and keeps what is done)."""
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_encodable(argv: list[str]) -> None:
    """Refuse an argument the file system's encoding could not decode (a Chinese path under
    a C locale with Python's UTF-8 mode turned off): the tables' writer would fail on it."""
    for item in argv:
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            shown = item.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise InputError(
                shown,
                None,
                f"not text in this locale's encoding ({sys.getfilesystemencoding()}): "
                "run under a UTF-8 locale (LC_ALL=C.UTF-8) or with PYTHONUTF8=1",
            ) from None


def _where(args: argparse.Namespace, error: OSError) -> str:
    """The file an OS error names, else the command's output (a full disk often names none)."""
    if error.filename:
        return f"{error.filename}: "
    for name in ("out", "dir"):
        place = getattr(args, name, None)
        if place:
            return f"{place}: "
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run one command; every expected failure is one line on stderr and an exit status:
    2 bad input, 1 output that could not be written, 130 interrupted (Ctrl-C or SIGTERM)."""
    _open_streams()
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stopped:  # --help (0), or a line already printed (2): the status
        return stopped.code if isinstance(stopped.code, int) else EXIT_INPUT
    args.argv = argv
    try:
        _check_encodable(argv)
        with _sigterm_as_interrupt():
            return args.handler(args)
    except InputError as error:
        print(f"volsim {args.command}: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as error:
        print(f"volsim {args.command}: error: {error}", file=sys.stderr)
        return EXIT_OUTPUT
    except OSError as error:  # a file system fault not caught nearer its cause
        message = f"{_where(args, error)}{error.strerror or error}"
        print(f"volsim {args.command}: error: {message}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print(f"volsim {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
