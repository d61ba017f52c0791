"""Tests for the experiment runner: designs, seeds, the results folder, executors, statistics.

Every experiment here is tiny (a 400-resident community, a few days, a few seeds) so that a
test runs in seconds; the few tests that need a real process start ``python -m sim``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pytest
from cli_support import run_cli as volsim
from pandas.testing import assert_frame_equal
from scipy import stats

from sim.errors import InputError
from sim.experiment import statistics
from sim.experiment.design import canonical_json, load_experiment, seeds_for
from sim.experiment.runner import FAULT_ENV, RunOptions, execute, run_experiment, tasks_for
from sim.experiment.store import ResultsFolder
from sim.model import VolunteerModel
from sim.scenario import key_type, with_overrides
from sim.scenario import load as load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
#: a 400-resident Chaoyangli: a run of a few days takes a few hundredths of a second
TINY = {
    "population.residents": 400,
    "population.households": 200,
    "community.stairwells": 40,
    "community.buildings": 10,
    "community.grids": 3,
    "community.service_points": 20,
    "community.width_m": 200.0,
    "community.height_m": 200.0,
}
POLICIES = {"policy": ["nearest", "broadcast"]}
SUMMARY_TABLES = ("summary", "differences", "series")


# --- helpers ---------------------------------------------------------------------------------
def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def write_experiment(
    path: Path,
    *,
    name: str = "tiny",
    days: int | None = 2,
    seeds: int = 3,
    root_seed: int = 7,
    overrides: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    design: dict[str, Any] | None = None,
    **experiment: Any,
) -> Path:
    """An experiment file on the tiny community (``overrides`` are added to TINY)."""
    section = {
        "name": name,
        "scenario": str(SCENARIO),
        "days": days,
        "seeds": seeds,
        "root_seed": root_seed,
        **experiment,
    }
    tables = {
        "experiment": {k: v for k, v in section.items() if v is not None},
        "overrides": {**TINY, **(overrides or {})},
        "design": design or {},
        "variables": POLICIES if variables is None else variables,
    }
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(path: Path, out: Path, **options: Any) -> dict[str, Any]:
    """Run an experiment in this process; return its manifest."""
    return run_experiment(load_experiment(path), out, RunOptions(**options))


def volsim_process(*args: Any, env: dict[str, str] | None = None, timeout: float = 120):
    """``python -m sim ARGS`` in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet"))


def manifest_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def runs_table(out: Path) -> pd.DataFrame:
    """runs.parquet without the one column that legitimately differs: wall time."""
    return pd.read_parquet(out / "runs.parquet").drop(columns=["wall_seconds"])


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: size and modification time."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_same_results(a: Path, b: Path) -> None:
    """Two results folders hold identical tables, bit for bit (but for wall time)."""
    assert_frame_equal(runs_table(a), runs_table(b), check_exact=True)
    for name in SUMMARY_TABLES:
        assert_frame_equal(table(a, name), table(b, name), check_exact=True)


def scenario_value(scenario, dotted: str) -> Any:
    node = scenario
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


# --- 1. designs ------------------------------------------------------------------------------
def test_factorial_crosses_every_value_and_ranges_include_their_bounds(tmp_path):
    variables = {
        "policy": ["nearest", "broadcast", "pairing+broadcast"],
        "volunteers.active_share_of_registered": [0.1, 0.25],
        "acceptance.base_probability": {"min": 0.2, "max": 0.6, "steps": 5},
    }
    experiment = load_experiment(write_experiment(tmp_path / "e.toml", variables=variables))
    assert len(experiment.points) == 3 * 2 * 5
    assert [p.index for p in experiment.points] == list(range(30))
    combos = {tuple(p.values.values()) for p in experiment.points}
    assert len(combos) == 30, "every combination once"
    probabilities = sorted({p.values["acceptance.base_probability"] for p in experiment.points})
    assert probabilities == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6], abs=1e-12)
    assert probabilities[0] == 0.2 and probabilities[-1] == 0.6, "bounds exactly"


def test_factorial_range_of_an_integer_key_gives_ints(tmp_path):
    variables = {"volunteers.count": {"min": 2, "max": 8, "steps": 4}}
    experiment = load_experiment(write_experiment(tmp_path / "e.toml", variables=variables))
    values = [p.values["volunteers.count"] for p in experiment.points]
    assert values == [2, 4, 6, 8]
    assert all(type(v) is int for v in values)


def test_lhs_gives_samples_rows_within_bounds_crossed_with_the_lists(tmp_path):
    bounds = {
        "volunteers.active_share_of_registered": (0.1, 0.4),
        "travel.speed_m_per_min": (50, 90),
    }
    variables = {
        **{k: {"min": lo, "max": hi} for k, (lo, hi) in bounds.items()},
        "policy": ["nearest", "grid", "random"],
    }
    design = {"kind": "lhs", "samples": 7}
    experiment = load_experiment(
        write_experiment(tmp_path / "e.toml", variables=variables, design=design)
    )
    assert len(experiment.points) == 7 * 3
    for policy in variables["policy"]:
        rows = [p for p in experiment.points if p.values["policy"] == policy]
        assert sorted(p.sample for p in rows) == list(range(7))
        for name, (lo, hi) in bounds.items():
            values = np.array([p.values[name] for p in rows])
            assert ((values >= lo) & (values <= hi)).all()
            # a Latin hypercube: one value in each of the 7 equal strata
            strata = np.floor((values - lo) / (hi - lo) * 7).astype(int)
            assert sorted(strata) == list(range(7))


