"""The report's summary in plain words, generated from the numbers of the results folder.

Each policy's sentence takes its means from the view's summary table and its difference,
confidence interval and Holm-corrected p-value from the view's paired differences (the
folder's ``differences.parquet`` unless ``--baseline`` asks for another baseline); a difference
whose Holm-corrected p-value is not below 0.05 is said to be not significant. Nothing in the
sentences is fixed text about results: every number and every direction comes from the tables.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.metrics import CIRCLE_MIN
from sim.report import labels as L
from sim.report.data import (
    HEADLINE,
    POLICY,
    THRESHOLD_METRIC,
    Results,
    bounds,
    holes,
    map_layout,
    yearly_summary,
    yearly_view,
)
from sim.scenario import parse_chain

if TYPE_CHECKING:
    from sim.report.robustness import Robustness

#: the yearly column the final-year sentence is about
PAIRED = "paired_elders_share"


@dataclass(frozen=True)
class Sentence:
    """One sentence of the summary, and the policy it is about (None for general ones)."""

    text: str
    policy: str | None = None


def p_text(p: float) -> str:
    """A p-value as ``= 0.012`` or ``< 0.001``."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _metric_words(lang: str, metric: str) -> str:
    name = L.metric_name(lang, metric)
    if lang == "en" and len(name) > 1 and name[1].islower():
        name = name[0].lower() + name[1:]
    return name


def headline_metric(results: Results) -> str | None:
    if HEADLINE in results.metrics:
        return HEADLINE
    return results.key_metrics[0] if results.key_metrics else None


def unmet_share(results: Results, policy: str) -> float:
    """Mean unmet orders over mean requests under a policy in the view (NaN without them)."""
    requests = results.mean(policy, "requests")
    return results.mean(policy, "unmet") / requests if requests else float("nan")


def overview(results: Results, lang: str) -> Sentence:
    if results.reference:
        values = L.t(lang, "text.semicolon").join(
            L.variable_value(lang, k, v) for k, v in results.reference.items()
        )
        where = L.t(lang, "sentence.where", values=values)
    else:
        where = L.t(lang, "sentence.where_pooled") if results.pooled and results.others else ""
    single = len(results.policies) == 1
    text = L.t(
        lang,
        "sentence.overview_single" if single else "sentence.overview",
        runs=len(results.runs) + results.failed,
        points=results.points,
        seeds=len(results.seeds) or results.runs["seed"].nunique(),
        days=results.days_text(),
        baseline=L.policy_name(lang, results.baseline if not single else results.policies[0]),
        where=where,
    )
    return Sentence(text)


def policy_sentence(results: Results, lang: str, policy: str, metric: str) -> Sentence | None:
    """How ``policy`` changed ``metric`` against the baseline, with CI and significance."""
    row = results.row(results.differences, policy, metric)
    if row is None:
        return None
    base, value = results.mean(results.baseline, metric), results.mean(policy, metric)
    base_text, shown = L.amount(lang, metric, base), L.amount(lang, metric, value)
    difference = float(row["mean_difference"])
    if base_text == shown or difference == 0:
        key = "sentence.same"
    else:
        key = "sentence.lower" if difference < 0 else "sentence.higher"
    words = {
        "policy": L.policy_name(lang, policy),
        "metric": _metric_words(lang, metric),
        "base": base_text,
        "value": shown,
    }
    p_holm = float(row["p_holm"])
    if math.isnan(p_holm):
        significance = L.t(lang, "sentence.untested")
    elif bool(row["significant"]):
        significance = L.t(lang, "sentence.significant", p=p_text(p_holm))
    else:
        significance = L.t(lang, "sentence.not_significant", p=p_text(p_holm))
    text = L.t(lang, key, **words) + L.t(
        lang,
        "sentence.interval",
        diff=L.amount(lang, metric, difference, difference=True),
        low=L.metric_number(metric, float(row["ci_low"])),
        high=L.metric_number(metric, float(row["ci_high"])),
        significance=significance,
    )
    share, base_share = unmet_share(results, policy), unmet_share(results, results.baseline)
    if np.isfinite(share) and np.isfinite(base_share):
        text += L.t(
            lang,
            "sentence.unmet",
            unmet=L.metric_number("unmet_share", share),
            base_unmet=L.metric_number("unmet_share", base_share),
        )
    else:
        text += L.t(lang, "sentence.end")
    return Sentence(text, policy)


