"""(3) The community map: buildings coloured by urgent orders' mean response and unmet share.

The layout is the one stored with the results (layout.parquet, coordinates in metres), or for
older folders rebuilt from the experiment's scenario (a fixed layout is the same in every run).
A district (several communities) is drawn community by community instead, each coloured by its
90th-percentile urgent response time, with Chaoyangli outlined and named.
Per-building totals are summed over the runs of a policy in the report's view, for the baseline
and for the policy with the lowest 90th-percentile response time. A grid's boundary is the
outline of its buildings joined in their serpentine order (the union of the padded hulls of
each pair of neighbouring buildings, traced on a fine raster), so grids do not overlap the way
plain convex hulls would. Buildings whose mean urgent response exceeds the 15-minute circle
(CIRCLE_MIN) beyond seed noise (the 95% interval over seeds clears it: data.building_table) get
a thick red outline: the holes in the circle. With ``layout = "uniform"``
(stairwells scattered at random) each stairwell is drawn in its building's colour, without grids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path as PolygonPath
from scipy.spatial import ConvexHull, QhullError

from sim.community import Layout
from sim.metrics import CIRCLE_MIN
from sim.report import labels as L
from sim.report.data import Results, building_table, map_layout, scenario_value
from sim.report.figures import Plot, figure_legend, new_figure, panel_title, reference_caption

HOLE_COLOR = "#b2182b"
GRID_COLOR = "#444444"
NO_DATA_COLOR = "#dddddd"
GRID_PAD_M = 5.0
RASTER_M = 1.0


@dataclass
class MapShapes:
    """What is drawn the same in every panel: building boxes, grid outlines, service points."""

    layout: Layout
    boxes: np.ndarray  # (U, 4) x0, y0, x1, y1 in metres: one box per building (or stairwell)
    building: np.ndarray  # (U,) the building of each box
    grids: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]  # (grid, X, Y, inside mask)
    points: np.ndarray  # (P, 2) service points in metres


def building_boxes(layout: Layout) -> np.ndarray:
    """(B, 4) x0, y0, x1, y1 in metres: the cells of each building's stairwells."""
    boxes = np.zeros((layout.n_buildings, 4))
    for b in range(layout.n_buildings):
        xy = layout.stairwell_xy[layout.stairwell_building == b]
        boxes[b] = [xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max() + 1, xy[:, 1].max() + 1]
    return boxes * layout.cell_size_m


def _corners(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]])


