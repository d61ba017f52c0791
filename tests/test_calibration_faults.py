"""Faults and refusals of ``volsim calibrate`` (sim/calibration.py) found by fuzzing:

1. a folder is one calibration's: another scenario's contents (an edit, or another file of the
   same name elsewhere) are refused, and the same contents under another path resume;
2. run records without a manifest are not trusted: the folder is refused;
3. a folder another calibration is writing to (its ``.lock`` held) is refused;
4. a full disk at the start is one line naming the file, exit 1, and no folder is left;
5. ``--export`` is checked before anything is simulated (a read-only folder, a path under a
   file, a pipe) and written through a link to its file;
6. Ctrl-C to the process group, or SIGTERM to the process alone, during ``--workers 2``: one
   line, exit 130, no traceback, no leaked semaphore, no temporary folder or file, no worker
   left (the workers leave the terminal's process group: the calibration decides).

The calibrations are tiny: the two-year small history of test_calibration.py.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import psutil
import pytest
from fault_support import read_only_prefix
from test_calibration import SMALL_HISTORY

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: capabilities that let root write into a read-only folder (as tests/test_outputs.py)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "hist.toml"
    path.write_text(SMALL_HISTORY, encoding="utf-8")
    return path


def calibrate(capsys, scenario: Path | str, out: Path, *options: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of a 3-draw calibration in this process."""
    capsys.readouterr()
    argv = ["calibrate", str(scenario), "--out", str(out), "--workers", "1", "--samples", "3"]
    status = main([*argv, *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, lines
    return lines[0]


def volsim(*argv: str, prefix: list[str] | None = None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kwargs.pop("env", {})}
    command = [*(prefix or []), sys.executable, "-m", "sim", *argv]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


# --- 1, 2: what a folder holds ---------------------------------------------------------------
def test_a_folder_is_one_scenarios_by_its_contents(
    scenario: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    out = tmp_path / "c"
    assert calibrate(capsys, scenario, out)[0] == 0
    samples = (out / "samples.parquet").read_bytes()

    scenario.write_text(SMALL_HISTORY.replace("residents = 600", "residents = 650"), "utf-8")
    status, _, err = calibrate(capsys, scenario, out)
    assert status == 2
    line = error_line(err)
    assert line.startswith(f"volsim calibrate: error: {out / 'manifest.json'}: scenario_sha256: ")
    assert "another calibration's folder: choose a new --out" in line
    assert (out / "samples.parquet").read_bytes() == samples

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "hist.toml").write_text(SMALL_HISTORY, encoding="utf-8")  # the first contents
    monkeypatch.chdir(tmp_path)  # hist.toml: the edited file
    assert calibrate(capsys, "hist.toml", out)[0] == 2
    monkeypatch.chdir(elsewhere)  # hist.toml: the same name, the calibration's contents
    status, _, err = calibrate(capsys, "hist.toml", out)
    assert status == 0, err
    assert "3 done, 0 to simulate" in err


def test_run_records_without_a_manifest_are_not_trusted(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "c"
    assert calibrate(capsys, scenario, out)[0] == 0
    (out / "manifest.json").unlink()
    records = {p: p.read_bytes() for p in (out / "runs").iterdir()}
    status, _, err = calibrate(capsys, scenario, out, "--seed", "1")
    assert status == 2
    assert error_line(err) == (
        f"volsim calibrate: error: {out}: not empty and has no manifest.json: not a results folder"
    )
    assert not (out / "manifest.json").exists()
    assert {p: p.read_bytes() for p in (out / "runs").iterdir()} == records


# --- 3: one calibration at a time ------------------------------------------------------------
def test_a_folder_another_calibration_holds_is_refused(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "c"
    out.mkdir()
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, b"4242\n", 0)
        status, _, err = calibrate(capsys, scenario, out)
    finally:
        os.close(fd)
    assert status == 2
    line = error_line(err)
    assert line.startswith(f"volsim calibrate: error: {out}: ")
    assert "(pid 4242) is writing to this folder" in line
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


# --- 4: a full disk at the start -------------------------------------------------------------
def test_a_full_disk_at_the_start_names_the_file_and_leaves_no_folder(
    scenario: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Creating files works, writing into them does not (a full disk)."""
    out = tmp_path / "new" / "c"
    write_text = Path.write_text

    def full(self: Path, *args, **kwargs):
        if tmp_path / "new" in self.parents:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write names no file
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    status, _, err = calibrate(capsys, scenario, out)
    assert status == 1
    line = error_line(err)
    assert line.startswith(f"volsim calibrate: error: {out / 'manifest.json'}: ")
    assert line.endswith("No space left on device")
    assert not (tmp_path / "new").exists()


# --- 5: --export, checked before simulating, written through a link --------------------------
def test_an_export_under_a_file_or_onto_a_pipe_is_refused_first(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "c"
    afile = tmp_path / "afile"
    afile.write_text("mine", encoding="utf-8")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for export in (afile / "a.csv", pipe):
        status, _, err = calibrate(capsys, scenario, out, "--export", str(export))
        assert status == 2
        assert error_line(err).startswith(f"volsim calibrate: error: --export: {export}: ")
        assert not out.exists(), "simulated before refusing --export"
    assert afile.read_text(encoding="utf-8") == "mine"
    assert pipe.is_fifo()


def test_an_export_through_a_link_writes_its_file(scenario: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    status, out, err = calibrate(capsys, scenario, tmp_path / "c", "--export", str(link))
    assert status == 0, err
    assert f"accepted sets exported to {link}" in out
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text(encoding="utf-8").startswith("# Accepted parameter sets")


def test_a_read_only_export_folder_is_refused_before_simulating(
    scenario: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    prefix = read_only_prefix()
    out = tmp_path / "c"
    try:
        process = volsim(
            "calibrate", str(scenario), "--out", str(out), "--samples", "3", "--workers", "1",
            "--export", str(folder / "a.csv"), prefix=prefix,
        )  # fmt: skip
        _, err = process.communicate(timeout=60)
    finally:
        folder.chmod(0o755)
    assert process.returncode == 2, err
    line = error_line(err)
    assert line.startswith(f"volsim calibrate: error: --export: {folder / 'a.csv'}: ")
    assert "Permission denied" in line
    assert not out.exists() and list(folder.iterdir()) == []


# --- 6: Ctrl-C and SIGTERM with worker processes ----------------------------------------------
def workers_of(pid: int) -> list[psutil.Process]:
    """The pool's workers: the children of the calibration's forkserver."""
    with suppress(psutil.NoSuchProcess):
        for child in psutil.Process(pid).children():
            with suppress(psutil.NoSuchProcess):
                if "forkserver" in " ".join(child.cmdline()):
                    return child.children()
    return []


@pytest.mark.parametrize(
    ("number", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-group", "sigterm-to-the-process"],
)
def test_a_signal_ends_a_pool_calibration_cleanly(
    scenario: Path, tmp_path: Path, number: signal.Signals, group: bool
) -> None:
    out = tmp_path / "c"
    temp = Path(tempfile.mkdtemp(prefix="vc-", dir="/tmp"))  # short: the forkserver's socket
    process = volsim(
        "calibrate", str(scenario), "--out", str(out), "--samples", "60", "--workers", "2",
        env={"TMPDIR": str(temp)}, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(list((out / "runs").glob("*.json"))) < 3:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no draw finished in 60 s"
            time.sleep(0.01)
        workers = workers_of(process.pid)
        assert workers, "no pool workers"
        groups = {os.getpgid(w.pid) for w in workers}
        (os.killpg if group else os.kill)(process.pid, number)
        _, err = process.communicate(timeout=30)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        left = sorted(p.name for p in temp.iterdir())
        shutil.rmtree(temp, ignore_errors=True)
    assert process.returncode == 130, err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[1] == "volsim calibrate: interrupted", lines
    assert "Traceback" not in err and "leaked" not in err
    assert process.pid not in groups, "the workers are in the terminal's process group"
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"workers left: {alive}"
    assert left == [], "temporary folders left (pymp-*)"
    assert not [p for p in out.rglob("*.tmp")], "temporary files left"
    assert len(list((out / "runs").glob("*.json"))) < 60
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["samples"] == 60
