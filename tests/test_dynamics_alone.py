"""sim.dynamics on its own: built from what it uses (scenario, residents, layout, roster, streams),
without a VolunteerModel, it conserves people over a year of daily bookkeeping and periods."""

from __future__ import annotations

import numpy as np
from dynamics_support import standalone_dynamics

from sim import scenario as scenario_module
from sim.dynamics import DAYS_PER_YEAR


def test_dynamics_without_a_model_conserves_people() -> None:
    params = scenario_module.with_overrides(
        scenario_module.Scenario(), {"dynamics.population": True, "dynamics.volunteers": True}
    )
    dynamics = standalone_dynamics(params)
    population, roster = dynamics.population, dynamics.roster
    start = population.residents
    for day in range(DAYS_PER_YEAR):
        arrived, _ = dynamics.end_of_day(day, last=day + 1 == DAYS_PER_YEAR)
        if len(arrived):
            roster.grow(len(arrived))
    dynamics.end_of_year()
    c = dynamics.counts
    assert (
        population.residents == start + c["arrivals"] + c["births"] - c["deaths"] - c["departures"]
    )
    assert c["deaths"] > 0 and c["joined"] > 0
    assert not (population.active & ~population.present).any()
    assert not (population.registered & ~population.present).any()
    assert np.isfinite(population.motivation).all()
