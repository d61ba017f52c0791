"""Many communities in one run: a district (e.g. Heping, 和平区) laid out as side-by-side tiles.

A scenario with ``[[district.communities]]`` rows lays out each community with
:func:`sim.community.build_layout` on its own square footprint (``area_km2``), its buildings,
stairwells, grids, service points and households scaled from the scenario's ``[community]`` and
``[population]`` sections by its residents (a row with the sections' own residents and area, such
as Chaoyangli's, keeps their figures exactly), and its people from its own age and registered
shares. Communities stand in rows (``district.columns`` a row, or about a square), left to right,
each on whole cells of one lattice, so coordinates are metres from the district's corner.

Each stairwell, building, grid and service point carries its community (``Layout.community``);
residents belong to their stairwell's. The space (sim.space) keeps orders inside their community
unless ``district.cross_boundary_m`` lets one go to a volunteer of another that near.

The per-community table (a CSV, e.g. ``scenarios/data/heping-communities.csv``) turns into a
scenario with :func:`district_toml` (``python scripts/make_district.py``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim import scenario as scenario_module
from sim.community import Layout, build_layout
from sim.metrics import urgency_metrics
from sim.orders import SERVED, UNMET
from sim.population import Population, build_population
from sim.scenario import DistrictCommunity, Scenario
from sim.space import make_space

#: the table's columns, in order (``source``: where the row comes from, or "assumed")
CSV_COLUMNS = tuple(DistrictCommunity.model_fields)


def is_district(scenario: Scenario) -> bool:
    return bool(scenario.district.communities)


def community_scenario(scenario: Scenario, row: DistrictCommunity) -> Scenario:
    """The scenario of one community: [community] and [population] scaled by its residents."""
    c, p = scenario.community, scenario.population
    r = row.residents / p.residents
    side_m = math.sqrt(row.area_km2) * 1000.0
    buildings = max(1, round(c.buildings * r))
    overrides = {
        "community.width_m": side_m,
        "community.height_m": side_m,
        "community.buildings": buildings,
        "community.stairwells": max(buildings, round(c.stairwells * r)),
        "community.grids": min(buildings, max(1, round(c.grids * r))),
        "community.service_points": round(c.service_points * r),
        "population.residents": row.residents,
        "population.households": max(1, min(row.residents, round(p.households * r))),
        "population.share_aged_60_plus": row.share_aged_60_plus,
        "population.share_aged_80_plus": row.share_aged_80_plus,
        "population.share_aged_90_plus": row.share_aged_90_plus,
        "volunteers.registered_share_of_residents": row.registered_share,
        "district.communities": [],
    }
    return scenario_module.with_overrides(scenario, overrides)


def _tile_origins(layouts: list[Layout], columns: int) -> list[tuple[int, int]]:
    """Cell offsets of each community's tile: rows of ``columns``, left to right."""
    if columns <= 0:
        columns = max(1, round(math.sqrt(len(layouts))))
    origins, x, y, row_height = [], 0, 0, 0
    for i, layout in enumerate(layouts):
        if i and i % columns == 0:
            x, y, row_height = 0, y + row_height, 0
        origins.append((x, y))
        x += layout.width_cells
        row_height = max(row_height, layout.height_cells)
    return origins


def build_district(
    scenario: Scenario,
    layout_rng: np.random.Generator,
    population_rng: np.random.Generator,
    source: str = "scenario",
) -> tuple[Layout, Population]:
    """The district's layout and people: each community's, side by side."""
    rows = scenario.district.communities
    scenarios = [community_scenario(scenario, row) for row in rows]
    layouts = [build_layout(s.community, layout_rng) for s in scenarios]
    origins = _tile_origins(layouts, scenario.district.columns)
    people = [
        build_population(s, lay, population_rng, source)
        for s, lay in zip(scenarios, layouts, strict=True)
    ]
    layout = _merge_layouts(scenario, layouts, origins, [row.name for row in rows])
    return layout, _merge_populations(people, layouts)


