"""The 志愿和平 app: alert the k nearest within a radius; the first to accept takes the order.

Phased alerting: while nobody has accepted, every ``phase_min`` the next k nearest
are alerted too, and each who declines is replaced at once. An app push reaches volunteers at
home off duty too (channel ``app``), who answer through the same acceptance rule, less willing.
Its parameters are ``[dispatch.broadcast]``: k, radius_m, phase_min, channel.
"""

from sim.dispatch.base import Policy
from sim.orders import PENDING
from sim.policy_registry import BroadcastParams


class BroadcastPolicy(Policy):
    name = "broadcast"
    description = "the app alerts the k nearest within a radius; the first to accept goes"
    Params = BroadcastParams

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        #: order → (when its next phase is due, the chain stage it belongs to)
        self._next_phase: dict[int, tuple[float, int]] = {}

    def dispatch(self, o: int) -> bool:
        """Keep k alerts out: a new order gets k, each decline is replaced at once."""
        outstanding = self.book.outstanding[o]
        alerted = self._alert(o, self.params.k - outstanding)
        return alerted or outstanding > 0

    def _alert(self, o: int, count: int) -> bool:
        """Alert up to ``count`` more of the nearest reachable volunteers in the radius; start
        the phase clock if none is running (a replacement does not put it back)."""
        book = self.book
        if count <= 0:
            return False
        ranked = self.ranked(o, count, self.params.radius_m)
        if not ranked:
            return False
        for v in ranked:
            if book.status[o] != PENDING:
                break  # taken by an earlier alertee who answered at once
            # an answer given at once may have taken v for another order, or v may have
            # declined this one already (and be free again) while the alerts went out
            if self.can_ask(o, v):
                book.offer(o, v, self.channel_name)
        if o not in self._next_phase and book.status[o] == PENDING:
            self._start_phase(o)
        return True

    def _start_phase(self, o: int) -> None:
        book = self.book
        due = book.queue.now_min + self.params.phase_min
        self._next_phase[o] = (due, book.stage[o])
        book.queue.schedule(due, self._phase, o)

    def _phase(self, o: int) -> None:
        """Every ``phase_min`` while nobody has accepted, k more are alerted; the phase belongs
        to the broadcast stage of the chain that started it (none once the order has moved on
        to a later stage, or waits)."""
        book = self.book
        due, stage = self._next_phase.get(o, (None, -1))
        if due != book.queue.now_min:
            return  # not this order's clock
        del self._next_phase[o]
        if book.status[o] != PENDING or o in book.waiting or book.stage[o] != stage:
            return
        self._alert(o, self.params.k)
        if o not in self._next_phase and book.outstanding[o] > 0:
            self._start_phase(o)  # nobody new in reach now; alerts are out: keep the clock