def best_sentences(results: Results, lang: str, metric: str) -> list[Sentence]:
    found = []
    for name, lowest, key in (
        (metric, True, "sentence.best"),
        ("urgent_within_window_share", False, "sentence.best_high"),
    ):
        policy = results.best(name, lowest) if name in results.metrics else None
        if policy is None or len(results.policies) < 2:
            continue
        words = {
            "metric": _metric_words(lang, name),
            "policy": L.policy_name(lang, policy),
            "value": L.amount(lang, name, results.mean(policy, name)),
        }
        found.append(Sentence(L.t(lang, key, **words)))
    return found


def hole_sentences(results: Results, lang: str) -> list[Sentence]:
    """Buildings whose mean response exceeds 15 minutes, under the baseline and the best."""
    layout, _ = map_layout(results)
    if layout is None:  # per-building totals mean nothing without one layout for every run
        return []
    found = []
    for policy in dict.fromkeys([results.baseline, results.best()]):
        if policy is None:
            continue
        count, buildings = holes(results, policy, CIRCLE_MIN)
        if buildings == 0:
            continue
        key = "sentence.holes" if count else "sentence.no_holes"
        name = L.policy_name(lang, policy)
        found.append(Sentence(L.t(lang, key, policy=name, holes=count, buildings=buildings)))
    return found


def other_scenario_sentences(
    results: Results, lang: str, metric: str, robustness_results: Robustness | None = None
) -> list[Sentence]:
    """The comparison again in each scenario other than the view's (the stress scenario), and
    with ``robustness_results`` whether it holds there across the assumptions."""
    from sim.report import robustness

    if results.pooled or "scenario" not in results.reference:
        return []
    found = []
    levels = sorted(set(results.runs["scenario"].dropna().tolist()), key=str)
    for level in levels:
        if level == results.reference["scenario"]:
            continue
        view = dataclasses.replace(results, reference={**results.reference, "scenario": level})
        found.append(
            Sentence(
                L.t(
                    lang,
                    "sentence.in_scenario",
                    scenario=L.scenario_name(lang, level),
                    days=results.scenario_days(level),
                )
            )
        )
        compared = [policy_sentence(view, lang, p, metric) for p in view.compared]
        found += [s for s in compared if s is not None]
        found += best_sentences(view, lang, metric)
        if robustness_results is not None:
            found += [Sentence(s) for s in robustness.checked(view, robustness_results, lang)]
    return found


def sensitivity_sentence(results: Results, lang: str, metric: str) -> Sentence | None:
    table = results.sensitivity
    if table is None or table.empty:
        return None
    index = "ST" if "ST" in table.columns else "mu_star"
    rows = table[(table["metric"] == metric) & table[index].notna()]
    if rows.empty:
        return None
    top = rows.loc[rows[index].idxmax()]
    text = L.t(
        lang,
        "sentence.sensitivity",
        metric=_metric_words(lang, metric),
        parameter=L.variable_name(lang, str(top["parameter"])),
        index=L.t(lang, f"index.{index}"),
        value=L.number(float(top[index]), 2),
    )
    return Sentence(text)


def pairing_policies(results: Results) -> list[str]:
    """The policies whose chain pairs elders with helpers (花甲助耄耋)."""
    return [p for p in results.policies if "pairing" in parse_chain(p)]


