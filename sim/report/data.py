"""Loading a results folder for the report, and the aggregations the figures and sentences share.

The report compares policies in one *view* of the experiment:

* factorial designs: the tables of the folder (``summary``, ``differences``), with every other
  variable at its *reference* value (the base scenario's value when it is one of the levels, else
  the middle level); figures that show one slice use the runs at those values;
* sampled designs (lhs, sobol, morris): every sampled point pooled, runs of different policies
  paired by (sample, seed), with the same statistics functions the experiment runner uses.

``--baseline`` other than the experiment's baseline recomputes the paired differences.
The yearly series (``yearly.parquet``, written for runs of a year or more) is optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import scenario as scenario_module
from sim.community import LAYOUT_FILE, Layout, layout_from_table
from sim.district import build_place_layout
from sim.errors import InputError
from sim.experiment import statistics
from sim.experiment.store import MANIFEST, check_run_table, resolved_problem
from sim.storage import read_parquet

POLICY = "policy"
#: the metrics the report shows, in this order (those the experiment kept)
KEY_METRICS = (
    "urgent_response_time_p90_min",
    "urgent_within_window_share",
    "same_day_within_window_share",
    "scheduled_within_window_share",
    "eligible_unmet_share",
    "busiest_decile_utilisation",
)
#: the headline metric of the summary, the map's "best" policy and the holes
HEADLINE = "urgent_response_time_p90_min"
#: the yearly measure of pairing's sustainability, whose threshold an experiment names
THRESHOLD_METRIC = "helpers_60_69_per_eligible_elder"
TABLES = ("runs", "series", "summary", "differences")
#: optional: the yearly series of runs a year or longer
YEARLY = "yearly"
SAMPLED = ("lhs", "sobol", "morris")
#: metrics that are shares or indices in [0, 1]; every other key metric is non-negative
UNIT_INTERVAL = ("share", "gini", "utilisation")


def bounds(metric: str) -> tuple[float, float]:
    """The range a metric's value can take (interval ends drawn beyond it are clipped)."""
    return (0.0, 1.0) if any(word in metric for word in UNIT_INTERVAL) else (0.0, np.inf)


