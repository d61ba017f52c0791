"""A results folder: its manifest, one Parquet file per run, and the tables made from them.

Layout of DIR::

    manifest.json        the resolved experiment and its sha256, seeds, provenance
    .lock                 held (flock) by the experiment writing here; a second is refused
    runs/<run_id>.parquet one row per run (written atomically by the worker that ran it)
    runs.parquet          every run's row: metrics, response times, workloads, per-building totals
    series.parquet        the daily series, long format (point, seed, day, series...)
    yearly.parquet        the yearly series of runs a year or longer (point, seed, year, ...)
    summary.csv/.parquet  per design point and metric: n, mean, sd, 95% CI
    differences.csv/.parquet  paired differences against the baseline policy
    sensitivity.csv/.parquet  Sobol or Morris indices (sobol and morris designs)
    layout.parquet        the buildings' layout, for the report's map (a fixed layout)

The manifest lists the tables written (``tables``, beside ``tables_written``), so ``volsim
status`` can tell a table that is gone from one the experiment never wrote.

A ``volsim optimise`` folder holds ``study.db`` (optuna's SQLite study) and its own tables
(``trials``, ``front``, ``recheck``) instead of the summaries.

A run's file name is a hash of its resolved scenario, seed and the model version, so a rerun
finds what is done, and a folder never holds two rows for one run.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.errors import InputError
from sim.experiment.design import canonical_json
from sim.storage import (
    BAD_PLACE,
    FileSet,
    all_or_none,
    os_reason,
    remove_created,
    write_error,
    write_files,
    write_json,
)

MANIFEST = "manifest.json"
LOCK = ".lock"
RUNS = "runs"
REPORT = "report"  # written by ``volsim report``
#: written from the tables by ``volsim discover`` (and a robustness report)
DERIVED = ("discovery.csv", "discovery.parquet")
TABLES = (
    "runs.parquet",
    "series.parquet",
    "yearly.parquet",
    "summary.csv",
    "summary.parquet",
    "differences.csv",
    "differences.parquet",
    "sensitivity.csv",
    "sensitivity.parquet",
    "layout.parquet",
)
#: the tables every experiment writes (a manifest from before ``tables`` was recorded)
EXPERIMENT_TABLES = (
    "runs.parquet",
    "series.parquet",
    "summary.csv",
    "summary.parquet",
    "differences.csv",
    "differences.parquet",
)
STUDY_DB = "study.db"  # ``volsim optimise``'s optuna study (SQLite)
#: what ``volsim optimise`` writes beside its study (sim.optimise.tables.TABLES, as Parquet and
#: CSV) and SQLite's files beside a database: removed by ``--fresh`` with the rest
#: a ``volsim optimise`` folder's tables (sim.optimise.tables writes them), each as Parquet and CSV
OPTIMISE_TABLE_NAMES = ("trials", "front", "recheck")
OPTIMISE_TABLES = tuple(
    f"{name}.{kind}" for name in OPTIMISE_TABLE_NAMES for kind in ("parquet", "csv")
)
OPTIMISE_FILES = (
    *OPTIMISE_TABLES,
    *(f"{STUDY_DB}{suffix}" for suffix in ("", "-journal", "-wal", "-shm")),
)
#: the tables written beside the summaries as CSV too
CSV_TABLES = ("summary", "differences", "sensitivity")
#: tables optuna's study has (a file without them is not a study)
STUDY_TABLES = ("studies", "trials", "trial_values")
PACKAGES = ("volsim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "SALib")


@functools.cache
def model_version() -> str:
    """volsim's installed version (read once per process: it is the code this process runs)."""
    try:
        return importlib.metadata.version("volsim")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def run_id(scenario: dict[str, Any], seed: int) -> str:
    """The name of a run's file: a hash of its resolved scenario, seed and model version."""
    text = canonical_json({"scenario": scenario, "seed": seed, "model": model_version()})
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}
    if revision.returncode != 0:
        return {"revision": None, "dirty": None}
    return {"revision": revision.stdout.strip(), "dirty": bool(status.stdout.strip())}


