"""Requests for help (点单): who orders what and when, and how long serving it takes.

Each day's orders are drawn at the start of that day from the demand stream, as a Poisson
process: per-elder yearly rates by group (or one flat total spread uniformly over the elders),
shaped over the day by the hourly profile. Service durations come from the service stream and
belong to the order, not to the volunteer, so every policy faces the same work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.needs import MIN_PER_DAY, NeedClocks
from sim.population import CLIENT_GROUPS, Population, pairing_eligible
from sim.scenario import ORDER_TYPES, Scenario


@dataclass(frozen=True)
class DayOrders:
    """The orders placed during one day, sorted by time, with their clocks (sim.needs)."""

    placed_min: np.ndarray
    elder: np.ndarray
    order_type: np.ndarray
    service_min: np.ndarray
    urgency: np.ndarray
    release_min: np.ndarray
    due_min: np.ndarray
    expire_min: np.ndarray
    eligible: np.ndarray  # the elder is one pairing would pair (80+, alone or empty nest)

    def __len__(self) -> int:
        return len(self.placed_min)


class Demand:
    """Draws each day's orders for the current population."""

    def __init__(
        self,
        scenario: Scenario,
        population: Population,
        demand_rng: np.random.Generator,
        service_rng: np.random.Generator,
        needs_rng: np.random.Generator,
    ) -> None:
        d = scenario.demand
        self._scenario = scenario
        self._demand_rng = demand_rng
        self._service_rng = service_rng
        self._needs_rng = needs_rng
        self._total_per_day = d.total_per_day
        # fixed at the start, so that volunteers who come and go (a policy's doing) never
        # change who orders under flat demand (common random numbers)
        self._on_roster_at_start = population.active.copy()
        self._group_rate_per_day = (
            np.array([0.0] + [getattr(d, f"orders_per_year_{g}") for g in CLIENT_GROUPS[1:]])
            / 365.0
        )
        profile = np.ones(24) if d.daily_profile == "flat" else np.array(d.hourly_profile)
        self._hour_share = profile / profile.sum()
        self._hour_start_min = np.arange(24) * 60.0
        shares = np.array(d.type_shares.as_list())
        self._type_share = shares / shares.sum()
        s = scenario.service
        means = [s.mean_min] * len(ORDER_TYPES) if s.mean_min else s.mean_min_by_type.as_list()
        self._service_mean_min = np.array(means, dtype=float)
        self._clocks = NeedClocks(scenario)
        # the type draw's cumulative shares, as numpy's choice computes them from p
        self._type_cdf = self._type_share.cumsum()
        self._type_cdf /= self._type_cdf[-1]
        self._sigma2 = np.log1p(s.cv**2)
        self._sigma = np.sqrt(self._sigma2)
        with np.errstate(divide="ignore"):
            self._log_mean_min = np.log(self._service_mean_min) - self._sigma2 / 2
        # who may order and the cumulative shares of their rates, kept while the population's
        # version (arrivals, departures, yearly refresh) does not change
        self._clients_key: tuple[int, int] | None = None
        self._clients: tuple[np.ndarray, np.ndarray, float, np.ndarray] | None = None
        self._surges = [(first, first + days, mult) for first, days, mult in d.surges]

    def surge_multiplier(self, day: int) -> float:
        """Demand × this on ``day`` (a winter week of illness, say: ``demand.surges``)."""
        multiplier = 1.0
        for first, end, mult in self._surges:
            if first <= day < end:
                multiplier *= mult
        return multiplier

    def elder_rates_per_day(self, population: Population) -> tuple[np.ndarray, np.ndarray]:
        """(resident ids who may order, their order rate per day)."""
        clients = population.client_ids
        if self._total_per_day is not None:
            # the queueing limit: orders from elders who are not themselves on the roster, so
            # that every volunteer can serve every order
            known = clients < len(self._on_roster_at_start)
            on_roster = np.zeros(len(clients), dtype=bool)
            on_roster[known] = self._on_roster_at_start[clients[known]]
            clients = clients[~on_roster]
            rates = np.full(len(clients), self._total_per_day / max(1, len(clients)))
            return clients, rates
        return clients, self._group_rate_per_day[population.client_group[clients]]

    def _clients_now(
        self, population: Population
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """(clients, rates, their sum, cumulative shares), cached per population version."""
        key = (population.version, id(population.client_group))
        if key != self._clients_key or self._clients is None:
            clients, rates = self.elder_rates_per_day(population)
            rate_sum = rates.sum()
            cdf = rates
            if rate_sum > 0:  # no orders to draw otherwise
                cdf = (rates / rate_sum).cumsum()
                cdf /= cdf[-1]
            self._clients = (clients, rates, rate_sum, cdf)
            self._clients_key = key
        return self._clients

    def draw_day(self, day: int, population: Population) -> DayOrders:
        """The orders placed on ``day`` (minutes counted from the start of the run)."""
        rng = self._demand_rng
        clients, _, rate_sum, cdf = self._clients_now(population)
        total = rate_sum * self.surge_multiplier(day)
        if total <= 0:
            empty, none = np.empty(0), np.empty(0, dtype=np.int64)
            return DayOrders(
                empty, none, none, empty, none, empty, empty, empty, empty.astype(bool)
            )
        per_hour = rng.poisson(total * self._hour_share)
        n = int(per_hour.sum())
        hour_start = np.repeat(self._hour_start_min, per_hour)
        placed = day * MIN_PER_DAY + hour_start + rng.random(n) * 60.0
        placed.sort()
        # numpy's choice(len(p), n, p=p) draws exactly so: n uniforms looked up in the
        # cumulative shares (here computed once, not at every draw)
        elder = clients[cdf.searchsorted(rng.random(n), side="right")]
        order_type = self._type_cdf.searchsorted(rng.random(n), side="right")
        clocks = self._clocks.clocks(placed, order_type, self._needs_rng)
        eligible = pairing_eligible(population, elder)
        return DayOrders(
            placed,
            elder,
            order_type,
            self._service_minutes(order_type),
            clocks.urgency,
            clocks.release_min,
            clocks.due_min,
            clocks.expire_min,
            eligible,
        )

    def _service_minutes(self, order_type: np.ndarray) -> np.ndarray:
        s = self._scenario.service
        if s.distribution == "exponential":
            return self._service_rng.exponential(self._service_mean_min[order_type])
        if s.distribution == "deterministic" or s.cv == 0:
            return self._service_mean_min[order_type]  # indexing makes a new array
        return self._service_rng.lognormal(self._log_mean_min[order_type], self._sigma)
