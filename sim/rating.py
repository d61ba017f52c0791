"""The elder's rating of a served order (评单), in stars from 1 to 5.

stars = base − late_penalty · max(0, minutes late) + familiar_bonus (a volunteer who served this
elder before) + normal noise, clipped to [1, 5]. Late means after the end of the order's window
(sim.needs): 15 minutes after an urgent order, the same-day window, or the agreed visit's
tolerance, so an appointment kept is not penalised for being booked ahead.
"""

from __future__ import annotations

from sim.scenario import Scenario
from sim.streams import Buffered


class RatingModel:
    def __init__(self, scenario: Scenario, normal: Buffered) -> None:
        self._params = scenario.rating
        self._normal = normal

    def rate(self, late_min: float, familiar: bool) -> float:
        r = self._params
        stars = r.base_stars - r.late_penalty_per_min * max(0.0, late_min)
        if familiar:
            stars += r.familiar_bonus_stars
        if r.noise_sd_stars > 0:
            stars += r.noise_sd_stars * self._normal.next()
        return min(5.0, max(1.0, stars))
