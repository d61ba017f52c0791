"""Write faults found by fuzzing: a full disk while an experiment writes its tables or starts,
a report cut short, writes through links and onto pipes or devices, outputs checked before the
work, and a results folder of the other kind.

* an experiment's tables are written all or none, and the message says which file failed;
* a start that cannot write leaves no folder or lock, exit 1 for a full disk naming the file;
* ``volsim report`` cut short (a full disk, Ctrl-C) leaves no report folder it made;
* a path that is a link is written through (the link stays), a pipe, a folder or a device is
  refused (exit 2), never replaced; an error names the file, never a temporary one;
* ``--sobol-design`` and a robustness report's folder are checked before any work;
* ``--fresh`` into a ``volsim optimise`` folder leaves nothing of it; discover names such a
  folder.

The full-disk tests mount a small tmpfs (root only: skipped otherwise); the read-only tests run
as root drop the capabilities that let root write anywhere (``setpriv``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cli_support import TINY_SCENARIO, finished_tiny_experiment
from cli_support import run_cli as volsim
from fault_support import read_only_prefix, small_tmpfs

from sim import storage
from sim.errors import InputError
from sim.experiment.store import EXPERIMENT_TABLES, TABLES

ROOT = Path(__file__).resolve().parents[1]


#: 2 runs of 2 days: what the fuzzing used
TWO_RUNS = """\
[experiment]
name = "tinyexp"
scenario = "tiny.toml"
days = 2
seeds = 1
root_seed = 1
[variables]
policy = ["nearest", "broadcast"]
"""

#: a Latin hypercube over one range with policy as a variable: a robustness design
TINY_LHS = """\
[experiment]
name = "tinylhs"
scenario = "tiny.toml"
days = 2
seeds = 2
root_seed = 1
[design]
kind = "lhs"
samples = 4
sample_seed = 0
[variables]
policy = ["nearest", "broadcast"]
"acceptance.base_probability" = { min = 0.17, max = 0.47 }
"""


def one_line(err: str, *mentions: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    for mention in mentions:
        assert mention in lines[0], lines[0]
    assert ".tmp" not in lines[0], lines[0]
    return lines[0]


def subprocess_volsim(*argv: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [*(prefix or []), sys.executable, "-m", "sim", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "tiny.toml").write_text(TINY_SCENARIO, encoding="utf-8")
    path = tmp_path / "exp.toml"
    path.write_text(TWO_RUNS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny experiment (4 runs), to copy."""
    return finished_tiny_experiment(tmp_path_factory.mktemp("faults"))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 200 KiB tmpfs (unmounted after the test); skipped where mounting is not allowed."""
    with small_tmpfs(tmp_path / "disk", "200k") as folder:
        yield folder


def fill(disk: Path, free_kib: int) -> None:
    """Leave about ``free_kib`` KiB free on ``disk`` (a filler file takes the rest)."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    usage = os.statvfs(disk)
    free = usage.f_bavail * usage.f_frsize
    size = max(0, free - free_kib * 1024)
    with open(filler, "wb") as f:
        f.write(b"\0" * size)


def tables_in(folder: Path) -> set[str]:
    return {name for name in TABLES if (folder / name).exists()}


# --- 1 and 2: a full disk while an experiment writes its tables, or starts ------------------
def test_a_full_disk_at_any_point_leaves_all_tables_or_none_and_no_lock(
    tmpfs: Path, experiment: Path, capsys
) -> None:
    """The fuzzing's sweep: every fill level of a 200 KiB disk, from completely full to room
    for everything. Each ends in all the tables or none, no temporary file, and a message that
    names a file on the disk; a start that could not write leaves no folder (nor lock)."""
    out = tmpfs / "e"
    code, _, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
    assert code == 0, err
    usage = os.statvfs(tmpfs)
    needed = (usage.f_blocks - usage.f_bfree) * usage.f_frsize // 1024
    shutil.rmtree(out)
    outcomes = set()
    for free in [0, *range(4, needed + 12, 12)]:
        shutil.rmtree(out, ignore_errors=True)
        fill(tmpfs, free)
        code, stdout, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
        assert "Traceback" not in err
        assert not [p for p in tmpfs.rglob("*") if p.name.endswith(".tmp")], free
        tables = tables_in(out)
        assert tables in (set(), set(EXPERIMENT_TABLES) | {"layout.parquet"}), (free, tables)
        if code == 0:
            outcomes.add("finished")
            assert tables and stdout
            continue
        assert code == 1, (free, err)
        if not out.exists():  # it could not start: one line naming the file, exit 1
            outcomes.add("not started")
            line = one_line(err, "No space left on device")
            assert str(out / "manifest.json") in line or str(out / ".lock") in line, line
            continue
        assert (out / "manifest.json").exists(), (free, sorted(os.listdir(out)))
        stopped = next(line for line in err.splitlines() if "stopped (" in line)
        assert "No space left on device" in stopped and str(out) in stopped
        if "no tables written" in stopped:
            outcomes.add("no tables")
            assert tables == set(), (free, stopped)
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("tables_written") is False:  # the manifest could be written
                code, stdout, _ = volsim(capsys, "status", out)
                assert code == 1 and "no tables were written" in stdout
                code, _, err = volsim(capsys, "report", out, "--lang", "en")
                assert code == 2 and "runs.parquet" in err
        else:
            assert tables, (free, stopped)
    assert {"not started", "no tables", "finished"} <= outcomes, outcomes


