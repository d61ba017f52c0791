"""The search: an optuna study over the levers, every candidate on the same seeds, the best
re-checked on fresh seeds.

Runs go through the experiment runner (``sim.experiment.runner``: one Parquet file per run,
named by a hash of its scenario and seed, a local process pool, the same stop on Ctrl-C), so a
candidate met twice is simulated once. The study lives in ``DIR/study.db`` (SQLite): a search
killed at any moment resumes with the trials it had; trials it left running are run again with
the same levers (their finished runs are kept).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.experiment import statistics
from sim.experiment.design import canonical_json, seeds_for
from sim.experiment.runner import RunOptions, Stop, Task, _execute_missing
from sim.experiment.store import ResultsFolder, now_iso, provenance, run_id
from sim.optimise.levers import Lever, Objective
from sim.scenario import Scenario
from sim.storage import write_parquet

STUDY_FILE = "study.db"
STUDY_NAME = "volsim"
KIND = "optimise"
#: the tables an optimise folder holds (Parquet and CSV)
TABLES = ("trials", "front", "recheck")
SAMPLERS = ("auto", "tpe", "nsga2", "grid", "random")
#: a search stops when it has asked this many times the trials it had to do (most failed)
MAX_ATTEMPTS_PER_TRIAL = 3


@dataclass
class Search:
    """Everything that defines a search (what its results folder's hash covers, but
    ``trials``: asking for more trials continues the same search)."""

    scenario_file: str
    scenario: Scenario
    levers: list[Lever]
    objectives: list[Objective]
    seeds: int = 3
    recheck_seeds: int = 10
    recheck_top: int = 3
    root_seed: int = 0
    sampler: str = "auto"
    trials: int = 30
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def search_seeds(self) -> list[int]:
        return seeds_for(self.root_seed, self.seeds)

    @property
    def fresh_seeds(self) -> list[int]:
        """Seeds the search never used: the next ones of the same sequence."""
        return seeds_for(self.root_seed, self.seeds + self.recheck_seeds)[self.seeds :]

    def resolved(self) -> dict[str, Any]:
        return {
            "scenario_file": self.scenario_file,
            "scenario": self.scenario.model_dump(mode="json"),
            "overrides": self.overrides,
            "levers": [lever.text for lever in self.levers],
            "objectives": [[o.metric, o.direction] for o in self.objectives],
            "seeds": self.seeds,
            "recheck_seeds": self.recheck_seeds,
            "recheck_top": self.recheck_top,
            "root_seed": self.root_seed,
            "sampler": self.sampler,
        }

    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(canonical_json(self.resolved()).encode()).hexdigest()


def _sampler(search: Search) -> Any:
    import optuna

    name = search.sampler
    if name == "auto":  # TPE is good with small budgets, single or several objectives
        name = "nsga2" if len(search.objectives) > 1 and search.trials >= 200 else "tpe"
    if name == "grid":  # every combination is queued (grid_points); the rest is random
        return optuna.samplers.RandomSampler(seed=search.root_seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=search.root_seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=search.root_seed)
    startup = min(10, max(3, search.trials // 3))
    return optuna.samplers.TPESampler(seed=search.root_seed, n_startup_trials=startup)


def grid_points(search: Search) -> list[dict[str, Any]]:
    """Every combination of the levers' values (``--sampler grid``), in a fixed order."""
    import itertools

    space: dict[str, list[Any]] = {}
    for lever in search.levers:
        part = lever.search_space()
        if part is None:
            raise InputError("--sampler", "grid", f"lever {lever.text!r} is not enumerable")
        space.update(part)
    names = list(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]


