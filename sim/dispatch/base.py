"""The interface every dispatch policy (派单) implements, what it may use, and the fallback chain.

A policy decides only whom to ask, in what order and how many at once, and through which channel
(sim.channels); the channel decides who can be reached now (on duty only, or also at home) and
how long an answer takes, and the one acceptance model decides every answer. No policy accepts
on a volunteer's behalf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sim.policy_registry import Table
from sim.roster import without
from sim.space import reachable_within

if TYPE_CHECKING:
    from sim.community import Layout
    from sim.orders import OrderBook
    from sim.population import Population
    from sim.roster import Roster
    from sim.scenario import Scenario


@dataclass
class DispatchContext:
    """What a policy may use: the order book, the roster, who lives where, the service points'
    hosts, its own random stream and the scenario's parameters."""

    book: OrderBook
    roster: Roster
    population: Population
    layout: Layout
    point_host: np.ndarray
    rng: np.random.Generator
    scenario: Scenario


class Policy:
    """Decides whom to offer an order to.

    ``dispatch(o)`` makes one or more offers through ``self.book.offer`` and returns True, or
    returns False when it has nobody to ask now (the order then waits, or a fallback policy
    takes it). Volunteers not to ask (who declined, and the elder) are in
    ``self.book.excluded[o]``; :meth:`reachable` gives whom the policy's channel reaches now.
    """

    name: ClassVar[str] = ""
    #: the policy's parameter table, ``[dispatch.<name>]`` (sim.policy_registry)
    Params: ClassVar[type[Table]] = Table
    #: one line for --help, the report and ODD
    description: ClassVar[str] = ""
    #: False for a policy that leaves some elders with no route to service (the report says so)
    serves_all_elders: ClassVar[bool] = True

    def __init__(self, ctx: DispatchContext) -> None:
        self.ctx = ctx
        self.book = ctx.book
        self.roster = ctx.roster
        self.params = getattr(ctx.scenario.dispatch, self.name)
        #: the channel this policy asks through (its table's ``channel``)
        self.channel_name = self.params.channel
        self.channel = getattr(ctx.scenario.channels, self.channel_name)

    @property
    def uses_free_volunteers(self) -> bool:
        """True when only on-duty free volunteers can be asked (waiting orders then wait for
        someone to free up)."""
        return not self.channel.reaches_off_duty

    def reachable(self, o: int) -> np.ndarray:
        """Volunteers the channel reaches now for order ``o``, ascending, not excluded.

        In a district the elder's reachable neighbourhood is found stairwell by stairwell
        (:meth:`Roster.reachable_ids`), so the cost follows her community, not the district."""
        roster = self.roster
        if not roster.space.single_community:
            book = self.book
            found = roster.reachable_ids(
                book.elder[o],
                not self.channel.reaches_off_duty,
                book.excluded[o],
                self.channel.reach_m,
            )
            return np.array(sorted(found), dtype=np.int64)
        mask = roster.idle_mask if self.channel.reaches_off_duty else roster.free_mask
        ids = without(mask, self.book.excluded[o])
        if len(ids) and (self.channel.reach_m != float("inf") or not roster.space.single_community):
            elder = self.book.elder[o]
            near = roster.distances_m_from(elder, ids) <= reachable_within(self.channel.reach_m)
            ids = ids[near]
        return ids

    def ranked(
        self,
        o: int,
        limit: int | None = None,
        within_m: float = float("inf"),
        stairwells: np.ndarray | None = None,
    ) -> list[int]:
        """Whom the channel reaches now for order ``o``, nearest first (ties: fewest served,
        then lowest id), within ``within_m`` and the channel's reach; the first ``limit``."""
        book = self.book
        return self.roster.ranked(
            book.elder[o],
            not self.channel.reaches_off_duty,
            book.excluded[o],
            min(within_m, self.channel.reach_m),
            limit,
            stairwells,
        )

    def can_ask(self, o: int, v: int) -> bool:
        """Whether ``v`` can still be asked for order ``o`` through this policy's channel: not
        excluded (the elder, or someone who declined it, perhaps at once while a list of
        alerts was being sent) and still reachable (answers given at once may have taken them)."""
        if v in self.book.excluded[o]:
            return False
        mask = self.roster.idle_mask if self.channel.reaches_off_duty else self.roster.free_mask
        return bool(mask[v])

    def dispatch(self, o: int) -> bool:
        raise NotImplementedError


class PolicyChain:
    """Policies tried in turn: an order moves to the next when the current has nobody to ask."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = policies
        self.book = policies[0].book
        self.name = "+".join(p.name for p in policies)
        self.uses_free_volunteers = all(p.uses_free_volunteers for p in policies)
        self.serves_all_elders = any(p.serves_all_elders for p in policies)
        if len(policies) == 1:
            self.dispatch = policies[0].dispatch  # no stages to track

    def dispatch(self, o: int) -> bool:
        """Try the policies from the order's stage on. The stage is set before a policy asks,
        so an offer records the stage it was made at, and an answer given at once that moves
        the order on (a decline, then the next stage) is not undone afterwards."""
        book = self.book
        first = stage = book.stage[o]
        while stage < len(self.policies):
            book.stage[o] = stage
            if self.policies[stage].dispatch(o):
                return True
            stage += 1
        book.stage[o] = first  # nobody at any stage: the order waits where it was
        return False

    def first(self, policy_type: type) -> Policy | None:
        """The chain's policy of this type, if any."""
        return next((p for p in self.policies if isinstance(p, policy_type)), None)