def yearly_sentence(results: Results, lang: str) -> Sentence | None:
    """The share of eligible elders paired in the final year (mean, 95% CI) and in the first.

    One clause per pairing policy with a value in the final year of the view's yearly series;
    None without a yearly series of two years or more, or without a pairing policy.
    """
    yearly = yearly_view(results)
    policies = pairing_policies(results)
    if yearly.empty or PAIRED not in yearly.columns or not policies:
        return None
    if yearly["year"].nunique() < 2:
        return None
    first_year, last_year = int(yearly["year"].min()), int(yearly["year"].max())
    last, first = (yearly_summary(results, PAIRED, year) for year in (last_year, first_year))
    clauses = []
    for policy in policies:
        if policy not in last.index or last.loc[policy, "n"] == 0:
            continue
        row = last.loc[policy]
        start = float(first.loc[policy, "mean"]) if policy in first.index else math.nan
        low, high = np.clip([row["ci_low"], row["ci_high"]], *bounds(PAIRED))
        ci = ""
        if np.isfinite(low) and np.isfinite(high):
            ci = L.t(
                lang,
                "sentence.yearly_ci",
                low=L.metric_number(PAIRED, low),
                high=L.metric_number(PAIRED, high),
            )
        key = "sentence.yearly_more" if clauses else "sentence.yearly_first"
        clauses.append(
            L.t(
                lang,
                key,
                policy=L.policy_name(lang, policy),
                value=L.amount(lang, PAIRED, float(row["mean"])),
                ci=ci,
                start=L.amount(lang, PAIRED, start),
                start_year=first_year,
            )
        )
    if not clauses:
        return None
    joined = L.t(lang, "text.semicolon").join(clauses)
    return Sentence(L.t(lang, "sentence.yearly_pairing", year=last_year, clauses=joined))


def _first_below(group: pd.DataFrame, metric: str, threshold: float) -> pd.Series:
    """Per run (point, seed): the first year its value is below ``threshold`` (NaN: never)."""
    below = group[group[metric] < threshold]
    first = below.groupby(["point", "seed"])["year"].min()
    runs = group.groupby(["point", "seed"]).size().index
    return first.reindex(runs)


def _spread_clause(lang: str, first: pd.Series) -> str:
    """How the runs spread: how many fall below, and the 10-90% range of the year they do."""
    years = first.dropna()
    words = {"runs": len(years), "total": len(first)}
    if len(first) < 2:
        return ""
    if not len(years):
        return L.t(lang, "sentence.threshold_runs_none", **words)
    early, late = np.quantile(years, [0.1, 0.9], method="nearest").astype(int).tolist()
    return L.t(lang, "sentence.threshold_runs", early=early, late=late, **words)


def posterior_sentence(results: Results, lang: str) -> Sentence | None:
    """That the runs drew the calibration's accepted parameter sets (``[posterior]``), so
    their spread includes the calibration's uncertainty; None without a posterior."""
    posterior = results.manifest.get("resolved", {}).get("posterior")
    column = "posterior_set"
    if not posterior or column not in results.runs.columns:
        return None
    drawn = int(results.runs[column].nunique())
    return Sentence(L.t(lang, "sentence.posterior", drawn=drawn, sets=posterior.get("sets", "?")))


