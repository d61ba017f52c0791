"""Running an experiment: tasks to executors, results to the folder, summaries at the end.

Each task runs one (design point, seed) and writes its own Parquet file; the executor returns
only metadata. Executors: this process (one worker), a local process pool, or a Dask
distributed cluster (``--scheduler``). The model is deterministic given its seed, and summaries
are computed from the files in a fixed order, so results are bit-identical whichever executor
or worker count ran them. A run that raises is recorded as failed with its error and seed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment import statistics
from sim.experiment.design import Experiment, seeds_for
from sim.experiment.store import ResultsFolder, now_iso, provenance, run_id
from sim.storage import write_row

#: a run whose worker process dies this many times is recorded as failed
MAX_ATTEMPTS = 3
#: test hook: the first task to see this (absent) marker file creates it and kills its worker
FAULT_ENV = "VOLSIM_FAULT_KILL_ONCE"


@dataclass(frozen=True)
class Task:
    """One run: everything a worker needs, as plain data."""

    run_id: str
    point: int
    sample: int | None
    seed: int
    values: dict[str, Any]
    scenario: dict[str, Any]
    metrics: tuple[str, ...]
    series: tuple[str, ...]
    path: str


def _maybe_die() -> None:
    marker = os.environ.get(FAULT_ENV)
    if marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def execute(task: Task) -> dict[str, Any]:
    """Run one task in this process, write its row, return its metadata."""
    from sim.model import VolunteerModel
    from sim.scenario import Scenario

    _maybe_die()
    row: dict[str, Any] = {
        "run_id": task.run_id,
        "point": task.point,
        "sample": task.sample,
        "seed": task.seed,
        **task.values,
    }
    started = time.perf_counter()
    try:
        model = VolunteerModel(Scenario.model_validate(task.scenario), rng=task.seed)
        model.run()
        summary = model.summary()
        daily = model.daily_table()
        row.update(status="done", error="")
        row.update({m: summary.get(m) for m in task.metrics})
        row.update({f"series.{s}": daily[s].to_list() for s in task.series})
        row.update(model.distributions())
        yearly = model.yearly_table()
        row.update({f"yearly.{c}": yearly[c].to_list() for c in yearly.columns})
    except Exception as error:  # recorded with its seed; the sweep goes on
        row.update(status="failed", error=f"{type(error).__name__}: {error}")
        row["traceback"] = traceback.format_exc(limit=5)
    row["wall_seconds"] = time.perf_counter() - started
    write_row(row, Path(task.path))
    return {k: row[k] for k in ("run_id", "status", "error", "wall_seconds")}


# --- executors -------------------------------------------------------------------------------
Callback = Callable[[dict[str, Any]], None]


def _failed(task: Task, error: str) -> dict[str, Any]:
    row = {"run_id": task.run_id, "point": task.point, "sample": task.sample, "seed": task.seed}
    row.update(task.values)
    row.update(status="failed", error=error, wall_seconds=0.0)
    write_row(row, Path(task.path))
    return {k: row[k] for k in ("run_id", "status", "error", "wall_seconds")}


def _exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: a worker whose experiment process is gone (killed) exits too."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_serial(tasks: list[Task], done: Callback) -> None:
    for task in tasks:
        done(execute(task))


def run_pool(tasks: list[Task], workers: int, done: Callback) -> None:
    """A local process pool; if a worker dies, the pool is rebuilt and unfinished runs retried."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.experiment.runner", "sim.model"])
    attempts = dict.fromkeys((t.run_id for t in tasks), 0)
    remaining = {t.run_id: t for t in tasks}
    while remaining:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {pool.submit(execute, t): t for t in remaining.values()}
            broken = False
            while futures and not broken:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = futures.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    del remaining[task.run_id]
                    done(result)
            if broken:
                for future in futures:
                    future.cancel()
        for run in list(remaining):
            attempts[run] += 1
            if attempts[run] >= MAX_ATTEMPTS:
                done(_failed(remaining.pop(run), f"worker died {MAX_ATTEMPTS} times"))


