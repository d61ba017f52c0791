"""Scenarios: the shipped files use only schema keys, and the community built from a scenario has
the configured layout, population shares and number of volunteers."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import scenario as scenario_module
from sim.agents import ServicePoint, Stairwell
from sim.errors import InputError
from sim.model import VolunteerModel
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # reproducible in CI
    suppress_health_check=[HealthCheck.too_slow],
)


def leaves(table: dict[str, Any], prefix: tuple[str, ...] = ()):
    """(dotted path, value) of every non-table value of a nested TOML table."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def lookup(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        assert isinstance(tree, dict) and key in tree, f"{'.'.join(path)} is not a schema key"
        tree = tree[key]
    return tree


# --- the shipped files ----------------------------------------------------------------------
def test_scenarios_are_shipped() -> None:
    assert ROOT / "scenarios" / "chaoyangli.toml" in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_scenario_sets_only_schema_keys_to_the_values_it_states(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    loaded = scenario_module.load(path).model_dump()  # validated: every value in range
    stated = list(leaves(data))
    assert stated, f"{path.name} states nothing"
    for dotted, value in stated:
        assert lookup(loaded, dotted) == value, ".".join(dotted)


def test_the_baseline_file_states_the_schema_defaults(baseline_file) -> None:
    """The other scenarios say "chaoyangli.toml's values are the schema defaults"."""
    defaults = Scenario().model_dump()
    loaded = scenario_module.load(baseline_file).model_dump()
    for dotted, value in leaves(defaults):
        if dotted[0] == "scenario":  # name and description are not parameters
            continue
        assert lookup(loaded, dotted) == value, ".".join(dotted)


def test_a_file_may_set_one_order_types_service_time(tmp_path) -> None:
    path = tmp_path / "repair.toml"
    path.write_text("[service.mean_min_by_type]\nrepair = 90.0\n", encoding="utf-8")
    loaded = scenario_module.load(path)
    assert loaded.service.mean_min_by_type.repair == 90.0
    default = Scenario().service.mean_min_by_type
    assert loaded.service.mean_min_by_type.daily_help == default.daily_help


# --- volunteers -----------------------------------------------------------------------------
@pytest.mark.parametrize("count", [0, 1, 37, 400])
def test_volunteer_count_gives_exactly_that_many_active_volunteers(
    count: int, baseline_file
) -> None:
    model = VolunteerModel(baseline_file, days=10, rng=2, **{"volunteers.count": count})
    assert int(model.population.active.sum()) == count
    model.run_model()
    assert int(model.population.active.sum()) == count, "a fixed count changed during the run"
    assert model.summary()["active_volunteers"] == count


def test_more_volunteers_than_residents_of_volunteer_age_is_refused(small_community) -> None:
    with pytest.raises(InputError) as error:
        VolunteerModel(days=1, rng=1, **small_community, **{"volunteers.count": 10_000})
    assert error.value.key == "volunteers.count"


# --- population -----------------------------------------------------------------------------
def assert_population_matches(model: VolunteerModel) -> None:
    """Residents exact, age shares within 1/residents, living arrangements within rounding."""
    p = model.scenario_params.population
    pop = model.population
    n = p.residents
    age = pop.age_years
    assert pop.size == n
    assert pop.residents == n
    for youngest, share in [
        (60, p.share_aged_60_plus),
        (80, p.share_aged_80_plus),
        (90, p.share_aged_90_plus),
    ]:
        assert abs((age >= youngest).mean() - share) <= 1 / n, f"aged {youngest}+"
    elders = int((age >= 60).sum())
    # rounding, and at most one empty-nest elder without a partner, who lives alone
    alone, nest = int(pop.living_alone.sum()), int(pop.empty_nest.sum())
    assert abs(alone - elders * p.living_alone_share_of_60_plus) <= 1.5
    assert abs(nest - elders * p.empty_nest_share_of_60_plus) <= 1.5
    assert not (pop.living_alone | pop.empty_nest)[age < 60].any(), "only elders"
    assert len(np.unique(pop.household)) <= p.households


def test_the_baseline_population_has_the_configured_shares(baseline_file) -> None:
    model = VolunteerModel(baseline_file, days=1, rng=21)
    assert_population_matches(model)
    pop, v = model.population, model.scenario_params.volunteers
    n = pop.size
    assert abs(pop.registered.mean() - v.registered_share_of_residents) <= 1 / n
    registered = int(pop.registered.sum())
    assert abs(pop.active.sum() / registered - v.active_share_of_registered) <= 1 / registered
    assert not (pop.active & ~pop.registered).any(), "an active volunteer not registered"
    volunteer_age = pop.age_years[pop.registered]
    assert volunteer_age.min() >= v.min_age_years
    assert volunteer_age.max() <= v.max_age_years
    assert len(np.unique(pop.household)) == model.scenario_params.population.households


@st.composite
def populations(draw: st.DrawFn) -> dict[str, Any]:
    """Valid population sections: shares fall with age, households fewer than residents."""
    residents = draw(st.integers(200, 3000))
    share_60 = draw(st.floats(0.05, 0.45))
    share_80 = draw(st.floats(0.0, share_60))
    share_90 = draw(st.floats(0.0, share_80))
    alone = draw(st.floats(0.0, 0.4))
    return {
        "population.residents": residents,
        "population.households": draw(st.integers(residents // 4, residents // 2)),
        "population.share_aged_60_plus": share_60,
        "population.share_aged_80_plus": share_80,
        "population.share_aged_90_plus": share_90,
        "population.living_alone_share_of_60_plus": alone,
        "population.empty_nest_share_of_60_plus": draw(st.floats(0.0, 1.0 - alone)),
    }


@PROPERTY
@given(overrides=populations(), seed=st.integers(0, 2**32 - 1))
def test_any_valid_population_has_the_configured_shares(
    overrides: dict[str, Any], seed: int
) -> None:
    small_layout = {"community.stairwells": 40, "community.buildings": 10, "community.grids": 2}
    assert_population_matches(VolunteerModel(days=1, rng=seed, **overrides, **small_layout))


def empty_nest_count(residents: int, share_60: float, share_nest: float) -> int:
    return round(round(residents * share_60) * share_nest)


@pytest.mark.parametrize(
    ("overrides", "odd"),
    [
        pytest.param({}, False, id="baseline"),
        pytest.param(
            {
                "population.residents": 401,
                "population.households": 150,
                "population.empty_nest_share_of_60_plus": 0.3,
            },
            True,
            id="odd-number-of-empty-nest-elders",
        ),
    ],
)
def test_living_arrangements_agree_with_the_households(
    overrides: dict[str, Any], odd: bool
) -> None:
    model = VolunteerModel(days=1, rng=13, **overrides)
    p = model.scenario_params.population
    count = empty_nest_count(p.residents, p.share_aged_60_plus, p.empty_nest_share_of_60_plus)
    assert count % 2 == odd, "the case no longer has the intended parity"
    pop = model.population
    size = np.bincount(pop.household)
    youngest = np.full(len(size), 999)
    np.minimum.at(youngest, pop.household, pop.age_years)
    elder = pop.age_years >= 60
    home_size, home_youngest = size[pop.household], youngest[pop.household]
    assert (pop.living_alone == (elder & (home_size == 1))).all()
    assert (pop.empty_nest == (elder & (home_size >= 2) & (home_youngest >= 60))).all()
    assert not (pop.living_alone & pop.empty_nest).any()


# --- layout ---------------------------------------------------------------------------------
def assert_layout_matches(model: VolunteerModel) -> None:
    c = model.scenario_params.community
    layout = model.layout
    width, height = int(c.width_m // c.cell_size_m), int(c.height_m // c.cell_size_m)
    assert (layout.width_cells, layout.height_cells) == (width, height)
    assert layout.n_buildings == c.buildings
    assert layout.n_stairwells == c.stairwells
    assert layout.n_grids == c.grids
    assert len(layout.point_stairwell) == c.service_points
    # every building has a stairwell, every grid a building
    assert np.unique(layout.stairwell_building).tolist() == list(range(c.buildings))
    assert np.unique(layout.building_grid).tolist() == list(range(c.grids))
    # stairwells stand on distinct cells inside the grid
    xy = layout.stairwell_xy
    assert ((xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)).all()
    assert len(np.unique(xy, axis=0)) == c.stairwells
    # walking distances: symmetric, zero only from a stairwell to itself
    d = layout.distance_m
    assert np.allclose(d, d.T)
    assert (np.diag(d) == 0).all()
    assert (d[~np.eye(len(d), dtype=bool)] > 0).all()
    assert ((layout.point_stairwell >= 0) & (layout.point_stairwell < c.stairwells)).all()
    # the Mesa space and its fixed agents
    assert model.grid.dimensions == (width, height)
    assert len(model.agents_by_type[Stairwell]) == c.stairwells
    assert len(model.agents_by_type.get(ServicePoint, [])) == c.service_points


def test_the_baseline_layout_has_the_configured_numbers(baseline_file) -> None:
    assert_layout_matches(VolunteerModel(baseline_file, days=1, rng=1))


@st.composite
def communities(draw: st.DrawFn) -> dict[str, Any]:
    """Valid community sections: enough cells for the stairwells, grids of buildings."""
    cell_size = draw(st.sampled_from([10.0, 20.0]))
    cells = int(400 // cell_size) ** 2
    buildings = draw(st.integers(1, 60))
    stairwells = draw(st.integers(max(buildings, 20), min(cells // 4, 5 * buildings + 20)))
    return {
        "community.cell_size_m": cell_size,
        "community.buildings": buildings,
        "community.stairwells": stairwells,
        "community.grids": draw(st.integers(1, min(buildings, 12))),
        "community.service_points": draw(st.integers(0, 300)),
        "community.layout": draw(st.sampled_from(["blocks", "uniform"])),
        "community.distance_metric": draw(st.sampled_from(["manhattan", "euclidean"])),
        "community.fixed_layout": draw(st.booleans()),
    }


@PROPERTY
@given(overrides=communities(), seed=st.integers(0, 2**32 - 1))
def test_any_valid_community_is_laid_out_as_configured(
    overrides: dict[str, Any], seed: int, small_community
) -> None:
    people = {k: v for k, v in small_community.items() if k.startswith("population.")}
    model = VolunteerModel(days=1, rng=seed, **people, **overrides)
    assert_layout_matches(model)
    assert math.isfinite(model.layout.distance_m.max())
