"""The coverage and rating shortcuts give the very numbers of the plain rules: willing shares
of a day's states found together equal each found alone, and ratings clipped by comparisons
equal the max/min clip, at the edges too."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim.coverage import WillingCoverage
from sim.model import VolunteerModel
from sim.rating import RatingModel
from sim.scenario import Scenario


def test_shares_found_together_equal_each_found_alone(small_community: dict[str, Any]) -> None:
    model = VolunteerModel(None, days=1, rng=3, **small_community)
    scenario, space = model.scenario_params, model.layout.space
    n = space.n_places
    rng = np.random.default_rng(0)
    free = rng.integers(0, 4, (12, n))
    idle = free + rng.integers(0, 3, (12, n))
    keys = [
        f.astype(np.int64).tobytes() + i.astype(np.int64).tobytes()
        for f, i in zip(free, idle, strict=True)
    ]
    elders = rng.integers(0, 9, n)
    together = WillingCoverage(scenario, space).shares(keys + keys[:3], elders)
    alone = [WillingCoverage(scenario, space).shares([key], elders)[0] for key in keys]
    assert together == alone + alone[:3]  # bit for bit
    assert all(0.0 <= share <= 1.0 for share in alone)


class _Noise:
    """Stands in for a Buffered stream of standard normals: these values, in turn."""

    def __init__(self, values: list[float]) -> None:
        self._values = list(values)

    def next(self) -> float:
        return self._values.pop(0)


@pytest.mark.parametrize("late_min", [-30.0, -0.0, 0.0, 0.5, 12.0, 400.0, math.inf, math.nan])
@pytest.mark.parametrize("noise", [-9.0, -0.3, 0.0, 0.4, 9.0])
def test_ratings_clip_as_max_and_min(late_min: float, noise: float) -> None:
    scenario = Scenario()
    r = scenario.rating
    for familiar in (False, True):
        stars = RatingModel(scenario, _Noise([noise])).rate(late_min, familiar)
        expected = r.base_stars - r.late_penalty_per_min * max(0.0, late_min)
        if familiar:
            expected += r.familiar_bonus_stars
        if r.noise_sd_stars > 0:
            expected += r.noise_sd_stars * noise
        assert stars == min(5.0, max(1.0, expected))
        assert math.copysign(1.0, stars) == 1.0
