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
    """Draws each served order's stars, the noise from the rating stream."""

    def __init__(self, scenario: Scenario, normal: Buffered) -> None:
        r = scenario.rating
        self._params = r
        self._normal = normal
        # per-run constants, read at every service
        self._base = r.base_stars
        self._late_penalty = r.late_penalty_per_min
        self._familiar_bonus = r.familiar_bonus_stars
        self._noise_sd = r.noise_sd_stars
        self._next_normal = normal.next

    def rate(self, late_min: float, familiar: bool) -> float:
        """The stars for a service that came ``late_min`` after its window (none if ≤ 0).

        Clipped by comparisons, as max and min would (builtin calls cost more, at every
        service)."""
        stars = self._base - self._late_penalty * (late_min if late_min > 0.0 else 0.0)
        if familiar:
            stars += self._familiar_bonus
        if self._noise_sd > 0:
            stars += self._noise_sd * self._next_normal()
        stars = stars if stars > 1.0 else 1.0
        return stars if stars < 5.0 else 5.0
