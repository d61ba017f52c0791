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
        ranked = self.ranked(o, limit=1)
        if not ranked:
            return False
        self.book.offer(o, ranked[0], self.channel_name)
        return True
