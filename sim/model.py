"""VolunteerModel: Chaoyangli's elders, volunteers and dispatch policies as a Mesa model.

Elderly residents place orders for help (点单); a dispatch policy offers them to volunteers
(派单); a volunteer accepts (接单), walks over, serves, and the elder rates the service (评单).
Calibrated to the Chaoyangli community, Heping District, Tianjin (docs/ODD.md, scenarios/).

Mesa time is counted in days: ``step()`` simulates one day, and ``mesa.batch_run`` drives the
model like any other. Within a day, orders move minute by minute on volsim's own event queue
(:mod:`sim.engine`). Build it from volsim's scenario (``params``: a file,
:class:`~sim.scenario.Scenario` or None for the Chaoyangli baseline), keyword overrides in dotted
form, and ``rng=`` (an int seed or a numeric string)::

    model = VolunteerModel("scenarios/chaoyangli.toml", policy="pairing", rng=42, days=30)
    model.run_model()
    model.summary()
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
import warnings
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import OrthogonalVonNeumannGrid
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim import scenario as scenario_module
from sim.acceptance import AcceptanceModel
from sim.agents import Resident, ServicePoint, Stairwell
from sim.community import SERVICE_CATEGORIES
from sim.coverage import WillingCoverage, within_reach
from sim.demand import MIN_PER_DAY, Demand
from sim.dispatch import DispatchContext, build_policy
from sim.dispatch.pairing import PairingPolicy
from sim.district import build_place, community_table, community_values
from sim.dynamics import DAYS_PER_YEAR, Dynamics
from sim.engine import EventQueue
from sim.metrics import (
    CIRCLE_MIN,
    breakdown,
    burden_metrics,
    order_metrics,
    urgency_metrics,
    workload_metrics,
    yearly_workload,
)
from sim.orders import SERVED, UNMET, OrderBook
from sim.population import (
    assign_point_hosts,
    availability_table,
    replace_point_hosts,
)
from sim.rating import RatingModel
from sim.roster import Roster
from sim.scenario import URGENCIES, Scenario
from sim.streams import Buffered, spawn_streams

MIN_PER_HOUR = 60
DAYS_PER_WEEK = 7
#: per-urgency measures the yearly series keeps (sim.metrics.urgency_metrics)
YEARLY_URGENCY_METRICS = (
    "urgent_response_time_p90_min",
    "urgent_within_window_share",
    "urgent_unmet_share",
    "same_day_within_window_share",
    "eligible_served_by_pair_share",
    "same_day_unmet_share",
    "scheduled_unmet_share",
)
#: age bands of the yearly series (inclusive)
AGE_BANDS = {
    "0_17": (0, 17),
    "18_59": (18, 59),
    "60_69": (60, 69),
    "70_79": (70, 79),
    "80_plus": (80, 200),
}


def _root_seed(rng: Any) -> int:
    """An integer root seed from Mesa's ``rng`` argument (None or "" draws fresh entropy).

    A numeric string counts as its number: a seed typed into a page arrives as text.
    """
    if isinstance(rng, str):
        text = rng.strip()
        if text and not text.lstrip("+-").isdigit():
            raise ValueError(f"rng must be a whole number, not {rng!r}")
        rng = int(text) if text else None
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    raise TypeError(f"rng must be an int seed, a numpy Generator or None, not {type(rng)}")


def _split_scenario(params: Any, scenario: Any) -> tuple[Any, MesaScenario | None]:
    """volsim's scenario and Mesa's from ``params`` and ``scenario``.

    ``scenario`` is Mesa's name: SolaraViz's Reset passes a Mesa Scenario there. volsim's own
    scenario used to go there too; that still works, with a DeprecationWarning, for one release.
    """
    if scenario is None or isinstance(scenario, MesaScenario):
        return params, scenario
    if params is not None:
        raise TypeError("give volsim's scenario as params= only (scenario= is Mesa's)")
    warnings.warn(
        "VolunteerModel(scenario=...) for volsim's scenario is deprecated: use params= "
        "(scenario= is Mesa's Scenario)",
        DeprecationWarning,
        stacklevel=3,
    )
    return scenario, None


#: below this many residents a run is too small for the collector's rescans to matter
FREEZE_MIN_RESIDENTS = 50_000


@contextlib.contextmanager
def _long_lived_frozen(residents: int):
    """In a large model (``residents`` ≥ FREEZE_MIN_RESIDENTS: millions of objects in a
    district), exclude the objects alive now from the garbage collector's scans until the block
    ends; collections otherwise rescan them over and over while a run or the agents' creation
    allocates. Garbage is collected first: frozen, an earlier run's dead model would be handed
    back by gc.unfreeze only to be frozen again by the next run, and a process running model
    after model would grow by a model's size each time. Small models skip both (the full
    collection would cost more than it saves)."""
    if residents < FREEZE_MIN_RESIDENTS:
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class VolunteerModel(mesa.Model):
    """Community volunteer service for elderly neighbours, one ``step()`` per simulated day."""

    def __init__(
        self,
        params: Scenario | str | Path | None = None,
        *,
        policy: str | None = None,
        days: int | None = None,
        rng: Any = None,
        scenario: MesaScenario | None = None,
        **overrides: Any,
    ) -> None:
        """Build the community, its people and the chosen policy.

        Args:
            params: volsim's scenario: a file, a loaded Scenario, or None for the built-in
                baseline.
            policy: a policy name or a chain such as ``"pairing+broadcast"`` (overrides
                ``dispatch.policy`` and ``dispatch.fallback``).
            days: simulated days (overrides ``simulation.days``).
            rng: the root seed (an int, a numeric string or None); every random process gets
                its own stream spawned from it.
            scenario: Mesa's Scenario (SolaraViz passes one on Reset); its ``rng`` is the seed
                when ``rng`` is not given. volsim's scenario here is deprecated (use ``params``).
            **overrides: scenario keys in dotted form, e.g. ``**{"demand.max_wait_min": 60}``.
        """
        scenario_in, mesa_scenario = _split_scenario(params, scenario)
        seed = _root_seed(rng if rng is not None or mesa_scenario is None else mesa_scenario.rng)
        if mesa_scenario is not None:
            mesa_scenario.rng = seed
        super().__init__(rng=seed, scenario=mesa_scenario)
        self.seed = seed
        source = str(scenario_in) if isinstance(scenario_in, (str, Path)) else "scenario"
        params = self._resolve(scenario_in, policy, days, overrides)
        self.scenario_params = params
        self.days = params.simulation.days
        self.streams = spawn_streams(seed)
        layout_rng = (
            np.random.default_rng(params.community.layout_seed)
            if params.community.fixed_layout
            else self.streams["layout"]
        )
        self.layout, self.population = build_place(
            params, layout_rng, self.streams["population"], source
        )
        self.point_host = assign_point_hosts(
            self.layout.point_stairwell,
            self.population,
            self.layout.space,
            self.streams["population"],
        )
        self._build_space()
        self.events = EventQueue()
        volunteers = params.volunteers
        tireless = volunteers.always_available
        self.roster = Roster(
            self.population,
            self.layout,
            availability_table(params, params.simulation.start_weekday),
            params.travel.speed_m_per_min,
            params.travel.stair_min_per_floor,
            math.inf if tireless else volunteers.weekly_budget_hours * MIN_PER_HOUR,
            None if tireless else volunteers.max_services_per_week,
        )
        self.roster.new_week()  # the first week's budgets
        self.acceptance = AcceptanceModel(params, Buffered(self.streams["acceptance"]), self.roster)
        self.rating_model = RatingModel(params, Buffered(self.streams["rating"], "standard_normal"))
        self.demand = Demand(
            params,
            self.population,
            self.streams["demand"],
            self.streams["service"],
            self.streams["needs"],
        )
        self.dynamics = Dynamics(params, self.population, self.layout, self.roster, self.streams)
        changing = self.dynamics.volunteers_change
        self.orders = OrderBook(
            self.events,
            self.roster,
            self.acceptance,
            self.rating_model,
            params,
            on_service=self.dynamics.record_service if changing else None,
            on_decline=self.dynamics.record_decline if changing else None,
        )
        context = DispatchContext(
            self.orders,
            self.roster,
            self.population,
            self.layout,
            self.point_host,
            self.streams["policy"],
            params,
        )
        self.policy = build_policy([params.dispatch.policy, *params.dispatch.fallback], context)
        self.orders.dispatcher = self.policy
        self._pairing = self.policy.first(PairingPolicy)
        self.yearly: list[dict[str, Any]] = []
        self._year_first_order = 0
        self._reach = self._reach_matrix()
        self._elders_by_stairwell = self._count_elders_by_stairwell()
        self._willing = WillingCoverage(params, self.layout.space)
        self._coverage_samples: list[float] = []
        self._willing_samples: list[float] = []
        self._coverage_now = math.nan
        #: the state (Roster.count_key) at each hourly sample of the day, not yet turned into
        #: willing shares (at the day's end: each state not met before once, then looked up)
        self._willing_keys: list[bytes] = []
        self._willing_key = b""
        self._daily_availability = volunteers.daily_availability_share
        self._duty_hours = sorted(self._duty_change_hours())
        self.wall_seconds = 0.0
        self.daily: dict[str, float] = {}
        self._last_counts = dict(self.orders.counts)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": "steps",
                "orders_placed": "orders_placed_today",
                "orders_served": "orders_served_today",
                "orders_unmet": "orders_unmet_today",
                "active_volunteers": "active_volunteers",
                "coverage_15min_share": "coverage_15min_share_today",
                "willing_coverage_15min_share": "willing_coverage_15min_share_today",
            }
        )
        self._on_duty_count = 0
        self.events.sample_every(MIN_PER_HOUR, self._sample_hours, self.horizon_min)
        self._schedule_duty_change(0)

    # --- construction -------------------------------------------------------------------
    @staticmethod
    def _resolve(scenario, policy, days, overrides) -> Scenario:
        if isinstance(scenario, (str, Path)):
            params = scenario_module.load(scenario)
        else:
            params = scenario if scenario is not None else Scenario()
        extra = dict(overrides)
        if policy is not None:
            extra.update(scenario_module.chain_overrides(policy))
        if days is not None:
            extra["simulation.days"] = days
        return scenario_module.with_overrides(params, extra)

    def _build_space(self) -> None:
        layout, pop = self.layout, self.population
        self.grid = OrthogonalVonNeumannGrid(
            (layout.width_cells, layout.height_cells), torus=False, random=self.random
        )
        cells = [self.grid[tuple(xy)] for xy in layout.stairwell_xy.tolist()]
        grid_of = layout.stairwell_grid
        for s, cell in enumerate(cells):
            Stairwell(self, s, int(layout.stairwell_building[s]), int(grid_of[s]), cell)
        for p in range(len(layout.point_stairwell)):
            ServicePoint(
                self,
                p,
                SERVICE_CATEGORIES[layout.point_category[p]],
                int(layout.point_open_hour[p]),
                int(layout.point_close_hour[p]),
                cells[layout.point_stairwell[p]],
            )
        self._stairwell_cells = cells
        with _long_lived_frozen(self.population.size):
            self.residents = [
                Resident(self, r, cells[s]) for r, s in enumerate(pop.stairwell.tolist())
            ]

    def _reach_matrix(self):
        """Stairwells within a 15-minute walk of each other (sparse); None if all are."""
        speed = self.scenario_params.travel.speed_m_per_min
        return within_reach(self.layout.space, CIRCLE_MIN * speed)

    def _duty_change_hours(self) -> set[int]:
        """Hours of the week at which someone's availability changes or a service point opens
        (waiting orders then meet the volunteers who came on duty, or the point's host)."""
        table = self.roster.availability
        changes = {h for h in range(168) if (table[:, h] != table[:, h - 1]).any()} | {0}
        opening = set(self.layout.point_open_hour.tolist())
        return changes | {day * 24 + h for day in range(7) for h in opening if 0 <= h < 24}

    # --- running ------------------------------------------------------------------------
    @property
    def horizon_min(self) -> float:
        return self.days * MIN_PER_DAY

    def _schedule_duty_change(self, after_hour: int) -> None:
        """The next hour of the week, from ``after_hour`` on, at which someone's duty changes."""
        week, hour_of_week = divmod(after_hour, 168)
        later = [h for h in self._duty_hours if h >= hour_of_week]
        hour = week * 168 + (later[0] if later else 168 + self._duty_hours[0])
        when = hour * MIN_PER_HOUR
        if when < max(self.horizon_min, self.orders.settled_min):
            self.events.schedule_first(when, self._duty_change, hour)

    def _duty_change(self, hour: int) -> None:
        """Shifts change; waiting orders meet the volunteers who came on duty."""
        self.roster.change_shift(hour % 168)
        self._on_duty_count = self.roster.on_duty_total
        self.orders.serve_waiting()
        self._schedule_duty_change(hour + 1)

    def _set_hour(self, hour: int) -> None:
        self.roster.set_hour(hour % 168)
        self._on_duty_count = self.roster.on_duty_total

    def _sample_hours(self, count: int) -> None:
        """``count`` hourly samples of the present state (nothing changed in between)."""
        roster = self.roster
        roster.on_duty_min_total += self._on_duty_count * MIN_PER_HOUR * count
        if roster.changed:
            self._coverage_now = roster.reachable_share(self._reach, self._elders_by_stairwell)
            self._willing_key = roster.count_key()
            roster.changed = False
        self._coverage_samples.extend([self._coverage_now] * count)
        self._willing_keys.extend([self._willing_key] * count)

    def _take_willing_samples(self) -> None:
        """The willing shares of the states sampled since the last call (before the elders
        change at the day's end)."""
        if self._willing_keys:
            keys, self._willing_keys = self._willing_keys, []
            self._willing_samples.extend(self._willing.shares(keys, self._elders_by_stairwell))

    def _count_elders_by_stairwell(self) -> np.ndarray:
        pop = self.population
        return np.bincount(pop.stairwell[pop.client_ids], minlength=self.layout.n_stairwells)

    def step(self) -> None:
        """Simulate one day of orders."""
        day = self.steps - 1
        if day >= self.days:
            self.running = False
            return
        started = time.perf_counter()
        samples_before = len(self._coverage_samples)
        self._start_day(day)
        self.orders.start_day(self.demand.draw_day(day, self.population))
        self.events.run_until((day + 1) * MIN_PER_DAY)
        self._take_willing_samples()
        self.roster.end_day(self.scenario_params.acceptance.fatigue_recovery_per_day)
        self._end_of_day(day)
        if day + 1 == self.days:
            self._finish()
        counts = self.orders.counts
        today = self._coverage_samples[samples_before:]
        willing_today = self._willing_samples[samples_before:]
        self.daily = {
            "orders_placed": counts["requests"] - self._last_counts["requests"],
            "orders_served": counts["served"] - self._last_counts["served"],
            "orders_unmet": counts["unmet"] - self._last_counts["unmet"],
            "coverage_15min_share": float(np.mean(today)) if today else math.nan,
            "willing_coverage_15min_share": (
                float(np.mean(willing_today)) if willing_today else math.nan
            ),
        }
        self._last_counts = dict(counts)
        self.datacollector.collect(self)
        self.wall_seconds += time.perf_counter() - started

    def _start_day(self, day: int) -> None:
        """Who is well and at home today (``volunteers.daily_availability_share``, drawn for
        everyone from the availability stream: every policy meets the same absences)."""
        if self._daily_availability < 1.0:
            draw = self.streams["availability"].random(self.population.size)
            self.roster.start_day(draw < self._daily_availability)
            self._set_hour(day * 24)
            self.orders.serve_waiting()

    def _end_of_day(self, day: int) -> None:
        """People and volunteers change; Mesa agents and the roster follow."""
        arrived, left = self.dynamics.end_of_day(day, last=day + 1 == self.days)
        pop = self.population
        for r in left.tolist():
            self.residents[r].remove()
        if len(arrived):
            self.roster.grow(len(arrived))
            stairwells = self.population.stairwell[arrived].tolist()
            for r, s in zip(arrived.tolist(), stairwells, strict=True):
                self.residents.append(Resident(self, r, self._stairwell_cells[s]))
        if len(left) or self.dynamics.volunteers_change:
            replace_point_hosts(
                self.point_host, self.layout.point_stairwell, pop, self.layout.space
            )
        if (day + 1) % DAYS_PER_YEAR == 0:
            self.dynamics.end_of_year()
            self._record_year(day)
        if self._pairing and (day + 1) % self.scenario_params.dynamics.repair_interval_days == 0:
            self._pairing.form_pairs()
        if len(arrived) or len(left) or (day + 1) % DAYS_PER_YEAR == 0:
            self._elders_by_stairwell = self._count_elders_by_stairwell()
        if (day + 1) % DAYS_PER_WEEK == 0:
            self.roster.new_week()
        self._set_hour((day + 1) * 24)
        self.orders.serve_waiting()

    def _record_year(self, day: int) -> None:
        """The year's row of the yearly series."""
        pop = self.population
        first = self._year_first_order
        self._year_first_order = len(self.orders.status)
        year_table = self.orders.table(first, self._year_first_order)
        metrics = order_metrics(year_table)
        samples = self._coverage_samples[-DAYS_PER_YEAR * 24 :]
        row: dict[str, Any] = {"year": self.dynamics.calendar(day)[0]}
        for name, (low, high) in AGE_BANDS.items():
            band = pop.present & (pop.age_years >= low) & (pop.age_years <= high)
            row[f"residents_{name}"] = int(band.sum())
            row[f"active_volunteers_{name}"] = int((band & pop.active).sum())
        row["residents"] = pop.residents
        row["registered_volunteers"] = int(pop.registered.sum())
        row["active_volunteers"] = int(pop.active.sum())
        row["paired_elders_share"] = self.paired_elders_share()
        row["coverage_15min_share"] = float(np.mean(samples)) if samples else math.nan
        row["response_time_p90_min"] = metrics["response_time_p90_min"]
        row["unmet_share"] = metrics["unmet"] / metrics["requests"] if metrics["requests"] else 0.0
        by_urgency = urgency_metrics(year_table, self._pairing_stage())
        row.update({key: by_urgency[key] for key in YEARLY_URGENCY_METRICS})
        row.update(yearly_workload(year_table))
        row.update(self.dynamics.yearly_columns())
        self.yearly.append(row)

    def yearly_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.yearly)

    def _finish(self) -> None:
        """Let orders placed in time run to their expiry (scheduled visits booked past the last
        day included), close the rest as unmet, finish services."""
        self.events.run_until(max(self.horizon_min, self.orders.settled_min))
        self.orders.close_all()
        self.events.run_until(math.inf)
        self.running = False

    def run(self, on_day=None) -> None:
        """Run every remaining day; ``on_day(day)`` is called after each."""
        with _long_lived_frozen(self.population.size):
            while self.running:
                self.step()
                if on_day is not None:
                    on_day(self.steps)

    # --- results ------------------------------------------------------------------------
    def order_table(self) -> pd.DataFrame:
        table = self.orders.table()
        pop, layout = self.population, self.layout
        stairwell = pop.stairwell[table["elder"].to_numpy()]
        table["building"] = layout.stairwell_building[stairwell]
        table["grid"] = layout.stairwell_grid[stairwell]
        table["community"] = layout.community[stairwell]
        return table

    def community_table(self) -> pd.DataFrame:
        """Per-community people, volunteers and headline measures (sim.district)."""
        return community_table(
            self.orders.table(), self.layout, self.population, self._pairing_stage()
        )

    def daily_table(self) -> pd.DataFrame:
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def area_table(self, area: str) -> pd.DataFrame:
        """Per-grid or per-building metrics."""
        pop, layout = self.population, self.layout
        if area == "grid":
            area_of = layout.stairwell_grid[pop.stairwell]
        else:
            area_of = layout.stairwell_building[pop.stairwell]
        return breakdown(self.orders.table(), area_of, area)

    def distributions(self) -> dict[str, list]:
        """What charts need beyond the summary: response times of served urgent orders, orders
        per worker (sorted), and per-building totals of urgent orders (index = building; the
        map shows them: same-day and scheduled orders are measured by their windows)."""
        table = self.order_table()
        urgent = (table["urgency"] == URGENCIES.index("urgent")).to_numpy()
        table = table[urgent]
        served = (table["status"] == SERVED).to_numpy()
        unmet = (table["status"] == UNMET).to_numpy()
        building = table["building"].to_numpy()
        response = table["response_min"].to_numpy()
        n = self.layout.n_buildings
        counts = self.roster.served_count
        workers = np.flatnonzero(self.population.active | (counts > 0))
        per_community = {}
        if len(self.layout.community_names) > 1:  # the report's district map
            per_community["community.urgent_response_time_p90_min"] = community_values(
                self.orders.table(),
                self.layout,
                self.population,
                "urgent_response_time_p90_min",
                self._pairing_stage(),
            )
        return {
            **per_community,
            "dist.response_min": response[served].tolist(),
            "dist.workload_orders": np.sort(counts[workers]).tolist(),
            "building.requests": np.bincount(building, minlength=n).tolist(),
            "building.served": np.bincount(building[served], minlength=n).tolist(),
            "building.unmet": np.bincount(building[unmet], minlength=n).tolist(),
            "building.response_sum_min": np.bincount(
                building[served], weights=response[served], minlength=n
            ).tolist(),
        }

    @property
    def coverage_15min_share(self) -> float:
        samples = self._coverage_samples[: self.days * 24]
        return float(np.mean(samples)) if samples else math.nan

    @property
    def willing_coverage_15min_share(self) -> float:
        samples = self._willing_samples[: self.days * 24]
        return float(np.mean(samples)) if samples else math.nan

    @property
    def volunteer_utilisation(self) -> float:
        on_duty = self.roster.on_duty_min_total
        return float(self.roster.busy_min.sum() / on_duty) if on_duty else math.nan

    def _pairing_stage(self) -> int:
        """The chain's stage of the pairing policy (-1 without one)."""
        return self.policy.policies.index(self._pairing) if self._pairing else -1

    def paired_elders_share(self) -> float | None:
        return self._pairing.paired_share() if self._pairing else None

    def summary(self) -> dict[str, Any]:
        """End-of-run metrics as one flat dict (the keys of ``volsim run --json``)."""
        table = self.orders.table()
        result: dict[str, Any] = order_metrics(table)
        served = self.roster.served_count
        workers = np.flatnonzero(self.population.active | (served > 0))
        result.update(workload_metrics(served, workers))
        roster = self.roster
        result.update(
            burden_metrics(served, roster.busy_min, roster.budget_min_total, self.days / 30.4375)
        )
        result.update(urgency_metrics(table, self._pairing_stage()))
        result["acceptance_share"] = self.acceptance.acceptance_share
        result["serves_all_elders"] = self.policy.serves_all_elders
        result["coverage_15min_share"] = self.coverage_15min_share
        result["willing_coverage_15min_share"] = self.willing_coverage_15min_share
        result["volunteer_utilisation"] = self.volunteer_utilisation
        result["active_volunteers"] = int(self.population.active.sum())
        result["paired_elders_share"] = self.paired_elders_share()
        result["residents_final"] = self.population.residents
        result["active_volunteers_final"] = int(self.population.active.sum())
        result["paired_elders_share_final"] = self.paired_elders_share()
        result["policy"] = self.policy.name
        result["seed"] = self.seed
        result["days"] = self.days
        result["events"] = self.events.events_run
        result["wall_seconds"] = self.wall_seconds
        return result

    # --- the day's figures (DataCollector reports them by name) --------------------------
    @property
    def orders_placed_today(self) -> int:
        return int(self.daily.get("orders_placed", 0))

    @property
    def orders_served_today(self) -> int:
        return int(self.daily.get("orders_served", 0))

    @property
    def orders_unmet_today(self) -> int:
        return int(self.daily.get("orders_unmet", 0))

    @property
    def coverage_15min_share_today(self) -> float:
        return float(self.daily.get("coverage_15min_share", math.nan))

    @property
    def willing_coverage_15min_share_today(self) -> float:
        return float(self.daily.get("willing_coverage_15min_share", math.nan))

    @property
    def active_volunteers(self) -> int:
        return int(self.population.active.sum())
