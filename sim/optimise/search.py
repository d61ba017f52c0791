"""The search: an optuna study over the levers, every candidate on the same seeds, the best
re-checked on fresh seeds.

Runs go through the experiment runner (``sim.experiment.runner``: one Parquet file per run,
named by a hash of its scenario and seed, a local process pool, the same stop on Ctrl-C), so a
candidate met twice is simulated once. The study lives in ``DIR/study.db`` (SQLite): a search
killed at any moment resumes with the trials it had; trials it left running are run again with
the same levers (their finished runs are kept).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.experiment import statistics
from sim.experiment.runner import RunOptions, Stop, Task, _execute_missing
from sim.experiment.store import (
    LOCK,
    MANIFEST,
    RUNS,
    ResultsFolder,
    exists_or_link,
    now_iso,
    provenance,
    run_id,
    study_problem,
)
from sim.optimise.levers import Objective
from sim.optimise.study import (
    STUDY_FILE,
    Search,
    complete,
    grid_points,
    open_study,
    storage_faults,
)
from sim.optimise.tables import TABLES, best, candidates, front, write_tables
from sim.scenario import Scenario
from sim.storage import remove_created, write_error

KIND = "optimise"
#: a search stops when it has asked this many times the trials it had to do (most failed)
MAX_ATTEMPTS_PER_TRIAL = 3


def _tasks(
    search: Search, scenario: dict[str, Any], seeds: list[int], point: int, folder: ResultsFolder
) -> list[Task]:
    metrics = tuple(o.metric for o in search.objectives)
    return [
        Task(
            run_id(scenario, seed),
            point,
            None,
            seed,
            {"trial": point},
            scenario,
            metrics,
            (),
            str(folder.run_path(run_id(scenario, seed))),
        )
        for seed in seeds
    ]


def _run_entries(tasks: list[Task]) -> dict[str, dict[str, Any]]:
    """The manifest's run list entries of these tasks (``volsim status`` reads them)."""
    return {t.run_id: {"run_id": t.run_id, "point": t.point, "seed": t.seed} for t in tasks}


def _candidate(search: Search, trial: Any) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for lever in search.levers:
        overrides.update(lever.suggest(trial))
    return overrides


def _scenario_for(search: Search, overrides: dict[str, Any]) -> dict[str, Any]:
    return scenario_module.with_overrides(search.scenario, overrides).model_dump(mode="json")


def _means(folder: ResultsFolder, tasks: list[Task], objectives: list[Objective]) -> list[float]:
    """The objectives' means over the tasks' runs (NaN if a run is missing or failed)."""
    rows = folder.read_runs([t.run_id for t in tasks])
    if len(rows) < len({t.run_id for t in tasks}) or (rows["status"] != "done").any():
        return [math.nan] * len(objectives)
    with warnings.catch_warnings():  # a metric no run defines is NaN: the trial fails
        warnings.simplefilter("ignore", RuntimeWarning)
        return [float(np.nanmean(rows[o.metric].astype(float))) for o in objectives]


class _Progress:
    """Runs done and failed over the whole search, against the runs it will make: the total
    is what ran so far and what is still planned (the trials still to do, each on every search
    seed, and the re-check), so it grows when a trial fails and another is asked in its place
    and done + failed never pass it. A run counts once per trial that needs it (a candidate
    met again is not simulated again, but counted done at once)."""

    def __init__(self, options: RunOptions) -> None:
        self.outer = options.progress
        self.done = 0
        self.failed = 0
        self.total = 0
        self.options = RunOptions(
            workers=options.workers,
            progress=self._report if options.progress else None,
            notice=options.notice,
        )

    def plan(self, runs: int) -> None:
        """The runs still to come, from now on."""
        self.total = self.done + self.failed + runs

    def add(self, counts: dict[str, int]) -> None:
        """A batch ended with these counts (``_execute_missing``'s)."""
        self.done += counts["done"]
        self.failed += counts["failed"]

    def _report(self, done: int, failed: int, _total: int) -> None:
        if self.outer is not None:
            self.outer(self.done + done, self.failed + failed, self.total)


def _recheck_runs(search: Search) -> int:
    """The re-check's runs at most (fewer if fewer distinct candidates are found)."""
    return search.recheck_top * search.recheck_seeds


def _trials_left(search: Search, study: Any, asked: int = 0) -> int:
    """Trials still to do after the ``asked`` ones now running: the trials asked for less
    those complete (and, ``--sampler grid``, no more than the combinations still queued)."""
    import optuna

    left = max(0, search.trials - len(complete(study)) - asked)
    if search.sampler == "grid":
        waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
        left = min(left, len(waiting))
    return left


#: the longest folder name ``default_out`` makes (in bytes; most file systems take 255)
MAX_FOLDER_NAME = 128
#: what may not be in one folder name: separators, control characters
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]+")


