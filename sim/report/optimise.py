"""The report of a ``volsim optimise`` folder: the candidates and the front, the chosen sites
on the community map, and the re-check on fresh seeds.

:func:`write_report` (``sim.report``) hands a folder whose manifest says ``kind = "optimise"``
to :func:`write`. The map reuses the community map's drawing (:mod:`.mapfig`) on the layout
rebuilt from the searched scenario with the best candidate's levers.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from sim import scenario as scenario_module
from sim.community import build_layout
from sim.errors import InputError
from sim.optimise.study import stored_scenario
from sim.report import fonts, html, mapfig
from sim.report import labels as L
from sim.report.figures import Plot, figure_legend, new_figure, panel_title
from sim.storage import read_parquet, write_files

KIND = "optimise"
RECHECK_COLOR = "#b2182b"
SITE_COLOR = "#1f4e9c"
#: columns the report reads from the re-check table
RECHECK_COLUMNS = ("trial", "metric", "n", "mean", "ci_low", "ci_high", "search_mean", "overrides")
#: the interval cell of a candidate re-checked on one seed (or none)
NO_INTERVAL = {
    "en": {1: "one seed: no interval", 0: "no value on the fresh seeds"},
    "zh": {1: "仅一个种子：无区间", 0: "新种子上没有数值"},
}


def is_optimise(path: Path) -> bool:
    """Whether ``path`` holds a ``volsim optimise`` manifest."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == KIND


