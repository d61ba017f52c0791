"""The report's figures, one function per figure; each returns a :class:`Plot`.

Figures are drawn on plain :class:`matplotlib.figure.Figure` objects with the Agg canvas (no
pyplot, no global backend). Every word comes from :mod:`sim.report.labels`; data from
:mod:`sim.report.data`. A figure that does not apply to an experiment returns a Plot with a
note instead of a figure. The community map is in :mod:`sim.report.mapfig`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import StrMethodFormatter
from scipy import stats

from sim.metrics import CIRCLE_MIN
from sim.report import labels as L
from sim.report.data import (
    POLICY,
    THRESHOLD_METRIC,
    Results,
    bounds,
    pooled_values,
    yearly_view,
)

SERIES = ("orders_placed", "orders_served", "orders_unmet", "active_volunteers")
#: the panels of the yearly figure (columns of yearly.parquet), in order
YEARLY = (
    "paired_elders_share",
    "helpers_60_69_per_eligible_elder",
    "eligible_served_by_pair_share",
    "active_volunteers",
    "active_volunteer_age_mean_years",
    "orders_per_helper_per_month",
    "burnout_stops",
    "residents_80_plus",
    "urgent_response_time_p90_min",
    "urgent_unmet_share",
    "same_day_unmet_share",
    "scheduled_unmet_share",
)
#: years up to which the yearly lines carry a marker per year
YEARLY_MARKERS = 25
#: at most this many year ticks between the first and the last year
YEAR_TICKS = 6
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
BASELINE_COLOR = "#333333"
GROUP_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
MAX_GROUPS = len(GROUP_COLORS)
#: quantile bins of a sampled variable in the sweep figure
SWEEP_BINS = 5


@dataclass
class Plot:
    """A figure of the report: its file stem, heading, caption, and figure or note."""

    stem: str
    title: str
    caption: str
    figure: Figure | None = None
    note: str | None = None


# --- shared helpers ---------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def policy_colors(results: Results) -> dict[str, str]:
    """One colour per policy, the same in every figure; the baseline in dark grey."""
    others = iter(PALETTE * 4)
    return {p: BASELINE_COLOR if p == results.baseline else next(others) for p in results.policies}


def policy_label(results: Results, lang: str, policy: str) -> str:
    name = L.policy_name(lang, policy)
    return f"{name} ({L.t(lang, 'legend.baseline')})" if policy == results.baseline else name


def reference_caption(results: Results, lang: str, skip: str | None = None) -> str:
    """The sentence saying at which values of the other variables a figure is drawn."""
    if results.pooled:
        return L.t(lang, "text.space") + L.t(lang, "caption.pooled") if results.others else ""
    values = [L.variable_value(lang, k, v) for k, v in results.reference.items() if k != skip]
    joined = L.t(lang, "text.semicolon").join(values)
    return L.t(lang, "text.space") + L.t(lang, "caption.reference", values=joined) if values else ""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    cols = min(cols, n)
    return -(-n // cols), cols


def _axes(figure: Figure, n: int, cols: int = 3, **kwargs) -> list:
    rows, cols = _grid(n, cols)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False, **kwargs)).ravel()
    for extra in axes[n:]:
        extra.set_visible(False)
    return list(axes[:n])


def text_width(text: str) -> int:
    """A text's width in Latin characters: a Chinese character is about two."""
    return sum(2 if ord(c) >= 0x2E80 else 1 for c in text)


