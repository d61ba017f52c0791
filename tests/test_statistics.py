"""Tests for sim.experiment.statistics: intervals, paired comparisons, sensitivity."""

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy import stats

from sim.experiment.statistics import (
    max_halfwidth,
    morris_indices,
    paired_differences,
    sobol_indices,
    summarize,
)

SUMMARY_COLUMNS = ["n", "mean", "sd", "ci_low", "ci_high", "halfwidth"]
PAIRED_COLUMNS = [
    "point",
    "baseline_point",
    "metric",
    "n_pairs",
    "mean_difference",
    "sd",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "significant",
]


def make_runs(
    points: list[dict], seeds: list[int], metric: Callable[[int, dict, int], dict]
) -> pd.DataFrame:
    """Runs of every design point (index = position) × seed, all done."""
    rows = [
        {"point": p, "seed": s, "status": "done", **values, **metric(p, values, s)}
        for p, values in enumerate(points)
        for s in seeds
    ]
    return pd.DataFrame(rows)


def fail(runs: pd.DataFrame, point: int, seed: int, metrics: list[str]) -> None:
    """Mark one run failed (NaN metrics), in place."""
    row = (runs["point"] == point) & (runs["seed"] == seed)
    runs.loc[row, "status"] = "failed"
    runs.loc[row, metrics] = np.nan


def values_of(runs: pd.DataFrame, point: int, metric: str) -> pd.Series:
    """Done, non-NaN values of one point's metric, indexed by seed."""
    rows = runs[(runs["point"] == point) & (runs["status"] == "done")]
    return rows.set_index("seed")[metric].dropna().sort_index()


# --------------------------------------------------------------------------- summarize


def test_summarize_known_values_and_t_interval() -> None:
    data = {0: [1.0, 2.0, 3.0, 4.0], 1: [10.0, 11.0, 15.0, 7.0]}
    runs = make_runs(
        [{"policy": "a", "share": 0.1}, {"policy": "b", "share": 0.1}],
        [0, 1, 2, 3],
        lambda p, v, s: {"y": data[p][s], "z": -data[p][s]},
    )
    table = summarize(runs, ["policy", "share"], ["z", "y"], confidence=0.9)
    assert list(table.columns) == ["policy", "share", "point", "metric", *SUMMARY_COLUMNS]
    assert table[["point", "metric"]].values.tolist() == [[0, "z"], [0, "y"], [1, "z"], [1, "y"]]
    for row in table.itertuples():
        sample = np.array(data[row.point]) * (1 if row.metric == "y" else -1)
        assert row.n == 4
        assert row.mean == pytest.approx(sample.mean(), rel=1e-12)
        assert row.sd == pytest.approx(np.std(sample, ddof=1), rel=1e-12)
        low, high = stats.t.interval(0.9, 3, loc=sample.mean(), scale=stats.sem(sample))
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-12)
        assert row.halfwidth == pytest.approx((high - low) / 2, rel=1e-12)
    assert table.loc[0, "sd"] == pytest.approx(np.sqrt(5 / 3), rel=1e-12)


def test_summarize_ignores_failed_runs_and_nan() -> None:
    runs = make_runs([{"policy": "a"}], [0, 1, 2, 3, 4], lambda p, v, s: {"y": float(s)})
    runs.loc[runs["seed"] == 4, "status"] = "failed"  # a stale value must still be ignored
    runs.loc[runs["seed"] == 0, "y"] = np.nan
    # a run that failed before it started is recorded without its variables
    unstarted = pd.DataFrame([{"point": 0, "seed": 5, "status": "failed"}])
    runs = pd.concat([runs, unstarted], ignore_index=True)
    table = summarize(runs, ["policy"], ["y"])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["policy"] == "a"
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(2.0)
    assert row["sd"] == pytest.approx(1.0)


def test_variables_must_be_constant_within_a_point() -> None:
    runs = make_runs([{"policy": "a"}], [0, 1], lambda p, v, s: {"y": 1.0})
    runs.loc[1, "policy"] = "b"
    with pytest.raises(ValueError, match="not constant"):
        summarize(runs, ["policy"], ["y"])


