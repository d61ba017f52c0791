"""Whether an offered volunteer accepts an order (接单), and how long the answer takes.

p = base · exp(−distance / scale) · (1 − load_penalty · orders today) · (1 − fatigue_weight ·
fatigue) + familiarity_bonus (if the volunteer has served this elder before), clipped to [0, 1].
The answer comes after an exponential delay. ``volunteers.accept_probability`` replaces this
whole model with one fixed probability, answered at once (the queueing-theory limit).
"""

from __future__ import annotations

import math

from sim.roster import Roster
from sim.scenario import Scenario
from sim.streams import Buffered


class AcceptanceModel:
    """Draws accept/decline decisions from the acceptance stream."""

    def __init__(self, scenario: Scenario, uniform: Buffered, roster: Roster) -> None:
        a = scenario.acceptance
        self._params = a
        self._fixed = scenario.volunteers.accept_probability
        self._tireless = scenario.volunteers.always_available
        self._uniform = uniform
        self._roster = roster

    def probability(self, v: int, elder: int, familiar: bool) -> float:
        """The chance that volunteer ``v`` accepts an order from ``elder``."""
        if self._fixed is not None:
            return self._fixed
        a, roster = self._params, self._roster
        p = a.base_probability * math.exp(-roster.distance_m_between(v, elder) / a.distance_scale_m)
        p *= max(0.0, 1.0 - a.load_penalty_per_order_today * roster.orders_today[v])
        if not self._tireless:
            p *= 1.0 - a.fatigue_weight * float(roster.fatigue[v])
        if familiar:
            p += a.familiarity_bonus
        return min(1.0, max(0.0, p))

    def decide(self, v: int, elder: int, familiar: bool) -> tuple[bool, float]:
        """(accepted, minutes until the answer)."""
        p = self.probability(v, elder, familiar)
        accepted = p >= 1.0 or (p > 0.0 and self._uniform.next() < p)
        if self._fixed is not None:
            return accepted, 0.0
        return accepted, self._uniform.exponential(self._params.response_mean_min)
