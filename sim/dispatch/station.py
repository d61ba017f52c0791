"""Service points only (项目团队设点服务): the nearest open point of a matching category serves.

Each point is run by its host, an active volunteer living nearest to it (the household that
keeps the 家站 point); while the point is open the host is on shift there, whatever their own
availability pattern, and takes the order at once, walking from the point.
"""

import numpy as np

from sim.community import CATEGORIES_FOR_ORDER_TYPE, SERVICE_CATEGORIES
from sim.dispatch.base import Policy
from sim.scenario import ORDER_TYPES


class StationPolicy(Policy):
    name = "station"
    uses_free_volunteers = False

    def __init__(self, model) -> None:
        super().__init__(model)
        layout = model.layout
        self._host = model.point_host
        self._open = layout.point_open_hour
        self._close = layout.point_close_hour
        self._point_stairwell = layout.point_stairwell
        self._distance_m = layout.distance_m
        self._points_for_type = [
            np.flatnonzero(
                np.isin(
                    layout.point_category,
                    [SERVICE_CATEGORIES.index(c) for c in CATEGORIES_FOR_ORDER_TYPE[t]],
                )
            )
            for t in ORDER_TYPES
        ]

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        hour = int(book.queue.now_min // 60) % 24
        points = self._points_for_type[book.order_type[o]]
        points = points[(self._open[points] <= hour) & (hour < self._close[points])]
        hosts = self._host[points]
        idle = self.model.population.active[hosts] & ~(roster.busy[hosts] | roster.reserved[hosts])
        if book.excluded[o]:
            idle &= ~np.isin(hosts, list(book.excluded[o]))
        points = points[idle]
        if len(points) == 0:
            return False
        elder_stairwell = self.model.population.stairwell[book.elder[o]]
        distance = self._distance_m[elder_stairwell, self._point_stairwell[points]]
        nearest = points[np.lexsort((points, distance))[0]]
        book.offer(
            o,
            int(self._host[nearest]),
            accept_probability=1.0,
            origin_stairwell=int(self._point_stairwell[nearest]),
        )
        return True
