"""邻里守望: neighbours watch over each other. The centre's nearest-first rule, asked through a
knock on the doors of active volunteers in the elder's own stairwell (楼门), one at a time, the
one who has served least first; day or night, since a knock reaches those at home. Elders with
no volunteer in their stairwell have no route here, so the policy is meant as a stage of a
chain (``pairing+neighbours+nearest``).
"""

from sim.dispatch.nearest import NearestPolicy
from sim.policy_registry import NeighboursParams


class NeighboursPolicy(NearestPolicy):
    name = "neighbours"
    description = "knock on volunteers' doors in the elder's own stairwell (邻里守望)"
    serves_all_elders = False
    Params = NeighboursParams