def _load(path: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The manifest and the finished trials and re-check of an optimise folder; a missing or
    damaged table is an InputError naming the file (and the column)."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    tables = []
    for name in ("trials", "recheck"):
        file = path / f"{name}.parquet"
        if not file.exists():
            raise InputError(str(path), None, f"no {name}.parquet: run volsim optimise first")
        tables.append(read_parquet(file))
    trials, recheck = tables
    if "state" not in trials or not (trials["state"] == "COMPLETE").any():
        raise InputError(str(path), None, "no finished trial yet: run volsim optimise")
    needed = {"trials.parquet": (trials, ["trial", *(m for m, _ in _objectives(manifest))])}
    if len(recheck):
        needed["recheck.parquet"] = (recheck, RECHECK_COLUMNS)
    else:  # no re-check value: an empty table of the columns the report reads
        recheck = pd.DataFrame(columns=RECHECK_COLUMNS)
    for name, (table, columns) in needed.items():
        missing = [c for c in columns if c not in table]
        if missing:
            raise InputError(str(path / name), missing[0], "missing column: the table is damaged")
    return manifest, trials[trials["state"] == "COMPLETE"], recheck


def _objectives(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return [tuple(o) for o in manifest["resolved"]["objectives"]]


def front_figure(manifest: dict[str, Any], trials: pd.DataFrame, recheck, lang: str) -> Plot:
    """One objective: each trial's mean by trial number; several: the first two objectives
    against each other. Re-checked candidates in red with their 95% intervals."""
    objectives = _objectives(manifest)
    resolved = manifest["resolved"]
    caption = L.t(
        lang, "optimise.caption.front", seeds=resolved["seeds"], fresh=resolved["recheck_seeds"]
    )
    figure = new_figure(8, 5)
    ax = figure.subplots()
    handles = [
        Line2D([], [], ls="", marker="o", color="#888888", label=L.t(lang, "optimise.legend.trial"))
    ]
    rows = {m: recheck[recheck["metric"] == m].set_index("trial") for m, _ in objectives}
    if len(objectives) == 1:
        metric = objectives[0][0]
        ax.scatter(trials["trial"], trials[metric], s=18, color="#888888", zorder=2)
        checked = rows[metric]
        if len(checked):
            ax.errorbar(
                checked.index,
                checked["mean"],
                yerr=[checked["mean"] - checked["ci_low"], checked["ci_high"] - checked["mean"]],
                fmt="D",
                color=RECHECK_COLOR,
                capsize=3,
                zorder=3,
            )
        ax.set_xlabel(L.t(lang, "optimise.axis.trial"))
        ax.set_ylabel(L.axis_label(lang, metric))
    else:
        (mx, _), (my, _) = objectives[:2]
        ax.scatter(trials[mx], trials[my], s=18, color="#888888", zorder=2)
        x, y = rows[mx], rows[my]
        common = x.index.intersection(y.index)
        if len(common):
            x, y = x.loc[common], y.loc[common]
            ax.errorbar(
                x["mean"],
                y["mean"],
                xerr=[x["mean"] - x["ci_low"], x["ci_high"] - x["mean"]],
                yerr=[y["mean"] - y["ci_low"], y["ci_high"] - y["mean"]],
                fmt="D",
                color=RECHECK_COLOR,
                capsize=3,
                zorder=3,
            )
            order = np.argsort(x["search_mean"].to_numpy())
            ax.step(
                x["search_mean"].to_numpy()[order],
                y["search_mean"].to_numpy()[order],
                where="post",
                color="#444444",
                lw=1,
                ls="--",
            )
            handles.append(
                Line2D([], [], ls="--", color="#444444", label=L.t(lang, "optimise.legend.front"))
            )
        ax.set_xlabel(L.axis_label(lang, mx))
        ax.set_ylabel(L.axis_label(lang, my))
    handles.append(
        Line2D(
            [],
            [],
            ls="",
            marker="D",
            color=RECHECK_COLOR,
            label=L.t(lang, "optimise.legend.recheck"),
        )
    )
    figure_legend(figure, handles)
    return Plot("fig-opt-1-front", L.t(lang, "optimise.section.front"), caption, figure)


def best_trial(manifest: dict[str, Any], recheck: pd.DataFrame) -> tuple[int, dict[str, Any]]:
    """The candidate the map shows: the re-checked best (one objective) or the front's first."""
    best = manifest.get("best")
    if best:
        return best["trial"], best["overrides"]
    first = recheck.iloc[0]
    return int(first["trial"]), json.loads(first["overrides"])


def map_figure(manifest: dict[str, Any], recheck: pd.DataFrame, lang: str) -> Plot:
    """The community with the best candidate's service point sites and recruits."""
    title = L.t(lang, "optimise.section.map")
    if len(recheck) == 0:
        return Plot("fig-opt-2-map", title, "", note=L.t(lang, "note.not_applicable"))
    trial, overrides = best_trial(manifest, recheck)
    sites = overrides.get("community.service_point_stairwells")
    by_grid = overrides.get("volunteers.recruits_by_grid")
    by_stairwell = overrides.get("volunteers.recruits_by_stairwell")
    if not (sites or by_grid or by_stairwell):
        return Plot("fig-opt-2-map", title, "", note=L.t(lang, "optimise.note.no_sites"))
    base = stored_scenario(manifest["resolved"]["scenario"], "manifest.json")
    params = scenario_module.with_overrides(base, overrides).community
    layout = build_layout(params, np.random.default_rng(params.layout_seed))
    shapes = mapfig.map_shapes(layout, blocks=params.layout != "uniform")
    recruits = np.zeros(layout.n_buildings)
    grid_of = layout.building_grid
    for g, n in enumerate(by_grid or []):
        members = np.flatnonzero(grid_of == g)
        recruits[members] += n / max(1, len(members))  # shown spread over the grid's buildings
    for stairwell, n in by_stairwell or []:
        recruits[layout.stairwell_building[stairwell]] += n
    values = np.where(recruits > 0, recruits, np.nan)
    norm = Normalize(0, max(1.0, np.nanmax(recruits, initial=0)))
    cmap = colormaps["Greens"].with_extremes(bad=mapfig.NO_DATA_COLOR)
    figure = new_figure(7.5, 7.5)
    ax = figure.subplots()
    if not sites:
        shapes.points = np.empty((0, 2))  # the points stand where they stood: not the subject
    no_hole = np.zeros(layout.n_buildings, dtype=bool)
    mapfig._draw(ax, shapes, values, norm, cmap, no_hole, lang)
    size = layout.cell_size_m
    handles = []
    if sites:
        xy = (layout.stairwell_xy[sorted(set(sites))] + 0.5) * size
        ax.scatter(xy[:, 0], xy[:, 1], marker="*", s=260, color=SITE_COLOR, ec="white", zorder=5)
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="*",
                ms=12,
                color=SITE_COLOR,
                label=L.t(lang, "optimise.legend.site"),
            )
        )
    if by_stairwell:
        xy = (layout.stairwell_xy[[s for s, _ in by_stairwell]] + 0.5) * size
        ax.scatter(xy[:, 0], xy[:, 1], marker="^", s=60, color="#1b7837", ec="white", zorder=5)
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="^",
                color="#1b7837",
                label=L.t(lang, "optimise.legend.recruit_site"),
            )
        )
    if by_grid or by_stairwell:
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
        bar.set_label(L.t(lang, "optimise.axis.recruits"))
    panel_title(ax, _levers_text(overrides), 60)
    if handles:
        figure_legend(figure, handles)
    caption = L.t(lang, "optimise.caption.map", trial=trial)
    return Plot("fig-opt-2-map", title, caption, figure)


