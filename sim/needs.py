"""Needs with their own clocks: each order is urgent, same-day or scheduled (URGENCIES).

- urgent: as soon as possible, day or night; dispatched when placed; on time if a volunteer
  arrives within ``needs.urgent_window_min`` (the 15-minute circle).
- same_day: within hours; placed outside ``needs.service_hours`` it waits for them to begin;
  on time if served within ``same_day_window_min`` of that release.
- scheduled: an agreed visit (a repair, an escort): booked for a time within service hours
  ``scheduled_lead_days`` ahead, dispatched ``scheduled_notice_min`` before it, on time if the
  volunteer arrives within ``scheduled_window_min`` after it. Never dispatched at 3 a.m., never
  counted as a long response: it is measured by its window and its lead time.

An order not accepted within ``demand.max_wait_min`` of its release (or by the end of its window,
if that is later) expires unmet. With ``needs.book_non_urgent = false`` every order is released
when placed and expires ``demand.max_wait_min`` after (the queueing limit). The draws come from
their own stream (``needs``, drawn from for nothing else, and not at all in the queueing limit):
every policy faces the same clocks (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario import URGENCIES, Scenario

MIN_PER_DAY = 1440
URGENT, SAME_DAY, SCHEDULED = (URGENCIES.index(u) for u in ("urgent", "same_day", "scheduled"))


@dataclass(frozen=True)
class Clocks:
    """Per order: urgency (index into URGENCIES), release, due and expiry times in minutes."""

    urgency: np.ndarray
    release_min: np.ndarray
    due_min: np.ndarray
    expire_min: np.ndarray


class NeedClocks:
    """Turns placement times and order types into each order's clocks."""

    def __init__(self, scenario: Scenario) -> None:
        n = scenario.needs
        self._urgency_of_type = np.array(n.urgency_index(), dtype=np.int64)
        self._book = n.book_non_urgent
        self._open_min, self._close_min = (h * 60.0 for h in n.service_hours)
        self._lead_days = n.scheduled_lead_days
        self._notice_min = n.scheduled_notice_min
        self._window_min = np.array(
            [
                n.urgent_window_min,
                n.same_day_window_min,
                n.scheduled_notice_min + n.scheduled_window_min,
            ]
        )
        self._max_wait_min = scenario.demand.max_wait_min

    def clocks(
        self, placed_min: np.ndarray, order_type: np.ndarray, rng: np.random.Generator
    ) -> Clocks:
        """The clocks of orders placed at ``placed_min`` (ascending) with these types."""
        urgency = self._urgency_of_type[order_type]
        window = self._window_min[urgency]
        if not self._book:
            return Clocks(urgency, placed_min, placed_min + window, placed_min + self._max_wait_min)
        # drawn for every order, used for scheduled ones: the same draws whatever the types
        lead_days = rng.integers(self._lead_days[0], self._lead_days[1] + 1, len(placed_min))
        slot = rng.random(len(placed_min))
        open_min, close_min = self._open_min, self._close_min
        day_start = _day_start_min(placed_min)
        minute = placed_min - day_start
        same_day = urgency == SAME_DAY
        early, late = same_day & (minute < open_min), same_day & (minute >= close_min)
        release = np.where(early, day_start + open_min, placed_min)
        release = np.where(late, day_start + MIN_PER_DAY + open_min, release)
        agreed = day_start + lead_days * MIN_PER_DAY + open_min + slot * (close_min - open_min)
        agreed = np.where(agreed < placed_min + self._notice_min, agreed + MIN_PER_DAY, agreed)
        release = np.where(urgency == SCHEDULED, agreed - self._notice_min, release)
        return Clocks(
            urgency, release, release + window, release + np.maximum(window, self._max_wait_min)
        )


def _day_start_min(placed_min: np.ndarray) -> float | np.ndarray:
    """The start of each order's day, in minutes: one number when the orders (ascending) all
    fall on one day, as a day's orders do (the same values, with fewer array operations)."""
    if len(placed_min):
        first, last = (math.floor(t / MIN_PER_DAY) for t in (placed_min[0], placed_min[-1]))
        if first == last:
            return float(first * MIN_PER_DAY)
    return np.floor(placed_min / MIN_PER_DAY) * MIN_PER_DAY