def grid_masks(
    layout: Layout, boxes: np.ndarray
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per grid, a raster mask of the union of its padded neighbouring-building hulls."""
    size = layout.cell_size_m
    xs = np.arange(-2 * size, (layout.width_cells + 2) * size, RASTER_M)
    ys = np.arange(-2 * size, (layout.height_cells + 2) * size, RASTER_M)
    grid_x, grid_y = np.meshgrid(xs, ys)
    cells = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    padded = boxes + np.array([-GRID_PAD_M, -GRID_PAD_M, GRID_PAD_M, GRID_PAD_M])
    masks = []
    for g in range(layout.n_grids):
        members = np.flatnonzero(layout.building_grid == g)
        if len(members) == 0:
            continue
        groups = [members[i : i + 2] for i in range(max(1, len(members) - 1))]
        inside = np.zeros(len(cells), dtype=bool)
        for group in groups:
            corners = _corners(padded[group])
            try:
                hull = corners[ConvexHull(corners).vertices]
            except QhullError:
                hull = corners
            inside |= PolygonPath(hull).contains_points(cells)
        masks.append((g, grid_x, grid_y, inside.reshape(grid_x.shape)))
    return masks


def _service_points(layout: Layout) -> np.ndarray:
    """Service points at their stairwells' cells, spread inside the cell so they do not stack."""
    xy = layout.stairwell_xy[layout.point_stairwell].astype(float)
    index = np.arange(len(xy))
    offset = np.stack([(index * 0.618) % 1, (index * 0.382 + 0.5) % 1], axis=1) * 0.7 + 0.15
    return (xy + offset) * layout.cell_size_m


def map_shapes(layout: Layout, blocks: bool) -> MapShapes:
    if blocks:
        boxes = building_boxes(layout)
        building = np.arange(layout.n_buildings)
        grids = grid_masks(layout, boxes)
    else:
        xy = layout.stairwell_xy.astype(float)
        boxes = np.column_stack([xy, xy + 1]) * layout.cell_size_m
        building, grids = layout.stairwell_building, []
    return MapShapes(layout, boxes, building, grids, _service_points(layout))


def _draw(ax, shapes: MapShapes, values: np.ndarray, norm, cmap, hole: np.ndarray, lang: str):
    boxes = shapes.boxes
    rects = [Rectangle((x0, y0), x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
    collection = PatchCollection(rects, cmap=cmap, norm=norm, edgecolor="#666666", lw=0.5)
    collection.set_array(np.ma.masked_invalid(values[shapes.building]))
    ax.add_collection(collection)
    for g, grid_x, grid_y, inside in shapes.grids:
        ax.contour(
            grid_x,
            grid_y,
            inside.astype(float),
            levels=[0.5],
            colors=GRID_COLOR,
            linestyles="--",
            linewidths=0.8,
        )
        top = np.flatnonzero(inside.any(axis=1)).max()
        left = grid_x[top, inside[top]].min()
        ax.text(
            left,
            grid_y[top, 0] + 1.5,
            L.t(lang, "legend.grid_label", n=g + 1),
            fontsize=7,
            color=GRID_COLOR,
            va="bottom",
        )
    ax.scatter(
        shapes.points[:, 0], shapes.points[:, 1], s=3, color="#1a1a1a", alpha=0.55, lw=0, zorder=3
    )
    for x0, y0, x1, y1 in boxes[hole[shapes.building]]:
        ax.add_patch(
            Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=HOLE_COLOR, lw=2.2, zorder=4)
        )
    layout = shapes.layout
    size = layout.cell_size_m
    ax.set_xlim(-2 * size, (layout.width_cells + 2) * size)
    ax.set_ylim(-2 * size, (layout.height_cells + 3) * size)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.tick_params(labelsize=8)
    ax.set_xlabel(L.t(lang, "axis.metres"), fontsize=8)


def community_map(results: Results, lang: str) -> Plot:
    """(3) The map for the baseline and the best policy (lowest p90 response)."""
    title = L.t(lang, "section.map")
    best = results.best()
    policies = [results.baseline, *([best] if best and best != results.baseline else [])]
    policies = [p for p in policies if not results.policy_runs(p).empty]
    names = L.t(lang, "text.comma").join(L.policy_name(lang, p) for p in policies)
    caption = L.t(lang, "caption.map", policies=names) + reference_caption(results, lang)
    layout, note = map_layout(results)
    if layout is None or not policies:
        return Plot("fig-3-map", title, caption, note=L.t(lang, note or "note.not_applicable"))
    if len(layout.community_names) > 1:
        caption = L.t(lang, "caption.map_district", policies=names)
        return _district_map(
            results, layout, policies, lang, title, caption + reference_caption(results, lang)
        )
    kind = results.reference.get(
        "community.layout", scenario_value(results.scenario, "community.layout")
    )
    shapes = map_shapes(layout, blocks=kind != "uniform")
    tables = {p: building_table(results.policy_runs(p), CIRCLE_MIN) for p in policies}
    holes = {p: t["hole"].to_numpy() for p, t in tables.items()}
    response = {p: t["mean_response_min"].to_numpy() for p, t in tables.items()}
    unmet = {p: t["unmet_share"].to_numpy() * 100 for p, t in tables.items()}
    top_response = max(np.nanmax(v, initial=0) for v in response.values())
    top_unmet = max(np.nanmax(v, initial=0) for v in unmet.values())
    panels = [
        (
            response,
            Normalize(0, max(2 * CIRCLE_MIN, top_response)),
            "YlOrRd",
            "figure.map_response",
            "axis.mean_response_min",
        ),
        (
            unmet,
            Normalize(0, max(10.0, top_unmet)),
            "PuBu",
            "figure.map_unmet",
            "axis.unmet_share_pct",
        ),
    ]
    figure = new_figure(11, 0.9 + 5.0 * len(policies))
    axes = figure.subplots(len(policies), 2, squeeze=False)
    for column, (values, norm, name, title_key, bar_key) in enumerate(panels):
        cmap = colormaps[name].with_extremes(bad=NO_DATA_COLOR)
        for row, policy in enumerate(policies):
            ax = axes[row, column]
            _draw(ax, shapes, values[policy], norm, cmap, holes[policy], lang)
            panel_title(ax, L.t(lang, title_key, policy=L.policy_name(lang, policy)), 44)
        bar = figure.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=axes[:, column].tolist(), shrink=0.8
        )
        bar.set_label(L.t(lang, bar_key))
        if column == 0:
            bar.ax.axhline(CIRCLE_MIN, color=HOLE_COLOR, lw=2)
    handles = [
        Patch(fill=False, ec=HOLE_COLOR, lw=2.2, label=L.t(lang, "legend.hole")),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=3,
            color="#1a1a1a",
            label=L.t(lang, "legend.service_point"),
        ),
        Patch(fc=NO_DATA_COLOR, ec="#666666", label=L.t(lang, "legend.no_data")),
    ]
    if shapes.grids:
        handles.insert(1, Line2D([], [], ls="--", color=GRID_COLOR, label=L.t(lang, "legend.grid")))
    figure_legend(figure, handles, budget=170)
    return Plot("fig-3-map", title, caption, figure)


