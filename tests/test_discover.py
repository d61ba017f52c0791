"""Scenario discovery: PRIM recovers a planted rule, `volsim discover` writes the table for every
pair of policies and headline metric, and a folder that is not a sampled experiment is refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from cli_support import run_cli

from sim import discover

KEYS = ["channels.app.answer_delay_mean_min", "acceptance.off_duty_multiplier", "rating.base_stars"]


def _bounds(text: str, key: str) -> tuple[float, float]:
    """The (low, high) a box's conditions give a key (inf where it leaves a side open)."""
    for part in text.split("; "):
        if key not in part:
            continue
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", part.replace(key, ""))]
        if "<=" in part and len(numbers) == 2:
            return numbers[0], numbers[1]
        if ">=" in part:
            return numbers[0], np.inf
        return -np.inf, numbers[0]
    return -np.inf, np.inf


def test_prim_recovers_a_planted_two_condition_rule() -> None:
    rng = np.random.default_rng(12)
    x = pd.DataFrame(rng.uniform(0, 1, size=(2000, 6)), columns=[f"k.x{i}" for i in range(6)])
    loses = (x["k.x1"] > 0.7) & (x["k.x3"] < 0.4)
    box = discover.box_row(x, np.where(loses, -1.0, 1.0))
    assert box["box_holds"] == "b better"
    low1, high1 = _bounds(box["conditions"], "k.x1")
    low3, high3 = _bounds(box["conditions"], "k.x3")
    assert 0.65 <= low1 <= 0.75 and high1 == np.inf
    assert low3 == -np.inf and 0.35 <= high3 <= 0.45
    assert "k.x0" not in box["conditions"] and "k.x5" not in box["conditions"]
    assert box["coverage"] > 0.9 and box["density"] > 0.9


def test_a_planted_rule_among_sixty_assumptions_on_160_points() -> None:
    """The robustness design's shape: 160 independent points, 60 sampled assumptions, two of
    which decide. Without the candidate step PRIM peels on a dozen noise columns."""
    rng = np.random.default_rng(21)
    x = pd.DataFrame(rng.uniform(0, 1, size=(160, 60)), columns=[f"k.x{i:02d}" for i in range(60)])
    loses = ((x["k.x07"] > 0.5) & (x["k.x42"] < 0.6)).to_numpy()
    box = discover.box_row(x, np.where(loses, -1.0, 1.0))
    restricted = {
        part.split(" ")[0] if "<= k" not in part else part.split(" ")[2]
        for part in box["conditions"].split("; ")
    }
    assert restricted == {"k.x07", "k.x42"}, box["conditions"]
    assert box["confirmed"] and box["density_held_out"] > 0.5  # the base rate is 0.3


def test_a_box_around_noise_is_not_confirmed_on_held_out_points() -> None:
    """PRIM finds a box in pure noise; on the points it was not found on, its density is the
    base rate (about 0.4 here), below both confirmation thresholds."""
    rng = np.random.default_rng(4)
    x = pd.DataFrame(rng.uniform(0, 1, size=(300, 8)), columns=[f"k.x{i}" for i in range(8)])
    wins = rng.uniform(size=300) > 0.4
    box = discover.box_row(x, np.where(wins, 1.0, -1.0))
    assert box["conditions"] and box["density"] > (~wins).mean()  # in-sample it looks denser
    assert box["density_held_out"] < discover.CONFIRM_DENSITY and not box["confirmed"]


def test_a_rule_seen_in_one_block_only_is_not_confirmed() -> None:
    """Points of one Morris trajectory are not independent: a design with one block has nothing
    to hold out, and its box is not confirmed however clean."""
    rng = np.random.default_rng(12)
    x = pd.DataFrame(rng.uniform(0, 1, size=(400, 3)), columns=["k.a", "k.b", "k.c"])
    wins = ~((x["k.a"] > 0.7).to_numpy())
    gain = np.where(wins, 1.0, -1.0)
    one_block = discover.box_row(x, gain, np.zeros(400, dtype=int))
    assert one_block["conditions"] and np.isnan(one_block["density_held_out"])
    assert not one_block["confirmed"]
    assert discover.box_row(x, gain)["confirmed"]  # the same rule on independent points
    four = discover.box_row(x, gain, np.arange(400) // 100)  # four trajectories: too few
    assert not four["confirmed"]


def test_blocks_are_trajectories_base_rows_or_points() -> None:
    sample = np.arange(12)
    morris = discover.block_ids(sample, {"kind": "morris"}, 3)  # 4 rows per trajectory
    assert morris.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    sobol = discover.block_ids(sample, {"kind": "sobol", "second_order": False}, 2)
    assert sobol.tolist() == [0] * 4 + [1] * 4 + [2] * 4  # A, AB_1, AB_2, B per base row
    sobol2 = discover.block_ids(sample, {"kind": "sobol", "second_order": True}, 2)
    assert sobol2.tolist() == [0] * 6 + [1] * 6
    assert discover.block_ids(sample, {"kind": "lhs"}, 5).tolist() == sample.tolist()


def test_with_ties_the_box_is_around_the_other_policys_wins() -> None:
    """A better at a third of the points, B nowhere, ties elsewhere: A is the usual winner
    (as the report's sentence says), so there is no box of where it loses; before, the box was
    drawn around where A wins and the sentence said A lost there."""
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.uniform(0, 1, size=(300, 3)), columns=["k.a", "k.b", "k.c"])
    gain = np.where(x["k.a"] > 0.66, 1.0, 0.0)
    box = discover.box_row(x, gain)
    assert box["conditions"] == "everywhere sampled" and not box["confirmed"]
    flipped = discover.box_row(x, -gain)  # B better where A was: B the usual winner
    assert flipped["conditions"] == "everywhere sampled"