def test_summarize_single_and_no_values() -> None:
    runs = make_runs(
        [{"policy": "a"}, {"policy": "b"}, {"policy": "c"}],
        [0, 1],
        lambda p, v, s: {"y": 5.0 + s},
    )
    fail(runs, 0, 1, ["y"])
    fail(runs, 1, 0, ["y"])
    fail(runs, 1, 1, ["y"])
    table = summarize(runs, ["policy"], ["y"]).set_index("policy")
    assert table.loc["a", "n"] == 1
    assert table.loc["a", "mean"] == 5.0
    assert table.loc["a", ["sd", "ci_low", "ci_high", "halfwidth"]].isna().all()
    assert table.loc["b", "n"] == 0
    assert table.loc["b", ["mean", "sd", "halfwidth"]].isna().all()
    assert table.loc["c", "n"] == 2
    assert np.isfinite(table.loc["c", "halfwidth"])


@pytest.mark.parametrize("confidence", [0.8, 0.95])
def test_confidence_intervals_cover_at_nominal_rate(confidence: float) -> None:
    experiments, n, true_mean = 2000, 10, 3.0
    rng = np.random.default_rng(20240601)
    runs = pd.DataFrame(
        {
            "point": np.repeat(np.arange(experiments), n),
            "seed": np.tile(np.arange(n), experiments),
            "status": "done",
            "policy": "a",
            "y": rng.normal(true_mean, 2.0, size=experiments * n),
        }
    )
    table = summarize(runs, ["policy"], ["y"], confidence)
    covered = int(((table["ci_low"] <= true_mean) & (true_mean <= table["ci_high"])).sum())
    low, high = stats.binom.interval(0.999, experiments, confidence)
    assert low <= covered <= high


# --------------------------------------------------------------------------- max_halfwidth


def test_max_halfwidth_is_inf_below_two_values() -> None:
    runs = make_runs([{"policy": "a"}, {"policy": "b"}], [0, 1, 2], lambda p, v, s: {"y": s})
    assert np.isfinite(max_halfwidth(runs, ["policy"], "y"))
    fail(runs, 1, 0, ["y"])
    fail(runs, 1, 1, ["y"])
    assert max_halfwidth(runs, ["policy"], "y") == np.inf
    single = make_runs([{"policy": "a"}], [0], lambda p, v, s: {"y": 1.0})
    assert max_halfwidth(single, ["policy"], "y") == np.inf


def test_max_halfwidth_is_largest_and_shrinks_with_seeds() -> None:
    rng = np.random.default_rng(7)
    scales = {"a": 1.0, "b": 3.0}

    def metric(p: int, values: dict, s: int) -> dict:
        return {"y": rng.normal(0.0, scales[values["policy"]])}

    points = [{"policy": "a"}, {"policy": "b"}]
    few = make_runs(points, list(range(5)), metric)
    many = make_runs(points, list(range(80)), metric)
    widest = max_halfwidth(few, ["policy"], "y")
    assert widest == summarize(few, ["policy"], ["y"])["halfwidth"].max()
    # expected ratio (t_0.975,4 / √5) / (t_0.975,79 / √80) ≈ 5.6
    assert max_halfwidth(many, ["policy"], "y") < widest / 2


# --------------------------------------------------------------------------- paired_differences


def test_pairs_by_seed_in_any_row_order() -> None:
    rng = np.random.default_rng(11)
    common = rng.normal(0.0, 100.0, size=11)  # shared by both points of a seed (CRN)
    runs = make_runs(
        [{"policy": "base"}, {"policy": "new"}],
        list(range(10)),
        lambda p, v, s: {"y": common[s] + 3.0 * p + rng.normal(0.0, 0.1)},
    )
    fail(runs, 0, 2, ["y"])
    runs.loc[(runs["point"] == 1) & (runs["seed"] == 5), "y"] = np.nan
    extra = {"point": 1, "seed": 10, "status": "done", "policy": "new", "y": 0.0}
    runs = pd.concat([runs, pd.DataFrame([extra])]).sample(frac=1.0, random_state=3)

    table = paired_differences(runs, ["policy"], ["y"], "base")
    assert list(table.columns) == ["policy", *PAIRED_COLUMNS]
    row = table.iloc[0]
    new, base = values_of(runs, 1, "y"), values_of(runs, 0, "y")
    seeds = new.index.intersection(base.index)
    assert list(seeds) == [0, 1, 3, 4, 6, 7, 8, 9]
    difference = new[seeds] - base[seeds]
    assert (row["policy"], row["point"], row["baseline_point"]) == ("new", 1, 0)
    assert row["n_pairs"] == 8
    assert row["mean_difference"] == pytest.approx(difference.mean(), rel=1e-12)
    assert row["sd"] == pytest.approx(difference.std(ddof=1), rel=1e-12)
    expected = stats.ttest_rel(new[seeds], base[seeds])
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    low, high = expected.confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert row["significant"]