def test_a_full_disk_while_writing_one_table_leaves_none_and_says_which(
    experiment: Path, capsys, monkeypatch
) -> None:
    """differences.csv is written after five other tables: none of them is kept, the message
    names it, status says so and the report refuses; the same command then writes them all."""
    out = experiment.parent / "out"
    real = pd.DataFrame.to_csv

    def to_csv(self, path=None, *args, **kwargs):
        if path is not None and "differences.csv" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    code, _, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
    assert code == 1 and "Traceback" not in err
    stopped = next(line for line in err.splitlines() if "stopped (" in line)
    assert str(out / "differences.csv") in stopped and "No space left on device" in stopped
    assert "no tables written" in stopped
    assert tables_in(out) == set()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables_written"] is False and "tables" not in manifest
    code, stdout, _ = volsim(capsys, "status", out)
    assert code == 1 and f"missing: {out / 'runs.parquet'}: no tables were written" in stdout
    code, _, err = volsim(capsys, "report", out, "--lang", "en")
    assert code == 2 and str(out / "runs.parquet") in err
    assert not (out / "report").exists()

    monkeypatch.undo()
    code, _, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
    assert code == 0, err
    assert tables_in(out) >= set(EXPERIMENT_TABLES)
    assert volsim(capsys, "status", out)[0] == 0


def test_a_full_disk_at_the_start_is_a_fault_naming_the_manifest_and_leaves_nothing(
    experiment: Path, capsys, monkeypatch
) -> None:
    from sim.experiment import store

    def full(data, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store, "write_json", full)
    out = experiment.parent / "new" / "out"
    code, stdout, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
    assert code == 1 and stdout == ""
    one_line(err, str(out / "manifest.json"), "No space left on device")
    assert not (experiment.parent / "new").exists()


def test_a_read_only_results_folder_is_still_bad_input(experiment: Path) -> None:
    folder = experiment.parent / "read-only"
    folder.mkdir(mode=0o555)
    prefix = read_only_prefix()
    try:
        result = subprocess_volsim(
            "experiment", experiment, "--out", folder / "out", "--workers", "1", prefix=prefix
        )
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, str(folder / "out"), "cannot write")
    assert list(folder.iterdir()) == []


# --- 3: a report cut short leaves no report folder it made ---------------------------------
@pytest.mark.parametrize(
    ("error", "code"),
    [(OSError(errno.ENOSPC, "No space left on device"), 1), (KeyboardInterrupt(), 130)],
    ids=["disk full", "ctrl-c"],
)
def test_a_report_cut_short_leaves_no_report_folder(
    finished: Path, tmp_path: Path, capsys, monkeypatch, error, code
) -> None:
    import sim.report

    out = Path(shutil.copytree(finished, tmp_path / "out"))
    monkeypatch.setattr(sim.report, "plots_for", lambda results, lang: [])

    def failing(content):
        def write(tmp):
            Path(tmp).write_bytes(content[:10])
            raise error

        return write

    monkeypatch.setattr(sim.report, "_bytes_writer", failing)
    status, _, err = volsim(capsys, "report", out, "--lang", "en")
    assert status == code, err
    assert "Traceback" not in err
    assert not (out / "report").exists(), list((out / "report").iterdir())
    if code == 1:
        one_line(err, str(out / "report" / "index.html"), "No space left on device")


def test_a_report_interrupted_while_drawing_leaves_no_folder_but_keeps_a_previous_one(
    finished: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import sim.report

    out = Path(shutil.copytree(finished, tmp_path / "out"))

    def interrupt(results, lang):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.report, "plots_for", interrupt)
    assert volsim(capsys, "report", out, "--lang", "en")[0] == 130
    assert not (out / "report").exists()
    (out / "report").mkdir()
    (out / "report" / "index.html").write_text("previous", encoding="utf-8")
    assert volsim(capsys, "report", out, "--lang", "en")[0] == 130
    assert (out / "report" / "index.html").read_text(encoding="utf-8") == "previous"


# --- 4: links are written through; pipes, folders and devices refused -----------------------
def test_a_link_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "summary.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "summary.json"
    link.symlink_to(target)
    storage.write_json({"a": 1}, link)
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8")) == {"a": 1}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "elsewhere" / "new.csv")
    storage.write_text("x\n", dangling)
    assert dangling.is_symlink() and (tmp_path / "elsewhere" / "new.csv").read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.rglob("*.tmp")) == []


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / kind
    if kind == "pipe":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # as /dev/full
    else:  # a link to a pipe
        os.mkfifo(tmp_path / "pipe")
        path.symlink_to(tmp_path / "pipe")
    return path


