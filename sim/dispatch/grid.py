"""网格: the elder's grid's party-member focal households (党员中心户) assign a grid volunteer.

The focal household prefers a volunteer of the grid who has served the elder before, then the
nearest, and relays the call (channel ``focal_call``: its delay includes the relay; it reaches
volunteers at home). A grid without focal households cannot dispatch.
"""

import numpy as np

from sim.dispatch.base import Policy
from sim.policy_registry import GridParams


class GridPolicy(Policy):
    name = "grid"
    description = "the grid's focal household calls a grid volunteer (网格)"
    Params = GridParams

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        layout = ctx.layout
        self._stairwell_grid = layout.stairwell_grid
        focal = np.bincount(
            layout.building_grid, weights=layout.building_focal_count, minlength=layout.n_grids
        )
        self._has_focal = focal > 0
        grids = np.arange(layout.n_grids)
        self._in_grid = self._stairwell_grid[None, :] == grids[:, None]  # (grids, stairwells)

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        elder = book.elder[o]
        stairwell = self.ctx.population.stairwell  # read each time: residents arrive
        grid = self._stairwell_grid[stairwell[elder]]
        if not self._has_focal[grid]:
            return False
        familiar = [
            v
            for v in book.helpers_of.get(elder, ())
            if self.can_ask(o, v) and self._stairwell_grid[stairwell[v]] == grid
        ]
        if familiar:
            v = int(roster.rank_by_distance(elder, np.array(sorted(familiar)), limit=1)[0])
        else:
            ranked = self.ranked(o, limit=1, stairwells=self._in_grid[grid])
            if not ranked:
                return False
            v = ranked[0]
        book.offer(o, v, self.channel_name)
        return True
