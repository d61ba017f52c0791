"""Output places of ``volsim run`` that cannot be written, a full disk and Ctrl-C.

The ``--out`` folder is tried before the simulation (a read-only folder, a path under a regular
file: one line, exit 2, the model never runs). The six files are written all or none: a full disk
(a small tmpfs, when this process may mount one) is one line with exit 1 and leaves no file, and
Ctrl-C is one line with exit 130 and leaves no folder or temporary file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_support import read_only_prefix, small_tmpfs

from sim import storage
from sim.cli import main
from sim.errors import InputError
from sim.model import VolunteerModel

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
SMALL = [
    "--set",
    "population.residents=400",
    "--set",
    "population.households=150",
    "--set",
    "community.buildings=10",
    "--set",
    "community.stairwells=30",
    "--set",
    "community.grids=3",
    "--set",
    "community.service_points=20",
]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def volsim(*argv: str, prefix: list[str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """``volsim ARGV`` through the interpreter (optionally under a prefix such as setpriv)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [*(prefix or []), sys.executable, "-m", "sim", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_one_line(err: str, *mentions: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    for mention in mentions:
        assert mention in lines[0], lines[0]


@pytest.fixture
def model_must_not_run(monkeypatch) -> None:
    def refuse(self, on_day=None):
        raise AssertionError("the model ran before the output folder was checked")

    monkeypatch.setattr(VolunteerModel, "run", refuse)


# --- checked before the run --------------------------------------------------------------------
def test_a_path_under_a_regular_file_is_refused_before_the_run(
    capsys, tmp_path, model_must_not_run
) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("keep\n", encoding="utf-8")
    status, out, err = run_cli(capsys, "run", str(SCENARIO), "--out", str(taken / "run"))
    assert status == 2
    assert out == ""
    assert_one_line(err, "--out", str(taken / "run"))
    assert taken.read_text(encoding="utf-8") == "keep\n"


def test_an_empty_out_is_refused_before_the_run(
    capsys, tmp_path, monkeypatch, model_must_not_run
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, "run", str(SCENARIO), "--out", "")
    assert status == 2
    assert_one_line(err, "--out")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_refused_before_the_run(tmp_path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    prefix = read_only_prefix()
    try:
        started = time.monotonic()
        result = volsim(
            "run", str(SCENARIO), "--days", "365", "--out", str(folder / "run"), prefix=prefix
        )
        elapsed = time.monotonic() - started
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert_one_line(result.stderr, "--out", str(folder / "run"), "Permission denied")
    assert list(folder.iterdir()) == []
    assert elapsed < 30, "refused only after simulating a year"


def test_check_writable_creates_the_folder_and_removes_only_what_it_made(tmp_path) -> None:
    created = storage.check_writable(tmp_path / "a" / "b" / "c", "--out")
    assert created == tmp_path / "a"
    assert (tmp_path / "a" / "b" / "c").is_dir()
    assert files_under(tmp_path / "a") == ["b", "b/c"]  # no probe file left
    storage.remove_created(created)
    assert not (tmp_path / "a").exists()
    assert storage.check_writable(tmp_path, "--out") is None
    with pytest.raises(InputError, match="is a file"):
        storage.check_writable(Path(__file__), "--out")


# --- all six files or none -----------------------------------------------------------------
def _fail_on_third(monkeypatch, error: BaseException) -> None:
    real = storage._parquet_writer
    calls = {"n": 0}

    def writer(frame):
        write = real(frame)

        def maybe_fail(tmp: str) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                Path(tmp).write_bytes(b"half a table")
                raise error
            write(tmp)

        return maybe_fail

    monkeypatch.setattr(storage, "_parquet_writer", writer)


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (OSError(28, "No space left on device"), 1, "No space left on device"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["disk full", "ctrl-c"],
)
def test_a_failure_while_writing_leaves_the_previous_tables_and_no_temporary_file(
    capsys, tmp_path, monkeypatch, error, status, words
) -> None:
    out = tmp_path / "run"
    first, _, err = run_cli(
        capsys, "run", str(SCENARIO), "--days", "2", "--json", "--out", str(out), *SMALL
    )
    assert first == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) == 7  # six tables (layout.parquet too) and summary.json
    _fail_on_third(monkeypatch, error)
    again, _, err = run_cli(
        capsys, "run", str(SCENARIO), "--days", "3", "--json", "--out", str(out), *SMALL
    )
    assert again == status
    assert_one_line(err, words)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_failure_while_writing_a_new_folder_leaves_no_folder(
    capsys, tmp_path, monkeypatch
) -> None:
    _fail_on_third(monkeypatch, OSError(28, "No space left on device"))
    out = tmp_path / "new" / "run"
    status, _, err = run_cli(capsys, "run", str(SCENARIO), "--days", "2", "--out", str(out), *SMALL)
    assert status == 1
    assert_one_line(err, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_the_run_leaves_no_folder(capsys, tmp_path, monkeypatch) -> None:
    def interrupt(self, on_day=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(VolunteerModel, "run", interrupt)
    status, out, err = run_cli(
        capsys, "run", str(SCENARIO), "--json", "--out", str(tmp_path / "run")
    )
    assert status == 130
    assert out == ""
    assert_one_line(err, "interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_real_sigint_is_one_line_with_status_130_and_no_files(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sim", "run", str(SCENARIO), "--days", "3650", "--json"]
    process = subprocess.Popen(
        [*command, "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # the folder is made before the run
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert_one_line(stderr, "interrupted")
    assert list(tmp_path.iterdir()) == []


# --- a real full disk ------------------------------------------------------------------------
def test_a_full_disk_is_one_line_and_leaves_no_file(tmp_path) -> None:
    with small_tmpfs(tmp_path / "disk", "100k") as disk:
        result = volsim("run", str(SCENARIO), "--days", "120", "--json", "--out", str(disk / "run"))
        left = files_under(disk)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert_one_line(result.stderr, str(disk / "run"), "No space left on device")
    assert left == []
