"""邻里守望: neighbours watch over each other. A knock on the doors of active volunteers in the
elder's own stairwell (楼门), one at a time, the least-asked first; day or night, since a knock
reaches those at home. Elders with no volunteer in their stairwell have no route here, so the
policy is meant as a stage of a chain (``pairing+neighbours+nearest``).
"""

from sim.dispatch.base import Policy


class NeighboursPolicy(Policy):
    name = "neighbours"
    description = "knock on volunteers' doors in the elder's own stairwell (邻里守望)"
    serves_all_elders = False

    def default_channel(self) -> str:
        return "knock"

    def dispatch(self, o: int) -> bool:
        book = self.book
        ranked = self.roster.rank_by_distance(book.elder[o], self.reachable(o), limit=1)
        if len(ranked) == 0:
            return False
        book.offer(o, int(ranked[0]), self.channel_name)
        return True
