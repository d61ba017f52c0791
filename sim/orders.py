"""The order life cycle: placed (点单), offered (派单), accepted (接单), served, rated (评单).

An order is a row of plain Python lists (fast to update one at a time, turned into a table at the
end). It is placed at its time and released for dispatch at its release time (sim.needs: at once
if urgent; same-day orders at night wait for service hours; scheduled visits shortly before the
agreed time). The policy makes offers through channels (sim.channels); each offer reserves a
volunteer until the answer, which the one acceptance model draws for every offer
(sim.acceptance). An accepted order starts the volunteer's walk and service at once (arrival and
end times are known then); a declined one goes back to the policy. An order with no one to offer
waits, first come first served in the order it began waiting, until a volunteer frees up or comes
on duty; an order that waits after declines forgets them and is offered again
``dispatch.retry_interval_min`` later. An order not accepted by its expiry time is unmet.

The book takes what it uses (the event queue, the roster, the acceptance and rating models) and
talks back through two callbacks, ``on_service(v, stars, work_min)`` and ``on_decline(v)``,
which volunteer dynamics listen to; ``dispatcher`` (a policy chain) is set after it is built.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.acceptance import AcceptanceModel
from sim.engine import EventQueue
from sim.needs import MIN_PER_DAY, SCHEDULED
from sim.rating import RatingModel
from sim.roster import Roster
from sim.scenario import CHANNEL_NAMES, Scenario

if TYPE_CHECKING:
    from sim.demand import DayOrders

PENDING, ACCEPTED, SERVED, UNMET, NOT_PLACED = 0, 1, 2, 3, 4


class OrderBook:
    """Every order of a run and the events that move it along."""

    def __init__(
        self,
        queue: EventQueue,
        roster: Roster,
        acceptance: AcceptanceModel,
        rating_model: RatingModel,
        scenario: Scenario,
        on_service: Callable[[int, float, float], None] | None = None,
        on_decline: Callable[[int], None] | None = None,
    ) -> None:
        self.queue = queue
        self.roster = roster
        self.acceptance = acceptance
        self.rating_model = rating_model
        self._dispatcher: Any = None  # the policy chain, set once policies are built
        self._dispatch_one: Callable[[int], bool] = lambda o: False
        self.on_service = on_service
        self.on_decline = on_decline
        # bound once: called at every offer and service
        self._schedule = queue.schedule
        self._reserve = roster.reserve
        self._decide = acceptance.decide
        self._rate = rating_model.rate
        self._walks = roster.walks
        self._channels = {name: getattr(scenario.channels, name) for name in CHANNEL_NAMES}
        self._channel_index = {name: i for i, name in enumerate(CHANNEL_NAMES)}
        self.retry_interval_min = scenario.dispatch.retry_interval_min
        self._notice_min = scenario.needs.scheduled_notice_min
        self.fatigue_per_min = (
            0.0
            if scenario.volunteers.always_available
            else 1.0 / scenario.acceptance.full_fatigue_work_min
        )
        self.placed_min: list[float] = []
        self.release_min: list[float] = []
        self.due_min: list[float] = []
        self.expire_min: list[float] = []
        self.urgency: list[int] = []
        self.eligible: list[bool] = []
        self.elder: list[int] = []
        self.order_type: list[int] = []
        self.service_min: list[float] = []
        self.status: list[int] = []
        self.accepted_min: list[float] = []
        self.arrived_min: list[float] = []
        self.ended_min: list[float] = []
        self.volunteer: list[int] = []
        self.offers: list[int] = []
        self.familiar: list[bool] = []
        self.rating: list[float] = []
        self.stage: list[int] = []
        self.served_stage: list[int] = []
        self.channel: list[int] = []
        self.outstanding: list[int] = []
        # pending order → whom not to ask: those who declined, and the elder herself (a
        # volunteer may order); made when the order is placed, dropped when it closes
        self.excluded: dict[int, set[int]] = {}
        self.waiting: dict[int, None] = {}
        self._retry_due: dict[int, float] = {}  # order → when its declines are forgotten
        self._immediate: deque[tuple[int, int, bool, int, int]] = deque()
        self._answering = False
        self.origin: dict[int, int] = {}
        self.helpers_of: dict[int, set[int]] = {}  # elder → volunteers who served her
        self.counts = {"requests": 0, "served": 0, "unmet": 0}
        #: when every order added so far has been released and had its time to be taken
        self.settled_min = 0.0

    @property
    def dispatcher(self) -> Any:
        """The policy chain (set once policies are built)."""
        return self._dispatcher

    @dispatcher.setter
    def dispatcher(self, chain: Any) -> None:
        self._dispatcher = chain
        self._dispatch_one = chain.dispatch

    # --- placing ------------------------------------------------------------------------
    def start_day(self, day_orders: DayOrders) -> None:
        """Add the day's orders to the book; each is placed by an event at its time."""
        n = len(day_orders)
        if n == 0:
            return
        first = len(self.status)
        placed = day_orders.placed_min.tolist()
        self.placed_min.extend(placed)
        self.release_min.extend(day_orders.release_min.tolist())
        self.due_min.extend(day_orders.due_min.tolist())
        self.expire_min.extend(day_orders.expire_min.tolist())
        self.urgency.extend(day_orders.urgency.tolist())
        self.eligible.extend(day_orders.eligible.tolist())
        self.elder.extend(day_orders.elder.tolist())
        self.order_type.extend(day_orders.order_type.tolist())
        self.service_min.extend(day_orders.service_min.tolist())
        for column in (self.accepted_min, self.arrived_min, self.ended_min, self.rating):
            column.extend([math.nan] * n)
        for column, value in ((self.status, NOT_PLACED), (self.volunteer, -1)):
            column.extend([value] * n)
        for column in (self.offers, self.stage, self.outstanding):
            column.extend([0] * n)
        for column in (self.served_stage, self.channel):
            column.extend([-1] * n)
        self.familiar.extend([False] * n)
        expire = day_orders.expire_min
        schedule, on_expiry, isfinite = self._schedule, self._expire, math.isfinite
        for o, expire_min in enumerate(expire.tolist(), first):
            if isfinite(expire_min):
                schedule(expire_min, on_expiry, o)
        settle = np.minimum(expire, day_orders.release_min + MIN_PER_DAY).max()
        self.settled_min = max(self.settled_min, float(settle))
        self._schedule(placed[0], self._place, (first, first + n))

    def _place(self, event: tuple[int, int]) -> None:
        o, day_end = event
        self.status[o] = PENDING
        self.excluded[o] = {self.elder[o]}
        self.counts["requests"] += 1
        now = self.placed_min[o]
        if o + 1 < day_end:
            self._schedule(self.placed_min[o + 1], self._place, (o + 1, day_end))
        release = self.release_min[o]
        if release > now:
            self._schedule(release, self._release, o)
        elif not self._dispatch_one(o) and self.outstanding[o] == 0:
            self._wait(o)

    def _release(self, o: int) -> None:
        if self.status[o] == PENDING:
            self._dispatch(o)

    # --- offers -------------------------------------------------------------------------
    def _dispatch(self, o: int) -> None:
        if not self._dispatch_one(o) and self.outstanding[o] == 0:
            self._wait(o)

    def _wait(self, o: int) -> None:
        if o not in self.waiting:
            self.waiting[o] = None
            if self.offers[o]:
                # declined by all it could ask: forget them ``retry_interval_min`` after it last
                # began waiting (a retry set by an earlier wait is then stale)
                due = self.queue.now_min + self.retry_interval_min
                self._retry_due[o] = due
                self._schedule(due, self._retry, o)

    def offer(
        self,
        o: int,
        v: int,
        channel: str,
        origin_stairwell: int | None = None,
        on_shift: bool = False,
    ) -> None:
        """Offer order ``o`` to volunteer ``v`` through ``channel``; the answer comes as an event
        (or at once), drawn by the acceptance model.

        ``origin_stairwell``: where the volunteer walks from if not home (a service point);
        ``on_shift``: the volunteer is a host on shift at an open point.
        """
        if origin_stairwell is not None:
            self.origin[o] = origin_stairwell
        self._reserve(v)
        self.offers[o] += 1
        self.outstanding[o] += 1
        helpers = self.helpers_of.get(self.elder[o])
        familiar = helpers is not None and v in helpers
        accepted, answer_min = self._decide(
            v, self.elder[o], familiar, self._channels[channel], on_shift
        )
        event = (o, v, accepted, self._channel_index[channel], self.stage[o])
        if answer_min > 0:
            self._schedule(self.queue.now_min + answer_min, self._answer, event)
        elif self._answering:
            # an immediate answer given while one is being handled waits its turn, so a long
            # run of declines is a loop, not a recursion
            self._immediate.append(event)
        else:
            self._answering = True
            try:
                self._answer(event)
                while self._immediate:
                    self._answer(self._immediate.popleft())
            finally:
                self._answering = False

    def _answer(self, event: tuple[int, int, bool, int, int]) -> None:
        o, v, accepted, channel, stage = event
        roster = self.roster
        if accepted and not roster.population.present[v]:
            accepted = False  # died or moved away while the offer was out
        self.outstanding[o] -= 1
        if self.status[o] != PENDING:
            roster.release(v)
            if self.waiting:
                self.serve_waiting()
            return
        if accepted:
            self._start(o, v, channel, stage)
            return
        roster.release(v)
        self.excluded[o].add(v)
        if self.on_decline is not None:
            self.on_decline(v)
        self.origin.pop(o, None)
        self._dispatch(o)
        if self.waiting:
            self.serve_waiting()

    def _start(self, o: int, v: int, channel: int, stage: int) -> None:
        now = self.queue.now_min
        if self.waiting:
            self.waiting.pop(o, None)
        self.status[o] = ACCEPTED
        del self.excluded[o]
        self.volunteer[o] = v
        self.accepted_min[o] = now
        self.channel[o] = channel
        self.served_stage[o] = stage  # the stage the accepted offer was made at
        elder = self.elder[o]
        # no travel at all in the queueing limit
        walk_min = self.roster.travel_min(v, elder, self.origin.get(o)) if self._walks else 0.0
        arrived = now + walk_min
        self.arrived_min[o] = arrived
        helpers = self.helpers_of.get(elder)
        self.familiar[o] = helpers is not None and v in helpers
        self.roster.start_service(v)
        self._schedule(arrived + self.service_min[o], self._finish, o)

    def _finish(self, o: int) -> None:
        now = self.queue.now_min
        v, elder = self.volunteer[o], self.elder[o]
        self.status[o] = SERVED
        self.ended_min[o] = now
        self.counts["served"] += 1
        stars = self._rate(self.arrived_min[o] - self.due_min[o], self.familiar[o])
        self.rating[o] = stars
        helpers = self.helpers_of.get(elder)
        if helpers is None:
            self.helpers_of[elder] = {v}
        else:
            helpers.add(v)
        work_min = now - self.accepted_min[o]
        self.roster.end_service(v, work_min, self.fatigue_per_min)
        if self.on_service is not None:
            self.on_service(v, stars, work_min)
        if self.waiting:
            self.serve_waiting()

    def _expire(self, o: int) -> None:
        if self.status[o] == PENDING:
            self._close_unmet(o)

    def _close_unmet(self, o: int) -> None:
        self.status[o] = UNMET
        del self.excluded[o]
        self.ended_min[o] = self.queue.now_min
        self.counts["unmet"] += 1
        self.waiting.pop(o, None)

    def _retry(self, o: int) -> None:
        if self._retry_due.get(o) != self.queue.now_min:
            return  # the order began waiting again since: its retry is later
        del self._retry_due[o]
        if self.status[o] == PENDING and o in self.waiting:
            del self.waiting[o]
            self.excluded[o].clear()
            self.excluded[o].add(self.elder[o])
            self.stage[o] = 0
            self._dispatch(o)

    def serve_waiting(self) -> None:
        """Offer waiting orders, oldest first, while anyone may be free."""
        if not self.waiting:
            return
        needs_free = self.dispatcher.uses_free_volunteers
        for o in list(self.waiting):
            if needs_free and not self.roster.free_total:
                break
            if o not in self.waiting:
                continue
            del self.waiting[o]
            self.stage[o] = 0
            self._dispatch(o)

    def close_all(self) -> None:
        """At the end of a run: orders never accepted are unmet."""
        for o, status in enumerate(self.status):
            if status == PENDING:
                self._close_unmet(o)

    # --- results ------------------------------------------------------------------------
    def table(self, first: int = 0, last: int | None = None) -> pd.DataFrame:
        """One row per order (orders ``first`` to ``last`` if given)."""
        rows = slice(first, last)
        placed = np.array(self.placed_min[rows])
        release = np.array(self.release_min[rows])
        accepted = np.array(self.accepted_min[rows])
        arrived = np.array(self.arrived_min[rows])
        urgency = np.array(self.urgency[rows], dtype=np.int64)
        return pd.DataFrame(
            {
                "order": np.arange(len(self.status))[rows],
                "placed_min": placed,
                "elder": np.array(self.elder[rows], dtype=np.int64),
                "order_type": np.array(self.order_type[rows], dtype=np.int64),
                "urgency": urgency,
                "eligible": np.array(self.eligible[rows], dtype=bool),
                "status": np.array(self.status[rows], dtype=np.int64),
                "volunteer": np.array(self.volunteer[rows], dtype=np.int64),
                "release_min": release,
                "due_min": np.array(self.due_min[rows]),
                "expire_min": np.array(self.expire_min[rows]),
                "wait_min": accepted - placed,
                "travel_min": arrived - accepted,
                "response_min": arrived - placed,
                "release_response_min": arrived - release,
                "lead_min": release - placed + np.where(urgency == SCHEDULED, self._notice_min, 0),
                "service_min": np.array(self.service_min[rows]),
                "ended_min": np.array(self.ended_min[rows]),
                "offers": np.array(self.offers[rows], dtype=np.int64),
                "familiar": np.array(self.familiar[rows], dtype=bool),
                "channel": np.array(self.channel[rows], dtype=np.int64),
                "served_stage": np.array(self.served_stage[rows], dtype=np.int64),
                "rating": np.array(self.rating[rows]),
            }
        )