@pytest.mark.parametrize("kind", ["pipe", "folder", "device", "link-to-pipe"])
def test_a_pipe_folder_or_device_is_refused_not_replaced(tmp_path: Path, kind: str) -> None:
    path = _special(tmp_path, kind)
    before = os.lstat(path)
    for write in (
        lambda: storage.write_text("x", path),
        lambda: storage.write_files({tmp_path / "other.txt": lambda t: None, path: lambda t: None}),
    ):
        with pytest.raises(InputError) as error:
            write()
        assert str(path) in str(error.value) and "not a regular file" in str(error.value)
    after = os.lstat(path)
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (
        before.st_ino,
        stat.S_IFMT(before.st_mode),
    )
    assert not (tmp_path / "other.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_run_onto_a_pipe_is_one_line_with_status_2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / "summary.json")
    (tmp_path / "tiny.toml").write_text(TINY_SCENARIO, encoding="utf-8")
    code, _, err = volsim(capsys, "run", tmp_path / "tiny.toml", "--days", "1", "--out", out)
    assert code == 2
    one_line(err, str(out / "summary.json"), "pipe")
    assert stat.S_ISFIFO(os.lstat(out / "summary.json").st_mode)
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_an_error_names_the_file_not_its_temporary(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"

    def full(tmp: str) -> None:
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28]", tmp)

    with pytest.raises(OSError) as error:
        storage.write_files({path: full})
    assert error.value.filename == str(path) and error.value.errno == errno.ENOSPC
    assert error.value.strerror == "No space left on device"
    assert list(tmp_path.iterdir()) == []


# --- 5: outputs checked before the work -------------------------------------------------------
@pytest.fixture(scope="module")
def lhs_results(tmp_path_factory) -> Path:
    """A finished tiny Latin hypercube with policy as a variable (16 runs), to copy."""
    from sim import cli

    root = tmp_path_factory.mktemp("lhs")
    (root / "tiny.toml").write_text(TINY_SCENARIO, encoding="utf-8")
    (root / "lhs.toml").write_text(TINY_LHS, encoding="utf-8")
    argv = ["experiment", str(root / "lhs.toml"), "--out", str(root / "L"), "--workers", "1"]
    assert cli.main(argv) == 0
    return root / "L"


@pytest.fixture
def lhs(lhs_results: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(lhs_results, tmp_path / "L"))


def test_a_read_only_sobol_design_is_refused_before_discovery(lhs: Path, tmp_path: Path) -> None:
    folder = lhs
    locked = tmp_path / "read-only"
    locked.mkdir(mode=0o555)
    prefix = read_only_prefix()
    try:
        result = subprocess_volsim(
            "discover", folder, "--sobol-design", locked / "s.toml", prefix=prefix
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # refused before the table is found and printed
    one_line(result.stderr, "--sobol-design", str(locked / "s.toml"), "Permission denied")
    assert not (folder / "discovery.csv").exists() and list(locked.iterdir()) == []


def test_a_sobol_design_onto_a_pipe_is_refused_before_discovery(
    lhs: Path, tmp_path: Path, capsys
) -> None:
    folder = lhs
    os.mkfifo(tmp_path / "s.toml")
    code, stdout, err = volsim(capsys, "discover", folder, "--sobol-design", tmp_path / "s.toml")
    assert code == 2 and stdout == ""
    one_line(err, "--sobol-design", "pipe")


def test_a_report_of_a_read_only_robustness_folder_names_the_folder(lhs: Path) -> None:
    folder = lhs
    assert not (folder / "discovery.parquet").exists()
    folder.chmod(0o555)
    prefix = read_only_prefix()
    try:
        result = subprocess_volsim("report", folder, "--lang", "en", prefix=prefix)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, str(folder), "cannot write there")
    assert not (folder / "report").exists() and not (folder / "discovery.parquet").exists()


# --- 6: a folder of the other kind ---------------------------------------------------------------
def test_fresh_into_an_optimise_folder_leaves_nothing_of_it(
    experiment: Path, tmp_path: Path, capsys
) -> None:
    scenario = tmp_path / "opt.toml"
    scenario.write_text(TINY_SCENARIO + "[simulation]\ndays = 2\n", encoding="utf-8")
    out = tmp_path / "o"
    argv = ["--seeds", "1", "--recheck-seeds", "1", "--lever", "broadcast.k=1..3"]
    argv += ["--objective", "response_time_p90_min:min", "--trials", "2", "--workers", "1"]
    code, _, err = volsim(capsys, "optimise", scenario, "--out", out, *argv)
    assert code == 0, err
    assert (out / "study.db").exists() and (out / "trials.csv").exists()

    code, stdout, err = volsim(capsys, "discover", out)
    assert code == 2 and stdout == ""
    one_line(err, str(out), "optimise folder")

    code, _, err = volsim(
        capsys, "experiment", experiment, "--out", out, "--fresh", "--workers", "1"
    )
    assert code == 0, err
    left = {p.name for p in out.iterdir()}
    assert not left & {
        "study.db",
        *(f"{n}.{s}" for n in ("trials", "front", "recheck") for s in ("parquet", "csv")),
    }
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("kind") is None
    assert volsim(capsys, "status", out)[0] == 0
