"""Reproducibility: one scenario, policy and seed give one result; policies share their orders.

Every random process draws from its own stream spawned from the seed (common random numbers), so
two policies run with one seed face the same orders, and comparisons between them are paired.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from sim.model import VolunteerModel

POLICIES = ("pairing", "nearest", "broadcast", "grid", "station", "random", "pairing+broadcast")
#: what a policy cannot change: when and by whom orders are placed, and the work they need
ORDER_COLUMNS = ["placed_min", "elder", "order_type", "service_min"]


def without_wall_time(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "wall_seconds"}


def assert_same_summary(first: dict, second: dict) -> None:
    """Equal summaries, NaN equal to NaN (a metric can be undefined in a short run)."""
    first, second = without_wall_time(first), without_wall_time(second)
    assert first.keys() == second.keys()
    assert pd.Series(first, dtype=object).equals(pd.Series(second, dtype=object)), {
        key: (first[key], second[key]) for key in first if first[key] != second[key]
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_same_scenario_policy_and_seed_give_identical_results(
    policy: str, baseline_file, run_model
) -> None:
    first = run_model(baseline_file, policy=policy, days=10, rng=2024)
    second = run_model(baseline_file, policy=policy, days=10, rng=2024)
    assert_same_summary(first.summary(), second.summary())
    pd.testing.assert_frame_equal(first.order_table(), second.order_table(), check_exact=True)
    pd.testing.assert_frame_equal(first.daily_table(), second.daily_table(), check_exact=True)


def test_same_seed_gives_identical_results_with_fixed_acceptance(
    small_community, run_model
) -> None:
    overrides = {**small_community, "volunteers.accept_probability": 0.6}
    first = run_model(policy="random", days=8, rng=5, **overrides)
    second = run_model(policy="random", days=8, rng=5, **overrides)
    assert_same_summary(first.summary(), second.summary())
    pd.testing.assert_frame_equal(first.order_table(), second.order_table(), check_exact=True)


def test_a_scenario_file_a_scenario_object_and_overrides_agree(baseline_file, run_model) -> None:
    from_file = run_model(baseline_file, policy="nearest", days=5, rng=3)
    from_object = run_model(from_file.scenario_params, policy="nearest", days=5, rng=3)
    pd.testing.assert_frame_equal(
        from_file.order_table(), from_object.order_table(), check_exact=True
    )


def test_different_seeds_give_different_runs(baseline_file, run_model) -> None:
    first, second = (
        run_model(baseline_file, policy="nearest", days=10, rng=seed) for seed in (1, 2)
    )
    assert not first.order_table()[ORDER_COLUMNS].equals(second.order_table()[ORDER_COLUMNS])
    assert (first.seed, second.seed) == (1, 2)
    summaries = [without_wall_time(m.summary()) for m in (first, second)]
    assert summaries[0] != summaries[1]


@pytest.mark.parametrize("seed", [0, 77])
def test_every_policy_faces_the_same_orders_under_one_seed(
    seed: int, baseline_file, run_model
) -> None:
    reference = run_model(baseline_file, policy="nearest", days=14, rng=seed).order_table()
    assert len(reference) > 0
    for policy in POLICIES:
        table = run_model(baseline_file, policy=policy, days=14, rng=seed).order_table()
        pd.testing.assert_frame_equal(
            table[ORDER_COLUMNS], reference[ORDER_COLUMNS], check_exact=True, obj=policy
        )


def test_policies_face_the_same_orders_when_volunteers_are_scarce(
    small_community, run_model
) -> None:
    # four volunteers: policies leave them busy, tired and demotivated very differently
    overrides = {**small_community, "volunteers.count": 4, "demand.total_per_day": 25.0}
    tables = [
        run_model(policy=policy, days=10, rng=6, **overrides).order_table()[ORDER_COLUMNS]
        for policy in ("pairing", "nearest", "broadcast", "station")
    ]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


def test_policies_face_the_same_orders_when_residents_die(small_community, run_model) -> None:
    # high mortality, daily updates, long services, and orders mostly from the young-old
    # (who may themselves be volunteers): people die while busy serving
    overrides = {
        **small_community,
        "dynamics.update_interval_days": 1,
        "dynamics.gompertz_a_per_year": 0.002,
        "service.mean_min": 900.0,
        "demand.orders_per_year_alone_60_79": 300.0,
        "demand.orders_per_year_empty_nest_60_79": 300.0,
    }
    for seed in range(4):
        tables = [
            run_model(policy=policy, days=6, rng=seed, **overrides).order_table()[ORDER_COLUMNS]
            for policy in ("nearest", "pairing")
        ]
        pd.testing.assert_frame_equal(tables[1], tables[0], check_exact=True, obj=f"seed {seed}")


def test_policies_face_the_same_orders_under_flat_demand(small_community, run_model) -> None:
    overrides = {**small_community, "demand.total_per_day": 20.0}
    for seed in range(4):
        tables = [
            run_model(policy=policy, days=30, rng=seed, **overrides).order_table()[ORDER_COLUMNS]
            for policy in ("nearest", "pairing")
        ]
        pd.testing.assert_frame_equal(tables[1], tables[0], check_exact=True, obj=f"seed {seed}")


def test_the_seed_is_the_only_source_of_randomness(baseline_file) -> None:
    """Building a model twice from one seed gives the same community and people."""
    first = VolunteerModel(baseline_file, days=1, rng=99)
    second = VolunteerModel(baseline_file, days=1, rng=99)
    for name in ("age_years", "household", "stairwell", "floor", "registered", "active"):
        assert (getattr(first.population, name) == getattr(second.population, name)).all(), name
    assert (first.layout.stairwell_xy == second.layout.stairwell_xy).all()
    assert (first.point_host == second.point_host).all()


def test_the_cli_prints_the_same_json_in_separate_processes(repo_root, baseline_file) -> None:
    """Two processes with different string-hash seeds: no hidden dependence on hashing."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-m", "sim", "run", str(baseline_file)]
        command += ["--days", "5", "--seed", "4", "--policy", "pairing+broadcast", "--json"]
        result = subprocess.run(
            command, cwd=repo_root, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        outputs.append(without_wall_time(json.loads(result.stdout)))  # all of stdout
    assert outputs[0] == outputs[1]