def run_dask(tasks: list[Task], scheduler: str, done: Callback) -> None:
    """A Dask distributed cluster; tasks whose worker dies are retried by Dask."""
    from distributed import Client, as_completed

    with Client(scheduler, timeout="30s") as client:
        futures = client.map(
            execute,
            tasks,
            key=[f"volsim-run-{t.run_id}" for t in tasks],
            retries=MAX_ATTEMPTS - 1,
            pure=False,
        )
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as error:  # the task kept failing on the cluster
                done(_failed(by_key[future.key], f"{type(error).__name__}: {error}"))


# --- orchestration ---------------------------------------------------------------------------
@dataclass
class RunOptions:
    workers: int = 1
    scheduler: str | None = None
    fresh: bool = False
    target: tuple[str, float] | None = None
    progress: Callable[[int, int, int], None] | None = None


def tasks_for(experiment: Experiment, folder: ResultsFolder, seeds: Iterable[int]) -> list[Task]:
    """Every (design point, seed) task, points outer, seeds inner."""
    tasks = []
    for point in experiment.points:
        scenario = experiment.point_scenario(point).model_dump(mode="json")
        for seed in seeds:
            rid = run_id(scenario, seed)
            tasks.append(
                Task(
                    rid,
                    point.index,
                    point.sample,
                    seed,
                    point.values,
                    scenario,
                    tuple(experiment.metrics),
                    tuple(experiment.series),
                    str(folder.run_path(rid)),
                )
            )
    return tasks


def _execute_missing(tasks: list[Task], folder: ResultsFolder, options: RunOptions) -> int:
    """Run the tasks without a finished file; return how many failed."""
    statuses = folder.run_statuses()
    unique = list({t.run_id: t for t in tasks}.values())  # design points may repeat (Morris)
    todo = [t for t in unique if statuses.get(t.run_id) != "done"]
    total, counts = len(unique), {"done": len(unique) - len(todo), "failed": 0}

    def done(result: dict[str, Any]) -> None:
        counts["done" if result["status"] == "done" else "failed"] += 1
        if options.progress:
            options.progress(counts["done"], counts["failed"], total)

    if options.progress:
        options.progress(counts["done"], 0, total)
    if not todo:
        return 0
    if options.scheduler:
        run_dask(todo, options.scheduler, done)
    elif options.workers > 1 and len(todo) > 1:
        run_pool(todo, options.workers, done)
    else:
        run_serial(todo, done)
    return counts["failed"]


def _seed_rounds(experiment: Experiment, options: RunOptions) -> Iterator[list[int]]:
    yield experiment.seeds
    if options.target is None:
        return
    section = experiment.spec.experiment
    batch = section.batch_seeds or len(experiment.seeds)
    count = len(experiment.seeds)
    while count < section.max_seeds:
        count = min(section.max_seeds, count + batch)
        yield seeds_for(section.root_seed, count)


def run_experiment(experiment: Experiment, out: Path, options: RunOptions) -> dict[str, Any]:
    """Run (or resume) an experiment into ``out``; return its final manifest."""
    folder = ResultsFolder(out)
    sha = experiment.sha256()
    previous = folder.prepare(sha, options.fresh)
    manifest = {
        "experiment": experiment.name,
        "experiment_file": str(experiment.path),
        "experiment_sha256": sha,
        "resolved": experiment.resolved(),
        "root_seed": experiment.spec.experiment.root_seed,
        "created": previous["created"] if previous else now_iso(),
        "sessions": [*(previous or {}).get("sessions", [])],
    }
    session = {"started": now_iso(), "executor": _executor_name(options), **provenance()}
    manifest["sessions"].append(session)
    failed, seeds, tasks = 0, experiment.seeds, []
    for seeds in _seed_rounds(experiment, options):
        tasks = tasks_for(experiment, folder, seeds)
        manifest["seeds"] = seeds
        manifest["runs"] = [{"run_id": t.run_id, "point": t.point, "seed": t.seed} for t in tasks]
        folder.write_manifest(manifest)
        folder.runs_dir.mkdir(exist_ok=True)
        failed = _execute_missing(tasks, folder, options)
        if options.target is None or _target_met(experiment, folder, tasks, options.target):
            break
    write_summaries(experiment, folder, runs_table(folder, tasks, experiment))
    session["finished"] = now_iso()
    manifest["failed_runs"] = failed
    folder.write_manifest(manifest)
    return manifest