@pytest.mark.parametrize(("second_order", "rows"), [(True, 4 * (2 * 3 + 2)), (False, 4 * (3 + 2))])
def test_sobol_gives_n_times_2d_plus_2_rows_or_d_plus_2_without_second_order(
    tmp_path, second_order, rows
):
    variables = {
        "volunteers.active_share_of_registered": {"min": 0.1, "max": 0.4},
        "acceptance.base_probability": {"min": 0.2, "max": 0.6},
        "travel.speed_m_per_min": {"min": 50.0, "max": 90.0},
        "policy": ["nearest", "broadcast"],
    }
    design = {"kind": "sobol", "samples": 4, "second_order": second_order}
    experiment = load_experiment(
        write_experiment(tmp_path / "e.toml", variables=variables, design=design)
    )
    assert len(experiment.sample_matrix) == rows
    assert len(experiment.points) == rows * 2
    assert {p.sample for p in experiment.points} == set(range(rows))


def test_morris_gives_n_times_d_plus_1_rows(tmp_path):
    variables = {
        "volunteers.active_share_of_registered": {"min": 0.1, "max": 0.4},
        "acceptance.base_probability": {"min": 0.2, "max": 0.6},
        "policy": ["nearest", "broadcast", "grid"],
    }
    design = {"kind": "morris", "samples": 5, "levels": 4}
    experiment = load_experiment(
        write_experiment(tmp_path / "e.toml", variables=variables, design=design)
    )
    assert len(experiment.points) == 5 * (2 + 1) * 3


@pytest.mark.parametrize("kind", ["lhs", "sobol", "morris"])
def test_sampled_integer_keys_are_rounded_to_ints(tmp_path, kind):
    variables = {
        "volunteers.count": {"min": 2, "max": 9},
        "dispatch.broadcast.k": {"min": 1, "max": 5},
    }
    design = {"kind": kind, "samples": 4}
    if kind == "sobol":  # second-order indices need three parameters or more
        design["second_order"] = False
    experiment = load_experiment(
        write_experiment(tmp_path / "e.toml", variables=variables, design=design)
    )
    assert key_type("volunteers.count") is int
    for point in experiment.points:
        count, k = point.values["volunteers.count"], point.values["dispatch.broadcast.k"]
        assert type(count) is int and 2 <= count <= 9
        assert type(k) is int and 1 <= k <= 5
        scenario = experiment.point_scenario(point)
        assert scenario.volunteers.count == count and scenario.dispatch.broadcast.k == k


@pytest.mark.parametrize("kind", ["factorial", "lhs", "morris"])
def test_every_design_value_is_in_the_points_scenario(tmp_path, kind):
    numeric = {
        "volunteers.active_share_of_registered": {"min": 0.1, "max": 0.4, "steps": 2},
        "acceptance.base_probability": {"min": 0.2, "max": 0.6, "steps": 3},
    }
    if kind != "factorial":
        numeric = {k: {"min": v["min"], "max": v["max"]} for k, v in numeric.items()}
    variables = {
        "policy": ["nearest", "pairing+broadcast+grid"],
        "demand.max_wait_min": [60.0, math.inf],
        **numeric,
    }
    path = write_experiment(
        tmp_path / "e.toml", days=4, variables=variables, design={"kind": kind, "samples": 3}
    )
    experiment = load_experiment(path)
    assert experiment.points
    for point in experiment.points:
        scenario = experiment.point_scenario(point)
        assert scenario.simulation.days == 4
        names = point.values["policy"].split("+")
        assert scenario.dispatch.policy == names[0]
        assert scenario.dispatch.fallback == names[1:]
        for name, value in point.values.items():
            if name != "policy":
                assert scenario_value(scenario, name) == value, name
        # the experiment's overrides are kept
        assert scenario.population.residents == TINY["population.residents"]


def test_seeds_are_a_prefix_stable_list(tmp_path):
    assert seeds_for(2026, 5)[:3] == seeds_for(2026, 3)
    assert seeds_for(2026, 200)[:50] == seeds_for(2026, 50)
    assert seeds_for(2026, 3) != seeds_for(2027, 3)
    assert len(set(seeds_for(2026, 200))) == 200
    assert all(type(s) is int and s >= 0 for s in seeds_for(2026, 20))
    path = write_experiment(tmp_path / "e.toml", root_seed=2026, seeds=3)
    assert load_experiment(path).seeds == seeds_for(2026, 3)
    assert load_experiment(path, seeds=5).seeds[:3] == load_experiment(path).seeds


def test_every_design_point_runs_the_same_seeds(tmp_path):
    variables = {**POLICIES, "volunteers.active_share_of_registered": [0.1, 0.25, 0.4]}
    experiment = load_experiment(
        write_experiment(tmp_path / "e.toml", seeds=4, variables=variables)
    )
    tasks = tasks_for(experiment, ResultsFolder(tmp_path / "out"), experiment.seeds)
    assert len(tasks) == 6 * 4
    by_point: dict[int, list[int]] = {}
    for task in tasks:
        by_point.setdefault(task.point, []).append(task.seed)
    assert sorted(by_point) == list(range(6))
    assert all(seeds == experiment.seeds for seeds in by_point.values())
    assert len({t.run_id for t in tasks}) == len(tasks)


