"""The minute-level event queue under the Mesa model.

Mesa's own event list keeps one ``Event`` object per event with weak references and priorities;
at thousands of orders a simulated day that dominates a run, so volsim keeps Mesa's ``Model``
(time in days, ``step()`` = one day) and runs the minutes of each day on this heap of plain
tuples. Ties run in the order they were scheduled (a sequence number), so runs are reproducible.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any


class EventQueue:
    """A heap of (time_min, sequence, callback, argument); callbacks take the argument."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._sequence = itertools.count()
        self.now_min = 0.0
        self.events_run = 0

    def schedule(self, time_min: float, callback: Callable[[Any], None], argument: Any) -> None:
        heapq.heappush(self._heap, (time_min, next(self._sequence), callback, argument))

    def run_until(self, end_min: float) -> None:
        """Run every event due before ``end_min``, then set the clock to ``end_min``."""
        heap = self._heap
        pop = heapq.heappop
        count = 0
        while heap and heap[0][0] < end_min:
            time_min, _, callback, argument = pop(heap)
            self.now_min = time_min
            callback(argument)
            count += 1
        self.events_run += count
        self.now_min = end_min

    def __len__(self) -> int:
        return len(self._heap)