def package_versions() -> dict[str, str | None]:
    """The installed version of each package a result depends on (None if absent)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance() -> dict[str, Any]:
    """Where and with what a result was made."""
    return {
        "git": _git(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": sys.argv,
    }


def manifest_problem(manifest: dict[str, Any]) -> tuple[str, str] | None:
    """(key, what is wrong) for a manifest whose structure is damaged, else None: the runs,
    seeds, sessions and tables volsim lists, and what :func:`resolved_problem` checks."""
    runs = manifest.get("runs", [])
    if not isinstance(runs, list):
        return "runs", f"is a {type(runs).__name__}, not a list"
    for index, run in enumerate(runs):
        if not (isinstance(run, dict) and isinstance(run.get("run_id"), str)):
            return f"runs[{index}]", "is not a run (no run_id)"
    for key in ("seeds", "sessions", "tables"):
        if key in manifest and not isinstance(manifest[key], list):
            return key, f"is a {type(manifest[key]).__name__}, not a list"
    for name in manifest.get("tables", []):
        if not (isinstance(name, str) and name and Path(name).name == name):
            return "tables", f"{name!r} is not a file name"
    if not isinstance(manifest["experiment_sha256"], str):
        return "experiment_sha256", "is not a string"
    return resolved_problem(manifest)


def resolved_problem(manifest: dict[str, Any]) -> tuple[str, str] | None:
    """(key, what is wrong) for the parts of a manifest a report reads, else None: its sessions
    and the shapes of the resolved experiment (a hand-edited one gave tracebacks deep in the
    report)."""
    sessions = manifest.get("sessions", [])
    if not (isinstance(sessions, list) and all(isinstance(s, dict) for s in sessions)):
        return "sessions", "is not a list of sessions"
    resolved = manifest.get("resolved")
    if not isinstance(resolved, dict):
        return None  # a calibration's manifest, or checked by the reader
    days = resolved.get("days")
    if days is not None and not (isinstance(days, int) and not isinstance(days, bool) and days > 0):
        return "resolved.days", f"must be a whole number of days or null (got {days!r:.40})"
    scenarios = resolved.get("scenarios", {})
    if not (isinstance(scenarios, dict) and all(isinstance(s, dict) for s in scenarios.values())):
        return "resolved.scenarios", "is not a table of scenarios"
    experiment = resolved.get("experiment", {})
    if not isinstance(experiment, dict):
        return "resolved.experiment", "is not a table"
    for part in ("variables", "design", "experiment"):
        if not isinstance(experiment.get(part, {}), dict):
            return f"resolved.experiment.{part}", "is not a table"
    metrics = experiment.get("experiment", {}).get("metrics", ["requests"])
    if not (isinstance(metrics, list) and metrics and all(isinstance(m, str) for m in metrics)):
        return "resolved.experiment.experiment.metrics", "is not a non-empty list of metric names"
    return None


def study_problem(path: Path) -> str | None:
    """What is wrong with an optuna study file (not SQLite, damaged, or without the study's
    tables), None if it is sound; read only."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return "damaged SQLite file (PRAGMA quick_check)"
            names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as error:
        return f"unreadable ({error})"
    missing = [name for name in STUDY_TABLES if name not in names]
    return f"not an optuna study (no table {missing[0]})" if missing else None


def kind_problem(path: Path, folder: bool = False) -> str | None:
    """What is wrong with an existing ``path`` that should be a regular file (or, ``folder``, a
    folder): it is the other kind, a broken link, or neither (a pipe, which a read would wait on
    for ever); None if it is sound."""
    if path.is_dir():
        return None if folder else "is a folder, not a file"
    if path.is_file():
        return "is a file, not a folder" if folder else None
    if path.is_symlink() and not path.exists():
        return "is a broken link"
    return "is neither a file nor a folder"