def test_each_design_points_scenario_is_built_once(tmp_path, monkeypatch):
    """Loading checks every point's scenario; the tasks then reuse it (it was built again for
    every point, and the model's version read again for every run id: 10 s of an 11,040-run
    start). The tasks are those of a freshly built scenario."""
    from sim.experiment import design

    built: list[int] = []
    build = design.Experiment._build_point_scenario

    def counted(self, point):
        built.append(point.index)
        return build(self, point)

    monkeypatch.setattr(design.Experiment, "_build_point_scenario", counted)
    variables = {**POLICIES, "volunteers.active_share_of_registered": [0.1, 0.25, 0.4]}
    path = write_experiment(tmp_path / "e.toml", seeds=3, variables=variables)
    experiment = load_experiment(path)
    tasks = tasks_for(experiment, ResultsFolder(tmp_path / "out"), experiment.seeds)
    assert sorted(built) == list(range(6))
    for task in tasks:
        fresh = build(experiment, experiment.points[task.point]).model_dump(mode="json")
        assert task.scenario == fresh


# --- 2. storage and resuming -----------------------------------------------------------------
@pytest.fixture
def finished(tmp_path) -> tuple[Path, Path]:
    """A finished tiny experiment (2 policies × 3 seeds) and its results folder."""
    path = write_experiment(tmp_path / "tiny.toml")
    out = tmp_path / "out"
    manifest = run(path, out)
    assert manifest["failed_runs"] == 0
    return path, out


def test_finished_experiment_has_one_run_file_and_one_row_per_run(finished):
    _, out = finished
    manifest = manifest_of(out)
    run_ids = [r["run_id"] for r in manifest["runs"]]
    assert len(run_ids) == len(set(run_ids)) == 2 * 3
    assert [p.stem for p in run_files(out)] == sorted(run_ids)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 6
    assert not runs["run_id"].duplicated().any()
    assert not runs[["point", "seed"]].duplicated().any()
    assert set(runs["run_id"]) == set(run_ids)
    assert (runs["status"] == "done").all()
    assert not list(out.rglob("*.tmp"))


def test_policy_only_experiment_compares_policies_with_the_baseline(finished):
    _, out = finished
    differences = table(out, "differences")
    assert set(differences["policy"]) == {"broadcast"}
    assert (differences["baseline_point"] == 0).all()
    requests = differences[differences["metric"] == "requests"]
    assert requests["n_pairs"].tolist() == [3]
    summary = table(out, "summary")
    assert (summary.loc[summary["metric"] == "requests", "n"] == 3).all()
    assert len(summary) == 2 * len(load_experiment(finished[0]).metrics)


def test_rerun_runs_nothing_and_gives_identical_summaries(finished, capsys):
    path, out = finished
    before = {p.name: p.stat().st_mtime_ns for p in run_files(out)}
    summary = (out / "summary.parquet").read_bytes()
    runs = runs_table(out)
    code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    assert stdout == f"tiny: 6 runs, 0 failed; results in {out}\n"
    assert {p.name: p.stat().st_mtime_ns for p in run_files(out)} == before
    assert (out / "summary.parquet").read_bytes() == summary
    assert_frame_equal(runs_table(out), runs)
    assert "6/6 runs done" in err.splitlines()[0], "all done before anything ran"
    assert len(manifest_of(out)["sessions"]) == 2


def test_a_different_experiment_into_the_same_folder_is_refused(finished, capsys):
    path, out = finished
    changed = write_experiment(
        path.with_name("changed.toml"), overrides={"acceptance.base_probability": 0.3}
    )
    before = snapshot(out)
    code, stdout, err = volsim(capsys, "experiment", changed, "--out", out, "--workers", "1")
    assert code == 2
    assert stdout == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(out) in err and "--fresh" in err
    assert snapshot(out) == before, "nothing written"
    with pytest.raises(InputError):
        run(changed, out)
    assert snapshot(out) == before


def test_fresh_starts_over(finished, capsys):
    path, out = finished
    old_runs = {p.name for p in run_files(out)}
    changed = write_experiment(
        path.with_name("changed.toml"), overrides={"acceptance.base_probability": 0.3}
    )
    code, _, err = volsim(capsys, "experiment", changed, "--out", out, "--workers", "1", "--fresh")
    assert code == 0, err
    manifest = manifest_of(out)
    assert manifest["experiment_sha256"] == load_experiment(changed).sha256()
    assert len(manifest["sessions"]) == 1
    new_runs = {p.name for p in run_files(out)}
    assert new_runs == {f"{r['run_id']}.parquet" for r in manifest["runs"]}
    assert not new_runs & old_runs, "the old experiment's runs are gone"
    # --fresh takes the old report with it: it describes the previous experiment
    (out / "report").mkdir()
    (out / "report" / "index.html").write_text("<p>the previous experiment</p>")
    code, _, err = volsim(capsys, "experiment", changed, "--out", out, "--workers", "1", "--fresh")
    assert code == 0, err
    assert not (out / "report").exists()
    # --fresh on the same experiment runs everything again
    assert "0/6 runs done" in err.splitlines()[0]


def test_leftover_tmp_files_are_removed(finished):
    path, out = finished
    leftovers = [out / "runs" / ".abc.parquet.x1y2.tmp", out / "runs" / ".def.parquet.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a parquet file")
    run(path, out)
    assert not any(p.exists() for p in leftovers)
    assert not list(out.rglob("*.tmp"))


def test_a_corrupt_run_file_is_run_again(finished):
    path, out = finished
    runs = runs_table(out)
    files = run_files(out)
    corrupt, others = files[2], files[:2] + files[3:]
    others_before = {p: p.stat().st_mtime_ns for p in others}
    corrupt.write_bytes(b"this is not a parquet file")
    run(path, out)
    assert pd.read_parquet(corrupt)["status"].tolist() == ["done"]
    assert {p: p.stat().st_mtime_ns for p in others} == others_before, "only the corrupt one"
    assert_frame_equal(runs_table(out), runs, check_exact=True)


