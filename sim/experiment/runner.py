"""Running an experiment: tasks to executors, results to the folder, summaries at the end.

Each task runs one (design point, seed) and writes its own Parquet file; the executor returns
only metadata. Executors: this process (one worker), a local process pool, or a Dask
distributed cluster (``--scheduler``). The model is deterministic given its seed, and summaries
are computed from the files in a fixed order, so results are bit-identical whichever executor
or worker count ran them. A run that raises is recorded as failed with its error and seed.

The first SIGINT or SIGTERM stops the sweep: no new runs start, runs in flight get ``GRACE_S``
seconds, and the tables are written for what is done. The second ends it at once (workers
killed, temporary files removed). Pool workers ignore the terminal's signals (they leave its
process group), so the experiment process alone decides.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.community import layout_table
from sim.district import build_place_layout
from sim.errors import EXIT_INTERRUPTED, InputError
from sim.experiment import statistics
from sim.experiment.design import Experiment, seeds_for
from sim.experiment.store import (
    ResultsFolder,
    model_version,
    now_iso,
    package_versions,
    provenance,
    run_id,
)
from sim.storage import write_error, write_row

#: a run whose worker process dies this many times is recorded as failed
MAX_ATTEMPTS = 3
#: test hook: the first run to see this (absent) marker file after its first simulated day
#: creates it and kills its worker (mid-run)
FAULT_ENV = "VOLSIM_FAULT_KILL_ONCE"
#: a Dask scheduler that does not answer within this many seconds is refused
CONNECT_TIMEOUT_S = 5


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
    #: a run still going after this many seconds ends as failed (None: no limit)
    timeout_s: float | None = None


class RunTimeout(Exception):
    """A run exceeded ``--run-timeout``; it is recorded as failed with this reason."""


class WrongVersion(Exception):
    """The worker runs another volsim version than the one the run id was made for."""


def _maybe_die() -> None:
    marker = os.environ.get(FAULT_ENV)
    if marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def execute(task: Task, check: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run one task in this process, write its row, return its metadata.

    ``check`` is called after every simulated day (it may raise to end the run).
    """
    from sim.model import VolunteerModel
    from sim.scenario import Scenario

    row: dict[str, Any] = {
        "run_id": task.run_id,
        "point": task.point,
        "sample": task.sample,
        "seed": task.seed,
        **task.values,
    }
    started = time.perf_counter()
    deadline = None if task.timeout_s is None else started + task.timeout_s

    def on_day(day: int) -> None:
        if day == 1:
            _maybe_die()  # the test hook kills its worker in the middle of a run
        if deadline is not None and time.perf_counter() > deadline:
            raise RunTimeout(f"exceeded --run-timeout {task.timeout_s:g} s (on day {day})")
        if check is not None:
            check()

    try:
        if run_id(task.scenario, task.seed) != task.run_id:  # run ids embed the model version
            raise WrongVersion(
                f"this worker runs volsim {model_version()}, not the version the run id is for"
            )
        model = VolunteerModel(Scenario.model_validate(task.scenario), rng=task.seed)
        model.run(on_day=on_day)
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
    return _write(row, Path(task.path))


