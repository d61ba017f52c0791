"""Ctrl-C and SIGTERM during ``volsim experiment``, sent to a real process group as a terminal
does: one stops the sweep within the grace period and writes the tables for what is done; a
second ends it at once. No hang, no temporary files, no leaked semaphores, no stray workers.

Each run simulates 30 days of Chaoyangli (a fraction of a second), so a sweep is mid-way when
the signal comes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sim.errors import EXIT_INTERRUPTED
from sim.experiment.runner import GRACE_S

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 6
TOTAL = 2 * SEEDS


def write_experiment(path: Path) -> Path:
    scenario = json.dumps(str(ROOT / "scenarios" / "chaoyangli.toml"))
    path.write_text(
        f"""[experiment]
name = "signals"
scenario = {scenario}
days = 20
seeds = {SEEDS}
root_seed = 11

[variables]
policy = ["nearest", "broadcast"]
""",
        encoding="utf-8",
    )
    return path


def start(path: Path, out: Path, *options: str) -> subprocess.Popen:
    """``volsim experiment`` in a process group of its own, as a shell starts a job."""
    command = [sys.executable, "-m", "sim", "experiment", str(path), "--out", str(out)]
    return subprocess.Popen(
        [*command, *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet"))


def wait_for_runs(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(run_files(out)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no runs finished in 120 s"
        time.sleep(0.02)


def descendants(pid: int) -> list[psutil.Process]:
    with suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).children(recursive=True)
    return []


def finish(process: subprocess.Popen, timeout: float) -> tuple[str, str, float]:
    """Wait for the process; return its output and how long it took."""
    started = time.monotonic()
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"still running {timeout} s after the signal")
    return out, err, time.monotonic() - started


def assert_clean(out: Path, err: str, workers: list[psutil.Process]) -> None:
    assert "Traceback" not in err, err
    assert "leaked" not in err and "resource_tracker" not in err, err
    assert not list(out.rglob("*.tmp")), "temporary files left"
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"worker processes left: {alive}"


def assert_tables_for_what_is_done(out: Path) -> int:
    runs = pd.read_parquet(out / "runs.parquet")
    done = len(runs)
    assert 0 < done < TOTAL, "stopped mid-sweep"
    assert set(runs["run_id"]) <= {p.stem for p in run_files(out)}
    assert (runs["status"] == "done").all()
    summary = pd.read_parquet(out / "summary.parquet")
    requests = summary[summary["metric"] == "requests"]
    assert requests["n"].sum() == done
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["done_runs"] == done
    assert "finished" not in manifest["sessions"][-1]
    return done


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory) -> Path:
    return write_experiment(tmp_path_factory.mktemp("signals") / "signals.toml")


@pytest.mark.parametrize(
    ("number", "workers"),
    [(signal.SIGINT, "2"), (signal.SIGTERM, "2"), (signal.SIGINT, "1")],
    ids=["ctrl-c-pool", "sigterm-pool", "ctrl-c-serial"],
)
def test_one_signal_stops_the_sweep_and_writes_the_tables(
    experiment_file, tmp_path, number, workers
):
    out = tmp_path / "out"
    process = start(experiment_file, out, "--workers", workers, "--fresh")
    wait_for_runs(process, out, 2)
    workers_before = descendants(process.pid)
    os.killpg(process.pid, number)
    stdout, err, seconds = finish(process, timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert seconds < GRACE_S + 5, "in-flight runs get the grace period, queued runs none"
    assert stdout == ""
    name = signal.Signals(number).name
    assert f"{name}: stopping" in err
    assert_clean(out, err, workers_before)
    done = assert_tables_for_what_is_done(out)
    assert f"with {done} of {TOTAL} runs done" in err
    resume = err.strip().splitlines()[-1]
    assert resume.startswith("volsim experiment: resume with: volsim experiment ")
    assert "--fresh" not in resume, "resuming must not start over"

    if number == signal.SIGINT and workers == "2":  # the printed command resumes it
        arguments = resume.split("resume with: volsim ", 1)[1].split()
        resumed = subprocess.run(
            [sys.executable, "-m", "sim", *arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stderr.splitlines()[0].startswith(f"{done}/{TOTAL} runs done")
        assert len(pd.read_parquet(out / "runs.parquet")) == TOTAL


@pytest.mark.parametrize("gap_s", [0.3, 1.5])
def test_a_second_ctrl_c_ends_it_at_once(experiment_file, tmp_path, gap_s):
    out = tmp_path / "out"
    process = start(experiment_file, out, "--workers", "2")
    wait_for_runs(process, out, 2)
    workers_before = descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    time.sleep(gap_s)
    os.killpg(process.pid, signal.SIGINT)
    _, err, seconds = finish(process, timeout=30)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert seconds < 5, "at once"
    assert_clean(out, err, workers_before)
    assert "resume with: volsim experiment " in err.strip().splitlines()[-1]
    # every run file left is whole, and the folder resumes
    for path in run_files(out):
        assert pd.read_parquet(path)["status"].tolist() == ["done"]


def test_one_ctrl_c_stops_a_dask_sweep(experiment_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    ) as cluster:
        out = tmp_path / "out"
        process = start(experiment_file, out, "--scheduler", cluster.scheduler_address)
        wait_for_runs(process, out, 2)
        os.killpg(process.pid, signal.SIGINT)
        _, err, seconds = finish(process, timeout=60)
        assert process.returncode == EXIT_INTERRUPTED, err
        assert seconds < GRACE_S + 5
        assert "SIGINT: stopping" in err
        assert "Traceback" not in err, err
        assert_tables_for_what_is_done(out)
        # the cluster is free again: nothing of the sweep is left queued on it
        with distributed.Client(cluster, set_as_default=False) as client:
            deadline = time.monotonic() + 10
            while any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(client.processing().values())
    assert not list(out.rglob("*.tmp"))


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_before_any_run_is_done_writes_empty_tables(experiment_file, tmp_path, number):
    """Fuzzing found a signal that came before the first run was done ended in a traceback (the
    runs table had no ``seed`` column without a run file) and exit status 1. Here the signal
    comes from the progress line printed before the first run starts."""
    from sim.experiment.design import load_experiment
    from sim.experiment.runner import RunOptions, run_experiment

    def progress(done: int, failed: int, total: int) -> None:
        if done == 0:
            os.kill(os.getpid(), number)

    out = tmp_path / "out"
    options = RunOptions(1, None, False, None, progress)
    manifest = run_experiment(load_experiment(experiment_file), out, options)
    assert manifest["stopped"] == signal.Signals(number).name
    assert manifest["done_runs"] == 0 and manifest["tables_written"]
    assert run_files(out) == []
    assert len(pd.read_parquet(out / "runs.parquet")) == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 0 and "mean" in summary.columns  # nothing done, nothing to sum up
    assert not list(out.rglob("*.tmp"))