@dataclass
class Results:
    """A results folder as the report sees it."""

    path: Path
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    kind: str
    days: int
    seeds: list[int]
    variables: list[str]
    metrics: list[str]
    runs: pd.DataFrame  # done runs, with a policy column
    failed: int  # runs that did not finish (failed, or missing from runs.parquet)
    points: int  # design points, including those none of whose runs finished
    failed_points: int  # design points with at least one run that did not finish
    series: pd.DataFrame  # daily series with the policy and variables of each point
    summary: pd.DataFrame  # the view's summary (see module docstring)
    point_summary: pd.DataFrame  # summary.parquet: one row per design point and metric
    differences: pd.DataFrame  # the view's paired differences against ``baseline``
    sensitivity: pd.DataFrame | None
    baseline: str
    policies: list[str]
    others: list[str]  # design variables other than policy
    reference: dict[str, Any] = field(default_factory=dict)
    #: yearly series with the policy and variables of each point (None: no yearly.parquet)
    yearly: pd.DataFrame | None = None
    #: helpers aged 60-69 per eligible elder below which pairing cannot cover them all
    threshold: float | None = None

    @property
    def name(self) -> str:
        return str(self.manifest.get("experiment", ""))

    @property
    def spec(self) -> dict[str, Any]:
        return self.manifest.get("resolved", {}).get("experiment", {})

    @property
    def pooled(self) -> bool:
        return self.kind in SAMPLED

    @property
    def key_metrics(self) -> list[str]:
        return [m for m in KEY_METRICS if m in self.metrics]

    @property
    def numeric(self) -> list[str]:
        """Design variables swept over two or more numbers."""
        found = []
        for name in self.others:
            values = self.runs[name].dropna()
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                values
            )
            if numeric and values.nunique() >= 2:
                found.append(name)
        return found

    @property
    def compared(self) -> list[str]:
        """The policies compared with the baseline (all but the baseline)."""
        return [p for p in self.policies if p != self.baseline]

    def at_reference(self, frame: pd.DataFrame, keep: str | None = None) -> pd.DataFrame:
        """Rows with every other variable (but ``keep``) at its reference value."""
        mask = np.ones(len(frame), dtype=bool)
        for name, value in self.reference.items():
            if name != keep and name in frame.columns:
                mask &= _equal(frame[name], value)
        return frame.loc[mask]

    def policy_runs(self, policy: str) -> pd.DataFrame:
        """The done runs of one policy in the view."""
        runs = self.at_reference(self.runs)
        return runs.loc[runs[POLICY] == policy]

    def view(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A table of the view: at the reference values (all rows when pooled)."""
        return self.at_reference(frame)

    def row(self, frame: pd.DataFrame, policy: str, metric: str) -> pd.Series | None:
        """The view's row of a summary or differences table for a policy and metric."""
        table = self.view(frame)
        rows = table[(table[POLICY] == policy) & (table["metric"] == metric)]
        return rows.iloc[0] if len(rows) else None

    def mean(self, policy: str, metric: str) -> float:
        """The view's mean of a metric under a policy (NaN when absent)."""
        row = self.row(self.summary, policy, metric)
        return float(row["mean"]) if row is not None else float("nan")

    def scenario_days(self, level: Any = None) -> int:
        """Simulated days of the runs at a ``scenario`` level (the view's if None)."""
        resolved = self.manifest.get("resolved", {})
        if resolved.get("days"):
            return int(resolved["days"])
        level = self.reference.get("scenario") if level is None else level
        scenario = resolved.get("scenarios", {}).get(level, self.scenario)
        return int(scenario.get("simulation", {}).get("days", self.days))

    def days_text(self, level: Any = None, whole: bool = False) -> str:
        """The simulated days of the runs a sentence counts: one number, or the range when they
        are of scenarios of different lengths ("28–365"). ``whole``: every run of the
        experiment, not the view's."""
        resolved = self.manifest.get("resolved", {})
        scenarios = resolved.get("scenarios", {})
        one = level is not None or (self.reference.get("scenario") and not whole)
        if resolved.get("days") or one or not scenarios:
            return str(self.scenario_days(level))
        days = sorted({_simulated_days(s) for s in scenarios.values()})
        return f"{days[0]}–{days[-1]}" if len(days) > 1 else str(days[0])

    def best(self, metric: str = HEADLINE, lowest: bool = True) -> str | None:
        """The policy with the lowest (or highest) mean of ``metric`` in the view."""
        means = {p: self.mean(p, metric) for p in self.policies}
        means = {p: v for p, v in means.items() if np.isfinite(v)}
        if not means:
            return None
        return (min if lowest else max)(means, key=means.get)


def _equal(column: pd.Series, value: Any) -> np.ndarray:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        return np.isclose(numbers, float(value))
    return (column == value).to_numpy()


def _read_table(path: Path, name: str) -> pd.DataFrame:
    file = path / f"{name}.parquet"
    if not file.exists():
        raise InputError(
            str(file), None, "missing: the experiment did not finish (run volsim experiment again)"
        )
    return read_parquet(file)


#: statistics columns that are numbers, or missing (None in a table of one seed: NaN here)
STATISTICS = ("mean", "sd", "ci_low", "ci_high", "mean_difference", "p_value", "p_holm", "n")


def _numeric_statistics(table: pd.DataFrame) -> pd.DataFrame:
    for column in STATISTICS:
        if column in table.columns and table[column].dtype == object:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise InputError(str(path), None, "no such results folder")
    file = path / MANIFEST
    if not file.exists():
        raise InputError(str(path), MANIFEST, "missing: not a results folder of volsim experiment")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(str(file), None, f"unreadable: {error}") from None
    resolved = manifest.get("resolved") if isinstance(manifest, dict) else None
    if not isinstance(resolved, dict) or not isinstance(resolved.get("experiment"), dict):
        raise InputError(str(file), "resolved.experiment", "missing")
    if not isinstance(resolved.get("scenario"), dict):
        raise InputError(str(file), "resolved.scenario", "missing")
    problem = resolved_problem(manifest)
    if problem is not None:
        raise InputError(str(file), *problem)
    return manifest


def scenario_value(scenario: dict[str, Any], dotted: str) -> Any:
    """The value of a dotted key in a scenario dict (None when absent)."""
    node: Any = scenario
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def scenario_policy(scenario: dict[str, Any]) -> str:
    """The policy chain of a scenario (``pairing+broadcast``)."""
    dispatch = scenario.get("dispatch", {})
    return "+".join([dispatch.get("policy", "nearest"), *dispatch.get("fallback", [])])


def _reference(runs: pd.DataFrame, others: list[str], scenario: dict[str, Any]) -> dict[str, Any]:
    """Each other variable's reference level: the base scenario's value if run, else the middle."""
    reference = {}
    for name in others:
        levels = sorted(runs[name].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
        if not levels:
            continue
        base = scenario_value(scenario, name) if name != "scenario" else None
        if name == "scenario":  # the experiment's own scenario file, if it is one of the levels
            own = [
                v for v in levels if Path(str(v)).stem == scenario.get("scenario", {}).get("name")
            ]
            base = own[0] if own else None
        match = (
            [v for v in levels if bool(_equal(pd.Series([v]), base)[0])] if base is not None else []
        )
        value = match[0] if match else levels[len(levels) // 2]
        reference[name] = value.item() if hasattr(value, "item") else value
    return reference


def _pooled_runs(runs: pd.DataFrame, policies: list[str], others: list[str]) -> pd.DataFrame:
    """Runs re-keyed for pooling: point = policy, seed = (sample, other values, seed)."""
    key = runs["seed"].astype(str)
    for name in ["sample", *others]:
        if name in runs.columns:
            key = key + "|" + runs[name].astype(str)
    codes = {p: i for i, p in enumerate(policies)}
    return runs.assign(point=runs[POLICY].map(codes), seed=key)


def _with_policy(table: pd.DataFrame, policies: list[str]) -> pd.DataFrame:
    """A table with a policy column (an experiment without the variable has one policy)."""
    return table if POLICY in table.columns else table.assign(**{POLICY: policies[0]})


def _view(
    runs: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    variables: list[str],
    metrics: list[str],
    baseline: str,
    policies: list[str],
    others: list[str],
    pooled: bool,
    recompute: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and paired differences the report shows."""
    if pooled:
        pooled_runs = _pooled_runs(runs, policies, others)
        summary = statistics.summarize(pooled_runs, [POLICY], metrics)
        differences = statistics.paired_differences(pooled_runs, [POLICY], metrics, baseline)
        return summary, differences
    summary, differences = _with_policy(tables["summary"], policies), tables["differences"]
    if recompute and POLICY in variables:
        differences = statistics.paired_differences(runs, variables, metrics, baseline)
    return summary, differences


def _read_yearly(path: Path, runs: pd.DataFrame, others: list[str]) -> pd.DataFrame | None:
    """The yearly series with each point's policy, variables and sample (None when absent)."""
    file = path / f"{YEARLY}.parquet"
    if not file.exists():
        return None
    table = _read_table(path, YEARLY)
    if table.empty:
        return None
    for column in ("point", "seed", "year"):
        if column not in table.columns:
            raise InputError(str(file), column, "missing column")
    keys = [POLICY, *others, *(["sample"] if "sample" in runs.columns else [])]
    points = runs.groupby("point")[keys].first()
    return table.merge(points, left_on="point", right_index=True, how="inner")


def _threshold(spec: dict[str, Any], scenario: dict[str, Any]) -> float | None:
    """The experiment's pairing-ratio threshold, or the one the pairing rule implies: each
    helper takes at most ``dispatch.pairing.max_elders_per_helper`` elders."""
    named = spec.get("experiment", {}).get("pairing_ratio_threshold")
    if named:
        return float(named)
    per_helper = scenario_value(scenario, "dispatch.pairing.max_elders_per_helper")
    if per_helper is None:  # results stored before the policies' own tables
        per_helper = scenario_value(scenario, "dispatch.pairing_max_elders_per_helper")
    return 1.0 / per_helper if per_helper else None


def _days(resolved: dict) -> int:
    """The experiment's days, or (each scenario running its own) the longest scenario's."""
    if resolved.get("days"):
        return int(resolved["days"])
    scenarios = [resolved.get("scenario", {}), *resolved.get("scenarios", {}).values()]
    return max(_simulated_days(s) for s in scenarios)


def _simulated_days(scenario: dict) -> int:
    return int(scenario.get("simulation", {}).get("days", 0))


def _planned_runs(manifest: dict[str, Any], all_runs: pd.DataFrame) -> pd.DataFrame:
    """Every run of the experiment (point, seed) and whether it finished: the manifest's list
    of runs, and any row of runs.parquet it lacks (a run that failed or never wrote its row
    counts as not done, so a design point none of whose runs finished is still counted)."""
    listed = manifest.get("runs")
    rows = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    pairs = [(r.get("point"), r.get("seed")) for r in rows]
    planned = pd.DataFrame(  # a tampered entry (not two integers) is left out, not fatal
        [(p, s) for p, s in pairs if isinstance(p, int) and isinstance(s, int)],
        columns=["point", "seed"],
        dtype="int64",
    )
    ran = all_runs[["point", "seed"]].assign(done=(all_runs["status"] == "done").to_numpy())
    merged = pd.concat([planned, ran[["point", "seed"]]]).drop_duplicates()
    merged = merged.merge(ran.drop_duplicates(["point", "seed"]), on=["point", "seed"], how="left")
    return merged.assign(done=merged["done"].fillna(False).astype(bool))


def load(path: Path, baseline: str | None = None) -> Results:
    """Read a results folder; every problem is an InputError naming the file and key."""
    path = Path(path)
    manifest = _read_manifest(path)
    resolved = manifest["resolved"]
    spec = resolved["experiment"]
    scenario = resolved["scenario"]
    tables = {name: _numeric_statistics(_read_table(path, name)) for name in TABLES}
    kind = spec.get("design", {}).get("kind", "factorial")
    sensitivity = _read_table(path, "sensitivity") if kind in ("sobol", "morris") else None
    variables = list(spec.get("variables", {}))
    metrics = list(spec.get("experiment", {}).get("metrics", []))
    all_runs = tables["runs"]
    runs_file = str(path / "runs.parquet")
    listed_policies = spec.get("variables", {}).get(POLICY)
    check_run_table(
        all_runs,
        runs_file,
        listed_policies if isinstance(listed_policies, list) else None,
        ("point", "seed", "status", *variables),
        metrics,
    )
    metrics = [m for m in metrics if m in all_runs.columns]
    runs = all_runs.loc[all_runs["status"] == "done"].copy()
    if runs.empty:
        raise InputError(runs_file, "status", "no finished runs to report")
    if POLICY not in runs.columns:
        runs[POLICY] = scenario_policy(scenario)
    listed = spec.get("variables", {}).get(POLICY)
    policies = [p for p in listed if p in set(runs[POLICY])] if isinstance(listed, list) else []
    policies = policies or sorted(runs[POLICY].unique().tolist())
    default = spec.get("experiment", {}).get("baseline_policy", policies[0])
    if baseline is not None and baseline not in policies:
        raise InputError(
            "--baseline",
            None,
            f"policy {baseline!r} is not in the experiment (choose from {', '.join(policies)})",
        )
    if baseline is None and default not in policies:
        if len(policies) > 1:  # a folder written before design.py refused such experiments
            raise InputError(
                str(path / MANIFEST),
                "experiment.baseline_policy",
                f"{default!r} did not run: choose a baseline with --baseline "
                f"({', '.join(policies)})",
            )
        default = policies[0]
    chosen = baseline or default
    others = [v for v in variables if v != POLICY]
    pooled = kind in SAMPLED
    summary, differences = _view(
        all_runs if POLICY in all_runs.columns else runs,
        tables,
        variables,
        metrics,
        chosen,
        policies,
        others,
        pooled,
        recompute=chosen != default,
    )
    by_point = runs.groupby("point")[[POLICY, *others]].first()
    series = tables["series"].merge(by_point, left_on="point", right_index=True, how="inner")
    planned = _planned_runs(manifest, all_runs)
    return Results(
        path=path,
        manifest=manifest,
        scenario=scenario,
        kind=kind,
        days=_days(resolved),
        seeds=list(resolved.get("seeds", [])),
        variables=variables,
        metrics=metrics,
        runs=runs,
        failed=int((~planned["done"]).sum()),
        points=int(planned["point"].nunique()),
        failed_points=int(planned.loc[~planned["done"], "point"].nunique()),
        series=series,
        summary=summary,
        point_summary=_with_policy(tables["summary"], policies),
        differences=differences,
        sensitivity=sensitivity,
        baseline=chosen,
        policies=policies,
        others=others,
        threshold=_threshold(spec, scenario),
        reference={} if pooled else _reference(runs, others, scenario),
        yearly=_read_yearly(path, runs, others),
    )


# --- aggregations shared by figures and sentences ---------------------------------------------


def pooled_values(runs: pd.DataFrame, column: str) -> np.ndarray:
    """One flat array of a list column (``dist.response_min``) over runs (empty if absent)."""
    if column not in runs.columns:
        return np.empty(0)
    arrays = [np.asarray(a, dtype=float) for a in runs[column].to_numpy() if a is not None]
    return np.concatenate(arrays) if arrays else np.empty(0)


def building_table(runs: pd.DataFrame, threshold_min: float = 15.0) -> pd.DataFrame:
    """Per building, summed over runs: requests, served, unmet, mean response, unmet share;
    and ``hole``: the building's mean response exceeds ``threshold_min`` beyond seed noise (the
    lower end of the 95% t-interval of the per-run means is above it, with 3 runs or more)."""
    columns = [
        "building.requests",
        "building.served",
        "building.unmet",
        "building.response_sum_min",
    ]
    totals = {c: np.vstack(runs[c].to_numpy()).astype(float).sum(axis=0) for c in columns}
    table = pd.DataFrame({c.removeprefix("building."): v for c, v in totals.items()})
    with np.errstate(divide="ignore", invalid="ignore"):
        table["mean_response_min"] = table["response_sum_min"] / table["served"]
        table["unmet_share"] = table["unmet"] / table["requests"]
        per_run = np.vstack(runs["building.response_sum_min"].to_numpy()).astype(float) / np.vstack(
            runs["building.served"].to_numpy()
        ).astype(float)
    table["response_ci_low_min"] = _ci_low(per_run)
    table["hole"] = table["response_ci_low_min"] > threshold_min
    return table.rename_axis("building").reset_index()


def _ci_low(per_run: np.ndarray) -> np.ndarray:
    """The lower end of the 95% t-interval of each column's finite values (NaN below 3)."""
    low = np.full(per_run.shape[1], np.nan)
    for b in range(per_run.shape[1]):
        values = per_run[np.isfinite(per_run[:, b]), b]
        if len(values) >= 3:
            half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
            low[b] = values.mean() - half
    return low


def map_layout(results: Results) -> tuple[Layout | None, str | None]:
    """The community (or district) layout of the view, or None and the label key of why there
    is none: the layout stored with the results (layout.parquet), else, for results written
    before layouts were stored, rebuilt from the scenario."""
    if "building.requests" not in results.runs.columns:
        return None, "note.not_applicable"
    community = [v for v in results.others if v.startswith(("community.", "district."))]
    if results.pooled and community:
        return None, "note.layout_mismatch"
    stored = results.path / LAYOUT_FILE
    layout = None
    if stored.is_file() and not community:
        try:
            layout = layout_from_table(pd.read_parquet(stored))
        except (OSError, ValueError, KeyError):
            layout = None
    if layout is None:
        layout, note = _rebuilt_layout(results)
        if layout is None:
            return None, note
    lengths = {len(a) for a in results.runs["building.requests"].to_numpy()}
    if lengths != {layout.n_buildings}:
        return None, "note.layout_mismatch"
    return layout, None


def _rebuilt_layout(results: Results) -> tuple[Layout | None, str | None]:
    """The fallback for old result folders: the layout built again from scenario and seed."""
    overrides = {
        k: v for k, v in results.reference.items() if k.startswith(("community.", "district."))
    }
    try:
        base = scenario_module.Scenario.model_validate(results.scenario)
        scenario = scenario_module.with_overrides(base, overrides)
    except Exception:
        return None, "note.layout_mismatch"
    params = scenario.community
    if not params.fixed_layout:
        return None, "note.no_layout"
    return build_place_layout(scenario, np.random.default_rng(params.layout_seed)), None


def yearly_view(results: Results) -> pd.DataFrame:
    """The view's yearly series (empty when the folder has none)."""
    return pd.DataFrame() if results.yearly is None else results.view(results.yearly)


def yearly_summary(results: Results, column: str, year: int) -> pd.DataFrame:
    """Per policy in the view: n, mean and Student t 95% CI over runs of ``column`` in ``year``.

    Indexed by policy; runs without a value (a policy that does not pair) are left out, so such
    a policy has n = 0. Pooled designs pair runs as the summary does (see :func:`load`).
    """
    rows = yearly_view(results)
    if rows.empty or column not in rows.columns:
        return pd.DataFrame(columns=["n", "mean", "ci_low", "ci_high"])
    rows = rows.loc[rows["year"] == year].assign(status="done")
    if results.pooled:
        rows = _pooled_runs(rows, results.policies, results.others)
    rows = rows.assign(**{column: pd.to_numeric(rows[column], errors="coerce")})
    return statistics.summarize(rows, [POLICY], [column]).set_index(POLICY)


def holes(results: Results, policy: str, limit: float) -> tuple[int, int]:
    """(buildings whose mean urgent response exceeds ``limit`` minutes beyond seed noise,
    buildings) under a policy."""
    runs = results.policy_runs(policy)
    if runs.empty:
        return 0, 0
    table = building_table(runs, limit)
    return int(table["hole"].sum()), len(table)
