"""中心派单: the centre sends the nearest free volunteer."""

from sim.dispatch.base import Policy


class NearestPolicy(Policy):
    """Offer to the nearest free volunteer who has not declined; ask the next on a decline."""

    name = "nearest"

    def dispatch(self, o: int) -> bool:
        v = self.roster.nearest_free(self.book.elder[o], self.book.excluded[o])
        if v is None:
            return False
        self.book.offer(o, v)
        return True
