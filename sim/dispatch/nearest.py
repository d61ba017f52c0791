"""中心派单: the centre sends the nearest volunteer it can reach (its duty roster, by phone)."""

from sim.dispatch.base import Policy
from sim.policy_registry import NearestParams


class NearestPolicy(Policy):
    """Offer to the nearest reachable volunteer who has not declined; ask the next on a decline.
    Ties go to the one who has served least, then the lowest id."""

    name = "nearest"
    description = "the centre calls the nearest volunteer on duty (中心派单)"
    Params = NearestParams

    def dispatch(self, o: int) -> bool:
        ranked = self.ranked(o, limit=1)
        if not ranked:
            return False
        self.book.offer(o, ranked[0], self.channel_name)
        return True
