"""Statistics of an experiment's simulation runs.

The experiment runner collects a ``runs`` frame with one row per simulation run:

* ``point`` (int): design-point index; ``seed`` (int): random seed. Every design point
  runs the same seeds (common random numbers), so runs of two points with the same
  seed can be paired;
* ``status``: ``"done"`` or ``"failed"``. Only done runs enter the statistics;
* one column per design variable (e.g. ``policy``), constant within a design point;
* one float column per metric (may hold NaN, which is ignored);
* for Sobol and Morris designs, ``sample`` (int): the row of the SALib sample matrix
  that gave the point's numeric-variable values.

This module turns that frame into tidy tables: Student t confidence intervals per
design point, paired (common-random-number) comparisons of policies against a
baseline with Holm-corrected p-values, the largest CI half-width that drives
sequential replication, and Sobol / Morris sensitivity indices computed with SALib.
"""

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris, sobol
from SALib.util import extract_group_names
from scipy import stats
from statsmodels.stats.multitest import multipletests

DONE = "done"
POLICY = "policy"
SAMPLE = "sample"

INTERVAL_COLUMNS = ["ci_low", "ci_high", "halfwidth"]
SUMMARY_STATS = ["n", "mean", "sd", *INTERVAL_COLUMNS]
PAIRED_STATS = [
    "n_pairs",
    "mean_difference",
    "sd",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "significant",
]
SOBOL_INDICES = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_INDICES = ["mu_star", "mu_star_conf", "sigma"]
SALIB_CONF_LEVEL = 0.95
SALIB_SEED = 0

# Maps the outputs Y (one per SALib sample row) to index name -> one value per
# parameter, or to None when the indices are undefined for this Y.
Analysis = Callable[[np.ndarray], Mapping[str, Any] | None]


