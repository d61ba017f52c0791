"""What the command-line tests share: ``volsim ARGS`` run in the test's process, and a tiny
experiment file (4 runs of a 400-resident community for 2 days: about a second)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim import cli

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"

TINY_EXPERIMENT = f"""\
[experiment]
name = "tiny"
scenario = {json.dumps(str(SCENARIO))}
days = 2
seeds = 2
root_seed = 7

[overrides]
"population.residents" = 400
"population.households" = 200
"community.stairwells" = 40
"community.buildings" = 10
"community.grids" = 3
"community.service_points" = 20
"community.width_m" = 200.0
"community.height_m" = 200.0

[variables]
policy = ["nearest", "broadcast"]
"""


#: a 400-resident community dispatching by broadcast (the optimise and fault tests' scenario)
TINY_SCENARIO = """\
[scenario]
name = "tiny"
[population]
residents = 400
households = 150
[community]
buildings = 10
stairwells = 30
grids = 3
service_points = 4
[dispatch]
policy = "broadcast"
[volunteers]
active_share_of_registered = 0.05
"""


def run_cli(capsys: pytest.CaptureFixture, *argv: Any) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``volsim ARGV`` run in this process; argparse's exits
    (``--help``, usage errors) count as exit statuses too."""
    capsys.readouterr()
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def finished_tiny_experiment(root: Path) -> Path:
    """Run :data:`TINY_EXPERIMENT` (4 runs) into ``root/out`` and return that folder."""
    path = root / "tiny.toml"
    path.write_text(TINY_EXPERIMENT, encoding="utf-8")
    assert cli.main(["experiment", str(path), "--out", str(root / "out"), "--workers", "1"]) == 0
    return root / "out"