def threshold_sentence(results: Results, lang: str) -> Sentence | None:
    """When, for each pairing policy and each combination of the other variables (recruitment
    effort, ageing speed), the mean helpers aged 60-69 per eligible elder first fall below the
    threshold the experiment names (or that they never do), and how the runs spread around
    that (seed noise and, with a posterior, the calibration's uncertainty)."""
    yearly = results.yearly
    metric = THRESHOLD_METRIC
    if yearly is None or results.threshold is None or metric not in yearly.columns:
        return None
    if yearly["year"].nunique() < 2:
        return None
    values = yearly.assign(**{metric: pd.to_numeric(yearly[metric], errors="coerce")})
    last_year = int(values["year"].max())
    threshold = L.number(results.threshold, 2)
    clauses = []
    for policy in pairing_policies(results):
        rows = values[values[POLICY] == policy]
        groups = rows.groupby(results.others, sort=True) if results.others else [((), rows)]
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            where = L.t(lang, "text.comma").join(
                L.variable_value(lang, n, v) for n, v in zip(results.others, key, strict=True)
            )
            means = group.groupby("year")[metric].mean()
            below = means.index[means < results.threshold]
            words = {"policy": L.policy_name(lang, policy), "where": where}
            if len(below):
                clause = L.t(lang, "sentence.threshold_below", year=int(below[0]), **words)
            else:
                clause = L.t(lang, "sentence.threshold_above", year=last_year, **words)
            spread = _spread_clause(lang, _first_below(group, metric, results.threshold))
            clauses.append(clause + spread)
    if not clauses:
        return None
    joined = L.t(lang, "text.semicolon").join(clauses)
    text = L.t(lang, "sentence.threshold", clauses=joined, threshold=threshold)
    posterior = posterior_sentence(results, lang)
    return Sentence(text + (L.t(lang, "text.space") + posterior.text if posterior else ""))


def robustness_sentences(
    results: Results, lang: str, own: Robustness | None, other: Robustness | None
) -> list[Sentence]:
    """What holds across the assumptions (:mod:`sim.report.robustness`): a robustness design's
    findings; for an ordinary experiment, that its comparisons are at the scenario's assumed
    values and (with ``--robustness``) which of them hold there."""
    from sim.report import robustness

    if own is not None:
        return [Sentence(s) for s in robustness.findings(own, lang, results.baseline)]
    if len(results.policies) < 2:
        return []
    found = [Sentence(L.t(lang, "sentence.assumed_values"))]
    if other is not None:
        found += [Sentence(s) for s in robustness.checked(results, other, lang)]
    return found


def sentences(
    results: Results,
    lang: str,
    robust: Robustness | None = None,
    robustness_results: Robustness | None = None,
) -> list[Sentence]:
    """The whole summary, in order: overview, one sentence per policy, best, holes, extras
    (the final year of pairing, sensitivity, failed runs).

    For a robustness design (``robust``, its own results) the comparisons are stated only as
    they hold across the plausible space, in place of the pooled means; an ordinary experiment
    says its comparisons are at assumed values, and checks them against
    ``robustness_results`` when given (``volsim report --robustness``)."""
    metric = headline_metric(results)
    found = [overview(results, lang)]
    if metric is None:
        return found
    if robust is not None:
        found += robustness_sentences(results, lang, robust, None)
        found += hole_sentences(results, lang)
        if results.failed:
            words = {"failed": results.failed, "points": results.failed_points}
            found.append(Sentence(L.t(lang, "sentence.failed", **words)))
        return found
    if len(results.policies) == 1:
        policy = results.policies[0]
        words = {
            "policy": L.policy_name(lang, policy),
            "metric": _metric_words(lang, metric),
            "value": L.amount(lang, metric, results.mean(policy, metric)),
        }
        found.append(Sentence(L.t(lang, "sentence.single_policy", **words), policy))
    compared = [policy_sentence(results, lang, p, metric) for p in results.compared]
    compared = [s for s in compared if s is not None]
    if compared:
        tests = int(results.differences["p_value"].notna().sum())
        found += [*compared, Sentence(L.t(lang, "sentence.holm", tests=tests))]
    found += robustness_sentences(results, lang, None, robustness_results)
    found += best_sentences(results, lang, metric)
    found += hole_sentences(results, lang)
    found += other_scenario_sentences(results, lang, metric, robustness_results)
    extras = (
        yearly_sentence(results, lang),
        threshold_sentence(results, lang),
        sensitivity_sentence(results, lang, metric),
    )
    for extra in extras:
        if extra is not None:
            found.append(extra)
    if results.failed:
        words = {"failed": results.failed, "points": results.failed_points}
        found.append(Sentence(L.t(lang, "sentence.failed", **words)))
    return found