def panel_title(ax, text: str, width: int = 34) -> None:
    """A panel's title, wrapped onto two lines when it is long."""
    if text_width(text) > width:
        wide = text_width(text) > len(text)
        text = textwrap.fill(text, width // 2 if wide else width)
    ax.set_title(text)


def figure_legend(figure: Figure, handles: list, budget: int = 120) -> None:
    """A legend under the panels, with as many columns as fit the figure's width."""
    widest = max(text_width(h.get_label()) + 6 for h in handles)
    columns = max(1, min(len(handles), budget // widest))
    figure.legend(handles=handles, loc="outside lower center", ncol=columns)


def _bottom_labels(axes: list, n: int, cols: int, label: str) -> None:
    """An x label on the lowest panel of each column only (panels share their x axis).

    The lowest panel of a column shows its tick labels even when it is not in the bottom row.
    """
    for i, ax in enumerate(axes):
        if i + cols >= n:
            ax.set_xlabel(label)
            ax.tick_params(axis="x", labelbottom=True)


# --- (1) policy comparison --------------------------------------------------------------------


def _comparison_groups(results: Results, lang: str) -> list[tuple[str, pd.DataFrame]]:
    """(legend label, differences rows) per combination of the other variables shown.

    Up to MAX_GROUPS combinations are shown side by side; more, and only the reference ones.
    """
    table = results.differences
    if results.pooled or not results.others:
        return [("", results.view(table))]
    grouped = list(table.groupby(results.others, sort=True))
    if len(grouped) > MAX_GROUPS or len(grouped) < 2:
        return [("", results.view(table))]
    groups = []
    for key, rows in grouped:
        values = zip(results.others, key, strict=True)
        groups.append(
            (
                L.t(lang, "text.semicolon").join(L.variable_value(lang, n, v) for n, v in values),
                rows,
            )
        )
    return groups


def comparison(results: Results, lang: str) -> Plot:
    """(1) Each key metric's paired difference from the baseline, with its 95% CI."""
    baseline = L.policy_name(lang, results.baseline)
    title = L.t(lang, "section.comparison")
    caption = L.t(lang, "caption.comparison", baseline=baseline)
    policies = results.compared
    if results.differences.empty or not policies:
        return Plot("fig-1-comparison", title, caption, note=L.t(lang, "note.no_policy"))
    groups = _comparison_groups(results, lang)
    if len(groups) == 1:
        caption += reference_caption(results, lang)
    metrics = results.key_metrics
    rows_n, _ = _grid(len(metrics))
    figure = new_figure(
        11, 0.6 + rows_n * (0.9 + 0.42 * len(policies) * max(1, len(groups)) ** 0.5)
    )
    axes = _axes(figure, len(metrics), sharey=True)
    positions = np.arange(len(policies))[::-1]
    offsets = np.linspace(0.25, -0.25, len(groups)) if len(groups) > 1 else [0.0]
    for ax, metric in zip(axes, metrics, strict=True):
        ax.axvline(0, color=BASELINE_COLOR, lw=0.8)
        for g, (_, rows) in enumerate(groups):
            rows = rows[rows["metric"] == metric].set_index(POLICY).reindex(policies)
            scale = L.scaled(metric, 1.0)
            y = positions + offsets[g]
            mean = rows["mean_difference"].to_numpy(dtype=float) * scale
            low = rows["ci_low"].to_numpy(dtype=float) * scale
            high = rows["ci_high"].to_numpy(dtype=float) * scale
            color = GROUP_COLORS[g] if len(groups) > 1 else PALETTE[0]
            ax.hlines(y, low, high, color=color, lw=1.6)
            significant = rows["significant"].fillna(False).to_numpy(dtype=bool)
            ax.scatter(mean[significant], y[significant], color=color, s=28, zorder=3)
            ax.scatter(
                mean[~significant],
                y[~significant],
                facecolor="white",
                edgecolor=color,
                s=28,
                zorder=3,
                linewidths=1.4,
            )
        panel_title(ax, L.metric_name(lang, metric))
        units = L.unit(lang, metric, True)
        ax.set_xlabel(
            L.t(lang, "axis.difference", unit=units)
            if units
            else L.t(lang, "axis.difference_plain")
        )
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(positions, [L.policy_name(lang, p) for p in policies])
    axes[0].set_ylim(-0.6, len(policies) - 0.4)
    handles = [
        Line2D([], [], marker="o", ls="", color="#555555", label=L.t(lang, "legend.significant")),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="white",
            color="#555555",
            label=L.t(lang, "legend.not_significant"),
        ),
    ]
    if len(groups) > 1:
        handles += [
            Line2D([], [], color=GROUP_COLORS[g], marker="o", label=label)
            for g, (label, _) in enumerate(groups)
        ]
    figure_legend(figure, handles)
    figure.suptitle(L.t(lang, "figure.comparison", baseline=baseline))
    return Plot("fig-1-comparison", title, caption, figure)


# --- (2) response-time distributions ----------------------------------------------------------


def distribution(results: Results, lang: str) -> Plot:
    """(2) Share of all orders served within t minutes, per policy (seeds pooled)."""
    title = L.t(lang, "section.distribution")
    caption = L.t(lang, "caption.distribution") + reference_caption(results, lang)
    colors = policy_colors(results)
    curves = {}
    for policy in results.policies:
        runs = results.policy_runs(policy)
        total = float(runs["requests"].sum()) if "requests" in runs else 0.0
        values = np.sort(pooled_values(runs, "dist.response_min"))
        if total > 0 and len(values):
            curves[policy] = (values, total)
    if not curves:
        return Plot("fig-2-distribution", title, caption, note=L.t(lang, "note.not_applicable"))
    top = max(float(np.quantile(v, 0.99)) for v, _ in curves.values())
    grid = np.linspace(0.0, max(2 * CIRCLE_MIN, top), 400)
    figure = new_figure(9, 5.2)
    ax = figure.subplots()
    for policy, (values, total) in curves.items():
        share = np.searchsorted(values, grid, side="right") / total * 100
        top = policy == results.baseline
        label = policy_label(results, lang, policy)
        ax.plot(
            grid,
            share,
            color=colors[policy],
            lw=2.4 if top else 1.6,
            label=label,
            zorder=3 if top else 2,
        )
    ax.axvline(CIRCLE_MIN, color="#666666", ls="--", lw=1.0)
    ax.text(CIRCLE_MIN, 101, " " + L.t(lang, "legend.circle"), color="#444444", va="bottom")
    ax.set_xlim(0, grid[-1])
    ax.set_ylim(0, 100)
    ax.set_xlabel(L.t(lang, "axis.response_min"))
    ax.set_ylabel(L.t(lang, "axis.share_served_within"))
    ax.legend(loc="lower right")
    figure.suptitle(L.t(lang, "figure.distribution"))
    return Plot("fig-2-distribution", title, caption, figure)


# --- (4) daily series -------------------------------------------------------------------------


def _banded_line(ax, x, mean, low, high, color, emphasise: bool, marker: str = "") -> None:
    """A policy's mean line over its 10-90% band across seeds (the baseline drawn on top)."""
    ax.fill_between(x, low, high, color=color, alpha=0.15, lw=0)
    ax.plot(
        x,
        mean,
        color=color,
        lw=1.8 if emphasise else 1.3,
        marker=marker,
        ms=3.5,
        zorder=3 if emphasise else 2,
    )


def daily_series(results: Results, lang: str) -> Plot:
    """(4) Daily orders, served, unmet and active volunteers: mean and 10-90% band over seeds."""
    title = L.t(lang, "section.series")
    names = [s for s in SERIES if s in results.series.columns]
    smoothed = results.days > 60
    caption = L.t(lang, "caption.series_smoothed" if smoothed else "caption.series")
    caption += reference_caption(results, lang)
    series = results.view(results.series)
    if not names or series.empty:
        return Plot("fig-4-series", title, caption, note=L.t(lang, "note.not_applicable"))
    series = series.sort_values(["point", "seed", "day"])
    if smoothed:
        rolled = series.groupby(["point", "seed"])[names].rolling(7, min_periods=1).mean()
        series = series.assign(**{n: rolled[n].to_numpy() for n in names})
    grouped = series.groupby([POLICY, "day"])[names]
    mean, low, high = grouped.mean(), grouped.quantile(0.1), grouped.quantile(0.9)
    colors = policy_colors(results)
    figure = new_figure(11, 7)
    axes = _axes(figure, len(names), cols=2, sharex=True)
    for ax, name in zip(axes, names, strict=True):
        for policy in results.policies:
            if policy not in mean.index.get_level_values(0):
                continue
            days = mean.loc[policy].index.to_numpy()
            line = mean.loc[policy][name]
            _banded_line(
                ax,
                days,
                line,
                low.loc[policy][name],
                high.loc[policy][name],
                colors[policy],
                policy == results.baseline,
            )
        panel_title(ax, L.t(lang, f"series.{name}"))
        ax.set_ylim(bottom=0)
    _bottom_labels(axes, len(names), 2, L.t(lang, "axis.day"))
    _policy_legend(figure, results, lang, colors)
    figure.suptitle(L.t(lang, "figure.series"))
    return Plot("fig-4-series", title, caption, figure)


def _policy_legend(figure: Figure, results: Results, lang: str, colors: dict[str, str]) -> None:
    handles = [
        Line2D([], [], color=colors[p], lw=2, label=policy_label(results, lang, p))
        for p in results.policies
    ]
    figure_legend(figure, handles)


# --- (8) yearly series -----------------------------------------------------------------------


def year_ticks(first: int, last: int, most: int = YEAR_TICKS) -> list[int]:
    """The first and last year and round years between them (every 1, 2, 5, 10, 20, ... years)."""
    span = last - first
    step = next(
        s for s in (k * 10**e for e in range(6) for k in (1, 2, 5)) if span <= s * (most - 1)
    )
    inner = range(-(-first // step) * step, last, step)
    return [first, *(y for y in inner if min(y - first, last - y) > step / 2), last]


def yearly_series(results: Results, lang: str) -> Plot:
    """(8) Pairing, volunteers, the old-old, response and unmet orders year by year.

    One line per policy (mean over seeds) and a band (10-90% of seeds), other variables at their
    reference values; drawn when the runs cover two years or more (``yearly.parquet``).
    """
    stem, title = "fig-8-yearly", L.t(lang, "section.yearly")
    caption = L.t(lang, "caption.yearly")
    if results.manifest.get("resolved", {}).get("posterior"):  # runs drew calibrated sets
        caption += L.t(lang, "caption.yearly_posterior")
    caption += reference_caption(results, lang)
    yearly = yearly_view(results)
    names = [n for n in YEARLY if n in yearly.columns]
    if not names or yearly["year"].nunique() < 2:
        return Plot(stem, title, caption, note=L.t(lang, "note.no_yearly"))
    values = yearly[[POLICY, "year", *names]].copy()
    values[names] = values[names].apply(pd.to_numeric, errors="coerce")
    names = [n for n in names if values[n].notna().any()]  # no pairing policy: no pairing panel
    if not names:
        return Plot(stem, title, caption, note=L.t(lang, "note.no_yearly"))
    values[names] = values[names].mul([L.scaled(n, 1.0) for n in names])
    grouped = values.groupby([POLICY, "year"])[names]
    mean, low, high = grouped.mean(), grouped.quantile(0.1), grouped.quantile(0.9)
    colors = policy_colors(results)
    marker = "o" if values["year"].nunique() <= YEARLY_MARKERS else ""
    figure = new_figure(11, 1.3 + 2.8 * _grid(len(names))[0])
    axes = _axes(figure, len(names), sharex=True)
    for ax, name in zip(axes, names, strict=True):
        for policy in results.policies:
            if policy not in mean.index.get_level_values(0):
                continue
            line = mean.loc[policy][name]
            if line.isna().all():
                continue
            years = line.index.to_numpy(dtype=float)
            _banded_line(
                ax,
                years,
                line,
                low.loc[policy][name],
                high.loc[policy][name],
                colors[policy],
                policy == results.baseline,
                marker=marker,
            )
        panel_title(ax, L.t(lang, f"yearly.{name}"))
        ax.set_ylim(0, 102 if name.endswith("_share") else None)  # a share: up to 100%
        if name == THRESHOLD_METRIC and results.threshold is not None:
            ax.axhline(results.threshold, color=BASELINE_COLOR, lw=1, ls="--")
    axes[0].set_xticks(year_ticks(int(values["year"].min()), int(values["year"].max())))
    axes[0].xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    _bottom_labels(axes, len(names), 3, L.t(lang, "axis.year"))
    _policy_legend(figure, results, lang, colors)
    figure.suptitle(L.t(lang, "figure.yearly"))
    return Plot(stem, title, caption, figure)


# --- (5) volunteer workload -------------------------------------------------------------------


def lorenz_curve(runs: pd.DataFrame, points: int = 101) -> np.ndarray:
    """The mean over runs of the Lorenz curve of orders per volunteer, at ``points`` shares."""
    grid = np.linspace(0.0, 1.0, points)
    curves = []
    column = "dist.workload_orders"
    for orders in runs[column].to_numpy() if column in runs.columns else []:
        counts = np.sort(np.asarray(orders, dtype=float))
        if len(counts) == 0 or counts.sum() <= 0:
            continue
        x = np.arange(len(counts) + 1) / len(counts)
        y = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
        curves.append(np.interp(grid, x, y))
    return np.mean(curves, axis=0) if curves else np.full(points, np.nan)


def workload(results: Results, lang: str) -> Plot:
    """(5) Lorenz curves of volunteer workload and the Gini coefficient per policy."""
    title = L.t(lang, "section.workload")
    caption = L.t(lang, "caption.workload") + L.t(lang, "text.space") + L.t(lang, "caption.clipped")
    caption += reference_caption(results, lang)
    colors = policy_colors(results)
    figure = new_figure(11, 4.8)
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.1])
    grid = np.linspace(0, 100, 101)
    left.plot(grid, grid, color="#999999", ls=":", label=L.t(lang, "legend.equality"))
    for policy in results.policies:
        curve = lorenz_curve(results.policy_runs(policy)) * 100
        left.plot(grid, curve, color=colors[policy], lw=1.6, label=L.policy_name(lang, policy))
    left.set_xlim(0, 100)
    left.set_ylim(0, 100)
    left.set_aspect("equal")
    left.set_xlabel(L.t(lang, "axis.volunteer_share"))
    left.set_ylabel(L.t(lang, "axis.order_share"))
    left.set_title(L.t(lang, "figure.lorenz"))
    left.legend(loc="upper left", fontsize=8)
    summary = results.view(results.summary)
    gini = summary[summary["metric"] == "workload_gini"].set_index(POLICY).reindex(results.policies)
    y = np.arange(len(results.policies))[::-1]
    for i, policy in enumerate(results.policies):
        row = gini.loc[policy]
        ends = np.array([row["ci_low"], row["ci_high"]], dtype=float)  # None (one seed): NaN
        low, high = np.clip(ends, *bounds("workload_gini"))
        right.hlines(y[i], low, high, color=colors[policy], lw=2)
        right.scatter([row["mean"]], [y[i]], color=colors[policy], s=36, zorder=3)
    right.set_yticks(y, [policy_label(results, lang, p) for p in results.policies])
    right.set_xlabel(L.t(lang, "axis.gini"))
    right.set_title(L.t(lang, "figure.gini"))
    right.grid(axis="y", visible=False)
    return Plot("fig-5-workload", title, caption, figure)


# --- (6) numeric sweeps -----------------------------------------------------------------------


def binned_means(x: np.ndarray, y: np.ndarray, bins: int = SWEEP_BINS) -> pd.DataFrame:
    """Mean x, mean y and a Student t 95% interval of y within quantile bins of x."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = pd.DataFrame({"bin": which, "x": x, "y": y}).dropna()
    grouped = table.groupby("bin").agg(
        x=("x", "mean"), mean=("y", "mean"), sd=("y", "std"), n=("y", "count")
    )
    quantile = stats.t.ppf(0.975, np.where(grouped["n"] >= 2, grouped["n"] - 1, np.nan))
    half = quantile * grouped["sd"] / np.sqrt(grouped["n"])
    return grouped.assign(ci_low=grouped["mean"] - half, ci_high=grouped["mean"] + half)


def sweep(results: Results, lang: str, variable: str) -> Plot:
    """(6) Each key metric against a swept numeric variable with 95% CIs, a line per policy.

    Listed levels: the summary's mean and CI at each level (other variables at reference).
    Sampled values: each design point's mean as a faint dot, and a line through the mean and
    CI of the point means within quantile bins of the variable.
    """
    name = L.variable_name(lang, variable)
    stem = f"fig-6-sweep-{slug(variable)}"
    title = L.t(lang, "section.sweep", variable=name)
    summary = results.point_summary
    sampled = results.pooled or summary[variable].nunique() > 12
    if sampled:
        caption = L.t(lang, "caption.sweep_sampled", variable=name, bins=SWEEP_BINS)
    else:
        summary = results.at_reference(summary, keep=variable)
        caption = L.t(lang, "caption.sweep", variable=name)
        caption += reference_caption(results, lang, skip=variable)
    caption += L.t(lang, "text.space") + L.t(lang, "caption.clipped")
    colors = policy_colors(results)
    metrics = results.key_metrics
    levels = np.sort(summary[variable].dropna().unique().astype(float))
    span = (levels[-1] - levels[0]) if len(levels) > 1 else 1.0
    dodge = (np.arange(len(results.policies)) - (len(results.policies) - 1) / 2) * span * 0.008
    figure = new_figure(11, 1.2 + 2.9 * _grid(len(metrics))[0])
    axes = _axes(figure, len(metrics), sharex=True)
    for ax, metric in zip(axes, metrics, strict=True):
        rows = summary[summary["metric"] == metric]
        scale = L.scaled(metric, 1.0)
        for i, policy in enumerate(results.policies):
            part = rows[rows[POLICY] == policy].sort_values(variable)
            x = part[variable].to_numpy(dtype=float)
            if sampled:
                ax.scatter(x, part["mean"] * scale, s=6, color=colors[policy], alpha=0.3, lw=0)
                part = binned_means(x, part["mean"].to_numpy(dtype=float))
                x = part["x"].to_numpy()
            low_end, high_end = (b * scale for b in bounds(metric))
            mean, low, high = (
                part[c].to_numpy(dtype=float) * scale for c in ("mean", "ci_low", "ci_high")
            )
            low, high = np.maximum(low, low_end), np.minimum(high, high_end)
            ax.errorbar(
                x + (0 if sampled else dodge[i]),
                mean,
                yerr=[mean - low, high - mean],
                color=colors[policy],
                capsize=2.5,
                alpha=0.9,
                fmt="-o",
                ms=4,
            )
        panel_title(ax, L.metric_name(lang, metric))
        ax.set_ylabel(L.unit(lang, metric))
    _bottom_labels(axes, len(metrics), 3, name)
    if not sampled:
        axes[0].set_xticks(levels)
    _policy_legend(figure, results, lang, colors)
    figure.suptitle(L.t(lang, "figure.sweep", variable=name))
    return Plot(stem, title, caption, figure)


# --- (7) sensitivity indices ------------------------------------------------------------------


#: the sensitivity figure shows at most this many parameters (the largest mean index)
MAX_PARAMETERS = 12


def sensitivity_ranking(table: pd.DataFrame, index: str) -> pd.Series:
    """Each parameter's index averaged over policies, scenarios and metrics, each metric's
    index scaled by its largest (metrics have different units), highest first."""
    by_metric = table.groupby("metric")[index].transform("max")
    scaled = (table[index] / by_metric.where(by_metric > 0)).fillna(0.0)
    return scaled.groupby(table["parameter"]).mean().sort_values(ascending=False, kind="stable")


def sensitivity(results: Results, lang: str) -> Plot:
    """(7) Sobol S1/ST or Morris mu*/sigma per key metric, parameter and policy."""
    title = L.t(lang, "section.sensitivity")
    table = results.sensitivity
    sobol = table is not None and "ST" in table.columns
    caption = L.t(lang, "caption.sobol" if sobol else "caption.morris")
    if table is None or table.empty:
        return Plot("fig-7-sensitivity", title, caption, note=L.t(lang, "note.not_applicable"))
    main, conf, second = ("ST", "ST_conf", "S1") if sobol else ("mu_star", "mu_star_conf", "sigma")
    metrics = [
        m for m in results.key_metrics if table.loc[table["metric"] == m, main].notna().any()
    ]
    if not metrics:
        return Plot("fig-7-sensitivity", title, caption, note=L.t(lang, "note.not_applicable"))
    combos = list(table.columns[: list(table.columns).index("metric")])
    parameters = list(dict.fromkeys(table["parameter"]))
    if len(parameters) > MAX_PARAMETERS:  # a screening of many: the ones that matter most
        parameters = sensitivity_ranking(table, main).head(MAX_PARAMETERS).index.tolist()
        table = table[table["parameter"].isin(parameters)]
    groups = list(table.groupby(combos, sort=False)) if combos else [((), table)]
    colors = policy_colors(results)
    figure = new_figure(
        11, 1.0 + _grid(len(metrics), 2)[0] * (0.8 + 0.5 * len(parameters) * len(groups) ** 0.5)
    )
    axes = _axes(figure, len(metrics), cols=2, sharey=True)
    height = 0.8 / len(groups)
    y0 = np.arange(len(parameters))[::-1]
    handles = []
    for g, (key, rows) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        values = dict(zip(combos, key, strict=True))
        color = colors.get(values.get(POLICY), GROUP_COLORS[g % MAX_GROUPS])
        label = L.t(lang, "text.semicolon").join(
            L.policy_name(lang, v) if n == POLICY else L.variable_value(lang, n, v)
            for n, v in values.items()
        )
        handles.append(Line2D([], [], color=color, lw=6, alpha=0.5, label=label))
        y = y0 + 0.4 - height * (g + 0.5)
        for ax, metric in zip(axes, metrics, strict=True):
            part = rows[rows["metric"] == metric].set_index("parameter").reindex(parameters)
            ax.barh(
                y,
                part[main],
                height=height * 0.9,
                color=color,
                alpha=0.35,
                xerr=part[conf],
                error_kw={"lw": 0.8, "ecolor": "#555555", "zorder": 5},
            )
            if sobol:
                ax.barh(y, part[second], height=height * 0.45, color=color, alpha=0.95)
            else:
                ax.scatter(part[second], y, color=color, s=18, marker="D", zorder=3)
    for ax, metric in zip(axes, metrics, strict=True):
        panel_title(ax, L.metric_name(lang, metric))
        ax.set_xlabel(L.t(lang, "axis.index"))
        ax.axvline(0, color="#777777", lw=0.6)
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y0, [L.variable_name(lang, p) for p in parameters])
    first, second_label = (
        ("legend.ST", "legend.S1") if sobol else ("legend.mu_star", "legend.sigma")
    )
    handles += [
        Line2D([], [], color="#777777", lw=6, alpha=0.35, label=L.t(lang, first)),
        Line2D(
            [],
            [],
            color="#777777",
            lw=3 if sobol else 0,
            marker="" if sobol else "D",
            label=L.t(lang, second_label),
        ),
    ]
    figure_legend(figure, handles)
    figure.suptitle(L.t(lang, "figure.sensitivity"))
    return Plot("fig-7-sensitivity", title, caption, figure)
