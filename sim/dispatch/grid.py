"""网格: the elder's grid's party-member focal households (党员中心户) assign a grid volunteer.

The focal household prefers a volunteer of the grid who has served the elder before, then the
nearest, and relays the call (channel ``focal_call``: its delay includes the relay; it reaches
volunteers at home). A grid without focal households cannot dispatch.
"""

import numpy as np

from sim.dispatch.base import Policy


class GridPolicy(Policy):
    name = "grid"
    description = "the grid's focal household calls a grid volunteer (网格)"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        layout = ctx.layout
        self._stairwell_grid = layout.stairwell_grid
        focal = np.bincount(
            layout.building_grid, weights=layout.building_focal_count, minlength=layout.n_grids
        )
        self._has_focal = focal > 0

    def default_channel(self) -> str:
        return "focal_call"

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        elder = book.elder[o]
        stairwell = self.ctx.population.stairwell  # read each time: residents arrive
        grid = self._stairwell_grid[stairwell[elder]]
        if not self._has_focal[grid]:
            return False
        ids = self.reachable(o)
        ids = ids[self._stairwell_grid[stairwell[ids]] == grid]
        known = book.helpers_of.get(elder)
        if known:
            familiar = ids[np.isin(ids, list(known))]
            if len(familiar):
                ids = familiar
        ranked = roster.rank_by_distance(elder, ids, limit=1)
        if len(ranked) == 0:
            return False
        book.offer(o, int(ranked[0]), self.channel_name)
        return True