# --- stopping ---------------------------------------------------------------------------------
#: after a stop (Ctrl-C, SIGTERM, a write error), runs in flight get this long to finish
GRACE_S = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A second Ctrl-C (or SIGTERM): the sweep ends at once, without tables."""


class _Abandoned(BaseException):
    """An in-process run cut short after the grace period (its run stays missing)."""


class Stop:
    """A request to stop a sweep: no new runs start, runs in flight get ``GRACE_S`` seconds.

    The first SIGINT or SIGTERM requests a stop; the second raises ``Interrupted`` (a hard
    stop); a third exits at once. A write error requests a stop too.
    """

    def __init__(self, notice: Callable[[str], None] | None = None) -> None:
        self.reason: str | None = None
        self.signal: str | None = None
        self._at = 0.0
        self._signals = 0
        self._notice = notice
        self._announced = False

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason, self._at = reason, time.monotonic()

    def grace_over(self) -> bool:
        return self.requested and time.monotonic() - self._at > GRACE_S

    def announce(self, in_flight: int) -> None:
        """Say once, from the main loop, that the sweep is stopping."""
        if self._announced or not self.requested:
            return
        self._announced = True
        if self._notice is not None:
            wait_text = (
                f"; waiting up to {GRACE_S:g} s for {in_flight} run(s) in progress"
                if in_flight
                else ""
            )
            again = " (Ctrl-C again to stop at once)" if self.signal else ""
            self._notice(f"{self.reason}: stopping{wait_text}{again}")

    def check_in_process(self) -> None:
        """Called between simulated days of a run in this process: end it after the grace."""
        if self.grace_over():
            raise _Abandoned

    def _handle(self, signum: int, frame: Any) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            self.signal = name
            self.request(name)
        elif self._signals == 2:
            raise Interrupted(name)
        else:
            os._exit(EXIT_INTERRUPTED)

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while the body runs (in the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                # once stopping, a late second signal must not cut the last lines short
                signal.signal(number, signal.SIG_IGN if self._signals else handler)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while starting worker processes; they inherit the mask."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --- executors -------------------------------------------------------------------------------
Callback = Callable[[dict[str, Any]], None]


def _result(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("run_id", "status", "error", "wall_seconds")}


def _write(row: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write a run's row; a write error (a full disk, a folder gone read-only) is returned as
    status "unwritten", which stops the sweep (the run stays missing and runs on resume)."""
    try:
        write_row(row, path)
    except OSError as error:
        reason = error.strerror or str(error)
        return {**_result(row), "status": "unwritten", "error": f"cannot write {path}: {reason}"}
    except InputError as error:  # a pipe or a folder where the run's file goes
        return {**_result(row), "status": "unwritten", "error": str(error)}
    return _result(row)


def _failed(task: Task, error: str) -> dict[str, Any]:
    row = {"run_id": task.run_id, "point": task.point, "sample": task.sample, "seed": task.seed}
    row.update(task.values)
    row.update(status="failed", error=error, wall_seconds=0.0)
    return _write(row, Path(task.path))


def worker_init(parent_pid: int) -> None:
    """Pool initializer: leave the terminal's process group (Ctrl-C and a SIGTERM to the group
    reach only the experiment process, which decides), and exit if that process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    os.setpgrp()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_serial(tasks: list[Task], done: Callback, stop: Stop) -> None:
    for task in tasks:
        if stop.requested:
            stop.announce(0)
            return
        try:
            done(execute(task, stop.check_in_process))
        except _Abandoned:
            return


def end_pool(pool: ProcessPoolExecutor, kill: bool) -> None:
    """Shut a pool down; with ``kill``, its workers first (runs in flight are lost)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if kill:
        for process in processes:
            with suppress(OSError, ValueError):
                process.kill()
        for process in processes:
            process.join(timeout=5)
    pool.shutdown(wait=not kill, cancel_futures=True)


