"""Tests for experiments that sample a calibration's accepted parameter sets ([posterior]):
reproducible, weighted, paired across design points, recorded in the run table, and a
missing or damaged file refused in one line naming it."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_experiment import write_experiment
from test_report import shared_root, yearly_folder  # noqa: F401 (fixtures)

from sim import cli
from sim.experiment.design import load_experiment, seeds_for
from sim.experiment.posterior import SET_COLUMN
from sim.experiment.runner import RunOptions, run_experiment, tasks_for
from sim.experiment.store import ResultsFolder
from sim.metrics import yearly_workload
from sim.orders import SERVED, UNMET
from sim.report import data, figures, summary_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios" / "calibration" / "chaoyangli-history-accepted.csv"
AGEING = ROOT / "experiments" / "ageing.toml"
SPONTANEOUS = "dynamics.recruit_spontaneous_per_year"
NEIGHBOUR = "dynamics.recruit_per_active_neighbour_per_year"


def write_posterior(path: Path, weights: list[float]) -> Path:
    """Accepted sets as ``volsim calibrate`` writes them (with a comment line and columns that
    are no scenario key), set i with spontaneous rate i / 1000."""
    table = pd.DataFrame(
        {
            "generation": 0,
            "index": range(len(weights)),
            SPONTANEOUS: [i / 1000 for i in range(len(weights))],
            NEIGHBOUR: [0.1 + i / 100 for i in range(len(weights))],
            "distance": 0.5,
            "weight": weights,
        }
    )
    path.write_text("# volsim calibrate (a test)\n" + table.to_csv(index=False), encoding="utf-8")
    return path


def posterior_experiment(tmp_path: Path, weights: list[float], seeds: int = 4, **kw) -> Path:
    posterior = write_posterior(tmp_path / "accepted.csv", weights)
    path = write_experiment(tmp_path / "e.toml", seeds=seeds, **kw)
    text = path.read_text(encoding="utf-8")
    text += f'[posterior]\nfile = "{posterior.name}"\nkeys = ["{SPONTANEOUS}", "{NEIGHBOUR}"]\n'
    path.write_text(text, encoding="utf-8")
    return path


def test_each_seed_takes_one_set_the_same_for_every_policy(tmp_path):
    path = posterior_experiment(tmp_path, [1.0] * 5)
    experiment = load_experiment(path)
    tasks = tasks_for(experiment, ResultsFolder(tmp_path / "out"), experiment.seeds)
    by_seed: dict[int, set[int]] = {}
    for task in tasks:
        row = task.values[SET_COLUMN]
        by_seed.setdefault(task.seed, set()).add(row)
        assert task.scenario["dynamics"]["recruit_spontaneous_per_year"] == row / 1000
        assert task.values[SPONTANEOUS] == row / 1000
    assert all(len(rows) == 1 for rows in by_seed.values())  # paired across the policies
    assert len({next(iter(rows)) for rows in by_seed.values()}) > 1  # seeds differ
    again = tasks_for(load_experiment(path), ResultsFolder(tmp_path / "out"), experiment.seeds)
    assert [t.run_id for t in again] == [t.run_id for t in tasks]  # reproducible


def test_more_seeds_keep_the_sets_of_the_first_ones(tmp_path):
    path = posterior_experiment(tmp_path, [1.0, 2.0, 3.0])
    few = load_experiment(path)
    many = load_experiment(path, seeds=12)
    assert [few.posterior_values(s) for s in few.seeds] == [
        many.posterior_values(s) for s in many.seeds[:4]
    ]


def test_sets_are_taken_in_proportion_to_their_weights(tmp_path):
    weights = [1.0, 0.0, 3.0, 6.0]
    path = posterior_experiment(tmp_path, weights, max_seeds=2000)
    experiment = load_experiment(path, seeds=2000)
    counts = Counter(experiment.posterior_values(s)[SET_COLUMN] for s in experiment.seeds)
    assert counts[1] == 0
    for row, weight in enumerate(weights):
        assert counts[row] / 2000 == pytest.approx(weight / 10, abs=0.01)
    twenty = Counter(experiment.posterior_values(s)[SET_COLUMN] for s in experiment.seeds[:20])
    assert twenty == {0: 2, 2: 6, 3: 12}  # low discrepancy: 20 seeds already in proportion


def test_another_root_seed_takes_other_sets(tmp_path):
    path = posterior_experiment(tmp_path, [1.0] * 50, root_seed=7)
    (tmp_path / "b").mkdir()
    other = posterior_experiment(tmp_path / "b", [1.0] * 50, root_seed=8)
    a, b = load_experiment(path), load_experiment(other)
    rows_a = [a.posterior_values(s)[SET_COLUMN] for s in a.seeds]
    rows_b = [b.posterior_values(s)[SET_COLUMN] for s in b.seeds]
    assert rows_a != rows_b


def test_the_run_table_records_each_runs_set(tmp_path):
    path = posterior_experiment(tmp_path, [1.0, 1.0, 1.0], seeds=3)
    experiment = load_experiment(path)
    run_experiment(experiment, tmp_path / "out", RunOptions(workers=1))
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert (runs["status"] == "done").all()
    for seed, group in runs.groupby("seed"):
        assert group[SET_COLUMN].nunique() == 1
        row = int(group[SET_COLUMN].iloc[0])
        assert row == experiment.posterior_values(int(seed))[SET_COLUMN]
        assert np.allclose(group[SPONTANEOUS], row / 1000)


def test_the_posterior_changes_the_experiments_hash(tmp_path):
    path = posterior_experiment(tmp_path, [1.0, 1.0])
    before = load_experiment(path).sha256()
    write_posterior(tmp_path / "accepted.csv", [1.0, 2.0])
    assert load_experiment(path).sha256() != before


DAMAGED = {
    "missing": None,
    "empty": "",
    "binary": "\x00\x01\x02garbage\x00",
    "no rows": f"{SPONTANEOUS},{NEIGHBOUR},weight\n",
    "no column": "weight\n1.0\n",
    "text value": f"{SPONTANEOUS},{NEIGHBOUR},weight\nabc,0.1,1\n",
    "negative weight": f"{SPONTANEOUS},{NEIGHBOUR},weight\n0.01,0.1,-1\n",
    "zero weights": f"{SPONTANEOUS},{NEIGHBOUR},weight\n0.01,0.1,0\n",
    "out of range": f"{SPONTANEOUS},{NEIGHBOUR},weight\n-0.5,0.1,1\n",
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_missing_or_damaged_posterior_is_refused_in_one_line(tmp_path, capsys, case):
    path = posterior_experiment(tmp_path, [1.0])
    accepted = tmp_path / "accepted.csv"
    if DAMAGED[case] is None:
        accepted.unlink()
    else:
        accepted.write_text(DAMAGED[case], encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["experiment", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "accepted.csv" in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_posterior_key_that_is_also_a_variable_is_refused(tmp_path, capsys):
    path = posterior_experiment(tmp_path, [1.0], variables={SPONTANEOUS: [0.0, 0.01]})
    code = cli.main(["experiment", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "posterior.keys" in err and SPONTANEOUS in err, err


def test_a_posterior_key_listed_twice_is_refused(tmp_path, capsys):
    path = posterior_experiment(tmp_path, [1.0])
    text = path.read_text(encoding="utf-8").replace(
        f'keys = ["{SPONTANEOUS}", "{NEIGHBOUR}"]', f'keys = ["{SPONTANEOUS}", "{SPONTANEOUS}"]'
    )
    path.write_text(text, encoding="utf-8")
    code = cli.main(["experiment", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "posterior.keys" in err and "twice" in err, err
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()


# --- the shipped posterior and the ageing experiment -------------------------------------------
def test_the_ageing_experiment_samples_the_shipped_posterior():
    experiment = load_experiment(AGEING)
    assert experiment.posterior is not None
    assert experiment.posterior.path == SHIPPED.resolve()
    rows = {experiment.posterior_values(s)[SET_COLUMN] for s in experiment.seeds}
    assert len(rows) > 1
    assert experiment.seeds == seeds_for(experiment.spec.experiment.root_seed, 20)


# --- the report: the threshold finding's spread, the posterior, the yearly workload -------------
def test_the_threshold_finding_gives_the_runs_spread(yearly_folder):  # noqa: F811 (the fixture)
    results = data.load(yearly_folder)
    yearly = results.yearly
    policy = yearly[yearly["policy"] == "pairing+nearest"]
    metric = "helpers_60_69_per_eligible_elder"
    high = float(policy[metric].max()) + 1.0  # every run below it from its first year
    sentence = summary_text.threshold_sentence(replace(results, threshold=high), "en")
    runs = policy.groupby(["point", "seed"]).ngroups
    first = int(policy["year"].min())
    assert f"({runs} of {runs} runs fall below it, 10-90% of them first in {first}-{first})" in (
        sentence.text
    )
    low = float(policy[metric].min()) / 2
    sentence = summary_text.threshold_sentence(replace(results, threshold=low), "zh")
    assert f"（{runs}次运行均未降至阈值以下）" in sentence.text


def test_the_finding_says_when_runs_drew_the_calibrations_sets(yearly_folder):  # noqa: F811 (the fixture)
    results = data.load(yearly_folder)
    assert summary_text.posterior_sentence(results, "en") is None  # no posterior: nothing said
    manifest = json.loads(json.dumps(results.manifest))
    manifest["resolved"]["posterior"] = {"file": "a.csv", "sha256": "0", "keys": [], "sets": 7}
    runs = results.runs.assign(posterior_set=[i % 3 for i in range(len(results.runs))])
    drew = replace(results, manifest=manifest, runs=runs, threshold=1.0)
    english = summary_text.threshold_sentence(drew, "en").text
    assert "one of the history calibration's 7 accepted parameter sets (3 drawn" in english
    assert "not only seed noise" in english
    assert "校准接受的7组参数" in summary_text.threshold_sentence(drew, "zh").text
    assert "calibration's uncertainty" in figures.yearly_series(drew, "en").caption


def test_the_yearly_series_shows_workload_and_unmet_per_urgency(yearly_folder):  # noqa: F811 (the fixture)
    yearly = pd.read_parquet(yearly_folder / "yearly.parquet")
    for column in (
        "orders_per_helper_per_month",
        "top_decile_served_share",
        "burnout_stops",
        "active_volunteer_age_mean_years",
        "helpers_60_69_per_eligible_elder",
        "paired_elders_share",
        "eligible_served_by_pair_share",
        "urgent_response_time_p90_min",
        "urgent_unmet_share",
        "same_day_unmet_share",
        "scheduled_unmet_share",
    ):
        assert column in yearly.columns, column
        assert column in figures.YEARLY or column == "top_decile_served_share", column
    assert (yearly["orders_per_helper_per_month"] > 0).all()


def test_yearly_workload_counts_the_years_helpers():
    table = pd.DataFrame(
        {
            "volunteer": [3, 3, 3, 5, 7, 7, -1] + [9] * 11,
            "status": [SERVED] * 6 + [UNMET] + [SERVED] * 11,
        }
    )
    found = yearly_workload(table)
    assert found["orders_per_helper_per_month"] == pytest.approx(17 / 4 / 12)
    assert found["top_decile_served_share"] == pytest.approx(11 / 17)  # the busiest one of 4
    assert math.isnan(yearly_workload(table.iloc[6:7])["orders_per_helper_per_month"])