# --------------------------------------------------------------------------- helpers


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _design_points(runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per design point, indexed by ``point``, with the given constant columns.

    Missing values are skipped: a run recorded without its variables (e.g. one that
    failed before it started) does not hide the point's values given by other runs.

    Raises:
        ValueError: if a column takes several values within one design point.
    """
    by_point = runs.groupby("point")[list(columns)]
    if (by_point.nunique() > 1).any(axis=None):
        raise ValueError(f"columns {list(columns)} are not constant within a design point")
    return by_point.first()


def _done(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with status done."""
    return runs.loc[runs["status"] == DONE]


def _degrees_of_freedom(n: np.ndarray) -> np.ndarray:
    """n − 1 for samples of n >= 2 values, else NaN (no t distribution)."""
    return np.where(n >= 2, n - 1, np.nan)


def _done_values(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Done runs in long format: ``point``, ``seed``, ``metric``, ``value`` (no NaN)."""
    done = _done(runs)[["point", "seed", *metrics]]
    values = done.melt(id_vars=["point", "seed"], var_name="metric", value_name="value")
    return values.dropna(subset=["value"])


def _describe(
    values: pd.DataFrame, keys: list[str], index: pd.MultiIndex, confidence: float
) -> pd.DataFrame:
    """Count, mean, sd (ddof=1) and Student t interval of ``value`` per ``keys``.

    The result has one row per entry of ``index`` (groups without values get n=0).
    """
    described = values.groupby(keys)["value"].agg(n="count", mean="mean", sd="std")
    described = described.reindex(index)
    described["n"] = described["n"].fillna(0).astype(int)
    return described.join(_t_interval(described, confidence))


def _t_interval(described: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Student t interval mean ± t_{n-1} sd / sqrt(n); NaN when n < 2."""
    n = described["n"].to_numpy(dtype=float)
    quantile = stats.t.ppf(0.5 + confidence / 2, _degrees_of_freedom(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        halfwidth = quantile * described["sd"] / np.sqrt(n)
    mean = described["mean"]
    return pd.DataFrame(
        {"ci_low": mean - halfwidth, "ci_high": mean + halfwidth, "halfwidth": halfwidth},
        index=described.index,
    )


def _with_variables(
    table: pd.DataFrame, points: pd.DataFrame, variables: Sequence[str]
) -> pd.DataFrame:
    """Add the design variables' values to a table with a ``point`` column (keeps order)."""
    return table.merge(points[list(variables)], left_on="point", right_index=True, how="left")


# --------------------------------------------------------------------------- summaries


def summarize(
    runs: pd.DataFrame,
    variables: list[str],
    metrics: list[str],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean and Student t confidence interval of each metric at each design point.

    Uses done runs and non-NaN metric values only. A point without values has n=0
    and NaN statistics; with n=1, ``sd``, the interval and ``halfwidth`` are NaN.

    Returns:
        Tidy frame, one row per (design point, metric) ordered by point and then by
        the given metric order, with columns ``*variables, point, metric, n, mean,
        sd, ci_low, ci_high, halfwidth``.
    """
    _check_confidence(confidence)
    points = _design_points(runs, variables)
    index = pd.MultiIndex.from_product([points.index, metrics], names=["point", "metric"])
    described = _describe(_done_values(runs, metrics), ["point", "metric"], index, confidence)
    summary = _with_variables(described.reset_index(), points, variables)
    return summary[[*variables, "point", "metric", *SUMMARY_STATS]]


def max_halfwidth(
    runs: pd.DataFrame,
    variables: list[str],
    metric: str,
    confidence: float = 0.95,
) -> float:
    """Largest CI half-width of ``metric`` over the design points.

    Sequential replication adds seeds until this is at most a target. Returns inf
    when there is no design point or some point has fewer than two values.
    """
    summary = summarize(runs, variables, [metric], confidence)
    if summary.empty or (summary["n"] < 2).any():
        return float("inf")
    return float(summary["halfwidth"].max())


# --------------------------------------------------------------------------- paired comparisons


def _baseline_pairs(
    points: pd.DataFrame, variables: Sequence[str], baseline_policy: str
) -> pd.DataFrame:
    """Columns ``point``, ``baseline_point``: each non-baseline point and its baseline.

    The baseline point has policy == ``baseline_policy`` and the same values of all
    other variables. Points without such a baseline are left out.

    Raises:
        ValueError: if two baseline points share the values of the other variables.
    """
    others = [variable for variable in variables if variable != POLICY]
    # a constant key column turns "no other variables" into an ordinary equi-join
    keys = [*others, "__all__"]
    keyed = points[others].assign(__all__=0)
    is_baseline = points[POLICY] == baseline_policy
    baselines = keyed[is_baseline].rename_axis("baseline_point").reset_index()
    if baselines.duplicated(keys).any():
        raise ValueError("several baseline points share the values of the other variables")
    treated = keyed[~is_baseline].reset_index()
    return treated.merge(baselines, on=keys, how="inner")[["point", "baseline_point"]]


def _paired_values(values: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Differences policy − baseline of runs with the same seed, per point and metric."""
    if values.duplicated(["point", "seed", "metric"]).any():
        raise ValueError("a design point has several done runs with the same seed")
    baseline = values.rename(columns={"point": "baseline_point", "value": "baseline"})
    paired = pairs.merge(values, on="point").merge(
        baseline, on=["baseline_point", "seed", "metric"], how="inner"
    )
    return paired.assign(value=paired["value"] - paired["baseline"])


def _paired_p_value(described: pd.DataFrame) -> np.ndarray:
    """Two-sided paired t-test p-value of mean difference 0.

    NaN when n < 2; with zero variance, 0 for a non-zero mean and 1 for a zero mean.
    """
    n = described["n"].to_numpy(dtype=float)
    mean = described["mean"].to_numpy(dtype=float)
    sd = described["sd"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = mean / (sd / np.sqrt(n))
        p_value = 2.0 * stats.t.sf(np.abs(t_stat), _degrees_of_freedom(n))
    p_value = np.where(sd == 0.0, np.where(mean == 0.0, 1.0, 0.0), p_value)
    return np.where(n >= 2, p_value, np.nan)


def _holm(p_values: pd.Series, alpha: float) -> pd.Series:
    """Holm-adjusted p-values over the family of all non-NaN p-values."""
    adjusted = pd.Series(np.nan, index=p_values.index)
    tested = p_values.notna()
    if tested.any():
        adjusted[tested] = multipletests(p_values[tested], alpha=alpha, method="holm")[1]
    return adjusted


def paired_differences(
    runs: pd.DataFrame,
    variables: list[str],
    metrics: list[str],
    baseline_policy: str,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired comparison of every policy with the baseline policy, per design point.

    Each design point whose ``policy`` is not ``baseline_policy`` is compared with the
    baseline point: policy == ``baseline_policy`` and equal values of all other
    variables. Runs are paired by seed (both done, both values non-NaN), which uses
    the common random numbers. ``mean_difference`` is policy − baseline with a
    Student t interval; ``p_value`` is the two-sided paired t-test (NaN for fewer
    than two pairs; with zero variance 0 for a non-zero and 1 for a zero mean
    difference); ``p_holm`` is Holm-corrected over all (point, metric) rows of the
    table with a p-value; ``significant`` is p_holm < 1 − confidence.

    Returns:
        One row per (point, metric), ordered by point and then the metric order, with
        columns ``*variables, point, baseline_point, metric, n_pairs,
        mean_difference, sd, ci_low, ci_high, p_value, p_holm, significant``. Empty
        (same columns) when there is no ``policy`` variable or no baseline point.
    """
    _check_confidence(confidence)
    columns = [*variables, "point", "baseline_point", "metric", *PAIRED_STATS]
    if POLICY not in variables:
        return pd.DataFrame(columns=columns)
    points = _design_points(runs, variables)
    pairs = _baseline_pairs(points, variables, baseline_policy)
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    differences = _paired_values(_done_values(runs, metrics), pairs)
    index = pd.MultiIndex.from_product([pairs["point"], metrics], names=["point", "metric"])
    described = _describe(differences, ["point", "metric"], index, confidence)
    alpha = 1.0 - confidence
    described["p_value"] = _paired_p_value(described)
    described["p_holm"] = _holm(described["p_value"], alpha)
    described["significant"] = (described["p_holm"] < alpha).to_numpy(dtype=bool)
    described = described.rename(columns={"n": "n_pairs", "mean": "mean_difference"})
    table = described.reset_index().merge(pairs, on="point")
    return _with_variables(table, points, variables)[columns]


# --------------------------------------------------------------------------- sensitivity


def _sample_means(
    runs: pd.DataFrame, metrics: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """Per design point: categorical values, ``sample`` and metric means over done seeds.

    A point without done runs (or without non-NaN values) has NaN means.

    Raises:
        ValueError: if two design points share the categorical values and sample row.
    """
    keys = [*categorical, SAMPLE]
    points = _design_points(runs, keys).astype({SAMPLE: int})
    if points.duplicated(keys).any():
        raise ValueError(f"several design points share the values of {keys}")
    return points.join(_done(runs).groupby("point")[list(metrics)].mean())


def _combinations(
    table: pd.DataFrame, categorical: Sequence[str]
) -> Iterator[tuple[tuple[Any, ...], pd.DataFrame]]:
    """Yield (categorical values, rows) per combination of the categorical variables."""
    if not categorical:
        yield (), table
        return
    yield from table.groupby(list(categorical), sort=False, dropna=False)


def _check_variables(
    problem: Mapping[str, Any], variables: Sequence[str], categorical: Sequence[str]
) -> None:
    missing = set(problem["names"]).union(categorical).difference(variables)
    if missing:
        raise ValueError(f"problem names or categorical not among the variables: {missing}")


def _sensitivity(
    problem: Mapping[str, Any],
    runs: pd.DataFrame,
    metrics: Sequence[str],
    categorical: Sequence[str],
    n_rows: int,
    analyse: Analysis,
    index_names: Sequence[str],
) -> pd.DataFrame:
    """Run ``analyse`` on Y of each (categorical combination, metric) and tabulate.

    Y[i] is the mean of the metric at the point with ``sample`` == i. When Y is not
    finite (a point without done runs, or a missing sample row) or ``analyse``
    returns None, the indices are NaN.
    """
    parameters, _ = extract_group_names(dict(problem))
    table = _sample_means(runs, metrics, categorical)
    if not table[SAMPLE].between(0, n_rows - 1).all():
        raise ValueError(f"'{SAMPLE}' must lie in [0, {n_rows - 1}]")
    undefined = dict.fromkeys(index_names, np.nan)
    frames = []
    for values, rows in _combinations(table, categorical):
        outputs = rows.set_index(SAMPLE)[list(metrics)].reindex(range(n_rows))
        for metric in metrics:
            y = outputs[metric].to_numpy(dtype=float)
            result = analyse(y) if np.isfinite(y).all() else None
            indices = undefined if result is None else result
            frame = pd.DataFrame({name: indices[name] for name in index_names}, index=parameters)
            frame = frame.rename_axis("parameter").reset_index()
            frames.append(
                frame.assign(**dict(zip(categorical, values, strict=True)), metric=metric)
            )
    columns = [*categorical, "metric", "parameter", *index_names]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def sobol_indices(
    problem: dict,
    runs: pd.DataFrame,
    variables: list[str],
    metrics: list[str],
    categorical: list[str],
    *,
    second_order: bool = False,
) -> pd.DataFrame:
    """First-order and total Sobol indices (SALib) per categorical combination and metric.

    Contract: ``problem`` is a SALib problem dict (``num_vars``, ``names``, ``bounds``)
    over the numeric variables, sampled with ``SALib.sample.sobol.sample(problem, N,
    calc_second_order=second_order)``. The design points are the sample rows crossed
    with every combination of the ``categorical`` variables, and ``runs`` has an int
    column ``sample``: the sample row of each point (the same within a point), so
    the sample matrix has ``runs["sample"].max() + 1`` rows: N (num_vars + 2), or
    N (2 num_vars + 2) when ``second_order`` (whose S2 indices are not reported).
    Replications are averaged per point (mean over done seeds), and each categorical
    combination is analysed on its own with ``conf_level=0.95`` and seed 0.

    If a point of a combination has no done runs (its Y is NaN) or the metric is
    constant there (indices undefined), that (combination, metric) gets NaN indices.

    Returns:
        Columns ``*categorical, metric, parameter, S1, S1_conf, ST, ST_conf``.
    """
    _check_variables(problem, variables, categorical)
    n_rows = int(runs[SAMPLE].max()) + 1 if len(runs) else 0
    _, n_groups = extract_group_names(dict(problem))
    block = 2 * n_groups + 2 if second_order else n_groups + 2
    if n_rows % block:
        raise ValueError(f"{n_rows} sample rows is not a multiple of {block}")

    def analyse(y: np.ndarray) -> Mapping[str, Any] | None:
        if np.ptp(y) == 0.0:
            return None
        # SALib 1.6 tests `if seed:`, so seed=0 would leave the bootstrap unseeded;
        # a Generator seeded with 0 is what seed=0 means.
        return sobol.analyze(
            dict(problem),
            y,
            calc_second_order=second_order,
            conf_level=SALIB_CONF_LEVEL,
            seed=np.random.default_rng(SALIB_SEED),
        )

    return _sensitivity(problem, runs, metrics, categorical, n_rows, analyse, SOBOL_INDICES)


def morris_indices(
    problem: dict,
    X: np.ndarray,
    runs: pd.DataFrame,
    variables: list[str],
    metrics: list[str],
    categorical: list[str],
) -> pd.DataFrame:
    """Morris elementary-effect indices (SALib) per categorical combination and metric.

    Contract: ``problem`` is a SALib problem dict (``num_vars``, ``names``, ``bounds``)
    over the numeric variables and ``X`` the matrix from ``SALib.sample.morris.sample``
    (default 4 levels). The design points are the rows of ``X`` crossed with every
    combination of the ``categorical`` variables, and ``runs`` has an int column
    ``sample``: the row of ``X`` of each point (the same within a point).
    Replications are averaged per point (mean over done seeds), and each categorical
    combination is analysed on its own with ``conf_level=0.95`` and seed 0.

    If a point of a combination has no done runs (its Y is NaN), that (combination,
    metric) gets NaN indices.

    Returns:
        Columns ``*categorical, metric, parameter, mu_star, mu_star_conf, sigma``.
    """
    _check_variables(problem, variables, categorical)
    X = np.asarray(X, dtype=float)

    def analyse(y: np.ndarray) -> Mapping[str, Any]:
        with warnings.catch_warnings():
            # one trajectory has one elementary effect per parameter: sigma is NaN, not a fault
            warnings.filterwarnings("ignore", "Degrees of freedom <= 0", RuntimeWarning)
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            return morris.analyze(dict(problem), X, y, conf_level=SALIB_CONF_LEVEL, seed=SALIB_SEED)

    return _sensitivity(problem, runs, metrics, categorical, len(X), analyse, MORRIS_INDICES)