def _levers_text(overrides: dict[str, Any]) -> str:
    return "; ".join(f"{k.split('.')[-1]} = {v}" for k, v in overrides.items())


def _recheck_table(recheck: pd.DataFrame, lang: str) -> str:
    heads = ("trial", "levers", "metric", "search", "recheck", "ci")
    header = "".join(f"<th>{escape(L.t(lang, f'optimise.col.{h}'))}</th>" for h in heads)
    rows = []
    for row in recheck.itertuples():
        cells = [
            str(row.trial),
            _levers_text(json.loads(row.overrides)),
            L.metric_name(lang, row.metric),
            L.metric_number(row.metric, row.search_mean),
            L.metric_number(row.metric, row.mean),
            _interval(row, lang),
        ]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{header}</tr>{"".join(rows)}</table></div>'


def _interval(row: Any, lang: str) -> str:
    """A re-check row's 95% interval, or why it has none (one seed)."""
    if row.n < 2:
        return NO_INTERVAL[lang][int(row.n)]
    return " – ".join(L.metric_number(row.metric, v) for v in (row.ci_low, row.ci_high))


def _about(manifest: dict[str, Any], lang: str) -> str:
    resolved = manifest["resolved"]
    objectives = ", ".join(
        f"{L.metric_name(lang, m)} ({L.t(lang, f'optimise.direction.{d}')})"
        for m, d in resolved["objectives"]
    )
    items = [
        ("scenario", resolved["scenario_file"]),
        ("levers", ", ".join(resolved["levers"])),
        ("objectives", objectives),
        (
            "seeds",
            L.t(
                lang,
                "optimise.about.seeds_value",
                seeds=resolved["seeds"],
                fresh=resolved["recheck_seeds"],
            ),
        ),
        ("trials", str(manifest.get("complete_trials", ""))),
    ]
    body = "".join(
        f"<dt>{escape(L.t(lang, f'optimise.about.{k}'))}</dt><dd>{escape(v)}</dd>" for k, v in items
    )
    return f"<dl>{body}</dl>"


def page(manifest, recheck, plots, images, lang: str) -> str:
    name = manifest.get("experiment", "")
    title = escape(L.t(lang, "optimise.title", name=name))
    figures = "\n".join(
        html._figure_section(p, *(images.get(p.stem) or (None, None))) for p in plots
    )
    return html.document(
        lang,
        title,
        f"""<header>
<h1>{title}</h1>
<p class="subtitle">{escape(L.t(lang, "optimise.subtitle"))}</p>
</header>
{figures}
<section id="recheck">
<h2>{escape(L.t(lang, "optimise.section.recheck"))}</h2>
{_recheck_table(recheck, lang)}
</section>
<section id="about">
<h2>{escape(L.t(lang, "optimise.section.about"))}</h2>
{_about(manifest, lang)}
</section>""",
    )


def write(path: Path, lang: str, folder: Path, render) -> Path:
    """Write the optimise report into ``folder`` (``render``: a Plot's PNG, SVG and size)."""
    manifest, trials, recheck = _load(path)  # (a refusal: the caller removes what it made)
    writers, images = {}, {}
    with matplotlib.rc_context(fonts.rc_params(lang)), fonts.glyphs_checked():
        plots = [front_figure(manifest, trials, recheck, lang), map_figure(manifest, recheck, lang)]
        for plot in plots:
            if plot.figure is not None:
                png, svg, size = render(plot)
                images[plot.stem] = (png, size)
                writers[folder / f"{plot.stem}.png"] = _bytes(png)
                writers[folder / f"{plot.stem}.svg"] = _bytes(svg)
    text = fonts.embed_page_font(page(manifest, recheck, plots, images, lang), lang)
    index = folder / "index.html"
    writers[index] = _bytes(text.encode("utf-8"))
    write_files(writers)
    return index


def _bytes(content: bytes):
    return lambda tmp: Path(tmp).write_bytes(content)
