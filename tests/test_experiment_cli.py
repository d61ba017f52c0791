"""Tests for ``volsim experiment`` and ``volsim status`` on the command line: bad input is one
line with exit status 2 and writes nothing; progress is plain lines when stderr is no terminal.
"""

from __future__ import annotations

import fcntl
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_support import TINY_EXPERIMENT as GOOD
from cli_support import run_cli as volsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"


def assert_one_line_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A working directory of its own, so a stray default results/ folder would show."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_nothing_written(folder: Path) -> None:
    assert not (folder / "out").exists()
    assert not (folder / "results").exists()


# --- 10. bad experiment files and arguments --------------------------------------------------
BAD_FILES = {
    "unknown key in [experiment]": (
        GOOD.replace("days = 2", "days = 2\ncolour = 'red'"),
        ["experiment.colour", "unknown key"],
    ),
    "unknown table": (GOOD + "\n[desing]\nkind = 'lhs'\n", ["desing", "unknown key"]),
    "wrong type": (GOOD.replace("seeds = 2", 'seeds = "ten"'), ["experiment.seeds", "ten"]),
    "out of range": (GOOD.replace("seeds = 2", "seeds = 0"), ["experiment.seeds"]),
    "negative days": (GOOD.replace("days = 2", "days = -1"), ["experiment.days"]),
    "unknown design kind": (GOOD + "\n[design]\nkind = 'grid'\n", ["design.kind"]),
    "unknown policy": (
        GOOD.replace('"broadcast"]', '"teleport"]'),
        ["variables.policy", "teleport"],
    ),
    "unknown policy in a chain": (
        GOOD.replace('"broadcast"]', '"pairing+teleport"]'),
        ["variables.policy", "teleport"],
    ),
    "unknown baseline policy": (
        GOOD.replace("root_seed = 7", "root_seed = 7\nbaseline_policy = 'teleport'"),
        ["experiment.baseline_policy"],
    ),
    "unknown override key": (
        GOOD.replace("[variables]", '"volunteers.colour" = 1\n\n[variables]'),
        ["overrides.volunteers.colour", "unknown key"],
    ),
    "unknown override section": (
        GOOD.replace("[variables]", '"weather.rain" = 1\n\n[variables]'),
        ["overrides.weather.rain"],
    ),
    "override out of range": (
        GOOD.replace('"population.residents" = 400', '"population.residents" = -5'),
        ["overrides.population.residents"],
    ),
    "unknown variable key": (
        GOOD + '"demand.colour" = [1, 2]\n',
        ["variables.demand.colour", "unknown key"],
    ),
    "variable value out of range": (
        GOOD + '"volunteers.accept_probability" = [0.5, 1.5]\n',
        ["variables.volunteers.accept_probability", "1.5"],
    ),
    "variable range out of range": (
        GOOD + '"acceptance.base_probability" = {min = 0.5, max = 1.5, steps = 3}\n',
        ["variables.acceptance.base_probability"],
    ),
    "variable neither list nor range": (
        GOOD + '"acceptance.base_probability" = 0.5\n',
        ["variables.acceptance.base_probability"],
    ),
    "empty variable list": (GOOD + '"acceptance.base_probability" = []\n', ["variables."]),
    "range max below min": (
        GOOD + '"acceptance.base_probability" = {min = 0.6, max = 0.2, steps = 3}\n',
        ["variables.acceptance.base_probability", "max"],
    ),
    "factorial range without steps": (
        GOOD + '"acceptance.base_probability" = {min = 0.2, max = 0.6}\n',
        ["variables.acceptance.base_probability", "steps"],
    ),
    "sampled design without a range": (
        GOOD + "\n[design]\nkind = 'sobol'\n",
        ["design.kind"],
    ),
    "missing scenario file": (
        GOOD.replace(json.dumps(str(SCENARIO)), '"no-such-scenario.toml"'),
        ["experiment.scenario", "no-such-scenario.toml"],
    ),
    "invalid TOML": (GOOD.replace("[variables]", "[variables"), ["not valid TOML"]),
    "unknown metric": (
        GOOD.replace("root_seed = 7", "root_seed = 7\nmetrics = ['requests', 'happiness']"),
        ["experiment.metrics", "happiness"],
    ),
    "unknown series": (
        GOOD.replace("root_seed = 7", "root_seed = 7\nseries = ['orders_placed', 'mood']"),
        ["experiment.series", "mood"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_experiment_file_is_one_line_and_writes_nothing(case, folder, capsys):
    text, names = BAD_FILES[case]
    path = folder / "bad.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = volsim(capsys, "experiment", path, "--out", folder / "out", "--workers", "1")
    assert_one_line_error(code, out, err, str(path), *names)
    assert_nothing_written(folder)


def test_a_missing_experiment_file_is_one_line(folder, capsys):
    path = folder / "no-such-experiment.toml"
    code, out, err = volsim(capsys, "experiment", path, "--out", folder / "out")
    assert_one_line_error(code, out, err, str(path), "no such file")
    assert_nothing_written(folder)


def test_a_missing_experiment_file_exits_2_from_a_real_process(folder):
    finished = subprocess.run(
        [sys.executable, "-m", "sim", "experiment", "nowhere.toml", "--out", "out"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(finished.returncode, finished.stdout, finished.stderr, "nowhere.toml")
    assert_nothing_written(folder)


BAD_ARGUMENTS = {
    "no workers": (["--workers", "0"], ["--workers"]),
    "negative workers": (["--workers", "-3"], ["--workers"]),
    "workers not a number": (["--workers", "two"], ["--workers"]),
    "no seeds": (["--seeds", "0"], ["--seeds"]),
    "no days": (["--days", "0"], ["--days"]),
    "too many days": (["--days", "36501"], ["--days: must be from 1 to 36500"]),
    "target without =": (["--target-halfwidth", "requests"], ["--target-halfwidth"]),
    "target not a number": (["--target-halfwidth", "requests=abc"], ["--target-halfwidth"]),
    "target not positive": (["--target-halfwidth", "requests=-1"], ["--target-halfwidth"]),
    "target zero": (["--target-halfwidth", "requests=0"], ["--target-halfwidth"]),
    "target without metric": (["--target-halfwidth", "=1"], ["--target-halfwidth"]),
    "empty out": (["--out", ""], ["--out", "empty"]),
    "blank out": (["--out", "  "], ["--out", "empty"]),
    "run timeout zero": (["--run-timeout", "0"], ["--run-timeout"]),
    "run timeout infinite": (["--run-timeout", "inf"], ["--run-timeout"]),
    "run timeout nan": (["--run-timeout", "nan"], ["--run-timeout"]),
    "tls without a scheduler": (["--tls-ca-file", "ca.pem"], ["--tls-ca-file", "tls://"]),
    "tls with tcp": (
        ["--scheduler", "tcp://127.0.0.1:1", "--tls-cert", "c.pem"],
        ["--tls-cert", "tls://"],
    ),
    "tls file missing": (
        ["--scheduler", "tls://127.0.0.1:1", "--tls-ca-file", "missing.pem"],
        ["--tls-ca-file", "missing.pem", "no such file"],
    ),
    "target unknown metric": (
        ["--target-halfwidth", "happiness=1"],
        ["--target-halfwidth", "happiness"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_a_bad_argument_is_one_line_and_writes_nothing(case, folder, capsys):
    arguments, names = BAD_ARGUMENTS[case]
    path = folder / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, out, err = volsim(capsys, "experiment", path, "--out", folder / "out", *arguments)
    assert_one_line_error(code, out, err, *names)
    assert_nothing_written(folder)


def test_status_of_a_missing_folder(folder, capsys):
    code, out, err = volsim(capsys, "status", folder / "out")
    assert_one_line_error(code, out, err, str(folder / "out"))
    assert_nothing_written(folder)


def test_status_of_a_folder_without_manifest(folder, capsys):
    (folder / "out").mkdir()
    code, out, err = volsim(capsys, "status", folder / "out")
    assert_one_line_error(code, out, err, str(folder / "out"), "manifest")
    (folder / "out" / "notes.txt").write_text("mine")
    code, out, err = volsim(capsys, "status", folder / "out")
    assert_one_line_error(code, out, err, str(folder / "out"), "manifest")
    assert [p.name for p in (folder / "out").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '{"experiment": "tiny"}'])
def test_status_of_a_broken_results_folder(text, folder, capsys):
    out_dir = folder / "out"
    out_dir.mkdir()
    (out_dir / "manifest.json").write_text(text)
    code, out, err = volsim(capsys, "status", out_dir)
    assert_one_line_error(code, out, err, str(out_dir / "manifest.json"))
    assert (out_dir / "manifest.json").read_text() == text


def test_status_of_a_file(folder, capsys):
    (folder / "out").write_text("not a folder")
    code, out, err = volsim(capsys, "status", folder / "out")
    assert_one_line_error(code, out, err, str(folder / "out"))


def test_experiment_into_a_foreign_folder_is_refused(folder, capsys):
    path = folder / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    (folder / "out").mkdir()
    (folder / "out" / "thesis.docx").write_text("mine")
    code, out, err = volsim(capsys, "experiment", path, "--out", folder / "out", "--fresh")
    assert_one_line_error(code, out, err, str(folder / "out"))
    assert [p.name for p in (folder / "out").iterdir()] == ["thesis.docx"]


# --- 11. progress ----------------------------------------------------------------------------
def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(folder):
    path = folder / "good.toml"
    path.write_text(GOOD.replace("seeds = 2", "seeds = 5"), encoding="utf-8")
    out = folder / "out"
    finished = subprocess.run(
        [sys.executable, "-m", "sim", "experiment", str(path), "--workers", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == f"tiny: 10 runs, 0 failed; results in {out}\n"
    lines = finished.stderr.splitlines()
    assert lines, "progress lines"
    pattern = re.compile(r"(\d+)/10 runs done \((\d+) failed\)")
    counts = []
    for line in lines:
        match = pattern.fullmatch(line)
        assert match, repr(line)  # no bar, no escape codes, nothing else
        counts.append(int(match[1]))
        assert match[2] == "0"
    assert counts == sorted(counts)
    assert counts[0] == 0 and counts[-1] == 10
    assert "\x1b" not in finished.stderr and "\r" not in finished.stderr


# --- 12. one experiment per folder at a time -------------------------------------------------
def test_a_second_experiment_into_a_folder_in_use_is_refused(folder, capsys):
    path = folder / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    out = folder / "out"
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    with open(out / ".lock", "a+") as held:  # what a running experiment holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in ([], ["--fresh"]):
            code, stdout, err = volsim(
                capsys, "experiment", path, "--out", out, "--workers", "1", *extra
            )
            assert_one_line_error(code, stdout, err, str(out), "another volsim command")
            assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err  # the lock is released when its holder ends


def test_two_experiment_processes_into_one_folder(folder):
    path = folder / "good.toml"
    path.write_text(GOOD.replace("days = 2", "days = 365").replace("seeds = 2", "seeds = 50"))
    out = folder / "out"
    command = [sys.executable, "-m", "sim", "experiment", str(path), "--out", str(out)]
    first = subprocess.Popen(
        [*command, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not list((out / "runs").glob("*.parquet")):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert first.poll() is None, "the first was still running"
    finally:
        first.send_signal(signal.SIGTERM)  # stops it cleanly, with the tables of what is done
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert_one_line_error(second.returncode, second.stdout, second.stderr, str(out), "pid")
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 1, "the second wrote nothing"
    assert manifest["done_runs"] == len(pd.read_parquet(out / "runs.parquet"))


# --- 13. a Dask scheduler that cannot be reached -----------------------------------------------
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "nonsense://nowhere", "127.0.0.1:0:0"])
def test_an_unreachable_scheduler_fails_fast_and_writes_nothing(address, folder, capsys):
    pytest.importorskip("distributed")
    path = folder / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    started = time.monotonic()
    code, out, err = volsim(
        capsys, "experiment", path, "--out", folder / "out", "--scheduler", address
    )
    assert time.monotonic() - started < 15
    assert_one_line_error(code, out, err, "--scheduler", address)
    assert_nothing_written(folder)
