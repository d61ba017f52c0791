"""网格: the elder's grid's party-member focal households (党员中心户) assign a grid volunteer.

The focal household prefers a volunteer who has served the elder before, then the nearest;
its call takes ``grid_assign_delay_min``. A grid without focal households cannot dispatch.
"""

import numpy as np

from sim.dispatch.base import Policy


class GridPolicy(Policy):
    name = "grid"

    def __init__(self, model) -> None:
        super().__init__(model)
        layout = model.layout
        self._stairwell_grid = layout.stairwell_grid
        focal = np.bincount(
            layout.building_grid, weights=layout.building_focal_count, minlength=layout.n_grids
        )
        self._has_focal = focal > 0

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        elder = book.elder[o]
        stairwell = self.model.population.stairwell  # read each time: residents arrive
        grid = self._stairwell_grid[stairwell[elder]]
        if not self._has_focal[grid]:
            return False
        excluded = book.excluded[o]
        known = [
            v
            for v in book.helpers_of.get(elder, ())
            if v in roster.free and v not in excluded and self._stairwell_grid[stairwell[v]] == grid
        ]
        ids = np.array(sorted(known), dtype=np.int64)
        if not known:
            ids = roster.free_ids(excluded)
            ids = ids[self._stairwell_grid[stairwell[ids]] == grid]
        ranked = roster.rank_by_distance(elder, ids, limit=1)
        if len(ranked) == 0:
            return False
        book.offer(o, int(ranked[0]), delay_min=self.params.grid_assign_delay_min)
        return True