def test_a_run_file_copied_over_another_is_named_and_run_again(finished, capsys):
    path, out = finished
    runs = runs_table(out)
    files = run_files(out)
    files[1].write_bytes(files[0].read_bytes())  # the name no longer matches the content
    code, stdout, err = volsim(capsys, "status", out)
    assert code == 1
    assert "5 done, 0 failed, 1 missing, 1 damaged files" in stdout
    damaged = [line for line in stdout.splitlines() if "damaged:" in line]
    assert len(damaged) == 1 and str(files[1]) in damaged[0] and files[0].stem in damaged[0]
    code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    notices = [line for line in err.splitlines() if "damaged" in line]
    assert len(notices) == 1 and str(files[1]) in notices[0] and "running again" in notices[0]
    assert_frame_equal(runs_table(out), runs, check_exact=True)
    assert volsim(capsys, "status", out)[0] == 0


def test_a_damaged_parquet_file_is_named_by_status(finished, capsys):
    _, out = finished
    files = run_files(out)
    files[3].write_bytes(files[3].read_bytes()[:100])  # cut short
    (out / "summary.parquet").write_bytes(b"PAR1 not really")
    code, stdout, _ = volsim(capsys, "status", out)
    assert code == 1
    lines = [line for line in stdout.splitlines() if "damaged:" in line]
    assert len(lines) == 2
    assert str(files[3]) in lines[0] and "unreadable" in lines[0]
    assert str(out / "summary.parquet") in lines[1]


@pytest.mark.parametrize(
    ("key", "value"),
    [("runs", {"a": 1}), ("runs", "all of them"), ("runs", [1, 2]), ("seeds", 3)],
)
def test_a_damaged_manifest_is_one_line(finished, capsys, key, value):
    path, out = finished
    manifest = manifest_of(out)
    manifest[key] = value
    (out / "manifest.json").write_text(json.dumps(manifest))
    for command in (["status", out], ["experiment", path, "--out", out, "--workers", "1"]):
        code, stdout, err = volsim(capsys, *command)
        assert code == 2 and stdout == ""
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert str(out / "manifest.json") in err and key in err and "damaged" in err
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1", "--fresh")
    assert code == 0, err


def test_a_folder_interrupted_before_its_first_manifest_can_be_resumed(tmp_path, capsys):
    path = write_experiment(tmp_path / "tiny.toml")
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)  # what a kill right after prepare() leaves
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    assert len(run_files(out)) == 6


