"""Service points only (项目团队设点服务): the nearest open point of a matching category serves.

Each point has one host on shift while it is open: an active volunteer living nearest to it
(the household that keeps the 家站 point), whatever their own duty pattern. The order is taken
to the point (channel ``walk_in``); the host answers through the same acceptance rule as anyone,
with ``acceptance.on_shift_multiplier`` for being on shift, walks from the point, and uses the
same weekly budget as any volunteer. A declining or busy host sends the order to the next point.
"""

import numpy as np

from sim.community import CATEGORIES_FOR_ORDER_TYPE, SERVICE_CATEGORIES
from sim.dispatch.base import Policy
from sim.policy_registry import StationParams
from sim.scenario import ORDER_TYPES


class StationPolicy(Policy):
    name = "station"
    description = "the nearest open service point of a matching category (家站服务点)"
    Params = StationParams

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        layout = ctx.layout
        self._host = ctx.point_host
        self._open = layout.point_open_hour
        self._close = layout.point_close_hour
        self._point_stairwell = layout.point_stairwell
        self._space = layout.space
        self._points_for_type = [
            np.flatnonzero(
                np.isin(
                    layout.point_category,
                    [SERVICE_CATEGORIES.index(c) for c in CATEGORIES_FOR_ORDER_TYPE[t]],
                )
            )
            for t in ORDER_TYPES
        ]
        # a district whose boundaries orders do not cross: each community's own points
        space = self._space
        self._community = None
        if not space.single_community and space.cross_boundary_m <= 0:
            self._community = space.community
            of_point = space.community[self._point_stairwell]
            self._points_by_community = [
                [points[of_point[points] == c] for points in self._points_for_type]
                for c in range(int(space.community.max()) + 1)
            ]

    @property
    def uses_free_volunteers(self) -> bool:
        return False  # hosts on shift are not the roster's on-duty volunteers

    def dispatch(self, o: int) -> bool:
        book, roster = self.book, self.roster
        hour = int(book.queue.now_min // 60) % 24
        elder_stairwell = self.ctx.population.stairwell[book.elder[o]]
        if self._community is None:
            points = self._points_for_type[book.order_type[o]]
        else:
            community = self._community[elder_stairwell]
            points = self._points_by_community[community][book.order_type[o]]
        points = points[(self._open[points] <= hour) & (hour < self._close[points])]
        hosts = self._host[points]
        idle = roster.idle_mask[hosts]
        for host in book.excluded[o]:  # the few who declined (np.isin costs more per order)
            idle &= hosts != host
        points = points[idle]
        if len(points) == 0:
            return False
        distance = self._space.distances_m_from(elder_stairwell, self._point_stairwell[points])
        first = np.lexsort((points, distance))[0]
        if distance[first] == np.inf:  # every open point is in another community
            return False
        nearest = points[first]
        book.offer(
            o,
            int(self._host[nearest]),
            self.channel_name,
            origin_stairwell=int(self._point_stairwell[nearest]),
            on_shift=True,
        )
        return True