def _executor_name(options: RunOptions) -> str:
    if options.scheduler:
        return f"dask:{options.scheduler}"
    return f"local:{options.workers}"


def _target_met(experiment, folder, tasks, target) -> bool:
    metric, halfwidth = target
    runs = runs_table(folder, tasks, experiment)
    return statistics.max_halfwidth(runs, experiment.variables, metric) <= halfwidth


def runs_table(folder: ResultsFolder, tasks: list[Task], experiment: Experiment) -> pd.DataFrame:
    """One row per task, in task order; point, sample and values from the task (a run file may
    serve several identical design points). Every metric has a column, even if no run is done."""
    by_id = folder.read_runs([t.run_id for t in tasks])
    if len(by_id) == 0:
        by_id = pd.DataFrame({"run_id": pd.Series(dtype=str), "status": pd.Series(dtype=str)})
    by_id = by_id.set_index("run_id")
    present = [t for t in tasks if t.run_id in by_id.index]
    rows = by_id.loc[[t.run_id for t in present]].reset_index()
    rows["point"] = [t.point for t in present]
    rows["sample"] = [t.sample for t in present]
    for name in experiment.variables:
        rows[name] = [t.values[name] for t in present]
    for metric in experiment.metrics:
        if metric not in rows.columns:
            rows[metric] = float("nan")
    return rows


def write_summaries(experiment: Experiment, folder: ResultsFolder, runs: pd.DataFrame) -> None:
    """runs, series, summary, differences and (sobol/morris) sensitivity tables."""
    series_columns = [c for c in runs.columns if c.startswith(("series.", "yearly."))]
    folder.write_table(runs.drop(columns=series_columns), "runs")
    folder.write_table(long_table(runs, "series.", "day"), "series")
    if any(c.startswith("yearly.") for c in runs.columns):
        folder.write_table(long_table(runs, "yearly.", None), "yearly")
    variables, metrics = experiment.variables, experiment.metrics
    folder.write_table(statistics.summarize(runs, variables, metrics), "summary")
    baseline = experiment.spec.experiment.baseline_policy
    differences = statistics.paired_differences(runs, variables, metrics, baseline)
    folder.write_table(differences, "differences")
    kind = experiment.spec.design.kind
    if kind in ("sobol", "morris"):
        categorical = experiment.categorical
        if kind == "sobol":
            table = statistics.sobol_indices(
                experiment.problem,
                runs,
                variables,
                metrics,
                categorical,
                second_order=experiment.spec.design.second_order,
            )
        else:
            table = statistics.morris_indices(
                experiment.problem, experiment.sample_matrix, runs, variables, metrics, categorical
            )
        folder.write_table(table, "sensitivity")


def long_table(runs: pd.DataFrame, prefix: str, index: str | None) -> pd.DataFrame:
    """List columns with this prefix in long format: point, seed, [index,] one column each.

    ``index`` names a counter column (1, 2, ...) to add; None when the lists carry their own
    (the yearly series' ``year``).
    """
    done = runs[runs["status"] == "done"] if len(runs) else runs
    names = [c for c in runs.columns if c.startswith(prefix)]
    if len(done) == 0 or not names:
        return pd.DataFrame()
    lengths = done[names[0]].map(len).to_numpy()
    frame = pd.DataFrame(
        {
            "point": np.repeat(done["point"].to_numpy(), lengths),
            "seed": np.repeat(done["seed"].to_numpy(), lengths),
        }
    )
    if index is not None:
        frame[index] = np.concatenate([np.arange(1, n + 1) for n in lengths])
    for name in names:
        frame[name.removeprefix(prefix)] = np.concatenate(done[name].to_numpy())
    return frame
