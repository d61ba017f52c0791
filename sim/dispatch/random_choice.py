"""A baseline: a uniformly random free volunteer, wherever they are."""

from sim.dispatch.base import Policy


class RandomPolicy(Policy):
    """Offer to a free volunteer drawn uniformly from the policy stream."""

    name = "random"

    def dispatch(self, o: int) -> bool:
        ids = self.roster.free_ids(self.book.excluded[o])
        if len(ids) == 0:
            return False
        self.book.offer(o, int(ids[self.model.streams["policy"].integers(len(ids))]))
        return True
