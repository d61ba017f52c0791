"""The minute-level event queue under the Mesa model.

Mesa's own event list keeps one ``Event`` object per event with weak references and priorities;
at thousands of orders a simulated day that dominates a run, so volsim keeps Mesa's ``Model``
(time in days, ``step()`` = one day) and runs the minutes of each day on this heap of plain
tuples. Ties run in the order they were scheduled (a sequence number), so runs are reproducible,
except that events scheduled with :meth:`EventQueue.schedule_first` (shift changes) run before
any other event due at the same minute: an order released at 08:00 meets the 08:00 shift.

Hourly observations (coverage) are not events: a sampler registered with :meth:`sample_every` is
called, when the clock passes sampling times, with the number of times passed since the last
call. State only changes at events, so this equals sampling at each time, and the cost follows
events, not simulated hours.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any


class EventQueue:
    """A heap of (time_min, sequence, callback, argument); callbacks take the argument."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._sequence = itertools.count()
        self._first_sequence = itertools.count(-(1 << 62))  # below every ordinary event's
        self.now_min = 0.0
        self.events_run = 0
        self._sampler: Callable[[int], None] | None = None
        self._interval_min = math.inf
        self._next_sample_min = math.inf
        self._sample_until_min = math.inf

    def sample_every(
        self, interval_min: float, sampler: Callable[[int], None], until_min: float
    ) -> None:
        """Call ``sampler(count)`` for the sampling times 0, interval, … below ``until_min``, each
        after the events due at that time and before later ones."""
        self._sampler = sampler
        self._interval_min = interval_min
        self._next_sample_min = 0.0 if until_min > 0 else math.inf
        self._sample_until_min = until_min

    def _sample(self, before_min: float) -> None:
        """Take the samples due strictly before ``before_min``."""
        until_min = self._sample_until_min
        end = until_min if until_min < before_min else before_min  # min(), without the call
        count = math.ceil((end - self._next_sample_min) / self._interval_min)
        if count > 0:
            self._sampler(count)
            self._next_sample_min += count * self._interval_min
        if self._next_sample_min >= self._sample_until_min:
            self._next_sample_min = math.inf

    def schedule(
        self,
        time_min: float,
        callback: Callable[[Any], None],
        argument: Any,
        _push: Callable = heapq.heappush,
    ) -> None:
        _push(self._heap, (time_min, next(self._sequence), callback, argument))

    def schedule_first(self, time_min: float, callback: Callable[[Any], None], argument: Any):
        """Schedule an event to run before the others due at the same minute (in the order
        such events were scheduled)."""
        heapq.heappush(self._heap, (time_min, next(self._first_sequence), callback, argument))

    def run_until(self, end_min: float) -> None:
        """Run every event due before ``end_min``, then set the clock to ``end_min``."""
        heap = self._heap
        pop = heapq.heappop
        count = 0
        next_sample_min = self._next_sample_min
        while heap:
            time_min = heap[0][0]
            if time_min >= end_min:
                break
            if time_min > next_sample_min:
                self._sample(time_min)
                next_sample_min = self._next_sample_min
            _, _, callback, argument = pop(heap)
            self.now_min = time_min
            callback(argument)
            count += 1
        self.events_run += count
        if end_min > self._next_sample_min:
            self._sample(end_min)
        self.now_min = end_min

    def __len__(self) -> int:
        return len(self._heap)
