"""The shortcuts in sim.dynamics draw and compute what the plain numpy forms did: the arriving
households' sizes, and the period's mean event multiplier (cached by day of year)."""

from __future__ import annotations

import bisect

import numpy as np
from dynamics_support import standalone_dynamics

from sim import scenario as scenario_module
from sim.dynamics import ARRIVING_SIZE_CUMULATIVE, DAYS_PER_YEAR


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
    dynamics = standalone_dynamics(params)
    for first_day in (0, 7, 73, 357, 364, DAYS_PER_YEAR + 73, 5 * DAYS_PER_YEAR + 357):
        for days in (1, 7, 8):
            plain = np.mean(
                [
                    dynamics.event_multiplier(dynamics.calendar(d)[1])
                    for d in range(first_day, first_day + days)
                ]
            )
            assert dynamics._mean_event_multiplier(first_day, days) == plain