def exists_or_link(path: Path) -> bool:
    """Whether anything is at ``path`` (a broken link too)."""
    return path.exists() or path.is_symlink()


def _read_run(path: Path, seeds: dict[str, int] | None) -> tuple[dict[str, Any], str | None]:
    """A run file's run_id, status and seed, and what is wrong with the file (None if sound)."""
    problem = kind_problem(path)
    if problem is not None:
        return {}, problem
    try:
        table = pq.read_table(path, columns=["run_id", "status", "seed"]).to_pylist()
    except Exception as error:  # any damage
        return {}, f"unreadable ({type(error).__name__})"
    row = table[0] if len(table) == 1 else {}
    if row.get("run_id") != path.stem:
        return row, f"holds run {row.get('run_id')}, not the run its name says"
    if seeds is not None and path.stem in seeds and row["seed"] != seeds[path.stem]:
        return row, f"holds seed {row['seed']}, not {seeds[path.stem]}"
    if row.get("status") not in ("done", "failed"):
        return row, f"has status {row.get('status')!r}"
    return row, None


def _remove_empty(path: Path) -> None:
    with suppress(OSError):
        path.rmdir()


class ResultsFolder:
    """The results folder of one experiment."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / RUNS
        #: the tables written through this object, recorded in the manifest (``tables``)
        self.written: set[str] = set()
        #: the tables being written all or none (see :meth:`writing_tables`)
        self._pending: tuple[FileSet, set[str]] | None = None

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def run_path(self, run: str) -> Path:
        return self.runs_dir / f"{run}.parquet"

    def read_manifest(self, strict: bool = True) -> dict[str, Any] | None:
        """The manifest, None for a new folder; a broken folder is an InputError (``strict``:
        also a manifest whose runs, seeds or sessions are damaged)."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(str(self.path), None, "is a file, not a results folder")
        if not self.manifest_path.exists():
            # an empty runs/ is what a start cut short leaves: the folder counts as new
            others = (
                [p for p in self.path.iterdir() if p.name not in (RUNS, LOCK)]
                if self.path.is_dir()
                else []
            )
            if others or (self.runs_dir.is_dir() and any(self.runs_dir.iterdir())):
                raise InputError(
                    str(self.path), None, "not empty and has no manifest.json: not a results folder"
                )
            return None
        problem = kind_problem(self.manifest_path)
        if problem is not None:
            raise InputError(str(self.manifest_path), None, problem)
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(str(self.manifest_path), None, f"unreadable: {error}") from None
        if not isinstance(manifest, dict) or "experiment_sha256" not in manifest:
            raise InputError(str(self.manifest_path), "experiment_sha256", "missing")
        if strict:
            problem = manifest_problem(manifest)
            if problem is not None:
                key, text = problem
                raise InputError(
                    str(self.manifest_path),
                    key,
                    f"{text}: the manifest is damaged (--fresh starts the folder over)",
                )
        return manifest

    def check(self, sha256: str, fresh: bool) -> dict[str, Any] | None:
        """The manifest, if the folder may take this experiment (read only): a new folder, this
        experiment's, or any experiment's with ``fresh``; otherwise an InputError."""
        manifest = self.read_manifest(strict=not fresh)
        if not fresh and manifest is not None and manifest["experiment_sha256"] != sha256:
            raise InputError(
                str(self.path),
                None,
                f"holds another experiment (sha256 {manifest['experiment_sha256'][:12]}, "
                f"this one {sha256[:12]}): use --fresh to start over or --out for a new folder",
            )
        return manifest

    def prepare(self, sha256: str, fresh: bool) -> dict[str, Any] | None:
        """Check the folder belongs to this experiment (or empty it with ``fresh``); return the
        previous manifest, None when starting over."""
        manifest = self.check(sha256, fresh)
        if fresh and manifest is not None:
            self.clear()
            manifest = None
        self.remove_temporary()
        return manifest

    def remove_temporary(self) -> None:
        """Remove the temporary files of writes cut short (by a kill or a second Ctrl-C)."""
        for folder in (self.path, self.runs_dir):
            for leftover in folder.glob(".*.tmp") if folder.is_dir() else ():
                leftover.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[ResultsFolder]:
        """Hold the folder's lock (creating the folder) while the body runs; a folder another
        experiment holds, or a place that cannot take files (read-only, under a file), is an
        InputError; a fault (a full disk) an OutputError naming the file. If the body fails
        before anything was written (no manifest, no run file), the folder (and its parents),
        the lock and ``runs`` this made are removed again."""
        self.read_manifest(strict=False)  # a file, or someone else's folder: refused first
        missing = [p for p in [self.path, *self.path.parents] if not exists_or_link(p)]
        created = missing[-1] if missing else None
        lock = self.path / LOCK
        made = {path for path in (lock, self.runs_dir) if not exists_or_link(path)}
        if exists_or_link(lock) and (lock.is_symlink() or not lock.is_file()):
            # truncated and written: never through a link, nor a pipe or a device
            raise InputError(
                str(lock), None, "is not a regular file (a link, folder or pipe): remove it"
            )
        fd = None
        try:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as error:
                if error.errno in BAD_PLACE:
                    raise InputError(
                        str(self.path), None, f"cannot write here: {os_reason(error)}"
                    ) from None
                raise write_error(error, lock, "the lock") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                made.discard(lock)  # the other experiment's
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise InputError(
                    str(self.path),
                    None,
                    f"another volsim command (pid {holder}) is writing to this folder: "
                    "wait for it to finish, or use another --out",
                ) from None
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError as error:
                raise write_error(error, lock, "the lock") from None
            yield self
        except BaseException:
            if not self._started():
                self._remove_made(made, created)
            raise
        finally:
            if fd is not None:
                os.close(fd)  # releases the lock

    def _started(self) -> bool:
        """Whether an experiment has written here: a manifest or a run file."""
        if exists_or_link(self.manifest_path):
            return True
        return self.runs_dir.is_dir() and any(self.runs_dir.iterdir())

    def _remove_made(self, made: set[Path], created: Path | None) -> None:
        """Remove the lock and ``runs`` (if empty) a start cut short made, and the folders."""
        with suppress(OSError):
            if self.path / LOCK in made:
                (self.path / LOCK).unlink(missing_ok=True)
            if self.runs_dir in made:
                _remove_empty(self.runs_dir)
        remove_created(created)

    def clear(self) -> None:
        """Remove what an experiment or ``volsim optimise`` wrote here (its study and tables
        too: ``--fresh`` into a folder of the other kind leaves nothing of it), its report and
        discovery included (nothing else)."""
        shutil.rmtree(self.runs_dir, ignore_errors=True)
        shutil.rmtree(self.path / REPORT, ignore_errors=True)  # it describes the old results
        for name in (MANIFEST, *TABLES, *OPTIMISE_FILES, *DERIVED):
            (self.path / name).unlink(missing_ok=True)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, with the tables written so far as ``tables``."""
        if self.written:
            manifest = {**manifest, "tables": sorted(self.written)}
        write_json(manifest, self.manifest_path)

    def inspect_runs(self, seeds: dict[str, int] | None = None) -> tuple[dict[str, str], dict]:
        """The run files: run_id → "done" or "failed", and damaged file → what is wrong.

        A damaged file is unreadable, a folder (or no regular file), or holds another run than
        its name says (a run file copied over another), or (given ``seeds``, run_id → seed)
        another seed; ``runs`` itself is damaged if it is there but no folder (every run is
        then missing).
        """
        statuses: dict[str, str] = {}
        damaged: dict[Path, str] = {}
        if exists_or_link(self.runs_dir) and not self.runs_dir.is_dir():
            damaged[self.runs_dir] = kind_problem(self.runs_dir, folder=True) or "not a folder"
        for path in sorted(self.runs_dir.glob("*.parquet")) if self.runs_dir.is_dir() else ():
            row, problem = _read_run(path, seeds)
            if problem is None:
                statuses[path.stem] = row["status"]
            else:
                damaged[path] = problem
        return statuses, damaged

    def run_statuses(self) -> dict[str, str]:
        """run_id → "done" or "failed" for every sound run file (a damaged one counts as
        missing and is run again)."""
        return self.inspect_runs()[0]

    def read_runs(self, run_ids: list[str]) -> pd.DataFrame:
        """The rows of these runs (those with a sound file), in the given order."""
        frames = []
        for run in dict.fromkeys(run_ids):
            if not self.run_path(run).is_file():  # missing, a folder or a pipe: missing
                continue
            try:
                frame = pq.read_table(self.run_path(run)).to_pandas()
            except Exception:  # missing or damaged: counted as missing
                continue
            if len(frame) == 1 and frame["run_id"].iloc[0] == run:
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def damaged_tables(self) -> dict[Path, str]:
        """The folder's tables that cannot be read: its Parquet tables (an experiment's
        summaries, an optimise folder's trials, front and re-check) and its study; a CSV table
        that is no regular file."""
        damaged = {}
        for path in sorted(self.path.glob("*.parquet")):
            problem = kind_problem(path)
            if problem is None:
                try:
                    pq.read_metadata(path)
                except Exception as error:
                    problem = f"unreadable ({type(error).__name__})"
            if problem is not None:
                damaged[path] = problem
        for path in sorted(self.path.glob("*.csv")):
            problem = kind_problem(path)
            if problem is not None:
                damaged[path] = problem
        study = self.path / STUDY_DB
        if exists_or_link(study):
            problem = kind_problem(study) or study_problem(study)
            if problem:
                damaged[study] = problem
        return damaged

    def expected_tables(self, manifest: dict[str, Any]) -> list[str]:
        """The tables (file names) the manifest says were written: none before the tables
        are written (``tables_written``), else those it lists (``tables``); a manifest from
        before that list, those every experiment writes (sensitivity too for a Sobol or Morris
        design) or an optimise folder's study and tables."""
        if manifest.get("tables_written") is not True:
            return []
        if "tables" in manifest:
            return list(manifest["tables"])
        if manifest.get("kind") == "optimise":
            return [STUDY_DB, *OPTIMISE_TABLES]
        design: Any = manifest.get("resolved")
        for key in ("experiment", "design"):
            design = design.get(key) if isinstance(design, dict) else None
        kind = design.get("kind") if isinstance(design, dict) else None
        sensitivity = ("sensitivity.csv", "sensitivity.parquet")
        return [*EXPERIMENT_TABLES, *(sensitivity if kind in ("sobol", "morris") else ())]

    def missing_files(self, manifest: dict[str, Any]) -> dict[Path, str]:
        """What the manifest says was written but is gone → why it should be here: ``runs``
        (made with the first manifest), the run files of an experiment that finished (every
        run left a file, done or failed) and the tables written; the tables (named by
        ``runs.parquet``) when writing them failed (``tables_written`` false)."""
        missing: dict[Path, str] = {}
        run_ids = list(dict.fromkeys(run["run_id"] for run in manifest.get("runs", [])))
        finished = manifest.get("tables_written") is True and "stopped" not in manifest
        if run_ids and not exists_or_link(self.runs_dir):
            missing[self.runs_dir] = f"the manifest lists {len(run_ids)} runs"
        elif finished and self.runs_dir.is_dir():
            gone = [run for run in run_ids if not exists_or_link(self.run_path(run))]
            if gone:
                missing[self.runs_dir] = (
                    f"{len(gone)} of the {len(run_ids)} run files (e.g. {gone[0]}.parquet): "
                    "the manifest says the experiment finished"
                )
        for name in self.expected_tables(manifest):
            if not exists_or_link(self.path / name):
                missing[self.path / name] = "the manifest says it was written"
        if manifest.get("tables_written") is False:  # writing them failed: none was kept
            why = manifest.get("stopped")
            missing[self.path / "runs.parquet"] = (
                "no tables were written"
                + (f" ({why})" if isinstance(why, str) and why else "")
                + ": run volsim experiment again to write them"
            )
        return missing

    @contextmanager
    def writing_tables(self) -> Iterator[None]:
        """The tables :meth:`write_table` writes in the body, all or none: each goes into a
        temporary file, and once the body is done all are renamed into place (and recorded in
        ``written``). On any error (a full disk, Ctrl-C) the temporary files are removed and so
        is every table of the folder: none is left to describe other runs than the manifest's."""
        names: set[str] = set()
        try:
            with all_or_none() as files:
                self._pending = (files, names)
                try:
                    yield
                finally:
                    self._pending = None
        except BaseException:
            for name in TABLES:
                with suppress(OSError):
                    (self.path / name).unlink(missing_ok=True)
            self.written.difference_update(TABLES)
            raise
        self.written.update(names)

    def write_table(self, frame: pd.DataFrame, name: str) -> None:
        """A table as Parquet and, for the summaries, CSV beside it (recorded in ``written``);
        inside :meth:`writing_tables`, with the others, all or none."""
        writers = {f"{name}.parquet": lambda tmp: frame.to_parquet(tmp, index=False)}
        if name in CSV_TABLES:
            writers[f"{name}.csv"] = lambda tmp: frame.to_csv(tmp, index=False)
        if self._pending is None:
            write_files({self.path / file: write for file, write in writers.items()})
            self.written.update(writers)
            return
        files, names = self._pending
        for file, write in writers.items():
            files.write(self.path / file, write)
            names.add(file)