def default_out(scenario: Scenario) -> Path:
    """The default results folder, ``results/optimise-<scenario name>``, always one folder in
    ``results``: a name with separators or control characters (``../../x``) has them replaced
    by ``-``, and a long one is cut short, each with a short hash of the name added, so two
    names never share a folder (and a folder holding another search is refused anyway)."""
    name = scenario.scenario.name
    folder = f"optimise-{_UNSAFE.sub('-', name)}"
    if folder != f"optimise-{name}" or len(folder.encode()) > MAX_FOLDER_NAME:
        tag = f"-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        room = MAX_FOLDER_NAME - len(tag)
        folder = folder.encode()[:room].decode(errors="ignore") + tag
    return Path("results") / folder


@dataclass
class _Before:
    """What a results folder held before this search started in it."""

    created: Path | None  # the topmost folder this search makes (None: the folder was there)
    present: frozenset[str]  # which of MANIFEST, RUNS, LOCK, STUDY_FILE were there

    @classmethod
    def look(cls, out: Path) -> _Before:
        missing = [p for p in [out, *out.parents] if not exists_or_link(p)]
        names = (MANIFEST, RUNS, LOCK, STUDY_FILE)
        return cls(
            missing[-1] if missing else None, frozenset(n for n in names if exists_or_link(out / n))
        )

    def restore(self, out: Path) -> None:
        """Put the folder back as it was after a start cut short (no trial asked, no run
        done): remove the manifest, ``runs``, lock and study this search made, and the
        folders it created, if empty."""
        for name in (MANIFEST, STUDY_FILE, LOCK):
            if name not in self.present:
                with suppress(OSError):
                    (out / name).unlink(missing_ok=True)
        if RUNS not in self.present:
            with suppress(OSError):
                (out / RUNS).rmdir()
        remove_created(self.created)


def run_search(search: Search, out: Path, options: RunOptions) -> dict[str, Any]:
    """Run (or resume) a search into ``out``; return its manifest. A stop (Ctrl-C, SIGTERM)
    ends it after the runs in flight: the tables hold what is done. A fault (a full disk) is
    an OutputError naming the file: before the study is open, the folder is left as it was
    (a new one removed); after, it resumes with the trials it has."""
    stop = Stop(options.notice)
    sha = search.sha256()
    if search.sampler == "grid":
        grid_points(search)  # a lever that cannot be enumerated: refused before any file
    ResultsFolder(out).check(sha, options.fresh)
    study_file = out / STUDY_FILE
    problem = None if options.fresh or not study_file.exists() else study_problem(study_file)
    if problem:
        raise InputError(
            str(study_file),
            None,
            f"{problem}: delete it to search again (runs already done are reused)",
        )
    before = _Before.look(out)
    entered = False
    try:
        with stop.signals(), ResultsFolder(out).locked() as folder:
            entered = True
            try:
                try:
                    previous, manifest, session, study = _start(search, folder, options)
                except BaseException:
                    before.restore(folder.path)
                    raise
                with storage_faults(folder.path / STUDY_FILE):  # a full disk: one line
                    return _run_locked(
                        search, folder, options, stop, previous, manifest, session, study
                    )
            finally:
                folder.remove_temporary()
    except OSError as error:
        if entered:
            raise
        before.restore(out)  # the lock could not be written
        raise write_error(error, out / LOCK, "the lock") from None


def _start(
    search: Search, folder: ResultsFolder, options: RunOptions
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any], Any]:
    """Take the folder, write the session's manifest and open the study: (the previous
    manifest, the manifest, its session, the study)."""
    if options.fresh:
        (folder.path / STUDY_FILE).unlink(missing_ok=True)
        for name in TABLES:
            for suffix in (".parquet", ".csv"):
                (folder.path / f"{name}{suffix}").unlink(missing_ok=True)
    previous = folder.prepare(search.sha256(), options.fresh)
    manifest = {
        "kind": KIND,
        "experiment": f"optimise-{search.scenario.scenario.name}",
        "experiment_sha256": search.sha256(),
        "resolved": search.resolved(),
        "trials": search.trials,
        "search_seeds": search.search_seeds,
        "fresh_seeds": search.fresh_seeds,
        "study": STUDY_FILE,
        "created": (previous or {}).get("created") or now_iso(),
        "sessions": [*(previous or {}).get("sessions", [])],
        "runs": [],
    }
    session = {"started": now_iso(), "executor": f"local:{options.workers}", **provenance()}
    manifest["sessions"].append(session)
    try:
        folder.write_manifest(manifest)
    except OSError as error:
        raise write_error(error, folder.manifest_path, "the manifest") from None
    try:
        folder.runs_dir.mkdir(exist_ok=True)
    except OSError as error:
        raise write_error(error, folder.runs_dir, "the runs folder") from None
    return previous, manifest, session, open_study(search, folder.path)


