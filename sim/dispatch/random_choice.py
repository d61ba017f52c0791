"""A baseline: a uniformly random reachable volunteer, wherever they are."""

from sim.dispatch.base import Policy
from sim.policy_registry import RandomParams


class RandomPolicy(Policy):
    """Offer to a reachable volunteer drawn uniformly from the policy stream."""

    name = "random"
    description = "a random volunteer on duty (a baseline)"
    Params = RandomParams

    def dispatch(self, o: int) -> bool:
        ids = self.reachable(o)
        if len(ids) == 0:
            return False
        self.book.offer(o, int(ids[self.ctx.rng.integers(len(ids))]), self.channel_name)
        return True