#: the community the district map names and outlines
HIGHLIGHT = "Chaoyangli"
DISTRICT_METRIC = "community.urgent_response_time_p90_min"


def _district_map(
    results: Results, layout: Layout, policies: list[str], lang: str, title: str, caption: str
) -> Plot:
    """One panel per policy: each community's box coloured by its p90 urgent response."""
    if DISTRICT_METRIC not in results.runs.columns:
        return Plot("fig-3-map", title, caption, note=L.t(lang, "note.not_applicable"))
    n = len(layout.community_names)
    xy = layout.stairwell_xy
    community = layout.community
    boxes = np.zeros((n, 4))
    for c in range(n):
        mine = xy[community == c]
        boxes[c] = [mine[:, 0].min(), mine[:, 1].min(), mine[:, 0].max() + 1, mine[:, 1].max() + 1]
    boxes *= layout.cell_size_m
    values = {}
    for p in policies:
        per_run = np.vstack(results.policy_runs(p)[DISTRICT_METRIC].to_numpy()).astype(float)
        with np.errstate(all="ignore"):
            values[p] = np.nanmean(np.where(np.isfinite(per_run), per_run, np.nan), axis=0)
    top = max(np.nanmax(v, initial=0) for v in values.values())
    norm = Normalize(0, max(2 * CIRCLE_MIN, top))
    cmap = colormaps["YlOrRd"].with_extremes(bad=NO_DATA_COLOR)
    highlight = [c for c, name in enumerate(layout.community_names) if HIGHLIGHT in name]
    figure = new_figure(11, 0.9 + 9.0 * len(policies))
    axes = figure.subplots(len(policies), 1, squeeze=False)
    for row, policy in enumerate(policies):
        ax = axes[row, 0]
        rects = [Rectangle((x0, y0), x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
        collection = PatchCollection(rects, cmap=cmap, norm=norm, edgecolor="#666666", lw=0.5)
        collection.set_array(np.ma.masked_invalid(values[policy]))
        ax.add_collection(collection)
        for c in highlight:
            x0, y0, x1, y1 = boxes[c]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", lw=2.5))
            ax.text(x0, y1 + 10, L.t(lang, "legend.highlight_community"), fontsize=9, va="bottom")
        ax.set_xlim(boxes[:, 0].min() - 20, boxes[:, 2].max() + 20)
        ax.set_ylim(boxes[:, 1].min() - 20, boxes[:, 3].max() + 80)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.tick_params(labelsize=8)
        ax.set_xlabel(L.t(lang, "axis.metres"), fontsize=8)
        panel_title(ax, L.t(lang, "figure.map_district", policy=L.policy_name(lang, policy)), 60)
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes[:, 0].tolist(), shrink=0.8)
    bar.set_label(L.t(lang, "metric.urgent_response_time_p90_min"))
    bar.ax.axhline(CIRCLE_MIN, color=HOLE_COLOR, lw=2)
    return Plot("fig-3-map", title, caption, figure)