def _run_locked(
    search: Search,
    folder: ResultsFolder,
    options: RunOptions,
    stop: Stop,
    previous: dict[str, Any] | None,
    manifest: dict[str, Any],
    session: dict[str, Any],
    study: Any,
) -> dict[str, Any]:
    import optuna

    done_before = len(complete(study))
    todo = max(0, search.trials - done_before)
    progress = _Progress(options)
    progress.plan(_trials_left(search, study) * search.seeds + _recheck_runs(search))
    waiting = (optuna.trial.TrialState.WAITING,)
    runs: dict[str, dict[str, Any]] = {r["run_id"]: r for r in (previous or {}).get("runs", [])}
    attempts = 0
    while len(complete(study)) < search.trials and not stop.requested:
        if search.sampler == "grid" and not study.get_trials(deepcopy=False, states=waiting):
            break  # every combination tried
        if attempts >= MAX_ATTEMPTS_PER_TRIAL * todo + 10:
            stop.request(f"{attempts} trials asked, too many failed (see trials.csv, error)")
            break
        attempts += min(max(1, options.workers), search.trials - len(complete(study)))
        size = min(max(1, options.workers), search.trials - len(complete(study)))
        batch = []
        for _ in range(size):
            trial = study.ask()
            try:
                overrides = _candidate(search, trial)
                scenario = _scenario_for(search, overrides)
            except InputError as error:  # a lever value the scenario refuses
                trial.set_user_attr("error", str(error))
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            trial.set_user_attr("overrides", json.dumps(overrides))
            seeds = search.search_seeds
            batch.append((trial, _tasks(search, scenario, seeds, trial.number, folder)))
        tasks = [t for _, ts in batch for t in ts]
        runs.update(_run_entries(tasks))
        after = _trials_left(search, study, len(batch)) * search.seeds
        progress.plan(len({t.run_id for t in tasks}) + after + _recheck_runs(search))
        counts = _execute_missing(tasks, folder, progress.options, stop, None)
        progress.add(counts)
        if stop.requested:
            break  # trials of the batch stay "running": a resume runs them again
        for trial, trial_tasks in batch:
            values = _means(folder, trial_tasks, search.objectives)
            if any(math.isnan(v) for v in values):
                trial.set_user_attr("error", "a run failed or a metric is undefined (NaN)")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, values)
    recheck = pd.DataFrame()
    if not stop.requested and complete(study):
        recheck = _recheck(search, study, folder, progress, stop, runs)
    manifest["runs"] = list(runs.values())
    write_tables(search, study, folder, recheck)
    manifest["tables_written"] = True
    manifest["complete_trials"] = len(complete(study))
    manifest["best"] = best(search, recheck)
    manifest["front_size"] = len(front(search, study)) if complete(study) else 0
    manifest["rechecked"] = int(recheck["trial"].nunique()) if len(recheck) else 0
    if stop.requested:
        session["stopped"] = manifest["stopped"] = stop.reason
        manifest["interrupted"] = stop.signal
    else:
        session["finished"] = now_iso()
        manifest.pop("stopped", None)
    with suppress(OSError):
        folder.write_manifest(manifest)
    return manifest


def _recheck(search, study, folder, progress: _Progress, stop, runs) -> pd.DataFrame:
    chosen = candidates(search, study)
    tasks = []
    for trial in chosen:
        scenario = _scenario_for(search, json.loads(trial.user_attrs["overrides"]))
        tasks += _tasks(search, scenario, search.fresh_seeds, trial.number, folder)
    runs.update(_run_entries(tasks))
    progress.plan(len({t.run_id for t in tasks}))
    progress.add(_execute_missing(tasks, folder, progress.options, stop, None))
    rows = folder.read_runs([t.run_id for t in tasks])
    if len(rows) == 0:
        return pd.DataFrame()
    by_id = rows.set_index("run_id")
    runs = pd.DataFrame(
        [{**by_id.loc[t.run_id].to_dict(), "run_id": t.run_id, "point": t.point} for t in tasks]
    )
    runs["trial"] = runs["point"]
    metrics = [o.metric for o in search.objectives]
    table = statistics.summarize(runs, ["trial"], metrics).drop(columns="point")
    searched = {
        (t.number, o.metric): t.values[i] for t in chosen for i, o in enumerate(search.objectives)
    }
    table["search_mean"] = [searched[(r.trial, r.metric)] for r in table.itertuples()]
    table["direction"] = table["metric"].map({o.metric: o.direction for o in search.objectives})
    overrides = {t.number: t.user_attrs["overrides"] for t in chosen}
    table["overrides"] = table["trial"].map(overrides)
    return table