__all__ = [
    "ResultsFolder",
    "model_version",
    "now_iso",
    "package_versions",
    "provenance",
    "run_id",
]


#: counts a run records, each at least 0, served and unmet together at most the requests
_COUNTS = ("requests", "served", "unmet")


def check_run_table(
    runs: pd.DataFrame,
    source: str,
    policies: list[str] | None = None,
    columns: Iterable[str] = (),
    numeric: Iterable[str] = (),
) -> None:
    """Refuse (InputError naming ``source`` and the column) a run table no experiment writes: a
    missing one of ``columns``, one of ``numeric`` (those present) not numbers, a design point
    with two done runs of one seed, a policy the experiment does not list, counts below 0 or
    served and unmet above the requests, a share outside 0-1."""
    for column in columns:
        if column not in runs.columns:
            raise InputError(source, column, "missing column")
    for column in numeric:
        if column in runs.columns and not pd.api.types.is_numeric_dtype(runs[column]):
            raise InputError(source, column, "not numbers")
    done = runs[runs["status"] == "done"] if "status" in runs else runs
    if {"point", "seed"} <= set(done.columns) and done.duplicated(["point", "seed"]).any():
        raise InputError(source, "point", "a design point has two done runs of the same seed")
    if policies and "policy" in done:
        unknown = sorted(set(done["policy"].astype(str)) - set(policies))
        if unknown:
            raise InputError(source, "policy", f"{unknown[0]!r} is not one of the experiment's")
    for column in [c for c in _COUNTS if c in done]:
        values = pd.to_numeric(done[column], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise InputError(source, column, "a count that is not a number of 0 or more")
    if (
        set(_COUNTS) <= set(done.columns)
        and (done["served"] + done["unmet"] > done["requests"]).any()
    ):
        raise InputError(source, "served", "more served and unmet than requests in a run")
    for column in [c for c in done.columns if str(c).endswith("_share")]:
        values = pd.to_numeric(done[column], errors="coerce")
        if ((values < 0) | (values > 1)).any():
            raise InputError(source, column, "a share outside 0-1")
