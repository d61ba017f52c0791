"""The shortcuts in sim.dynamics draw and compute what the plain numpy forms did: the arriving
households' sizes, and the period's mean event multiplier (cached by day of year)."""

from __future__ import annotations

import bisect

import numpy as np

from sim import scenario as scenario_module
from sim.community import build_layout
from sim.dynamics import ARRIVING_SIZE_CUMULATIVE, DAYS_PER_YEAR, Dynamics
from sim.population import availability_table, build_population
from sim.roster import Roster
from sim.streams import spawn_streams


def test_arriving_sizes_are_the_draws_of_choice_with_p() -> None:
    shares = np.cumsum([0.3, 0.3, 0.4])
    assert tuple((shares / shares[-1]).tolist()) == ARRIVING_SIZE_CUMULATIVE
    for seed in range(20):
        plain, quick = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(200):
            size = 1 + bisect.bisect_right(ARRIVING_SIZE_CUMULATIVE, quick.random())
            assert size == int(plain.choice([1, 2, 3], p=[0.3, 0.3, 0.4]))
        assert quick.random() == plain.random()  # the streams are at the same place


def test_cached_event_multipliers_are_each_period_s_mean() -> None:
    params = scenario_module.Scenario()
    streams = spawn_streams(3)
    layout = build_layout(params.community, streams["layout"])
    population = build_population(params, layout, streams["population"], "test")
    roster = Roster(
        population,
        layout,
        availability_table(params, params.simulation.start_weekday),
        params.travel.speed_m_per_min,
        params.travel.stair_min_per_floor,
    )
    dynamics = Dynamics(params, population, layout, roster, streams)
    for first_day in (0, 7, 73, 357, 364, DAYS_PER_YEAR + 73, 5 * DAYS_PER_YEAR + 357):
        for days in (1, 7, 8):
            plain = np.mean(
                [
                    dynamics.event_multiplier(dynamics.calendar(d)[1])
                    for d in range(first_day, first_day + days)
                ]
            )
            assert dynamics._mean_event_multiplier(first_day, days) == plain
