"""The history calibration (sim/calibration.py, ``volsim calibrate``):

1. the ABC machinery recovers a known parameter of a cheap synthetic model;
2. the fast history run (people and volunteers only) is the full model's run, draw for draw;
3. the logistic effort path rises from the early effort to the final one around its midpoint;
4. the accepted draws of a small real calibration reproduce the registry counts and residents
   within the targets' tolerances, and a rerun of an accepted draw gives the same counts;
5. the command resumes after SIGKILL: the draws already written are not simulated again.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import calibration
from sim.calibration import (
    TARGETS,
    Prior,
    Target,
    abc_smc,
    effective_sample_size,
    pooled_weights,
    propose,
    simulate,
    summarise,
)
from sim.errors import InputError
from sim.model import VolunteerModel
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "scenarios" / "chaoyangli-history.toml"


# --- 1: a known parameter ----------------------------------------------------------------
def binomial_model(params: dict[str, float], seed: int) -> dict[str, float]:
    """k successes of 1,000 trials with probability p (its own stream per draw and seed)."""
    rng = np.random.default_rng([int(params["p"] * 1e9), seed])
    return {"k": float(rng.binomial(1000, params["p"]))}


@pytest.mark.parametrize("generations", [1, 2])
def test_abc_recovers_a_known_probability(generations: int) -> None:
    """True p = 0.3, observed k = 300 of 1,000 (sd 14.5), tolerance ±9: the posterior's sd is
    about 0.016, so its mean lies within 0.03 of 0.3 and its 90% interval holds 0.3 and spans
    far less than the prior U(0, 1)."""
    prior = Prior("p", 0.0, 1.0)
    table = abc_smc(
        binomial_model, [prior], [Target("k", "k", 0, 300, 0.03)], 400, generations, seed=3
    )
    accepted = table[table["accepted"]]
    assert len(accepted) >= 5
    row = summarise(accepted, [prior]).iloc[0]
    assert row["mean"] == pytest.approx(0.3, abs=0.03)
    assert row["q05"] <= 0.3 <= row["q95"]
    assert row["interval_share_of_prior"] < 0.12


def test_pooled_weights_are_bounded_and_keep_the_prior() -> None:
    """Draws of a prior generation and of a narrow kernel, pooled: weighted, they still estimate
    the prior (the share below 0.5 is 0.5 within sampling error), and no weight exceeds
    N / n_0 = 2. Weighting each draw by its own proposal alone gives kernel draws in the tail of
    the kernel weights twenty times that, and a far smaller effective sample."""
    prior = (Prior("p", 0.0, 1.0),)
    first = propose(prior, None, 2000, seed=1)
    particles = pd.DataFrame({"p": [0.3, 0.32, 0.35], "weight": [1.0, 1.0, 1.0]})
    second = propose(prior, particles, 2000, seed=2)
    draws = pd.concat([first, second], ignore_index=True)
    weights = pooled_weights(prior, draws, [(2000, None), (2000, particles)])
    assert weights.max() <= 2.0 + 1e-9
    below = np.average(draws["p"] < 0.5, weights=weights)
    assert below == pytest.approx(0.5, abs=3 * math.sqrt(0.25 / 2000))  # the first alone: 0.011
    own = np.concatenate([np.ones(2000), second["weight"].to_numpy()])
    assert own.max() > 10 * weights.max()
    assert effective_sample_size(weights) > 2 * effective_sample_size(own)  # 2,334 vs 1,051


def test_distance_is_the_worst_miss_in_tolerances() -> None:
    targets = [Target("a", "a", 0, 100, 0.1), Target("b", "b", 0, 1000, 0.5)]
    assert calibration.distance({"a": 105, "b": 1000}, targets) == pytest.approx(0.5)
    assert calibration.distance({"a": 100, "b": 2000}, targets) == pytest.approx(2.0)
    assert calibration.distance({"a": 100, "b": math.nan}, targets) == math.inf


# --- 2, 3: the history model ------------------------------------------------------------------
def test_the_fast_history_run_is_the_full_models_run() -> None:
    days = {"simulation.days": 3 * 365}
    fast = simulate(HISTORY, days, seed=3)
    model = VolunteerModel(HISTORY, rng=3, **days)
    model.run()
    yearly = model.yearly_table().set_index("year")
    assert fast["registered_by_year"] == yearly["registered_volunteers"].to_dict()
    assert fast["residents_by_year"] == yearly["residents"].to_dict()
    assert list(fast["registered_by_year"]) == [1988, 1989, 1990]
    assert fast["registered_by_year"][1990] > 13  # recruitment happened


def test_the_effort_path_rises_logistically() -> None:
    keys = {
        "dynamics.recruitment_effort": 0.1,
        "dynamics.recruitment_effort_final": 1.0,
        "dynamics.recruitment_effort_midpoint_year": 2010.5,
        "dynamics.recruitment_effort_rise_years": 4.0,
    }
    model = VolunteerModel(HISTORY, rng=0, **{"simulation.days": 1, **keys})
    effort = model.dynamics.recruitment_effort
    assert effort(1950) == pytest.approx(0.1, abs=1e-4)
    assert effort(2010) == pytest.approx(0.55)  # mid-2010 is the midpoint
    assert effort(2012) == pytest.approx(0.1 + 0.9 * 0.9)  # 2 years on: 90% of the rise
    assert effort(2008) == pytest.approx(0.1 + 0.9 * 0.1)
    assert effort(2100) == pytest.approx(1.0, abs=1e-4)


# --- 4: a small real calibration -----------------------------------------------------------
def test_the_accepted_draws_reproduce_the_registry_counts(tmp_path: Path, monkeypatch) -> None:
    """Priors ±2% of the priors' widths around the history scenario's values (the posterior
    mean), one generation of
    2 draws on 2 workers (seeds 0 and 1): the accepted draws meet every target, and a rerun of
    one gives the same counts."""
    monkeypatch.setattr(calibration, "GENERATIONS", 1)
    stated = load(HISTORY).dynamics.model_dump()
    value = {p.key: stated[p.key.split(".")[1]] for p in calibration.PRIORS}
    priors = tuple(
        Prior(p.key, value[p.key] - 0.02 * (p.high - p.low), value[p.key] + 0.02 * (p.high - p.low))
        for p in calibration.PRIORS
    )
    calibration.start(HISTORY, tmp_path, 2, seed=0, priors=priors)
    calibration.execute(calibration.plan(HISTORY, tmp_path, 0, 2, seed=0, priors=priors), 2)
    samples, summary = calibration.collect(tmp_path, priors)
    accepted = pd.read_parquet(tmp_path / "accepted.parquet")
    assert len(samples) == 2 and len(accepted) >= 1, samples[[t.name for t in TARGETS]]
    for t in TARGETS:
        assert (abs(accepted[t.name] - t.observed) <= t.tolerance * t.observed).all(), t.name
    first = accepted.iloc[0]
    again = simulate(HISTORY, {p.key: float(first[p.key]) for p in priors}, int(first["seed"]))
    for t in TARGETS:
        assert again[t.name] == first[t.name]
    assert (summary["accepted"] == len(accepted)).all()
    assert (tmp_path / "accepted.csv").exists() and (tmp_path / "summary.json").exists()


# --- 5: resuming after a kill -------------------------------------------------------------------
SMALL_HISTORY = """
[population]
residents = 600
households = 240
share_aged_60_plus = 0.14
share_aged_80_plus = 0.015
share_aged_90_plus = 0.001
[community]
buildings = 10
stairwells = 30
grids = 3
service_points = 20
[volunteers]
registered_share_of_residents = 0.02
active_share_of_registered = 1.0
[demand]
orders_per_year_alone_80_plus = 0.0
orders_per_year_empty_nest_80_plus = 0.0
orders_per_year_other_80_plus = 0.0
orders_per_year_alone_60_79 = 0.0
orders_per_year_empty_nest_60_79 = 0.0
[simulation]
days = 730
start_year = 2021
"""


def test_the_command_resumes_after_a_kill(tmp_path: Path) -> None:
    scenario = tmp_path / "small-history.toml"
    scenario.write_text(SMALL_HISTORY, encoding="utf-8")
    out = tmp_path / "calibration"
    command = [sys.executable, "-m", "sim", "calibrate", str(scenario), "--out", str(out)]
    command += ["--samples", "12", "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = out / "runs"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(runs.glob("*.json"))) < 2:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 2 <= len(before) < 12, "the kill came too late to test resuming"
    assert not (out / "summary.json").exists()

    exported = tmp_path / "accepted.csv"
    done = subprocess.run(
        [*command, "--export", str(exported)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} done, {12 - len(before)} to simulate" in done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert len(after) == 12
    assert all(after[name] == mtime for name, mtime in before.items())  # not recomputed
    assert len(pd.read_parquet(out / "samples.parquet")) == 12
    header = [line for line in exported.read_text(encoding="utf-8").splitlines() if line[:1] == "#"]
    assert header[1].startswith("# Produced by: volsim calibrate ") and "--samples 12" in header[1]
    table = pd.read_csv(exported, comment="#")
    accepted = pd.read_parquet(out / "accepted.parquet")
    assert len(table) == len(accepted)
    assert {"seed", "weight", "distance", *(p.key for p in calibration.PRIORS)} <= set(table)


def test_more_generations_split_the_draws(tmp_path: Path) -> None:
    scenario = tmp_path / "small-history.toml"
    scenario.write_text(SMALL_HISTORY, encoding="utf-8")
    calibration.start(scenario, tmp_path / "c", 12, generations=4)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generations"] == 4
    tasks = calibration.plan(scenario, tmp_path / "c", 0, 12, generations=4)
    assert len(tasks) == 3
    with pytest.raises(InputError, match="another calibration"):
        calibration.start(scenario, tmp_path / "c", 12, generations=3)


# --- 6: the shipped posterior ---------------------------------------------------------------------
SHIPPED = ROOT / "scenarios" / "calibration" / "chaoyangli-history-accepted.csv"


def test_the_shipped_accepted_sets_reproduce_the_registry_counts() -> None:
    """Every shipped set met every target when it was simulated (distance <= 1, the ABC
    tolerance: registry 2015 ±30%, 2023 ±10%, residents ±5%); the two heaviest, simulated again
    with their seeds, give the same counts, so the file is this model's posterior."""
    header = SHIPPED.read_text(encoding="utf-8").splitlines()[1]
    assert header.startswith("# Produced by: volsim calibrate scenarios/chaoyangli-history.toml")
    table = pd.read_csv(SHIPPED, comment="#")
    assert len(table) >= 5 and (table["weight"] > 0).all()
    for t in TARGETS:
        assert (abs(table[t.name] - t.observed) <= t.tolerance * t.observed).all(), t.name
    keys = [p.key for p in calibration.PRIORS]
    for row in table.nlargest(2, "weight").to_dict("records"):
        again = simulate(HISTORY, {k: float(row[k]) for k in keys}, int(row["seed"]))
        assert calibration.distance(again, TARGETS) <= 1
        for t in TARGETS:
            assert again[t.name] == row[t.name], t.name
