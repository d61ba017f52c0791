"""`volsim optimise` on faults: a full disk (a real one, a small tmpfs, where root may mount
one; SQLite's errors injected otherwise) is one line naming the file with exit status 1, never
SQLAlchemy's traceback; before the study is open nothing is left (a new folder is removed, no
half-made study.db), after it the search resumes once there is room. The progress line never
counts past its total when trials fail and are asked again, and the default results folder is
one folder in results/ whatever the scenario's name."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
from test_optimise import TINY

from sim import scenario as scenario_module
from sim.cli import main
from sim.optimise import default_out
from sim.optimise import search as search_module

QUICK = ["--days", "2", "--trials", "2", "--seeds", "1", "--recheck-seeds", "1"]
QUICK += ["--recheck-top", "1", "--lever", "broadcast.k=1..3"]
QUICK += ["--objective", "same_day_within_window_share"]
PROGRESS = re.compile(r"^(\d+)/(\d+) runs done \((\d+) failed\)$")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _argv(tiny: Path, out: Path, *extra: str) -> list[str]:
    return ["optimise", str(tiny), *QUICK, "--out", str(out), *extra]


def _error_line(capsys) -> str:
    """The one line of the error (progress lines aside), without a traceback."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1, err
    assert lines[0].startswith("volsim optimise: error: ") and "Traceback" not in err, err
    return lines[0]