def test_baseline_matches_the_other_variables() -> None:
    effects = {"base": 0.0, "x": 2.0, "y": -1.0}
    points = [
        {"policy": policy, "share": share}
        for share in (0.1, 0.2, 0.3)
        for policy in ("x", "base", "y")
    ]
    common = np.random.default_rng(5).normal(0.0, 10.0, size=6)
    runs = make_runs(
        points,
        list(range(6)),
        lambda p, v, s: {"y": 100 * v["share"] + effects[v["policy"]] + common[s]},
    )
    table = paired_differences(runs, ["policy", "share"], ["y"], "base")
    assert table["point"].tolist() == [0, 2, 3, 5, 6, 8]
    by_point = pd.DataFrame(points)
    for row in table.itertuples():
        baseline = by_point.loc[row.baseline_point]
        assert baseline["policy"] == "base"
        assert baseline["share"] == row.share == by_point.loc[row.point, "share"]
        assert row.mean_difference == pytest.approx(effects[row.policy], abs=1e-9)
        assert row.n_pairs == 6


def test_zero_variance_and_too_few_pairs() -> None:
    runs = make_runs(
        [{"policy": "base"}, {"policy": "new"}],
        [0, 1, 2],
        lambda p, v, s: {"shift": s + 2.0 * p, "same": float(s), "once": float(s)},
    )
    runs.loc[(runs["point"] == 1) & (runs["seed"] > 0), "once"] = np.nan
    table = paired_differences(runs, ["policy"], ["shift", "same", "once"], "base")
    table = table.set_index("metric")
    assert table.loc["shift", "p_value"] == 0.0
    assert table.loc["shift", "sd"] == 0.0
    assert table.loc["same", "p_value"] == 1.0
    assert table.loc["once", "n_pairs"] == 1
    assert np.isnan(table.loc["once", "p_value"])
    assert np.isnan(table.loc["once", "p_holm"])
    assert table["significant"].tolist() == [True, False, False]


def test_holm_correction_matches_hand_computation() -> None:
    # differences mean + e with e standardised, so t = mean √n gives these raw p-values
    targets, seeds = {"a": 0.004, "b": 0.03, "c": 0.031, "d": 0.2}, 12
    rng = np.random.default_rng(3)
    e = rng.normal(size=seeds)
    e = (e - e.mean()) / e.std(ddof=1)
    common = rng.normal(0.0, 10.0, size=seeds)
    means = {m: stats.t.isf(p / 2, seeds - 1) / np.sqrt(seeds) for m, p in targets.items()}
    runs = make_runs(
        [{"policy": "base"}, {"policy": "new"}],
        list(range(seeds)),
        lambda p, v, s: {m: common[s] + p * (mu + e[s]) for m, mu in {**means, "x": 0}.items()},
    )
    runs.loc[(runs["point"] == 1) & (runs["seed"] > 0), "x"] = np.nan  # one pair: untested
    table = paired_differences(runs, ["policy"], [*targets, "x"], "base", confidence=0.9)
    raw = {m: stats.ttest_rel(values_of(runs, 1, m), values_of(runs, 0, m)).pvalue for m in targets}
    assert list(raw.values()) == pytest.approx(list(targets.values()), rel=1e-6)
    ordered = sorted(raw, key=raw.get)
    holm, running = {}, 0.0
    for rank, metric in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * raw[metric]))
        holm[metric] = running
    result = table.set_index("metric")
    for metric in targets:
        assert result.loc[metric, "p_value"] == pytest.approx(raw[metric], rel=1e-9)
        assert result.loc[metric, "p_holm"] == pytest.approx(holm[metric], rel=1e-9)
        assert result.loc[metric, "significant"] == (holm[metric] < 0.1)
    assert np.isnan(result.loc["x", "p_value"])
    assert np.isnan(result.loc["x", "p_holm"])
    # the case tells Holm from Bonferroni, and the running maximum matters (c)
    assert holm["b"] < 0.1 < len(targets) * raw["b"]
    assert holm["c"] > 2 * raw["c"]


