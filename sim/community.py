"""The built community: buildings, stairwells (楼门), management grids (网格), service points.

Laid out reproducibly from the layout random stream. Buildings stand in a jittered array of
slots over the footprint; each building's stairwells are adjacent cells along its front, one
cell (``cell_size_m``) per stairwell frontage. Grids are contiguous runs of buildings in
serpentine slot order, so a grid is a compact block as in the real community. Walking distance
is Manhattan distance along the lanes between stairwell cells, asked of the layout's
:class:`sim.space.Space` (no module holds a stairwell-by-stairwell matrix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario import Community as CommunityParams
from sim.space import Space, make_space

SERVICE_CATEGORIES = (
    "haircut",
    "health_check",
    "house_repair",
    "appliance_repair",
    "hazard_removal",
    "mediation",
    "elderly_care",
    "meal_help",
    "shopping_help",
    "medical_escort",
    "companionship",
    "legal_aid",
    "psychological_support",
    "cleaning",
    "tutoring",
    "culture",
    "green_patrol",
    "hardship_fund",
)

#: which service-point categories can serve each order type (station policy)
CATEGORIES_FOR_ORDER_TYPE = {
    "daily_help": ("elderly_care", "cleaning", "meal_help"),
    "shopping": ("shopping_help", "meal_help"),
    "medical_escort": ("medical_escort", "health_check"),
    "companionship_check": ("companionship", "psychological_support", "elderly_care"),
    "repair": ("house_repair", "appliance_repair", "hazard_removal"),
    "urgent": ("elderly_care", "health_check"),
}


@dataclass(frozen=True)
class Layout:
    """Arrays describing the built community (index = stairwell, building or service point)."""

    width_cells: int
    height_cells: int
    cell_size_m: float
    stairwell_xy: np.ndarray  # (S, 2) int cell coordinates
    stairwell_building: np.ndarray  # (S,) building index
    building_grid: np.ndarray  # (B,) grid index
    building_focal_count: np.ndarray  # (B,) party-member focal households
    space: Space  # walking distances between stairwells (sim.space)
    point_stairwell: np.ndarray  # (P,) stairwell a service point stands at
    point_category: np.ndarray  # (P,) index into SERVICE_CATEGORIES
    point_open_hour: np.ndarray  # (P,)
    point_close_hour: np.ndarray  # (P,)
    stairwell_community: np.ndarray | None = None  # (S,) community index (None: all 0)
    community_names: tuple[str, ...] = ("",)

    @property
    def community(self) -> np.ndarray:
        """(S,) the community each stairwell belongs to."""
        if self.stairwell_community is None:
            return np.zeros(self.n_stairwells, dtype=np.int64)
        return self.stairwell_community

    @property
    def distance_m(self) -> np.ndarray:
        """(S, S) walking distances, computed when asked (tests and small layouts only: the
        model asks :attr:`space`, which never holds this matrix for a district)."""
        n = self.n_stairwells
        return np.stack([self.space.distances_m_from(s, np.arange(n)) for s in range(n)])

    @property
    def stairwell_xy_m(self) -> np.ndarray:
        """(S, 2) stairwell coordinates in metres."""
        return self.stairwell_xy * self.cell_size_m

    @property
    def stairwell_grid(self) -> np.ndarray:
        return self.building_grid[self.stairwell_building]

    @property
    def n_stairwells(self) -> int:
        return len(self.stairwell_building)

    @property
    def n_buildings(self) -> int:
        return len(self.building_grid)

    @property
    def n_grids(self) -> int:
        return int(self.building_grid.max()) + 1


def _stairwells_per_building(params: CommunityParams, rng: np.random.Generator) -> np.ndarray:
    base, extra = divmod(params.stairwells, params.buildings)
    counts = np.full(params.buildings, base)
    counts[rng.permutation(params.buildings)[:extra]] += 1
    return counts


def _slot_order(rows: int, cols: int) -> list[tuple[int, int]]:
    """Slots in serpentine order, so consecutive slots are neighbours."""
    order = []
    for row in range(rows):
        columns = range(cols) if row % 2 == 0 else range(cols - 1, -1, -1)
        order.extend((row, col) for col in columns)
    return order


def build_layout(params: CommunityParams, rng: np.random.Generator) -> Layout:
    """Lay out buildings, stairwells, grids and service points, and the space between them."""
    width = int(params.width_m // params.cell_size_m)
    height = int(params.height_m // params.cell_size_m)
    if params.layout == "uniform":
        cells = rng.choice(width * height, params.stairwells, replace=False)
        stairwell_xy = np.stack([cells % width, cells // width], axis=1)
        building_of = (np.arange(params.stairwells) % params.buildings).tolist()
    else:
        stairwell_xy, building_of = _blocks(params, width, height, rng)
    grid_of_building = (np.arange(params.buildings) * params.grids) // params.buildings
    n_points = params.service_points
    hours = np.array(params.service_point_hours, dtype=np.int64)
    window = rng.integers(0, len(hours), n_points)
    return Layout(
        width_cells=width,
        height_cells=height,
        cell_size_m=params.cell_size_m,
        stairwell_xy=stairwell_xy,
        stairwell_building=np.array(building_of, dtype=np.int64),
        building_grid=grid_of_building.astype(np.int64),
        building_focal_count=np.full(params.buildings, params.focal_households_per_building),
        space=make_space(stairwell_xy, params.cell_size_m, params.distance_metric),
        point_stairwell=_point_sites(params, rng.integers(0, len(building_of), n_points)),
        point_category=np.arange(n_points) % len(SERVICE_CATEGORIES),
        point_open_hour=hours[window, 0],
        point_close_hour=hours[window, 1],
    )


def _point_sites(params: CommunityParams, drawn: np.ndarray) -> np.ndarray:
    """The stairwells the service points stand at: ``service_point_stairwells`` in turn if
    given (drawn anyway, so the layout stream is the same either way), else the drawn ones."""
    sites = params.service_point_stairwells
    if not sites:
        return drawn
    return np.resize(np.asarray(sites, dtype=np.int64), len(drawn))


def _blocks(
    params: CommunityParams, width: int, height: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """Buildings in a jittered array of slots, stairwells side by side along each front."""
    counts = _stairwells_per_building(params, rng)
    rows = max(1, round(math.sqrt(params.buildings * height / width)))
    cols = math.ceil(params.buildings / rows)
    slot_w, slot_h = width / cols, height / rows
    xy, building_of = [], []
    for b, (row, col) in enumerate(_slot_order(rows, cols)[: params.buildings]):
        n = int(counts[b])
        span = max(1, min(n, int(slot_w) - 1))
        depth = math.ceil(n / span)
        x0 = int(col * slot_w) + int(rng.integers(0, max(1, int(slot_w) - span)))
        y0 = int(row * slot_h) + int(rng.integers(0, max(1, int(slot_h) - 2 * depth + 1)))
        for i in range(n):
            x = min(width - 1, x0 + i % span)
            y = min(height - 1, y0 + 2 * (i // span))
            xy.append((x, y))
            building_of.append(b)
    stairwell_xy = np.array(xy, dtype=np.int64)
    # slots hold distinct stairwells unless the footprint is very tight; nudge any clash
    _separate(stairwell_xy, width, height)
    return stairwell_xy, building_of


def _separate(xy: np.ndarray, width: int, height: int) -> None:
    """Move any stairwell that shares a cell to the nearest free cell (in place)."""
    taken: set[tuple[int, int]] = set()
    for i, (x, y) in enumerate(xy.tolist()):
        radius = 0
        while True:
            free = [
                (x + dx, y + dy)
                for dx in range(-radius, radius + 1)
                for dy in range(-radius, radius + 1)
                if abs(dx) + abs(dy) == radius
                and 0 <= x + dx < width
                and 0 <= y + dy < height
                and (x + dx, y + dy) not in taken
            ]
            if free:
                xy[i] = min(free)
                taken.add(tuple(xy[i]))
                break
            radius += 1


# --- the layout stored with results (layout.parquet) ---------------------------------------
#: the file the layout is stored in beside a run's or an experiment's tables
LAYOUT_FILE = "layout.parquet"
#: the kinds of row of the layout table
LAYOUT_KINDS = ("stairwell", "building", "grid", "point", "community")


def _boxes_m(layout: Layout, group: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) x0, y0, x1, y1 in metres around the cells of each group's stairwells."""
    xy = layout.stairwell_xy
    boxes = np.full((n, 4), np.nan)
    if len(xy):
        boxes[:, 0] = np.full(n, np.inf)
        boxes[:, 1] = np.full(n, np.inf)
        boxes[:, 2] = np.full(n, -np.inf)
        boxes[:, 3] = np.full(n, -np.inf)
        np.minimum.at(boxes[:, 0], group, xy[:, 0])
        np.minimum.at(boxes[:, 1], group, xy[:, 1])
        np.maximum.at(boxes[:, 2], group, xy[:, 0] + 1)
        np.maximum.at(boxes[:, 3], group, xy[:, 1] + 1)
    return boxes * layout.cell_size_m