def open_study(search: Search, folder: Path) -> Any:
    """The study in ``folder/study.db`` (created or loaded); trials a killed search left
    running are marked failed and their levers queued again."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / STUDY_FILE}")
    study = optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        load_if_exists=True,
        directions=[o.direction for o in search.objectives],
        sampler=_sampler(search),
    )
    if search.sampler == "grid" and not study.get_trials(deepcopy=False):
        for params in grid_points(search):
            study.enqueue_trial(params)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        if trial.params:
            study.enqueue_trial(trial.params, skip_if_exists=False)
    return study


def _complete(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


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


Progress = Callable[[int, int, int], None]


def _progress(options: RunOptions, offset: list[int], total: int) -> Progress | None:
    if options.progress is None:
        return None
    outer = options.progress

    def report(done: int, failed: int, _total: int) -> None:
        outer(offset[0] + done, offset[1] + failed, total)

    return report


def run_search(search: Search, out: Path, options: RunOptions) -> dict[str, Any]:
    """Run (or resume) a search into ``out``; return its manifest. A stop (Ctrl-C, SIGTERM)
    ends it after the runs in flight: the tables hold what is done."""
    stop = Stop(options.notice)
    sha = search.sha256()
    if search.sampler == "grid":
        grid_points(search)  # a lever that cannot be enumerated: refused before any file
    ResultsFolder(out).check(sha, options.fresh)
    with stop.signals(), ResultsFolder(out).locked() as folder:
        try:
            if options.fresh:
                (folder.path / STUDY_FILE).unlink(missing_ok=True)
                for name in TABLES:
                    for suffix in (".parquet", ".csv"):
                        (folder.path / f"{name}{suffix}").unlink(missing_ok=True)
            previous = folder.prepare(sha, options.fresh)
            return _run_locked(search, folder, options, stop, previous)
        finally:
            folder.remove_temporary()


def _run_locked(
    search: Search,
    folder: ResultsFolder,
    options: RunOptions,
    stop: Stop,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    import optuna

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
        folder.runs_dir.mkdir(exist_ok=True)
    except OSError as error:
        raise InputError(str(folder.path), None, f"cannot write: {error}") from None
    study = open_study(search, folder.path)
    done_before = len(_complete(study))
    todo = max(0, search.trials - done_before)
    total = todo * search.seeds + search.recheck_top * search.recheck_seeds
    offset = [0, 0]
    batch_options = RunOptions(
        workers=options.workers, progress=_progress(options, offset, total), notice=options.notice
    )
    waiting = (optuna.trial.TrialState.WAITING,)
    runs: dict[str, dict[str, Any]] = {r["run_id"]: r for r in (previous or {}).get("runs", [])}
    attempts = 0
    while len(_complete(study)) < search.trials and not stop.requested:
        if search.sampler == "grid" and not study.get_trials(deepcopy=False, states=waiting):
            break  # every combination tried
        if attempts >= MAX_ATTEMPTS_PER_TRIAL * todo + 10:
            stop.request(f"{attempts} trials asked, too many failed (see trials.csv, error)")
            break
        attempts += min(max(1, options.workers), search.trials - len(_complete(study)))
        size = min(max(1, options.workers), search.trials - len(_complete(study)))
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
        counts = _execute_missing(tasks, folder, batch_options, stop, None)
        offset[0] += counts["done"]
        offset[1] += counts["failed"]
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
    if not stop.requested and _complete(study):
        recheck = _recheck(search, study, folder, batch_options, stop, runs)
    manifest["runs"] = list(runs.values())
    _write_tables(search, study, folder, recheck)
    manifest["tables_written"] = True
    manifest["complete_trials"] = len(_complete(study))
    manifest["best"] = _best(search, recheck)
    if stop.requested:
        session["stopped"] = manifest["stopped"] = stop.reason
        manifest["interrupted"] = stop.signal
    else:
        session["finished"] = now_iso()
        manifest.pop("stopped", None)
    with suppress(OSError):
        folder.write_manifest(manifest)
    return manifest


def front(search: Search, study: Any) -> list[Any]:
    """Distinct candidates, best first: the whole Pareto front along the first objective
    (several objectives), or every trial by its value (one objective)."""
    if len(search.objectives) > 1:
        chosen = sorted(study.best_trials, key=lambda t: (t.values, t.number))
    else:
        sign = search.objectives[0].sign
        chosen = sorted(_complete(study), key=lambda t: (sign * t.values[0], t.number))
    unique: dict[str, Any] = {}
    for trial in chosen:
        unique.setdefault(trial.user_attrs.get("overrides", ""), trial)
    return list(unique.values())


def candidates(search: Search, study: Any) -> list[Any]:
    """The trials to re-check: the best ``recheck_top`` (one objective), or that many spread
    evenly along the Pareto front, its two ends included (several)."""
    chosen = front(search, study)
    top = max(search.recheck_top, 1)
    if len(search.objectives) == 1 or len(chosen) <= top:
        return chosen[:top]
    picks = sorted({round(i) for i in np.linspace(0, len(chosen) - 1, top)})
    return [chosen[i] for i in picks]


def _recheck(search, study, folder, options, stop, runs) -> pd.DataFrame:
    chosen = candidates(search, study)
    tasks = []
    for trial in chosen:
        scenario = _scenario_for(search, json.loads(trial.user_attrs["overrides"]))
        tasks += _tasks(search, scenario, search.fresh_seeds, trial.number, folder)
    runs.update(_run_entries(tasks))
    _execute_missing(tasks, folder, options, stop, None)
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


def _best(search: Search, recheck: pd.DataFrame) -> dict[str, Any] | None:
    """One objective: the candidate with the best mean on the fresh seeds."""
    if len(recheck) == 0 or len(search.objectives) > 1:
        return None
    sign = search.objectives[0].sign
    row = recheck.loc[(sign * recheck["mean"]).idxmin()]
    return {
        "trial": int(row["trial"]),
        "overrides": json.loads(row["overrides"]),
        "metric": row["metric"],
        "mean": float(row["mean"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "search_mean": float(row["search_mean"]),
    }


def trials_table(search: Search, study: Any) -> pd.DataFrame:
    """One row per trial: number, state, lever parameters, overrides and objective means."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row = {"trial": trial.number, "state": trial.state.name}
        row.update({f"param.{k}": v for k, v in trial.params.items()})
        row["overrides"] = trial.user_attrs.get("overrides", "")
        row["error"] = trial.user_attrs.get("error", "")
        values = trial.values or [math.nan] * len(search.objectives)
        row.update({o.metric: v for o, v in zip(search.objectives, values, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def _write_tables(search, study, folder: ResultsFolder, recheck: pd.DataFrame) -> None:
    trials = trials_table(search, study)
    best = front(search, study) if _complete(study) else []
    if len(search.objectives) == 1:
        best = best[: max(search.recheck_top, 1)]
    order = {t.number: i for i, t in enumerate(best)}
    best_rows = trials[trials["trial"].isin(order)] if len(trials) else trials
    if len(best_rows):
        best_rows = best_rows.sort_values("trial", key=lambda c: c.map(order))
    for name, frame in (("trials", trials), ("front", best_rows), ("recheck", recheck)):
        write_parquet(frame, folder.path / f"{name}.parquet")
        csv = folder.path / f"{name}.csv"
        tmp = csv.with_name(f".{csv.name}.tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(csv)
