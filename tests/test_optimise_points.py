"""`volsim optimise` site levers open distinct stairwells: a trial of ``points=N`` opens N service
points (and ``recruit=stairwell:N/K`` recruits at K stairwells) even when the sampler picks a
stairwell twice, the repeat standing for the nearest stairwell not yet chosen; the decoding is
a pure function of the trial's parameters; the grid sampler enumerates each set of sites once;
the written tables and the best layout list the sites actually opened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from test_optimise import TINY

from sim import scenario as scenario_module
from sim.cli import main
from sim.community import build_layout
from sim.optimise import LEVER_KEYS, levers
from sim.optimise.levers import parse_lever

POINTS = LEVER_KEYS["points"]
CANDIDATES = [0, 12, 25, 29]
#: a tiny search: one seed, two days, the station policy at the chosen points
QUICK = ["--days", "2", "--seeds", "1", "--recheck-seeds", "1", "--recheck-top", "2"]
QUICK += ["--objective", "unmet", "--set", "dispatch.policy=station"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny community of test_optimise (30 stairwells, 4 service points)."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _sites(lever, params: dict) -> dict:
    return lever.suggest(optuna.trial.FixedTrial(params))


def _nearest_free(tiny: Path, pick: int, chosen: list[int]) -> int:
    """The candidate nearest to ``pick`` along the lanes in the fixed layout, not in ``chosen``
    (ties: the lowest number), worked out here from the layout itself."""
    community = scenario_module.load(tiny).community
    xy = build_layout(community, np.random.default_rng(community.layout_seed)).stairwell_xy
    free = [c for c in CANDIDATES if c not in chosen]
    return min(free, key=lambda c: (int(np.abs(xy[c] - xy[pick]).sum()), c))


def test_a_repeated_pick_opens_the_nearest_stairwell_not_yet_chosen(tiny: Path) -> None:
    lever = parse_lever("points=3@0,12,25,29", scenario_module.load(tiny))
    sites = _sites(lever, {"points.0": 0, "points.1": 0, "points.2": 0})[POINTS]
    second = _nearest_free(tiny, 0, [0])
    third = _nearest_free(tiny, 0, [0, second])
    assert sites == sorted([0, second, third])
    # a trial without a repeat opens what it picked, sorted, as before
    assert _sites(lever, {"points.0": 29, "points.1": 0, "points.2": 12})[POINTS] == [0, 12, 29]
    # every set of picks opens three distinct sites among the candidates, the same each time
    for picks in np.ndindex(4, 4, 4):
        params = {f"points.{i}": CANDIDATES[p] for i, p in enumerate(picks)}
        sites = _sites(lever, params)[POINTS]
        assert len(set(sites)) == 3 and set(sites) <= set(CANDIDATES)
        assert set(params.values()) <= set(sites)  # every pick is opened
        assert _sites(lever, params)[POINTS] == sites


def test_without_a_fixed_layout_the_nearest_is_by_stairwell_number(tiny: Path) -> None:
    scenario = scenario_module.load(tiny, {"community.fixed_layout": False})
    lever = parse_lever("points=3@0,12,25,29", scenario)
    assert lever.positions == ()
    picks = {"points.0": 12, "points.1": 12, "points.2": 12}
    assert _sites(lever, picks)[POINTS] == [0, 12, 25]  # 12, then 0 (12 away), then 25 (13)
    assert levers.distinct_sites([2, 2], [1, 2, 3]) == [2, 1]  # a tie: the lower number


def test_recruits_over_k_stairwells_go_to_k_distinct_stairwells(tiny: Path) -> None:
    lever = parse_lever("recruit=stairwell:4/2@1,2,3", scenario_module.load(tiny))
    key = LEVER_KEYS["recruit.stairwell"]
    plan = _sites(lever, {"recruit.stairwell.0": 2, "recruit.stairwell.1": 2})[key]
    assert len(plan) == 2 and len({s for s, _ in plan}) == 2
    assert sum(n for _, n in plan) == 4 and all(n == 2 for _, n in plan)


def test_every_trial_of_a_search_opens_n_distinct_points(tiny: Path, tmp_path: Path) -> None:
    """Random sampling of 3 sites among 4 repeats a pick in 5 trials of 8 on average: each still
    opens 3 points, and the trials, front and re-check tables and the best list them."""
    out = tmp_path / "opt"
    argv = ["optimise", str(tiny), "--out", str(out), "--lever", "points=3@0,12,25,29"]
    assert main([*argv, *QUICK, "--sampler", "random", "--trials", "8"]) == 0
    trials = pd.read_csv(out / "trials.csv")
    assert (trials["state"] == "COMPLETE").all() and len(trials) == 8
    picks = trials[[f"param.points.{i}" for i in range(3)]].to_numpy()
    assert any(len(set(row)) < 3 for row in picks.tolist())  # the sampler did repeat a pick
    for row, overrides in zip(picks.tolist(), trials["overrides"], strict=True):
        sites = json.loads(overrides)[POINTS]
        assert len(sites) == 3 and len(set(sites)) == 3 and set(row) <= set(sites)
    for name in ("front", "recheck"):
        for overrides in pd.read_csv(out / f"{name}.csv")["overrides"]:
            assert len(set(json.loads(overrides)[POINTS])) == 3
    best = json.loads((out / "manifest.json").read_text())["best"]
    assert len(set(best["overrides"][POINTS])) == 3


def test_the_grid_sampler_tries_each_set_of_distinct_sites_once(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    argv = ["optimise", str(tiny), "--out", str(out), "--lever", "points=2@0,12,25"]
    assert main([*argv, *QUICK, "--sampler", "grid", "--trials", "20"]) == 0
    trials = pd.read_csv(out / "trials.csv")
    sites = sorted(json.loads(o)[POINTS] for o in trials["overrides"])
    assert sites == [[0, 12], [0, 25], [12, 25]]