def layout_table(layout: Layout) -> pd.DataFrame:
    """One row per stairwell, building, grid, service point and community, coordinates in
    metres from the layout's corner (x0, y0: a stairwell's or point's cell corner; x1, y1: the
    far corner of a building's, grid's or community's box). Read back by
    :func:`layout_from_table`."""
    s = layout.n_stairwells
    community = layout.community
    n_comm = len(layout.community_names)
    sw_box = _boxes_m(layout, np.arange(s), s)
    b_box = _boxes_m(layout, layout.stairwell_building, layout.n_buildings)
    g_box = _boxes_m(layout, layout.stairwell_grid, layout.n_grids)
    c_box = _boxes_m(layout, community, n_comm)
    b_comm = np.zeros(layout.n_buildings, dtype=np.int64)
    b_comm[layout.stairwell_building] = community
    g_comm = np.zeros(layout.n_grids, dtype=np.int64)
    g_comm[layout.stairwell_grid] = community
    p_sw = layout.point_stairwell
    frames = [
        pd.DataFrame(
            {
                "kind": "stairwell",
                "id": np.arange(s),
                "x0_m": sw_box[:, 0],
                "y0_m": sw_box[:, 1],
                "x1_m": sw_box[:, 2],
                "y1_m": sw_box[:, 3],
                "stairwell": np.arange(s),
                "building": layout.stairwell_building,
                "grid": layout.stairwell_grid,
                "community": community,
            }
        ),
        pd.DataFrame(
            {
                "kind": "building",
                "id": np.arange(layout.n_buildings),
                "x0_m": b_box[:, 0],
                "y0_m": b_box[:, 1],
                "x1_m": b_box[:, 2],
                "y1_m": b_box[:, 3],
                "grid": layout.building_grid,
                "community": b_comm,
                "focal_households": layout.building_focal_count,
            }
        ),
        pd.DataFrame(
            {
                "kind": "grid",
                "id": np.arange(layout.n_grids),
                "x0_m": g_box[:, 0],
                "y0_m": g_box[:, 1],
                "x1_m": g_box[:, 2],
                "y1_m": g_box[:, 3],
                "grid": np.arange(layout.n_grids),
                "community": g_comm,
            }
        ),
        pd.DataFrame(
            {
                "kind": "point",
                "id": np.arange(len(p_sw)),
                "x0_m": sw_box[p_sw, 0] if len(p_sw) else np.zeros(0),
                "y0_m": sw_box[p_sw, 1] if len(p_sw) else np.zeros(0),
                "stairwell": p_sw,
                "community": community[p_sw],
                "category": [SERVICE_CATEGORIES[c] for c in layout.point_category],
                "open_hour": layout.point_open_hour,
                "close_hour": layout.point_close_hour,
            }
        ),
        pd.DataFrame(
            {
                "kind": "community",
                "id": np.arange(n_comm),
                "x0_m": c_box[:, 0],
                "y0_m": c_box[:, 1],
                "x1_m": c_box[:, 2],
                "y1_m": c_box[:, 3],
                "community": np.arange(n_comm),
                "name": list(layout.community_names),
            }
        ),
    ]
    table = pd.concat(frames, ignore_index=True)
    for column in ("stairwell", "building", "grid", "community", "focal_households"):
        table[column] = table[column].astype("Int64")
    for column in ("open_hour", "close_hour"):
        table[column] = table[column].astype("Int64")
    table["cell_size_m"] = layout.cell_size_m
    table["width_m"] = layout.width_cells * layout.cell_size_m
    table["height_m"] = layout.height_cells * layout.cell_size_m
    table["metric"] = layout.space.metric
    table["cross_boundary_m"] = layout.space.cross_boundary_m
    return table


