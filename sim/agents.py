"""Mesa agents of the community: residents (mobile), stairwells and service points (fixed).

Residents are thin views onto the population arrays (``model.population``) at their index, so
vectorised daily and yearly updates and agent-level access see the same state.
"""

from __future__ import annotations

from mesa.discrete_space import CellAgent, FixedAgent


class Resident(CellAgent):
    """A resident living in a stairwell (楼门); may be a volunteer, may place orders."""

    def __init__(self, model, index: int, cell) -> None:
        super().__init__(model)
        self.index = index
        self.cell = cell

    @property
    def age_years(self) -> int:
        return int(self.model.population.age_years[self.index])

    @property
    def is_volunteer(self) -> bool:
        """An active registered volunteer."""
        return bool(self.model.population.active[self.index])

    @property
    def is_registered(self) -> bool:
        return bool(self.model.population.registered[self.index])

    @property
    def places_orders(self) -> bool:
        return bool(self.model.population.client_group[self.index] > 0)

    @property
    def lives_alone(self) -> bool:
        return bool(self.model.population.living_alone[self.index])

    @property
    def is_busy(self) -> bool:
        return bool(self.model.roster.busy[self.index])

    @property
    def orders_served(self) -> int:
        return self.model.roster.served_count[self.index]


class Stairwell(FixedAgent):
    """A building entrance (楼门), the smallest neighbourhood unit."""

    def __init__(self, model, index: int, building: int, grid: int, cell) -> None:
        super().__init__(model)
        self.index = index
        self.building = building
        self.grid = grid
        self.cell = cell


class ServicePoint(FixedAgent):
    """A home or station service point (家站服务点) with a category and opening hours."""

    def __init__(
        self, model, index: int, category: str, open_hour: int, close_hour: int, cell
    ) -> None:
        super().__init__(model)
        self.index = index
        self.category = category
        self.open_hour = open_hour
        self.close_hour = close_hour
        self.cell = cell

    @property
    def host(self) -> int:
        """The resident who keeps the point (changes when a host stops or leaves)."""
        return int(self.model.point_host[self.index])

    def is_open(self, hour_of_day: int) -> bool:
        return self.open_hour <= hour_of_day < self.close_hour
