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
        layout, population = model.layout, model.population
        self._grid_of = layout.stairwell_grid[population.stairwell]
        focal = np.bincount(
            layout.building_grid, weights=layout.building_focal_count, minlength=layout.n_grids
        )
        self._has_focal = focal > 0

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        elder = book.elder[o]
        grid = self._grid_of[elder]
        if not self._has_focal[grid]:
            return False
        declined = book.declined[o]
        known = [
            v
            for v in book.helpers_of.get(elder, ())
            if v in roster.free and v not in declined and self._grid_of[v] == grid
        ]
        ids = np.array(sorted(known), dtype=np.int64)
        if not known:
            ids = roster.free_ids(declined)
            ids = ids[self._grid_of[ids] == grid]
        ranked = roster.rank_by_distance(elder, ids, limit=1)
        if len(ranked) == 0:
            return False
        book.offer(o, int(ranked[0]), delay_min=self.params.grid_assign_delay_min)
        return True