def layout_from_table(table: pd.DataFrame) -> Layout:
    """The layout a :func:`layout_table` describes (its space rebuilt from the coordinates)."""
    size = float(table["cell_size_m"].iloc[0])
    kinds = {kind: table[table["kind"] == kind].sort_values("id") for kind in LAYOUT_KINDS}
    sw, bld, pts, comm = kinds["stairwell"], kinds["building"], kinds["point"], kinds["community"]
    xy = np.rint(sw[["x0_m", "y0_m"]].to_numpy(float) / size).astype(np.int64)
    community = sw["community"].to_numpy(np.int64)
    return Layout(
        width_cells=round(float(table["width_m"].iloc[0]) / size),
        height_cells=round(float(table["height_m"].iloc[0]) / size),
        cell_size_m=size,
        stairwell_xy=xy,
        stairwell_building=sw["building"].to_numpy(np.int64),
        building_grid=bld["grid"].to_numpy(np.int64),
        building_focal_count=bld["focal_households"].to_numpy(np.int64),
        space=make_space(
            xy,
            size,
            str(table["metric"].iloc[0]),
            community,
            float(table["cross_boundary_m"].iloc[0]),
        ),
        point_stairwell=pts["stairwell"].to_numpy(np.int64),
        point_category=np.array(
            [SERVICE_CATEGORIES.index(c) for c in pts["category"]], dtype=np.int64
        ),
        point_open_hour=pts["open_hour"].to_numpy(np.int64),
        point_close_hour=pts["close_hour"].to_numpy(np.int64),
        stairwell_community=community if len(comm) > 1 else None,
        community_names=tuple(str(n) for n in comm["name"]) or ("",),
    )
