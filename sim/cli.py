"""The ``volsim`` command line.

Bad input (an unknown key, a wrong type or range, an unknown policy, a missing file) is reported
as one line naming the file and the key, with exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.scenario import POLICY_NAMES
from sim.storage import json_safe

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``volsim run: error: ...``), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
    for name in policy.split("+"):
        if name not in POLICY_NAMES:
            raise InputError(
                "--policy", None, f"unknown policy {name!r} (choose from {', '.join(POLICY_NAMES)})"
            )


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


def _command_run(args: argparse.Namespace) -> int:
    from sim.model import VolunteerModel
    from sim.storage import write_run_outputs

    _check_policy(args.policy)
    overrides = _parse_sets(args.set)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(str(out), None, "--out must be a folder, and this is a file")
    params = scenario_module.load(args.scenario, overrides)
    model = VolunteerModel(params, policy=args.policy, days=args.days, rng=args.seed)
    show = not args.json and sys.stdout.isatty() and sys.stderr.isatty()
    _run_with_progress(model, show)
    summary = model.summary()
    if out is not None:
        write_run_outputs(model, out)
    if args.json:
        print(json.dumps({k: json_safe(v) for k, v in summary.items()}))
    else:
        _print_table(summary)
    return 0


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
            "(a table, or one JSON object with --json)."
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
    run.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    run.add_argument("--days", type=int, help="simulated days (default: simulation.days)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key in dotted form, e.g. demand.max_wait_min=inf (repeatable)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    run.add_argument(
        "--out",
        metavar="DIR",
        help="write orders, daily series and per-grid/building tables as Parquet to DIR",
    )
    run.set_defaults(handler=_command_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"volsim {args.command}: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("volsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
