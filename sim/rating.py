"""The elder's rating of a served order (评单), in stars from 1 to 5.

stars = base − late_penalty · max(0, response − 15 min) + familiar_bonus (a volunteer who
served this elder before) + normal noise, clipped to [1, 5].
"""

from __future__ import annotations

from sim.metrics import CIRCLE_MIN
from sim.scenario import Scenario
from sim.streams import Buffered


class RatingModel:
    def __init__(self, scenario: Scenario, normal: Buffered) -> None:
        self._params = scenario.rating
        self._normal = normal

    def rate(self, response_min: float, familiar: bool) -> float:
        r = self._params
        stars = r.base_stars - r.late_penalty_per_min * max(0.0, response_min - CIRCLE_MIN)
        if familiar:
            stars += r.familiar_bonus_stars
        if r.noise_sd_stars > 0:
            stars += r.noise_sd_stars * self._normal.next()
        return min(5.0, max(1.0, stars))
