"""`volsim optimise`: it finds the best lever that enumeration finds, every candidate on the same
seeds; a killed search resumes with the trials it had; bad levers and objectives are one line
with exit status 2; the report renders for an optimise folder; the Poisson model's optimum."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_support import TINY_SCENARIO

from sim import scenario as scenario_module
from sim.cli import main
from sim.experiment.design import seeds_for
from sim.model import VolunteerModel
from sim.optimise import LEVER_KEYS, parse_levers
from sim.optimise.search import STUDY_FILE

ROOT = Path(__file__).resolve().parents[1]
TINY = TINY_SCENARIO + "[simulation]\ndays = 14\n"
METRIC = "urgent_response_time_p90_min"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _mean(path: Path, overrides: dict, seeds: list[int], metric: str) -> float:
    scenario = scenario_module.load(path, overrides)
    values = []
    for seed in seeds:
        model = VolunteerModel(scenario, rng=seed)
        model.run()
        values.append(model.summary()[metric])
    return float(np.mean(values))


def _optimise(tiny: Path, out: Path, *extra: str) -> int:
    argv = ["optimise", str(tiny), "--out", str(out), "--seeds", "2", "--recheck-seeds", "2"]
    return main([*argv, *extra])


def test_finds_the_best_lever_that_enumeration_finds(tiny: Path, tmp_path: Path) -> None:
    seeds = seeds_for(0, 2)
    metric = "response_time_p90_min"  # defined in every run of this tiny community
    truth = {k: _mean(tiny, {LEVER_KEYS["broadcast.k"]: k}, seeds, metric) for k in range(1, 5)}
    best = min(truth.values())
    out = tmp_path / "opt"
    flags = ["--lever", "broadcast.k=1..4", "--objective", f"{metric}:min", "--trials", "8"]
    assert _optimise(tiny, out, *flags) == 0
    trials = pd.read_csv(out / "trials.csv")
    done = trials[trials["state"] == "COMPLETE"]
    # every candidate ran on the same seeds: its value is enumeration's for that k
    for k, value in zip(done["param.broadcast.k"], done[metric], strict=True):
        assert value == pytest.approx(truth[k])
    assert done[metric].min() == pytest.approx(best)
    found = done.loc[done[metric].idxmin(), "param.broadcast.k"]
    assert truth[found] == pytest.approx(best)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "optimise" and manifest["complete_trials"] == 8
    recheck = pd.read_csv(out / "recheck.csv")
    assert set(recheck["metric"]) == {metric} and (recheck["n"] == 2).all()
    assert not set(manifest["fresh_seeds"]) & set(manifest["search_seeds"])


def test_grid_sampler_enumerates_points(tiny: Path, tmp_path: Path) -> None:
    """points=1 among three stairwells, station policy: the grid sampler tries each once."""
    out = tmp_path / "opt"
    code = _optimise(
        tiny,
        out,
        "--lever",
        "points=1@0,12,25",
        "--objective",
        "urgent_unmet_share",
        "--set",
        "dispatch.policy=station",
        "--sampler",
        "grid",
        "--trials",
        "10",
    )
    assert code == 0
    trials = pd.read_csv(out / "trials.csv")
    assert sorted(trials["param.points.0"]) == [0, 12, 25]
    sites = [json.loads(o)[LEVER_KEYS["points"]] for o in trials["overrides"]]
    assert sorted(sites) == [[0], [12], [25]]


def test_a_killed_search_resumes_with_the_trials_it_had(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    command = [sys.executable, "-m", "sim", "optimise", str(tiny), "--out", str(out)]
    command += ["--lever", "broadcast.radius_m=100..600", "--objective", METRIC]
    command += ["--trials", "12", "--seeds", "2", "--recheck-seeds", "2", "--days", "7"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    db = out / STUDY_FILE
    runs = out / "runs"
    while time.monotonic() < deadline:  # mid-study: some trials told, more to come
        if runs.is_dir() and len(list(runs.glob("*.parquet"))) >= 8:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    had = pd.DataFrame(
        [(t.number, t.params["broadcast.radius_m"], t.values[0]) for t in _complete(db)],
        columns=["trial", "radius", "value"],
    )
    assert 2 <= len(had) < 12
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    trials = pd.read_csv(out / "trials.csv")
    done = trials[trials["state"] == "COMPLETE"]
    assert len(done) == 12
    kept = done.set_index("trial").loc[had["trial"]]
    assert kept["param.broadcast.radius_m"].tolist() == had["radius"].tolist()
    assert kept[METRIC].tolist() == pytest.approx(had["value"].tolist())


def _complete(db: Path) -> list:
    import optuna

    study = optuna.load_study(study_name="volsim", storage=f"sqlite:///{db}")
    return [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]


@pytest.mark.parametrize(
    ("flags", "where"),
    [
        (["--lever", "broadcast.k=5..1", "--objective", METRIC], "--lever: broadcast.k=5..1"),
        (["--lever", "sirens=1..3", "--objective", METRIC], "unknown lever 'sirens'"),
        (["--lever", "points=0", "--objective", METRIC], "the count must be at least 1"),
        (["--lever", "recruit=grid:5@7", "--objective", METRIC], "grids must be from 0 to 2"),
        (["--lever", "broadcast.k=one..3", "--objective", METRIC], "is not an integer"),
        (["--lever", "broadcast.k=1..3", "--objective", "p90"], "unknown metric 'p90'"),
        (["--lever", "broadcast.k=1..3", "--objective", "rating_mean"], "rating_mean:min"),
        (["--lever", "broadcast.k=1..3", "--objective", f"{METRIC}:up"], "min or max"),
        (["--objective", METRIC], "give at least one"),
        (["--lever", "broadcast.k=1..3"], "--objective"),
    ],
)
def test_bad_levers_and_objectives_are_one_line(tiny, tmp_path, capsys, flags, where) -> None:
    out = tmp_path / "opt"
    assert main(["optimise", str(tiny), "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("volsim optimise: error: ")
    assert where in err
    assert not out.exists()


def test_levers_map_to_todays_scenario_keys(tiny: Path) -> None:
    scenario = scenario_module.load(tiny)
    for key in LEVER_KEYS.values():  # flat (dispatch.broadcast_k) or nested keys
        node = scenario
        for part in key.split("."):
            assert part in type(node).model_fields, key
            node = getattr(node, part)
    levers = parse_levers(["recruit=grid:6", "recruit=stairwell:4/2@1,2,3"], scenario)
    assert [lever.name for lever in levers] == ["recruit.grid", "recruit.stairwell"]


def test_the_report_renders_for_an_optimise_folder(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    code = _optimise(
        tiny,
        out,
        "--lever",
        "recruit=grid:20",
        "--objective",
        "urgent_within_window_share",
        "--objective",
        METRIC,
        "--trials",
        "4",
        "--set",
        "volunteers.count=10",
    )
    assert code == 0
    for lang in ("en", "zh"):
        assert main(["report", str(out), "--lang", lang]) == 0
        page = (out / "report" / "index.html").read_text(encoding="utf-8")
        assert "fig-opt-1-front" in page and "fig-opt-2-map" in page
        assert (out / "report" / "fig-opt-2-map.png").stat().st_size > 1000
    assert "地图" in page or "招募" in page


def test_poisson_optimum_matches_the_closed_form() -> None:
    """Two stairwells far apart, a grid each, orders 3:1, reach 0: the optimum of
    3(1 - e^{-pa}) + (1 - e^{-p(N-a)}) is a = N/2 + ln(3)/(2p)."""
    from sim.optimise import poisson

    weights = {
        "w": np.array([3.0, 1.0]),
        "e": np.array([5.0, 5.0]),
        "distance_m": np.array([[0.0, 500.0], [500.0, 0.0]]),
        "grid": np.array([0, 1]),
    }
    matrix = poisson.reach_matrix(weights, reach_m=0.0)
    assert matrix.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    p, total = 0.5, 4
    best = poisson.optimum(matrix, weights["w"], p, total)
    assert best[0] == pytest.approx(total / 2 + np.log(3) / (2 * p), abs=1e-4)
    assert best.sum() == pytest.approx(total)
    plan = np.array([3, 1])
    assert poisson.fixed_count_share(plan, matrix, weights["w"], p) >= poisson.reached_share(
        plan, matrix, weights["w"], p
    )


def test_ctrl_c_stops_and_keeps_what_is_done(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    command = [sys.executable, "-m", "sim", "optimise", str(tiny), "--out", str(out)]
    command += ["--lever", "broadcast.radius_m=100..600", "--objective", METRIC]
    command += ["--trials", "40", "--seeds", "2", "--days", "7"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = out / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if runs.is_dir() and len(list(runs.glob("*.parquet"))) >= 6:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "resume with: volsim optimise" in err.decode()
    trials = pd.read_csv(out / "trials.csv")
    assert 2 <= (trials["state"] == "COMPLETE").sum() < 40
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped"] == "SIGINT"


def test_a_search_whose_every_trial_fails_stops(tiny: Path, tmp_path: Path, capsys) -> None:
    """An objective no run defines (no urgent orders at all): every trial fails; the search
    stops after a bounded number of attempts instead of asking for ever."""
    out = tmp_path / "opt"
    flags = ["--lever", "broadcast.k=1..3", "--objective", METRIC, "--trials", "2"]
    flags += ["--set", "demand.type_shares.urgent=0", "--days", "2"]
    assert _optimise(tiny, out, *flags) == 1
    assert "too many failed" in capsys.readouterr().err
    trials = pd.read_csv(out / "trials.csv")
    assert (trials["state"] == "FAIL").all() and len(trials) <= 3 * 2 + 10


@pytest.mark.parametrize("step", ["1e-300", "0.001"])
def test_a_step_too_fine_to_list_is_one_line_before_any_trial(tiny, tmp_path, capsys, step):
    """Fuzzing found ``/1e-300`` raised decimal.InvalidOperation inside optuna (a traceback,
    a folder left behind) and ``/1e-3`` on a grid planned for minutes, ignoring Ctrl-C."""
    out = tmp_path / "out"
    lever = f"broadcast.radius_m=200..1500/{step}"
    argv = ["optimise", str(tiny), "--lever", lever, "--objective", "unmet", "--trials", "1"]
    status = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert f"--lever: {lever}: the step {float(step):g} makes more than 100,000 values" in err
    assert not out.exists()