def test_a_factorial_folder_has_no_blocks_and_is_read(tmp_path) -> None:
    """A factorial design over stepped ranges records no sample row: every point independent."""
    _results_folder(tmp_path, n_points=40)
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    runs["sample"] = None
    runs.to_parquet(tmp_path / "runs.parquet", index=False)
    table = discover.discover(tmp_path)
    assert len(table) == 9 and (table["blocks"] == table["points"]).all()


def test_no_box_when_one_policy_wins_everywhere() -> None:
    x = pd.DataFrame({"k.x": np.linspace(0, 1, 50)})
    box = discover.box_row(x, np.ones(50))
    assert box["conditions"] == "everywhere sampled" and box["box_holds"] == ""


def _results_folder(path, n_points: int = 300) -> None:
    """A results folder as `volsim experiment` writes it, with a planted rule: broadcast's
    urgent p90 beats nearest's unless the app answers slowly (delay above 6 minutes)."""
    rng = np.random.default_rng(3)
    variables = {
        "policy": ["nearest", "broadcast", "grid"],
        "scenario": ["a.toml"],
        **{key: {"min": 0.0, "max": 10.0, "steps": None} for key in KEYS},
    }
    points = rng.uniform(0, 10, size=(n_points, len(KEYS)))
    rows = []
    for values in points:
        delay = values[0]
        for seed in (1, 2):
            noise = rng.normal(0, 0.1, 3)
            p90 = {"nearest": 20.0, "broadcast": 12.0 if delay <= 6 else 25.0, "grid": 30.0}
            for i, policy in enumerate(variables["policy"]):
                rows.append(
                    {"run_id": f"r{len(rows)}", "status": "done", "seed": seed}
                    | {"policy": policy, "scenario": "a.toml"}
                    | dict(zip(KEYS, values, strict=True))
                    | {
                        "urgent_response_time_p90_min": p90[policy] + noise[i],
                        "urgent_within_window_share": 0.9 - i / 10,
                        "urgent_unmet_share": 0.0,
                    }
                )
    pd.DataFrame(rows).to_parquet(path / "runs.parquet", index=False)
    runs = [{"run_id": row["run_id"]} for row in rows]
    manifest = {"resolved": {"experiment": {"variables": variables}}, "runs": runs}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_volsim_discover_writes_every_pair_and_metric_and_finds_the_rule(
    capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _results_folder(tmp_path)
    status, out, err = run_cli(capsys, "discover", str(tmp_path))
    assert status == 0, err
    table = pd.read_csv(tmp_path / "discovery.csv")
    assert len(table) == 3 * 3  # three pairs × three headline metrics
    assert pd.read_parquet(tmp_path / "discovery.parquet").shape == table.shape
    row = table[
        (table["metric"] == "urgent_response_time_p90_min")
        & (table["a"] == "broadcast")
        & (table["b"] == "nearest")
    ].iloc[0]
    assert 0.5 < row["share_a_better"] < 0.7  # delays up to 6 of 0-10 minutes
    low, high = _bounds(row["conditions"], KEYS[0])
    assert 5.5 <= low <= 6.5 and high == np.inf
    assert KEYS[1] not in row["conditions"] and KEYS[2] not in row["conditions"]
    assert bool(row["confirmed"]) and row["density_held_out"] > 0.9  # holds on held-out points
    ties = table[table["metric"] == "urgent_unmet_share"]
    assert (ties["share_a_better"] == 0).all()  # equal is not better
    assert "broadcast" in out and "A better" in out


def test_a_folder_without_a_manifest_is_one_line_with_status_2(capsys, tmp_path) -> None:
    status, out, err = run_cli(capsys, "discover", str(tmp_path))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "not a results folder" in err and str(tmp_path) in err


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"scenario": ["a.toml"], "k.x": {"min": 0, "max": 1}}, "policy is not a variable"),
        ({"policy": ["nearest", "grid"]}, "no sampled"),
    ],
)
def test_an_experiment_without_policies_or_samples_is_refused(
    variables: dict, message: str, capsys, tmp_path
) -> None:
    manifest = {"resolved": {"experiment": {"variables": variables}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    status, _, err = run_cli(capsys, "discover", str(tmp_path))
    assert status == 2 and message in err and "manifest.json" in err