# --- 3. resume after kill -9 -----------------------------------------------------------------
def test_an_experiment_killed_mid_run_resumes_to_the_uninterrupted_results(tmp_path):
    path = write_experiment(tmp_path / "big.toml", days=20, seeds=12)
    total = 2 * 12
    out = tmp_path / "out"
    log = (tmp_path / "killed.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "experiment", str(path), "--workers", "2", "--out", str(out)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while len(run_files(out)) < 3:
            assert process.poll() is None, "the experiment ended before it could be killed"
            assert time.monotonic() < deadline, "no run finished in 90 s"
            time.sleep(0.05)
        assert process.poll() is None
        workers = psutil.Process(process.pid).children(recursive=True)
        os.killpg(process.pid, signal.SIGKILL)  # the main process (workers have their own group)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
    assert process.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, "pool workers end when their experiment is killed"
    done_at_kill = len(run_files(out))
    assert 3 <= done_at_kill < total, "killed mid-run"
    assert not (out / "summary.parquet").exists()

    resumed = volsim_process("experiment", path, "--workers", "2", "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0].startswith(f"{done_at_kill}/{total} runs done")

    manifest = manifest_of(out)
    run_ids = {r["run_id"] for r in manifest["runs"]}
    assert len(run_ids) == total
    assert {p.stem for p in run_files(out)} == run_ids
    assert not list(out.rglob("*.tmp"))
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == total and set(runs["run_id"]) == run_ids
    assert (runs["status"] == "done").all()
    assert len(manifest["sessions"]) == 2 and "finished" not in manifest["sessions"][0]

    reference = tmp_path / "reference"
    run(path, reference)
    assert_same_results(out, reference)


# --- 4 and 5. executors ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny experiment (2 policies × 3 seeds × 2 days) run serially in this process."""
    folder = tmp_path_factory.mktemp("reference")
    path = write_experiment(folder / "tiny.toml")
    run(path, folder / "serial", workers=1)
    return path, folder / "serial"


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A Dask LocalCluster of two worker processes, with the fault hook disarmed.

    The workers' environment names a marker file that exists (so no task kills its worker);
    deleting the marker arms the hook: the next task to run kills its worker after its first
    simulated day, in the middle of the run.
    """
    distributed = pytest.importorskip("distributed")
    marker = tmp_path_factory.mktemp("dask") / "killed-once"
    marker.write_text("disarmed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
        env={FAULT_ENV: str(marker)},
    ) as cluster:
        yield cluster, marker


def test_serial_pool_and_dask_give_identical_results(tiny_reference, dask_cluster, tmp_path):
    path, serial = tiny_reference
    cluster, _ = dask_cluster
    pool, dask = tmp_path / "pool", tmp_path / "dask"
    assert run(path, pool, workers=2)["failed_runs"] == 0
    assert run(path, dask, scheduler=cluster.scheduler_address)["failed_runs"] == 0
    for out in (pool, dask):
        assert_same_results(serial, out)
        assert (out / "summary.parquet").read_bytes() == (serial / "summary.parquet").read_bytes()
    sessions = [manifest_of(out)["sessions"][0]["executor"] for out in (serial, pool, dask)]
    assert sessions == ["local:1", "local:2", f"dask:{cluster.scheduler_address}"]


def test_a_pool_worker_that_dies_is_replaced_and_the_sweep_completes(tiny_reference, tmp_path):
    path, serial = tiny_reference
    marker, out = tmp_path / "killed-once", tmp_path / "pool"
    env = {**os.environ, FAULT_ENV: str(marker)}  # set before the pool exists
    command = [sys.executable, "-m", "sim", "experiment", str(path), "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--out", str(out)], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert marker.exists(), "a worker really died"
    assert int(marker.read_text()) not in (process.pid, os.getpid()), "a worker, not the main"
    manifest = manifest_of(out)
    assert manifest["failed_runs"] == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs["status"] == "done").all() and len(runs) == len(manifest["runs"])
    assert_same_results(serial, out)


def test_a_dask_worker_that_dies_is_replaced_and_the_sweep_completes(
    tiny_reference, dask_cluster, tmp_path
):
    path, serial = tiny_reference
    cluster, marker = dask_cluster
    marker.unlink()  # arm: the next task to start kills its worker
    try:
        manifest = run(path, tmp_path / "dask", scheduler=cluster.scheduler_address)
    finally:
        killed = marker.read_text() if marker.exists() else None
        marker.write_text("disarmed")
    assert killed is not None, "a worker really died"
    assert int(killed) != os.getpid()
    assert manifest["failed_runs"] == 0
    out = tmp_path / "dask"
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs["status"] == "done").all() and len(runs) == len(manifest["runs"])
    assert_same_results(serial, out)


@pytest.mark.parametrize("executor", ["pool", "dask"])
def test_a_run_exceeding_the_run_timeout_fails_and_the_sweep_goes_on(
    executor, dask_cluster, tmp_path
):
    # 2 simulated days take hundredths of a second; 20,000 take minutes
    path = write_experiment(
        tmp_path / "e.toml", days=None, seeds=2, variables={"simulation.days": [2, 20000]}
    )
    cluster, _ = dask_cluster
    where = {"workers": 2} if executor == "pool" else {"scheduler": cluster.scheduler_address}
    started = time.monotonic()
    manifest = run(path, tmp_path / "out", run_timeout_s=2.0, **where)
    assert time.monotonic() - started < 30
    assert manifest["failed_runs"] == 2 and manifest["done_runs"] == 2
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    failed = runs[runs["status"] == "failed"]
    assert (failed["simulation.days"] == 20000).all()
    assert failed["error"].str.startswith("RunTimeout: exceeded --run-timeout 2 s").all()
    assert (failed["wall_seconds"] >= 2).all()
    assert (runs.loc[runs["status"] == "done", "simulation.days"] == 2).all()


def test_a_cluster_whose_workers_run_other_versions_is_refused(dask_cluster, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    cluster, _ = dask_cluster
    path = write_experiment(tmp_path / "e.toml")

    def fake_numpy(on: bool) -> None:  # on the workers: another numpy, as far as we can tell
        import importlib.metadata as metadata

        real = getattr(metadata, "_real_version", metadata.version)
        metadata._real_version = real
        metadata.version = (lambda name: "0.0.1" if name == "numpy" else real(name)) if on else real

    with distributed.Client(cluster, set_as_default=False) as client:
        client.run(fake_numpy, True)
        try:
            code, stdout, err = volsim(
                capsys, "experiment", path, "--out", tmp_path / "out", "--scheduler",
                cluster.scheduler_address,
            )  # fmt: skip
        finally:
            client.run(fake_numpy, False)
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"numpy 0.0.1 (here {np.__version__})" in err and "same versions" in err
    assert not (tmp_path / "out").exists()


def test_a_worker_with_another_volsim_fails_its_runs(tmp_path):
    path = write_experiment(tmp_path / "e.toml", seeds=1)
    task = tasks_for(load_experiment(path), ResultsFolder(tmp_path / "out"), [7])[0]
    made_elsewhere = dataclasses.replace(task, run_id="0" * 24)  # an id for another version
    result = execute(made_elsewhere)
    assert result["status"] == "failed" and result["error"].startswith("WrongVersion")


def test_a_tls_cluster(tiny_reference, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("cryptography")
    from distributed.security import Security

    path, serial = tiny_reference
    security = Security.temporary()
    files = {}
    for flag, pem in (
        ("--tls-ca-file", security.tls_ca_file),
        ("--tls-cert", security.tls_client_cert),
        ("--tls-key", security.tls_client_key),
    ):
        files[flag] = tmp_path / f"{flag[2:]}.pem"
        files[flag].write_text(pem)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
        security=security,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        out = tmp_path / "out"
        code, _, err = volsim(
            capsys, "experiment", path, "--out", out, "--scheduler", address,
            *[str(a) for pair in files.items() for a in pair],
        )  # fmt: skip
        assert code == 0, err
        assert_same_results(serial, out)
        # without the certificates: one line, nothing written
        code, _, err = volsim(
            capsys, "experiment", path, "--out", tmp_path / "none", "--scheduler", address
        )
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--scheduler" in err
        assert not (tmp_path / "none").exists()


# --- 6. runs that raise ----------------------------------------------------------------------
def test_a_run_that_raises_is_recorded_and_the_others_go_on(tmp_path, capsys):
    # more active volunteers than residents of volunteer age: valid input, fails in the run
    variables = {"volunteers.count": [5, 100000]}
    path = write_experiment(tmp_path / "e.toml", seeds=2, variables=variables)
    out = tmp_path / "out"
    code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 1
    assert stdout == f"tiny: 4 runs, 2 failed; results in {out}\n"
    assert err.splitlines()[-1] == "4/4 runs done (2 failed)"
    runs = pd.read_parquet(out / "runs.parquet")
    seeds = load_experiment(path).seeds
    failed = runs[runs["status"] == "failed"]
    assert failed["point"].tolist() == [1, 1]
    assert failed["seed"].tolist() == seeds
    assert failed["error"].str.contains("InputError").all()
    assert failed["error"].str.contains("volunteers.count").all()
    assert failed["traceback"].str.contains("Traceback").all()
    done = runs[runs["status"] == "done"]
    assert done["point"].tolist() == [0, 0] and (done["error"] == "").all()
    summary = table(out, "summary").set_index(["point", "metric"])
    assert summary.loc[(0, "requests"), "n"] == 2
    assert (summary.loc[1, "n"] == 0).all()
    assert manifest_of(out)["failed_runs"] == 2

    code, stdout, err = volsim(capsys, "status", out)
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert "4 runs: 2 done, 2 failed, 0 missing" in lines[0]
    failures = [line for line in lines if "failed:" in line]
    assert len(failures) == 2
    for seed, line in zip(seeds, failures, strict=True):
        assert f"point 1, seed {seed}" in line
        assert "volunteers.count" in line


def test_an_experiment_whose_runs_all_fail_reports_them(tmp_path, capsys):
    path = write_experiment(tmp_path / "e.toml", seeds=2, variables={"volunteers.count": [100000]})
    out = tmp_path / "out"
    code, _, _ = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 1
    assert manifest_of(out)["failed_runs"] == 2
    summary = table(out, "summary")
    assert (summary["n"] == 0).all()


# --- duplicate design points and Sobol sensitivity -------------------------------------------
def test_repeated_design_points_each_get_their_own_runs(tmp_path):
    variables = {
        "volunteers.active_share_of_registered": {"min": 0.1, "max": 0.4},
        "acceptance.base_probability": {"min": 0.2, "max": 0.6},
    }
    design = {"kind": "morris", "samples": 4, "levels": 4}
    path = write_experiment(tmp_path / "e.toml", seeds=2, variables=variables, design=design)
    experiment = load_experiment(path)
    values = [tuple(p.values.values()) for p in experiment.points]
    assert len(set(values)) < len(values), "the design repeats a point"
    out = tmp_path / "out"
    run(path, out)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == len(experiment.points) * 2
    assert not runs[["point", "seed"]].duplicated().any()
    assert set(runs["point"]) == {p.index for p in experiment.points}
    sensitivity = table(out, "sensitivity")
    active = sensitivity[sensitivity["metric"] == "active_volunteers"]
    assert active["mu_star"].notna().all()


@pytest.mark.parametrize("second_order", [True, False])
def test_sobol_sensitivity_follows_the_designs_second_order_setting(tmp_path, second_order):
    variables = {
        "volunteers.active_share_of_registered": {"min": 0.1, "max": 0.4},
        "acceptance.base_probability": {"min": 0.2, "max": 0.6},
        "travel.speed_m_per_min": {"min": 50.0, "max": 90.0},
    }
    design = {"kind": "sobol", "samples": 2, "second_order": second_order}
    path = write_experiment(tmp_path / "e.toml", seeds=2, variables=variables, design=design)
    out = tmp_path / "out"
    run(path, out)
    experiment = load_experiment(path)
    expected = statistics.sobol_indices(
        experiment.problem,
        pd.read_parquet(out / "runs.parquet"),
        experiment.variables,
        experiment.metrics,
        [],
        second_order=second_order,
    )
    sensitivity = table(out, "sensitivity")
    assert_frame_equal(sensitivity, expected)
    assert set(sensitivity["parameter"]) == set(experiment.problem["names"])
    active = sensitivity[sensitivity["metric"] == "active_volunteers"]
    assert active[["S1", "ST"]].notna().all(axis=None)


# --- 7. statistics on a model with a known answer --------------------------------------------
def test_confidence_intervals_cover_the_mmc_utilisation_at_the_nominal_rate():
    """M/M/c limit: per-run utilisation is an unbiased estimate of rho = lambda / (c mu).

    All arrivals of the horizon are served (no expiry, a day to drain), so the busy minutes
    are the sum of their service times: expectation lambda T / mu over c T on-duty minutes.
    """
    lam, mean_min, servers = 0.05, 20.0, 2  # per minute; rho = 0.5
    rho = lam * mean_min / servers
    groups, per_group = 150, 5
    overrides = {
        **TINY,
        "population.residents": 100,
        "population.households": 50,
        "community.stairwells": 10,
        "community.buildings": 5,
        "community.grids": 2,
        "community.service_points": 5,
        "community.width_m": 100.0,
        "community.height_m": 100.0,
        "demand.total_per_day": lam * 1440,
        "demand.daily_profile": "flat",
        "demand.max_wait_min": math.inf,
        "service.distribution": "exponential",
        "service.mean_min": mean_min,
        "travel.speed_m_per_min": math.inf,
        "volunteers.count": servers,
        "volunteers.always_available": True,
        "volunteers.accept_probability": 1.0,
        "dispatch.policy": "nearest",
        "simulation.days": 1,
    }
    scenario = with_overrides(load_scenario(SCENARIO), overrides)
    seeds = seeds_for(99, groups * per_group)
    rows = []
    for i, seed in enumerate(seeds):
        model = VolunteerModel(scenario, rng=seed)
        model.run()
        rows.append(
            {
                "point": i // per_group,
                "seed": seed,
                "status": "done",
                "volunteer_utilisation": model.volunteer_utilisation,
            }
        )
    runs = pd.DataFrame(rows)
    summary = statistics.summarize(runs, [], ["volunteer_utilisation"])
    assert len(summary) == groups and (summary["n"] == per_group).all()
    values = runs["volunteer_utilisation"]
    assert abs(values.mean() - rho) < 4 * values.std() / math.sqrt(len(values)), "unbiased"
    covered = int(((summary["ci_low"] <= rho) & (rho <= summary["ci_high"])).sum())
    low = stats.binom.ppf(0.0005, groups, 0.95)
    high = stats.binom.ppf(0.9995, groups, 0.95)
    assert low <= covered <= high, f"{covered}/{groups} intervals cover rho"
    groups_of = runs.groupby("point")["volunteer_utilisation"]
    np.testing.assert_allclose(summary["mean"], groups_of.mean(), rtol=1e-12)
    np.testing.assert_allclose(summary["sd"], groups_of.std(ddof=1), rtol=1e-12)
    halfwidth = summary["halfwidth"]
    t_quantile = stats.t.ppf(0.975, per_group - 1)
    np.testing.assert_allclose(halfwidth, t_quantile * summary["sd"] / math.sqrt(per_group))
    assert_frame_equal(
        summary[["ci_low", "ci_high"]],
        pd.DataFrame(
            {"ci_low": summary["mean"] - halfwidth, "ci_high": summary["mean"] + halfwidth}
        ),
    )


# --- 8. sequential replications --------------------------------------------------------------
def test_sequential_replications_add_seeds_until_the_halfwidth_is_reached(tmp_path, capsys):
    metric, batch, cap = "volunteer_utilisation", 3, 30
    path = write_experiment(tmp_path / "e.toml", seeds=3, batch_seeds=batch, max_seeds=cap)
    experiment = load_experiment(path)
    first = tmp_path / "first"
    run(path, first)
    start = statistics.max_halfwidth(pd.read_parquet(first / "runs.parquet"), ["policy"], metric)
    assert 0 < start < math.inf
    target = start / 2
    out = tmp_path / "out"
    code, _, err = volsim(
        capsys, "experiment", path, "--out", out, "--workers", "1",
        "--target-halfwidth", f"{metric}={target!r}",
    )  # fmt: skip
    assert code == 0, err
    manifest = manifest_of(out)
    used = manifest["seeds"]
    count = len(used)
    assert count > 3 and ((count - 3) % batch == 0 or count == cap)
    assert used == seeds_for(experiment.spec.experiment.root_seed, count)
    assert manifest["resolved"]["command_overrides"]["target_halfwidth"] == [metric, target]
    assert {r["seed"] for r in manifest["runs"]} == set(used)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 * count
    for _, seeds in runs.groupby("point")["seed"]:
        assert sorted(seeds) == sorted(used)
    assert statistics.max_halfwidth(runs, ["policy"], metric) <= target or count == cap
    earlier = runs[runs["seed"].isin(used[: count - batch])]
    assert statistics.max_halfwidth(earlier, ["policy"], metric) > target, "stopped at once"


def test_sequential_replications_stop_at_max_seeds(tmp_path, capsys):
    path = write_experiment(tmp_path / "e.toml", seeds=2, batch_seeds=3, max_seeds=7)
    out = tmp_path / "out"
    code, stdout, err = volsim(
        capsys, "experiment", path, "--out", out, "--workers", "1",
        "--target-halfwidth", "volunteer_utilisation=1e-9",
    )  # fmt: skip
    assert code == 0, err
    manifest = manifest_of(out)
    assert manifest["seeds"] == seeds_for(7, 7), "2, then 5, then capped at 7"
    assert len(manifest["runs"]) == 14 and "14 runs" in stdout
    assert len(pd.read_parquet(out / "runs.parquet")) == 14


# --- 9. the manifest -------------------------------------------------------------------------
def test_manifest_records_the_experiment_seeds_and_provenance(tmp_path):
    path = write_experiment(tmp_path / "tiny.toml", root_seed=11)
    out = tmp_path / "out"
    finished = volsim_process("experiment", path, "--workers", "1", "--out", out)
    assert finished.returncode == 0, finished.stderr
    manifest = manifest_of(out)
    experiment = load_experiment(path)
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["experiment_sha256"])
    assert manifest["experiment_sha256"] == experiment.sha256()
    resolved = json.loads(canonical_json(experiment.resolved()))
    assert manifest["resolved"] == resolved
    assert manifest["resolved"]["scenario"]["population"]["residents"] == 400
    assert manifest["experiment"] == "tiny" and manifest["experiment_file"] == str(path)
    assert manifest["root_seed"] == 11
    assert manifest["seeds"] == seeds_for(11, 3)
    pairs = {(r["point"], r["seed"]) for r in manifest["runs"]}
    assert pairs == {(p, s) for p in (0, 1) for s in seeds_for(11, 3)}
    assert manifest["failed_runs"] == 0

    (session,) = manifest["sessions"]
    git = session["git"]
    assert git["revision"] is None or re.fullmatch(r"[0-9a-f]{40}", git["revision"])
    assert git["dirty"] in (None, True, False)
    packages = session["packages"]
    for name in ("volsim", "mesa", "numpy", "pandas", "scipy", "SALib"):
        assert packages[name], name
    assert session["python"] == platform.python_version()
    assert session["platform"] == platform.platform()
    command = session["command"]
    assert command[1:] == ["experiment", str(path), "--workers", "1", "--out", str(out)]
    assert session["executor"] == "local:1"
    created = dt.datetime.fromisoformat(manifest["created"])
    started = dt.datetime.fromisoformat(session["started"])
    ended = dt.datetime.fromisoformat(session["finished"])
    assert created.tzinfo is not None and created <= started <= ended
    assert ended <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_manifest_keeps_infinite_values_of_the_experiment(tmp_path):
    path = write_experiment(
        tmp_path / "e.toml",
        overrides={"demand.max_wait_min": math.inf},
        variables={"travel.speed_m_per_min": [75.0, math.inf]},
    )
    out = tmp_path / "out"
    run(path, out)
    resolved = manifest_of(out)["resolved"]
    assert resolved["scenario"]["demand"]["max_wait_min"] == math.inf
    assert resolved["experiment"]["overrides"]["demand.max_wait_min"] == math.inf
    assert resolved["experiment"]["variables"]["travel.speed_m_per_min"] == [75.0, math.inf]


def test_quick_looks_are_a_different_experiment_in_their_own_folder(tmp_path, capsys, monkeypatch):
    path = write_experiment(tmp_path / "tiny.toml", days=3, seeds=3)
    monkeypatch.chdir(tmp_path)
    code, stdout, err = volsim(
        capsys, "experiment", path, "--seeds", "2", "--days", "1", "--workers", "1"
    )
    assert code == 0, err
    out = Path("results") / "tiny-quick-seeds2-days1"
    assert str(out) in stdout
    assert sorted(p.name for p in Path("results").iterdir()) == [out.name]
    manifest = manifest_of(out)
    assert manifest["resolved"]["command_overrides"] == {"seeds": 2, "days": 1}
    assert manifest["resolved"]["days"] == 1 and manifest["seeds"] == seeds_for(7, 2)
    full_sha = load_experiment(path).sha256()
    assert manifest["experiment_sha256"] == load_experiment(path, seeds=2, days=1).sha256()
    assert manifest["experiment_sha256"] != full_sha
    assert (
        len(
            {
                full_sha,
                load_experiment(path, seeds=2).sha256(),
                load_experiment(path, days=1).sha256(),
            }
        )
        == 3
    )
    assert {r["seed"] for r in manifest["runs"]} == set(seeds_for(7, 2))
    assert pd.read_parquet(out / "series.parquet")["day"].max() == 1

    code, stdout, err = volsim(capsys, "experiment", path, "--seeds", "2", "--workers", "1")
    assert code == 0, err
    assert (Path("results") / "tiny-quick-seeds2").is_dir()
    assert not (Path("results") / "tiny").exists()


# --- 10. a full disk -------------------------------------------------------------------------
def full_disk_after(count: int, write):
    """``write`` that raises ENOSPC from its ``count``-th call on."""
    calls = {"n": 0}

    def writer(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= count:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(*args, **kwargs)

    return writer


def test_a_full_disk_while_writing_a_run_stops_the_sweep_cleanly(
    tiny_reference, tmp_path, capsys, monkeypatch
):
    from sim.experiment import runner

    path, serial = tiny_reference
    out = tmp_path / "out"
    monkeypatch.setattr(runner, "write_row", full_disk_after(3, runner.write_row))
    code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 1 and stdout == ""
    assert "Traceback" not in err
    stopped = [line for line in err.splitlines() if "stopped" in line]
    assert len(stopped) == 1 and "No space left on device" in stopped[0]
    assert "with 2 of 6 runs done, 0 failed; tables for those written" in stopped[0]
    assert err.splitlines()[-1].startswith("volsim experiment: resume with: volsim experiment")
    assert len(run_files(out)) == 2 and not list(out.rglob("*.tmp"))
    assert len(pd.read_parquet(out / "runs.parquet")) == 2
    assert "No space left" in manifest_of(out)["stopped"]

    monkeypatch.undo()  # space freed: the same command resumes
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    assert_same_results(serial, out)


def test_a_full_disk_while_writing_the_tables_keeps_the_runs(
    tiny_reference, tmp_path, capsys, monkeypatch
):
    path, serial = tiny_reference
    out = tmp_path / "out"
    monkeypatch.setattr(ResultsFolder, "write_table", full_disk_after(1, ResultsFolder.write_table))
    code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 1 and stdout == "" and "Traceback" not in err
    assert "with 6 of 6 runs done, 0 failed; no tables written" in err
    assert len(run_files(out)) == 6 and not (out / "summary.parquet").exists()
    monkeypatch.undo()
    code, _, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
    assert code == 0, err
    assert_same_results(serial, out)


def test_an_unwritable_results_folder_is_one_line_before_anything_runs(tmp_path, capsys):
    path = write_experiment(tmp_path / "tiny.toml")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    for out in (blocker / "out", tmp_path / "file"):
        code, stdout, err = volsim(capsys, "experiment", path, "--out", out, "--workers", "1")
        assert code == 2 and stdout == ""
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert str(out) in err
    assert blocker.read_text() == "a file, not a folder"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "read-only"
        locked.mkdir(mode=0o555)
        code, _, err = volsim(capsys, "experiment", path, "--out", locked / "out")
        assert code == 2 and "cannot write" in err and "Traceback" not in err