def _offsets(counts: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _merge_layouts(
    scenario: Scenario, layouts: list[Layout], origins: list[tuple[int, int]], names: list[str]
) -> Layout:
    s_off = _offsets([lay.n_stairwells for lay in layouts])
    b_off = _offsets([lay.n_buildings for lay in layouts])
    g_off = _offsets([lay.n_grids for lay in layouts])
    xy = np.concatenate(
        [lay.stairwell_xy + np.array(o) for lay, o in zip(layouts, origins, strict=True)]
    )
    community = np.concatenate([np.full(lay.n_stairwells, i) for i, lay in enumerate(layouts)])
    c = scenario.community
    width = max(o[0] + lay.width_cells for lay, o in zip(layouts, origins, strict=True))
    height = max(o[1] + lay.height_cells for lay, o in zip(layouts, origins, strict=True))

    def cat(name: str, offsets: np.ndarray | None = None) -> np.ndarray:
        parts = [getattr(lay, name) for lay in layouts]
        if offsets is not None:
            parts = [part + off for part, off in zip(parts, offsets, strict=True)]
        return np.concatenate(parts)

    return Layout(
        width_cells=width,
        height_cells=height,
        cell_size_m=c.cell_size_m,
        stairwell_xy=xy,
        stairwell_building=cat("stairwell_building", b_off),
        building_grid=cat("building_grid", g_off),
        building_focal_count=cat("building_focal_count"),
        space=make_space(
            xy,
            c.cell_size_m,
            c.distance_metric,
            community,
            scenario.district.cross_boundary_m,
        ),
        point_stairwell=cat("point_stairwell", s_off),
        point_category=cat("point_category"),
        point_open_hour=cat("point_open_hour"),
        point_close_hour=cat("point_close_hour"),
        stairwell_community=community,
        community_names=tuple(names),
    )


def _merge_populations(people: list[Population], layouts: list[Layout]) -> Population:
    s_off = _offsets([lay.n_stairwells for lay in layouts])
    h_off = _offsets([int(p.household.max()) + 1 if p.size else 0 for p in people])
    first = people[0]
    merged = {}
    for name in first.__dataclass_fields__:
        parts = [getattr(p, name) for p in people]
        if not isinstance(parts[0], np.ndarray):  # bookkeeping (Population.version), not a column
            continue
        if name == "stairwell":
            parts = [part + off for part, off in zip(parts, s_off, strict=True)]
        elif name == "household":
            parts = [part + off for part, off in zip(parts, h_off, strict=True)]
        merged[name] = np.concatenate(parts)
    return replace(first, **merged)


def build_place(
    scenario: Scenario,
    layout_rng: np.random.Generator,
    population_rng: np.random.Generator,
    source: str = "scenario",
) -> tuple[Layout, Population]:
    """The layout and people of a scenario: one community, or a district of several."""
    if is_district(scenario):
        return build_district(scenario, layout_rng, population_rng, source)
    layout = build_layout(scenario.community, layout_rng)
    return layout, build_population(scenario, layout, population_rng, source)


def build_place_layout(scenario: Scenario, rng: np.random.Generator) -> Layout:
    """The layout alone (the report's fallback for results stored without one)."""
    if not is_district(scenario):
        return build_layout(scenario.community, rng)
    rows = scenario.district.communities
    layouts = [build_layout(community_scenario(scenario, r).community, rng) for r in rows]
    origins = _tile_origins(layouts, scenario.district.columns)
    return _merge_layouts(scenario, layouts, origins, [r.name for r in rows])


# --- the per-community table ---------------------------------------------------------------
def read_table(path: Path) -> list[DistrictCommunity]:
    """Rows of a per-community CSV (lines starting with # are comments)."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = []
    for record in csv.DictReader(lines):
        values = {
            k: (v if k in ("name", "source") else int(v) if k == "residents" else float(v))
            for k, v in record.items()
        }
        rows.append(DistrictCommunity(**values))
    return rows


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def district_toml(
    rows: list[DistrictCommunity],
    base_toml: str,
    name: str,
    description: str,
    cross_boundary_m: float = 0.0,
    header: str = "",
) -> str:
    """A district scenario: the base scenario's text with its name replaced, then the rows."""
    lines, section = [], ""
    for line in base_toml.splitlines():
        if not section and not line.startswith("["):
            continue  # the base's own opening comments
        if line.startswith("["):
            section = line.strip()
        elif section == "[scenario]" and line.startswith("name = "):
            line = f"name = {_toml_value(name)}"
        elif section == "[scenario]" and line.startswith("description = "):
            line = f"description = {_toml_value(description)}"
        lines.append(line)
    out = [header.rstrip(), *lines, "", "[district]"] if header else [*lines, "", "[district]"]
    out.append(f"cross_boundary_m = {cross_boundary_m!r}   # 0: orders stay inside their community")
    for row in rows:
        out.append("")
        out.append("[[district.communities]]")
        for key, value in row.model_dump().items():
            out.append(f"{key} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def community_table(
    orders: pd.DataFrame, layout: Layout, population: Population, pair_stage: int
) -> pd.DataFrame:
    """One row per community: its name, people and volunteers now, and the headline measures
    of its elders' orders (sim.metrics.urgency_metrics: urgent response times and the rest)."""
    community_of = layout.community[population.stairwell]
    of_order = community_of[orders["elder"].to_numpy()]
    n = len(layout.community_names)
    rows = []
    for c in range(n):
        here = community_of == c
        mine = orders[of_order == c]
        row = {
            "community": c,
            "name": layout.community_names[c],
            "residents": int((here & population.present).sum()),
            "registered_volunteers": int((here & population.registered).sum()),
            "active_volunteers": int((here & population.active).sum()),
            "requests": len(mine),
            "served": int((mine["status"] == SERVED).sum()),
            "unmet": int((mine["status"] == UNMET).sum()),
        }
        row.update(urgency_metrics(mine, pair_stage))
        rows.append(row)
    return pd.DataFrame(rows)


def community_values(
    orders: pd.DataFrame, layout: Layout, population: Population, metric: str, pair_stage: int
) -> list[float]:
    """One metric per community (index = community), for the report's district map."""
    table = community_table(orders, layout, population, pair_stage)
    return table[metric].astype(float).tolist()