class Disk:
    """A small tmpfs at ``path``, filled to leave a few KB free."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self, leave_kb: int = 0) -> None:
        stat = os.statvfs(self.path)
        size = max(0, stat.f_bavail * stat.f_frsize - leave_kb * 1024)
        with open(self.filler, "ab") as file, contextlib.suppress(OSError):
            while size > 0:  # up to the size asked, or until the disk is full
                size -= file.write(b"\0" * min(size, 65536))
                file.flush()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path: Path):
    """A 1 MB tmpfs (root and mount needed: skipped otherwise), unmounted afterwards."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"cannot mount a tmpfs: {error}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield Disk(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.mark.parametrize(
    ("leave_kb", "named"),
    [(0, ".lock"), (4, "manifest.json"), (80, "study.db")],  # a study takes about 110 KB
)
def test_a_full_disk_before_the_search_leaves_no_folder(
    tiny, disk, capsys, leave_kb, named
) -> None:
    out = disk.path / "results" / "opt"
    disk.fill(leave_kb)
    assert main(_argv(tiny, out)) == 1
    line = _error_line(capsys)
    assert f"{out / named}:" in line, line
    assert not (disk.path / "results").exists()  # nothing could be done: nothing is left
    disk.free()
    if named == "study.db":  # once there is room, the search runs
        assert main(_argv(tiny, out)) == 0
        assert "2 trials" in capsys.readouterr().out


def test_a_full_disk_during_the_search_resumes_once_there_is_room(
    tiny, disk, capsys, monkeypatch
) -> None:
    """The disk fills after the first trial's run: the study's write fails (SQLite "database
    or disk is full"), then the tables'; each is one line, and the search resumes."""
    out = disk.path / "opt"
    execute = search_module._execute_missing

    def then_fill(*args, **kwargs):
        counts = execute(*args, **kwargs)
        disk.fill(0)
        return counts

    monkeypatch.setattr(search_module, "_execute_missing", then_fill)
    assert main(_argv(tiny, out)) == 1
    assert f"{out / 'study.db'}: cannot write the study" in _error_line(capsys)
    disk.free()
    write_tables = search_module.write_tables

    def fill_then_write(*args, **kwargs):
        disk.fill(0)
        return write_tables(*args, **kwargs)

    monkeypatch.setattr(search_module, "_execute_missing", execute)
    monkeypatch.setattr(search_module, "write_tables", fill_then_write)
    assert main(_argv(tiny, out)) == 1
    line = _error_line(capsys)
    assert re.search(rf"{re.escape(str(out))}/\w+\.(parquet|csv): cannot write the tables", line)
    assert not list(out.glob("trials.*")) and not list(out.glob(".*.tmp"))  # all or none
    disk.free()
    monkeypatch.setattr(search_module, "write_tables", write_tables)
    assert main(_argv(tiny, out)) == 0
    assert "2 trials" in capsys.readouterr().out
    assert (out / "trials.csv").is_file() and (out / "recheck.csv").is_file()


def _disk_full(wrapped: bool) -> Exception:
    """SQLite's full disk as SQLAlchemy raises it, or (``wrapped``) as optuna's storage
    raises it from a commit."""
    error = sqlalchemy.exc.OperationalError(
        "INSERT INTO trials", {}, sqlite3.OperationalError("database or disk is full")
    )
    if not wrapped:
        return error
    storage_error = optuna.exceptions.StorageInternalError("An exception is raised ...")
    storage_error.__cause__ = error
    return storage_error


@pytest.mark.parametrize(
    ("target", "method"),
    [
        (optuna.study.Study, "ask"),
        (optuna.study.Study, "tell"),
        (optuna.trial.Trial, "set_user_attr"),
    ],
)
def test_a_study_write_that_fails_is_one_line_and_the_search_resumes(
    tiny, tmp_path, capsys, monkeypatch, target, method
) -> None:
    """Without root: SQLite's error injected where trials are written (optuna's wrapper)."""
    out = tmp_path / "opt"

    def fails(*args, **kwargs):
        raise _disk_full(True)

    monkeypatch.setattr(target, method, fails)
    assert main(_argv(tiny, out)) == 1
    assert _error_line(capsys).endswith(
        f"{out / 'study.db'}: cannot write the study: database or disk is full"
    )
    monkeypatch.undo()
    assert main(_argv(tiny, out)) == 0
    assert "2 trials" in capsys.readouterr().out


def test_a_study_that_cannot_be_created_leaves_no_folder(
    tiny, tmp_path, capsys, monkeypatch
) -> None:
    """Without root: the study's creation fails (SQLAlchemy's own error, as optuna's storage
    raises it making its tables): no half-made study.db, no folder; a rerun searches."""
    out = tmp_path / "results" / "opt"
    create = optuna.create_study

    def fails(*args, **kwargs):
        create(*args, **kwargs)  # the file has part of the study when the error comes
        raise _disk_full(False)

    monkeypatch.setattr(optuna, "create_study", fails)
    assert main(_argv(tiny, out)) == 1
    assert f"{out / 'study.db'}: cannot write the study" in _error_line(capsys)
    assert not (tmp_path / "results").exists()
    monkeypatch.undo()
    assert main(_argv(tiny, out)) == 0


def test_the_progress_never_counts_past_its_total(tiny, tmp_path, capsys, monkeypatch) -> None:
    """Trials that fail are asked again: the total grows with them, and the last line of a
    finished search is all its runs done."""
    means = search_module._means
    calls = []

    def first_fail(folder, tasks, objectives):
        calls.append(1)
        if len(calls) <= 3:
            return [float("nan")] * len(objectives)
        return means(folder, tasks, objectives)

    monkeypatch.setattr(search_module, "_means", first_fail)
    assert main(_argv(tiny, tmp_path / "opt")) == 0
    lines = capsys.readouterr().err.splitlines()
    counts = [tuple(map(int, m.groups())) for m in map(PROGRESS.match, lines) if m]
    assert counts and all(done + failed <= total for done, total, failed in counts), counts
    done, total, failed = counts[-1]
    assert done + failed == total == 5 + 1  # five trials on one seed, the best re-checked


@pytest.mark.parametrize(
    "name",
    ["../../escaped", "a/b", "/abs", "x" * 300, "朝" * 200, "tab\there", "..", ""],
)
def test_the_default_folder_is_one_folder_in_results(name) -> None:
    scenario = scenario_module.Scenario.model_validate({"scenario": {"name": name}})
    out = default_out(scenario)
    assert out.parent == Path("results") and out.name not in ("", ".", "..")
    assert len(out.name.encode()) <= 128
    assert out.name.startswith("optimise-")


@pytest.mark.parametrize("name", ["tiny", "Chaoyangli 朝阳里", "community 02", "a.b_c-d"])
def test_a_usable_scenario_name_is_the_default_folder_as_before(name) -> None:
    scenario = scenario_module.Scenario.model_validate({"scenario": {"name": name}})
    assert default_out(scenario) == Path("results") / f"optimise-{name}"


def test_distinct_names_get_distinct_folders() -> None:
    names = ["a/b", "a-b", "a\\b", "x" * 300, "x" * 301]
    folders = {
        default_out(scenario_module.Scenario.model_validate({"scenario": {"name": n}}))
        for n in names
    }
    assert len(folders) == len(names)


def test_a_scenario_name_with_separators_stays_in_results(tmp_path, capsys, monkeypatch) -> None:
    """Without --out: ``name = "../../escaped"`` writes into one folder in results/ (needs
    sim/cli.py to build the default folder with sim.optimise.default_out)."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    path = work / "escaped.toml"
    path.write_text(TINY.replace('name = "tiny"', 'name = "../../escaped"'), encoding="utf-8")
    assert main(["optimise", str(path), *QUICK]) == 0
    made = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_dir()]
    folders = [p for p in made if p.parts[:3] == ("a", "b", "results") and len(p.parts) == 4]
    assert len(folders) == 1 and folders[0].name.startswith("optimise-"), made
    assert not (tmp_path / "a" / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert (work / folders[0].relative_to("a/b") / "study.db").is_file()
