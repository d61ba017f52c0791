"""中心派单: the centre sends the nearest volunteer it can reach (its duty roster, by phone)."""

from sim.dispatch.base import Policy


class NearestPolicy(Policy):
    """Offer to the nearest reachable volunteer who has not declined; ask the next on a decline.
    Ties go to the one who has served least, then the lowest id."""

    name = "nearest"
    description = "the centre calls the nearest volunteer on duty (中心派单)"

    def default_channel(self) -> str:
        return self.params.nearest_channel

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        if self.uses_free_volunteers and self.channel.reach_m == float("inf"):
            v = roster.nearest_free(book.elder[o], book.excluded[o])  # fast on a small free set
        else:
            ranked = roster.rank_by_distance(book.elder[o], self.reachable(o), limit=1)
            v = int(ranked[0]) if len(ranked) else None
        if v is None:
            return False
        book.offer(o, v, self.channel_name)
        return True