def test_large_effect_significant_and_zero_effect_not() -> None:
    shares, seeds, confidence = np.linspace(0.1, 0.6, 50), 20, 0.999
    rng = np.random.default_rng(2024)
    common = rng.normal(0.0, 5.0, size=seeds)
    runs = make_runs(
        [{"policy": policy, "share": share} for share in shares for policy in ("base", "b")],
        list(range(seeds)),
        lambda p, v, s: {
            "effect": common[s] + 5.0 * (v["policy"] == "b") + rng.normal(),
            "null": common[s] + rng.normal(),
        },
    )
    table = paired_differences(runs, ["policy", "share"], ["effect", "null"], "base", confidence)
    effect, null = table[table["metric"] == "effect"], table[table["metric"] == "null"]
    assert len(effect) == len(null) == len(shares)
    assert effect["significant"].all()
    # Holm keeps the family-wise error rate at most 1 - confidence = 0.001
    assert not null["significant"].any()
    # raw null p-values are uniform: P(p < 0.05) = 0.05 per comparison
    _, high = stats.binom.interval(0.999, len(null), 0.05)
    assert (null["p_value"] < 0.05).sum() <= high


def test_no_policy_or_no_baseline_gives_empty_frame() -> None:
    runs = make_runs(
        [{"policy": "a", "share": 0.1}, {"policy": "b", "share": 0.1}],
        [0, 1],
        lambda p, v, s: {"y": float(s)},
    )
    no_policy = paired_differences(runs, ["share"], ["y"], "a")
    no_baseline = paired_differences(runs, ["policy", "share"], ["y"], "missing")
    for table, variables in ((no_policy, ["share"]), (no_baseline, ["policy", "share"])):
        assert table.empty
        assert list(table.columns) == [*variables, *PAIRED_COLUMNS]


# --------------------------------------------------------------------------- sensitivity

ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
# analytic indices (a = 7, b = 0.1) and those of the additive model x1 + 2 x2
ISHIGAMI_S1, ISHIGAMI_ST = [0.3139, 0.4424, 0.0], [0.5576, 0.4424, 0.2437]
LINEAR_S1 = [0.2, 0.8, 0.0]


def ishigami(X: np.ndarray) -> np.ndarray:
    return np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0])


def additive(X: np.ndarray) -> np.ndarray:
    return X[:, 0] + 2 * X[:, 1]


def sample_runs(
    problem: dict,
    X: np.ndarray,
    models: dict[str, Callable[[np.ndarray], np.ndarray]],
    seeds: int,
    noise: float,
) -> pd.DataFrame:
    """Runs of the sample rows × policies (point = row · policies + k) × seeds."""
    rng = np.random.default_rng(99)
    frames = []
    for k, (policy, model) in enumerate(models.items()):
        for seed in range(seeds):
            frame = pd.DataFrame(X, columns=problem["names"])
            frame["sample"] = np.arange(len(X))
            frame["point"] = frame["sample"] * len(models) + k
            frame["seed"] = seed
            frame["status"] = "done"
            frame["policy"] = policy
            frame["y"] = model(X) + rng.normal(0.0, noise, size=len(X))
            frame["constant"] = 1.0
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def sobol_runs() -> pd.DataFrame:
    X = sobol_sample.sample(ISHIGAMI, 1024, calc_second_order=False, seed=12)
    return sample_runs(ISHIGAMI, X, {"a": ishigami, "b": additive}, seeds=2, noise=1e-3)


def test_sobol_recovers_analytic_indices_per_policy(sobol_runs: pd.DataFrame) -> None:
    variables = ["policy", *ISHIGAMI["names"]]
    table = sobol_indices(ISHIGAMI, sobol_runs, variables, ["y"], ["policy"])
    assert list(table.columns) == [
        "policy",
        "metric",
        "parameter",
        *["S1", "S1_conf", "ST", "ST_conf"],
    ]
    a, b = table[table["policy"] == "a"], table[table["policy"] == "b"]
    assert a["parameter"].tolist() == b["parameter"].tolist() == ISHIGAMI["names"]
    # conf is a 95% half-width (≈ 2 standard errors): allow twice that
    factor = 2.0
    assert np.all(np.abs(a["S1"] - ISHIGAMI_S1) <= factor * a["S1_conf"])
    assert np.all(np.abs(a["ST"] - ISHIGAMI_ST) <= factor * a["ST_conf"])
    assert np.all(np.abs(b["S1"] - LINEAR_S1) <= factor * b["S1_conf"] + 1e-6)
    assert b["S1"].to_numpy() == pytest.approx(LINEAR_S1, abs=0.01)


