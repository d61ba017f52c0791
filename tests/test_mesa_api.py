"""VolunteerModel as a Mesa model: steps are days, batch_run works, agents live in cells."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from mesa.discrete_space import CellAgent, FixedAgent

from sim.agents import Resident, ServicePoint, Stairwell
from sim.model import VolunteerModel

REPORTERS = (
    "day",
    "orders_placed",
    "orders_served",
    "orders_unmet",
    "active_volunteers",
    "coverage_15min_share",
)


def test_volunteer_model_is_a_mesa_model() -> None:
    model = VolunteerModel(days=1, rng=1)
    assert isinstance(model, mesa.Model)
    assert isinstance(model.datacollector, mesa.DataCollector)
    assert model.running
    assert model.steps == 0


def test_batch_run_gives_one_row_per_run_with_the_reporters() -> None:
    rows = mesa.batch_run(
        VolunteerModel,
        parameters={"policy": ["nearest", "pairing"], "days": 3},
        rng=[1, 2],
        max_steps=3,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 4
    assert {(row["policy"], row["rng"]) for row in rows} == {
        (policy, seed) for policy in ("nearest", "pairing") for seed in (1, 2)
    }
    for row in rows:
        assert set(REPORTERS) <= row.keys()
        assert row["days"] == 3
        assert row["day"] == 3
        assert row["orders_placed"] >= 0
        assert row["orders_served"] >= 0
        assert row["active_volunteers"] > 0
        assert 0 <= row["coverage_15min_share"] <= 1


def test_batch_run_rows_are_the_last_day_of_the_same_run_made_directly() -> None:
    (row,) = mesa.batch_run(
        VolunteerModel,
        parameters={"policy": "nearest", "days": 3},
        rng=[7],
        max_steps=10,
        number_processes=1,
        display_progress=False,
    )
    model = VolunteerModel(policy="nearest", days=3, rng=7)
    model.run_model()
    last_day = model.daily_table().iloc[-1]
    for reporter in REPORTERS:
        assert row[reporter] == pytest.approx(last_day[reporter], nan_ok=True), reporter


def test_each_step_simulates_one_day(small_community) -> None:
    model = VolunteerModel(days=4, rng=3, **small_community)
    for day in range(1, 4):
        model.step()
        assert model.steps == day
        assert model.time == pytest.approx(day)
        assert model.running, "stopped before the last day"
        assert len(model.daily_table()) == day
    model.step()
    assert model.steps == 4
    assert not model.running


@pytest.mark.parametrize("days", [1, 2, 9])
def test_run_model_stops_after_the_scenarios_days(days: int, small_community) -> None:
    model = VolunteerModel(days=days, rng=3, **small_community)
    model.run_model()
    assert not model.running
    assert model.steps == days
    daily = model.daily_table()
    assert list(daily["day"]) == list(range(1, days + 1))
    assert set(REPORTERS) <= set(daily.columns)
    table = model.order_table()
    assert daily["orders_placed"].sum() == len(table)


def test_the_agents_are_residents_service_points_and_stairwells(small_community) -> None:
    model = VolunteerModel(days=1, rng=4, **small_community)
    params = model.scenario_params
    residents = model.agents_by_type[Resident]
    points = model.agents_by_type[ServicePoint]
    stairwells = model.agents_by_type[Stairwell]
    assert len(residents) == params.population.residents
    assert len(points) == params.community.service_points
    assert len(stairwells) == params.community.stairwells
    assert len(model.agents) == len(residents) + len(points) + len(stairwells)
    assert all(isinstance(agent, CellAgent) for agent in residents)
    assert all(isinstance(agent, FixedAgent) for agent in points)
    assert all(isinstance(agent, FixedAgent) for agent in stairwells)


def test_residents_sit_in_the_cell_of_their_stairwell(baseline_file) -> None:
    model = VolunteerModel(baseline_file, days=1, rng=5)
    layout, pop = model.layout, model.population
    cell_of_stairwell = {agent.index: agent.cell for agent in model.agents_by_type[Stairwell]}
    for s, cell in cell_of_stairwell.items():
        assert cell.coordinate == tuple(layout.stairwell_xy[s])
    for resident in model.agents_by_type[Resident]:
        stairwell = int(pop.stairwell[resident.index])
        assert resident.cell is cell_of_stairwell[stairwell]
        assert resident in resident.cell.agents
    indices = sorted(agent.index for agent in model.agents_by_type[Resident])
    assert indices == list(range(pop.size))


def test_service_points_stand_at_their_stairwell_and_know_their_host(baseline_file) -> None:
    model = VolunteerModel(baseline_file, days=1, rng=5)
    layout = model.layout
    for point in model.agents_by_type[ServicePoint]:
        stairwell = layout.point_stairwell[point.index]
        assert point.cell.coordinate == tuple(layout.stairwell_xy[stairwell])
        assert point.host == model.point_host[point.index]
        assert point.open_hour < point.close_hour
        assert point.is_open(point.open_hour)
        assert not point.is_open(point.close_hour)


def test_resident_agents_follow_arrivals_and_departures(small_community) -> None:
    # many moves in and out, updated daily: the agents must track who is present
    overrides = {
        **small_community,
        "dynamics.update_interval_days": 1,
        "dynamics.departure_per_year_18_59": 0.9,
        "dynamics.arriving_households_per_year": 3000.0,
    }
    model = VolunteerModel(days=10, rng=6, **overrides)
    model.run_model()
    pop = model.population
    assert pop.size > small_community["population.residents"], "nobody arrived"
    assert pop.residents < pop.size, "nobody left"
    present = sorted(agent.index for agent in model.agents_by_type[Resident])
    assert present == np.flatnonzero(pop.present).tolist()
    for resident in model.agents_by_type[Resident]:
        expected = tuple(model.layout.stairwell_xy[pop.stairwell[resident.index]])
        assert resident.cell.coordinate == expected
