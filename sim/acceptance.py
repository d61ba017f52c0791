"""Whether an offered volunteer accepts an order (接单), and how long the answer takes.

One rule for every offer, whichever policy makes it and whichever channel carries it:

p = base · exp(−distance / scale) · (1 − load_penalty · orders today) · (1 − fatigue_weight ·
fatigue) · familiarity_multiplier [if the volunteer has served this elder before]
· off_duty_multiplier [if reached at home outside duty hours]
· on_shift_multiplier [if a host on shift at an open point], clipped to [0, 1].

The answer comes after an exponential delay whose mean is the channel's. With
``volunteers.accept_probability`` set, p is that number for every offer and answers come at once
(the queueing-theory limit). The model counts offers and acceptances (``acceptance_share``).
"""

from __future__ import annotations

import math

from sim.roster import Roster
from sim.scenario import Channel, Scenario
from sim.streams import Buffered


class AcceptanceModel:
    """Draws accept/decline decisions from the acceptance stream."""

    def __init__(self, scenario: Scenario, uniform: Buffered, roster: Roster) -> None:
        a = scenario.acceptance
        self._fixed = scenario.volunteers.accept_probability
        self._tireless = scenario.volunteers.always_available
        self._next_uniform = uniform.next
        self._roster = roster
        # per-run constants of the rule, read at every offer
        self._base = a.base_probability
        self._scale_m = a.distance_scale_m
        self._load_penalty = a.load_penalty_per_order_today
        self._fatigue_weight = a.fatigue_weight
        self._familiarity_multiplier = a.familiarity_multiplier
        self._on_shift_multiplier = a.on_shift_multiplier
        self._off_duty_multiplier = a.off_duty_multiplier
        self.offers = 0
        self.accepted = 0

    def decide(
        self, v: int, elder: int, familiar: bool, channel: Channel, on_shift: bool = False
    ) -> tuple[bool, float]:
        """(accepted, minutes until the answer) for an offer of an order from ``elder`` to
        volunteer ``v`` through ``channel`` (``on_shift``: a host on shift at an open point).

        The rule is written out here, at every offer, and p is left unclipped: p ≥ 1 accepts
        and p ≤ 0 declines without a draw, as the clipped p would."""
        p = self._fixed
        if p is None:
            roster = self._roster
            p = self._base * math.exp(-roster.distance_m_between(v, elder) / self._scale_m)
            load = 1.0 - self._load_penalty * roster.orders_today[v]
            p *= load if load > 0.0 else 0.0
            if not self._tireless:
                p *= 1.0 - self._fatigue_weight * float(roster.fatigue[v])
            if familiar:
                p *= self._familiarity_multiplier
            if on_shift:
                p *= self._on_shift_multiplier
            elif not roster.on_duty[v]:
                p *= self._off_duty_multiplier
        accepted = p >= 1.0 or (p > 0.0 and self._next_uniform() < p)
        self.offers += 1
        self.accepted += accepted
        if self._fixed is not None:  # the queueing limit: answers come at once
            return accepted, 0.0
        # an exponential delay with the channel's mean (none if the mean is 0)
        mean_min = channel.answer_delay_mean_min
        return accepted, -mean_min * math.log1p(-self._next_uniform()) if mean_min > 0 else 0.0

    @property
    def acceptance_share(self) -> float:
        return self.accepted / self.offers if self.offers else math.nan