def test_sobol_point_without_done_runs_gives_nan_rows(sobol_runs: pd.DataFrame) -> None:
    runs = sobol_runs.copy()
    lost = (runs["policy"] == "b") & (runs["sample"] == 17)
    runs.loc[lost, "status"] = "failed"
    runs.loc[lost, ["y", "constant"]] = np.nan
    variables = ["policy", *ISHIGAMI["names"]]
    table = sobol_indices(ISHIGAMI, runs, variables, ["y", "constant"], ["policy"])
    indices = ["S1", "S1_conf", "ST", "ST_conf"]
    nan_rows = table[indices].isna().all(axis=1)
    finite_rows = table[indices].notna().all(axis=1)
    assert (nan_rows | finite_rows).all()
    # a is complete, b lost a point; a constant output has undefined indices
    expected_finite = (table["policy"] == "a") & (table["metric"] == "y")
    assert finite_rows.tolist() == expected_finite.tolist()
    assert len(table) == 2 * 2 * 3


def test_sobol_rejects_a_sample_of_the_wrong_size(sobol_runs: pd.DataFrame) -> None:
    runs = sobol_runs[sobol_runs["sample"] < 5 * 3 + 1]
    with pytest.raises(ValueError, match="multiple"):
        sobol_indices(ISHIGAMI, runs, ["policy", "x1", "x2", "x3"], ["y"], ["policy"])


def test_sobol_second_order_sample() -> None:
    X = sobol_sample.sample(ISHIGAMI, 1024, calc_second_order=True, seed=5)
    runs = sample_runs(ISHIGAMI, X, {"a": ishigami}, seeds=1, noise=0.0)
    variables = ["policy", *ISHIGAMI["names"]]
    with pytest.raises(ValueError, match="multiple"):  # 8 rows per base row, not 5
        sobol_indices(ISHIGAMI, runs, variables, ["y"], ["policy"])
    table = sobol_indices(ISHIGAMI, runs, variables, ["y"], ["policy"], second_order=True)
    assert np.all(np.abs(table["S1"] - ISHIGAMI_S1) <= 2.0 * table["S1_conf"])
    assert np.all(np.abs(table["ST"] - ISHIGAMI_ST) <= 2.0 * table["ST_conf"])


def test_morris_ranks_linear_effects() -> None:
    coefficients = np.array([1.0, 5.0, 0.0, 2.0])
    problem = {"num_vars": 4, "names": ["a", "b", "c", "d"], "bounds": [[0.0, 1.0]] * 4}
    X = morris_sample.sample(problem, 20, num_levels=4, seed=4)
    noise, seeds = 1e-3, 3
    runs = sample_runs(problem, X, {"only": lambda X: X @ coefficients}, seeds, noise)
    table = morris_indices(problem, X, runs, problem["names"], ["y"], [])
    assert list(table.columns) == ["metric", "parameter", "mu_star", "mu_star_conf", "sigma"]
    ranked = table.sort_values("mu_star", ascending=False)["parameter"].tolist()
    assert ranked == ["b", "d", "a", "c"]
    # elementary effect = coefficient + noise of two seed-means over the step 2/3
    effect_sd = noise * np.sqrt(2 / seeds) / (2 / 3)
    assert np.all(np.abs(table["mu_star"] - np.abs(coefficients)) <= 6 * effect_sd)
    assert np.all(table["sigma"] <= 3 * effect_sd)


def test_morris_point_without_done_runs_gives_nan_rows() -> None:
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    X = morris_sample.sample(problem, 10, num_levels=4, seed=1)
    models = {"p": lambda X: X[:, 0], "q": lambda X: X[:, 1]}
    runs = sample_runs(problem, X, models, seeds=2, noise=0.0)
    lost = (runs["policy"] == "q") & (runs["sample"] == 4)
    runs.loc[lost, "status"] = "failed"
    table = morris_indices(problem, X, runs, ["policy", "a", "b"], ["y"], ["policy"])
    p, q = table[table["policy"] == "p"], table[table["policy"] == "q"]
    assert p["mu_star"].to_numpy() == pytest.approx([1.0, 0.0])
    assert q[["mu_star", "mu_star_conf", "sigma"]].isna().all().all()


def test_morris_with_one_trajectory_ranks_quietly_without_sigma() -> None:
    """The quick look's one trajectory: one elementary effect per parameter, so mu* is the
    effect and sigma is undefined (NaN), without numpy's warnings on the user's terminal."""
    coefficients = np.array([3.0, -1.0])
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    X = morris_sample.sample(problem, 1, num_levels=4, seed=2)
    runs = sample_runs(problem, X, {"only": lambda X: X @ coefficients}, seeds=2, noise=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = morris_indices(problem, X, runs, problem["names"], ["y"], [])
    assert table["mu_star"].to_numpy() == pytest.approx(np.abs(coefficients))
    assert table["sigma"].isna().all()