def new_pool(workers: int, preload: list[str]) -> ProcessPoolExecutor:
    """A pool of ``workers`` forkserver processes (no fork of a threaded process) with
    ``preload`` imported once, whose workers ignore the terminal's signals and leave its process
    group (this process decides when they stop)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    with signals_blocked():
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=worker_init,
            initargs=(os.getpid(),),
        )


def run_pool(tasks: list[Task], workers: int, done: Callback, stop: Stop) -> None:
    """A local process pool with at most ``workers`` runs in flight (so a stop has nothing
    queued to cancel); if a worker dies, the pool is rebuilt and its runs retried."""
    attempts = dict.fromkeys((t.run_id for t in tasks), 0)
    queue = deque(tasks)
    while queue and not stop.requested:
        pool = new_pool(workers, ["sim.experiment.runner", "sim.model"])
        running: dict[Any, Task] = {}
        broken = False
        try:
            while (queue or running) and not broken:
                while queue and len(running) < workers and not stop.requested:
                    task = queue.popleft()
                    with signals_blocked():
                        running[pool.submit(execute, task)] = task
                if stop.requested:
                    stop.announce(len(running))
                    if not running or stop.grace_over():
                        break
                finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        running[future] = task
                        continue
                    except Exception as error:  # the task could not be sent or returned
                        result = _failed(task, f"{type(error).__name__}: {error}")
                    done(result)
            if broken:
                for task in running.values():
                    attempts[task.run_id] += 1
                    if attempts[task.run_id] >= MAX_ATTEMPTS:
                        done(_failed(task, f"worker died {MAX_ATTEMPTS} times"))
                    else:
                        queue.appendleft(task)
                running.clear()
        finally:
            end_pool(pool, kill=bool(running))


#: packages whose versions must agree between this machine and every Dask worker
SAME_VERSIONS = ("volsim", "mesa", "numpy")


def connect(scheduler: str, tls: dict[str, str] | None = None) -> Any:
    """A Dask client of this scheduler whose workers run this machine's volsim, mesa and numpy.

    A scheduler that cannot be reached within ``CONNECT_TIMEOUT_S``, or workers with other
    versions, are bad input (nothing has been written yet). ``tls`` holds the files of
    ``distributed.security.Security`` (without them, Dask's configuration applies).
    """
    from distributed import Client
    from distributed.security import Security

    security = Security(require_encryption=True, **tls) if tls else None
    client = Client.__new__(Client)
    try:
        client.__init__(
            scheduler,
            timeout=f"{CONNECT_TIMEOUT_S}s",
            set_as_default=False,
            security=security,
        )
    except Exception as error:  # refused, timed out, a bad address, TLS, not a Dask scheduler
        # a client that never connected has nothing to close: don't let it try (10 s)
        client.status = "closed"
        with suppress(Exception):
            client._loop_runner.stop()
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, MemoryError):  # it answered with something else than Dask's frames
            text = "whatever answers there does not speak Dask's protocol"
        raise InputError("--scheduler", scheduler, f"cannot connect: {text}") from None
    try:
        _check_versions(client, scheduler)
    except BaseException:
        client.close(timeout=2)
        raise
    return client


def _check_versions(client: Any, scheduler: str) -> None:
    """Refuse workers whose volsim, mesa or numpy differ from this machine's (Dask itself
    only warns, and only about its own packages)."""
    here = package_versions()
    try:
        workers = client.run(package_versions)
    except Exception as error:
        text = f"{type(error).__name__}: {error}".splitlines()[0]
        raise InputError(
            "--scheduler", scheduler, f"cannot ask the workers their versions ({text})"
        ) from None
    for worker, versions in sorted(workers.items()):
        differ = [
            f"{name} {versions.get(name)} (here {here[name]})"
            for name in SAME_VERSIONS
            if versions.get(name) != here[name]
        ]
        if differ:
            raise InputError(
                "--scheduler",
                scheduler,
                f"worker {worker} runs {', '.join(differ)}: install the same versions everywhere",
            )


def run_dask(tasks: list[Task], client: Any, done: Callback, stop: Stop) -> None:
    """A Dask distributed cluster; tasks whose worker dies are retried by Dask. On a stop,
    queued tasks are cancelled and those in flight get the grace period."""
    from distributed import as_completed

    futures = client.map(
        execute,
        tasks,
        key=[f"volsim-run-{t.run_id}" for t in tasks],
        retries=MAX_ATTEMPTS - 1,
        pure=False,
    )
    by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
    pending = {f.key: f for f in futures}
    completed = as_completed(futures, loop=client.loop)
    queued_cancelled = False
    try:
        while pending:
            if stop.requested and not queued_cancelled:
                queued_cancelled = True
                processing = set().union(*client.processing().values())
                queued = [f for k, f in pending.items() if k not in processing]
                client.cancel(queued)
                for future in queued:
                    del pending[future.key]
                stop.announce(len(pending))
                continue
            if stop.grace_over():
                break
            batch = completed.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
                continue
            for future in batch:
                if pending.pop(future.key, None) is None or future.cancelled():
                    continue
                try:
                    result = future.result()
                except Exception as error:  # the task kept failing on the cluster
                    result = _failed(by_key[future.key], f"{type(error).__name__}: {error}")
                done(result)
    finally:
        if pending:
            with suppress(Exception):
                client.cancel(list(pending.values()))


# --- orchestration ---------------------------------------------------------------------------
@dataclass
class RunOptions:
    workers: int = 1
    scheduler: str | None = None
    fresh: bool = False
    target: tuple[str, float] | None = None
    progress: Callable[[int, int, int], None] | None = None
    notice: Callable[[str], None] | None = None
    run_timeout_s: float | None = None
    #: TLS files for the Dask scheduler: Security() keyword arguments (tls_ca_file, ...);
    #: empty: Dask's configuration (distributed.comm.tls.*) applies
    tls: dict[str, str] = field(default_factory=dict)


def tasks_for(
    experiment: Experiment,
    folder: ResultsFolder,
    seeds: Iterable[int],
    timeout_s: float | None = None,
) -> list[Task]:
    """Every (design point, seed) task, points outer, seeds inner; with a posterior, each
    seed's accepted set is applied and recorded with the point's values."""
    tasks = []
    for point in experiment.points:
        scenario = experiment.point_scenario(point).model_dump(mode="json")
        for seed in seeds:
            drawn = experiment.posterior_values(seed)
            if drawn:
                scenario = experiment.run_scenario(point, seed).model_dump(mode="json")
            rid = run_id(scenario, seed)
            tasks.append(
                Task(
                    rid,
                    point.index,
                    point.sample,
                    seed,
                    {**point.values, **drawn},
                    scenario,
                    tuple(experiment.metrics),
                    tuple(experiment.series),
                    str(folder.run_path(rid)),
                    timeout_s,
                )
            )
    return tasks


def _execute_missing(
    tasks: list[Task], folder: ResultsFolder, options: RunOptions, stop: Stop, client: Any
) -> dict[str, int]:
    """Run the tasks without a finished file; return the counts of done and failed runs."""
    statuses, damaged = folder.inspect_runs({t.run_id: t.seed for t in tasks})
    if damaged and options.notice:
        path, problem = next(iter(damaged.items()))
        more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        options.notice(
            f"damaged run file {path} ({problem}){more}: running again (volsim status lists them)"
        )
    unique = list({t.run_id: t for t in tasks}.values())  # design points may repeat (Morris)
    todo = [t for t in unique if statuses.get(t.run_id) != "done"]
    total = len(unique)
    counts = {"done": total - len(todo), "failed": 0, "total": total}

    def done(result: dict[str, Any]) -> None:
        if result["status"] == "unwritten":
            stop.request(result["error"])
            return
        counts["done" if result["status"] == "done" else "failed"] += 1
        if options.progress:
            options.progress(counts["done"], counts["failed"], total)

    if options.progress:
        options.progress(counts["done"], 0, total)
    if not todo:
        return counts
    if client is not None:
        run_dask(todo, client, done, stop)
    elif options.workers > 1 and len(todo) > 1:
        run_pool(todo, options.workers, done, stop)
    else:
        run_serial(todo, done, stop)
    return counts


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
    """Run (or resume) an experiment into ``out``; return its final manifest.

    A stop (the first SIGINT or SIGTERM, or a write error) ends the sweep early: the tables
    are written for what is done, and the manifest's ``stopped`` says why. A second signal
    raises ``Interrupted`` after the workers are gone and temporary files removed.
    """
    stop = Stop(options.notice)
    ResultsFolder(out).check(experiment.sha256(), options.fresh)  # refused: nothing written
    client = connect(options.scheduler, options.tls) if options.scheduler else None
    try:
        with stop.signals(), ResultsFolder(out).locked() as folder:
            try:
                return _run_locked(experiment, folder, options, stop, client)
            finally:
                folder.remove_temporary()
    finally:
        if client is not None:
            with suppress(Exception):
                client.close(timeout=2)


def _run_locked(
    experiment: Experiment,
    folder: ResultsFolder,
    options: RunOptions,
    stop: Stop,
    client: Any,
) -> dict[str, Any]:
    sha = experiment.sha256()
    previous = folder.prepare(sha, options.fresh)
    manifest = {
        "experiment": experiment.name,
        "experiment_file": str(Path(experiment.path).absolute()),
        "experiment_sha256": sha,
        "resolved": experiment.resolved(),
        "root_seed": experiment.spec.experiment.root_seed,
        "created": (previous or {}).get("created") or now_iso(),
        "sessions": [*(previous or {}).get("sessions", [])],
    }
    session = {"started": now_iso(), "executor": _executor_name(options), **provenance()}
    manifest["sessions"].append(session)
    tasks: list[Task] = []
    for seeds in _seed_rounds(experiment, options):
        tasks = tasks_for(experiment, folder, seeds, options.run_timeout_s)
        manifest["seeds"] = seeds
        manifest["runs"] = [{"run_id": t.run_id, "point": t.point, "seed": t.seed} for t in tasks]
        # before any run of this round, nothing half-written: a read-only place is a bad
        # --out (exit 2), a full disk a fault (exit 1); a folder new with this run is removed
        try:
            folder.write_manifest(manifest)
        except OSError as error:
            raise write_error(error, folder.manifest_path, "the manifest") from None
        try:
            folder.runs_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise write_error(error, folder.runs_dir, "the runs folder") from None
        _execute_missing(tasks, folder, options, stop, client)
        if stop.requested:
            break
        if options.target is None or _target_met(experiment, folder, tasks, options.target):
            break
    runs = runs_table(folder, tasks, experiment)
    statuses = runs.drop_duplicates("run_id")["status"]  # what the files say, all executors
    manifest["failed_runs"] = int((statuses == "failed").sum())
    manifest["done_runs"] = int((statuses == "done").sum())
    manifest["tables_written"] = True
    try:
        write_summaries(experiment, folder, runs)  # all or none
    except OSError as error:
        manifest["tables_written"] = False
        where = error.filename or f"the tables in {folder.path}"
        stop.request(f"cannot write {where}: {error.strerror or error}")
    if stop.requested:
        session["stopped"] = stop.reason
        manifest["stopped"] = stop.reason
        manifest["interrupted"] = stop.signal
    else:
        session["finished"] = now_iso()
    with suppress(OSError):  # a full disk: the manifest of the last round stays
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
    rows["seed"] = [t.seed for t in present]  # also when no run has a file yet (a stop)
    for name in experiment.variables:
        rows[name] = [t.values[name] for t in present]
    for metric in experiment.metrics:
        if metric not in rows.columns:
            rows[metric] = float("nan")
    return rows


def write_summaries(experiment: Experiment, folder: ResultsFolder, runs: pd.DataFrame) -> None:
    """runs, series, summary, differences and (sobol/morris) sensitivity tables, all or none
    (a full disk or Ctrl-C leaves no table: :meth:`ResultsFolder.writing_tables`)."""
    with folder.writing_tables():
        _write_summaries(experiment, folder, runs)


def _write_summaries(experiment: Experiment, folder: ResultsFolder, runs: pd.DataFrame) -> None:
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
    write_layout(experiment, folder)
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


def write_layout(experiment: Experiment, folder: ResultsFolder) -> None:
    """The layout beside the tables, for the report's map (sim.community.layout_table): the
    base scenario's when its buildings stand still in every run; none otherwise."""
    scenario = experiment.scenario
    if not scenario.community.fixed_layout:
        return
    rng = np.random.default_rng(scenario.community.layout_seed)
    folder.write_table(layout_table(build_place_layout(scenario, rng)), "layout")


def long_table(runs: pd.DataFrame, prefix: str, index: str | None) -> pd.DataFrame:
    """List columns with this prefix in long format: point, seed, [index,] one column each.

    ``index`` names a counter column (1, 2, ...) to add; None when the lists carry their own
    (the yearly series' ``year``).
    """
    done = runs[runs["status"] == "done"] if len(runs) else runs
    names = [c for c in runs.columns if c.startswith(prefix)]
    if len(done) == 0 or not names:
        return pd.DataFrame()
    # runs without the series (a four-week scenario beside yearly ones) have no lists
    done = done[done[names[0]].map(lambda value: hasattr(value, "__len__"))]
    if len(done) == 0:
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
