"""People and volunteers changing over days and years, on arrays for everyone at once.

Each day the order book's services, ratings and declines are booked per volunteer. At the end
of each period (``update_interval_days``, a week by default, and at each year's end), with
probabilities for the period's length:
- volunteers' motivation rises with good ratings, recognition (volunteer points, 志愿服务积分,
  per hour served) and rest, and falls with overwork (beyond ``comfortable_work_min_per_day``),
  their own declines and bad ratings;
- an active volunteer stops with annual probability ``stop_per_year``, its hazard scaled by
  exp(sensitivity · (initial − motivation)), or at once when burnt out (fatigue at or above
  ``burnout_fatigue`` after a service); inactive volunteers return at ``return_per_year`` and
  leave the registry at ``leave_registry_per_year``;
- residents join the registry at a yearly rate set by their ties to active volunteers (same
  stairwell, the grid's active share, a focal household in the building), more around event
  days (the monthly volunteer day, the 3·18 volunteer week, the quarterly welfare market);
- residents die (Gompertz hazard a·e^(b·age)), move away (by age band), and households move in;
  babies are born into households with adults of child-bearing age.
Yearly: everyone present ages one year; living arrangements, patterns and order groups are
recomputed; a volunteer older than ``volunteers.max_age_years`` (79) leaves the registry.
Pairs are re-formed every ``repair_interval_days`` (by the model).

Draws come from two streams: ``ageing`` (deaths, moves, arrivals: the same under every policy)
and ``dynamics`` (stops, returns and recruitment), one uniform per resident slot per period, so
that policies consume them identically (common random numbers).
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import numpy as np

from sim.population import Population, patterns

if TYPE_CHECKING:
    from sim.community import Layout
    from sim.roster import Roster
    from sim.scenario import Scenario

DAYS_PER_YEAR = 365
MONTH_START_DAY = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
#: volunteer day: the 5th of each month; 3·18 week: March 18-24; market: mid-quarter (assumed)
VOLUNTEER_DAYS = frozenset(start + 4 for start in MONTH_START_DAY)
VOLUNTEER_WEEK = frozenset(range(MONTH_START_DAY[2] + 17, MONTH_START_DAY[2] + 24))
MARKET_DAYS = frozenset(MONTH_START_DAY[m] + 14 for m in (0, 3, 6, 9))
MAX_AGE_YEARS = 130
#: arriving households have 1, 2 or 3 members with probabilities 0.3, 0.3, 0.4: one uniform
#: placed among the cumulative shares (as Generator.choice(p=...) does, without its checks)
ARRIVING_SIZE_CUMULATIVE = (0.3, 0.6, 1.0)
#: the largest exponent np.exp takes without overflow (e^709.78 is the largest float)
MAX_EXPONENT = 709.0


def per_period(per_year: np.ndarray | float, days: int) -> np.ndarray | float:
    """The probability over ``days`` of an event with this annual probability."""
    return 1.0 - (1.0 - np.minimum(per_year, 1.0)) ** (days / DAYS_PER_YEAR)


class Dynamics:
    """Daily bookkeeping and periodic updates of the population and the volunteer registry.

    It takes only what it uses: the scenario, the residents (updated in place), the layout
    (stairwells, grids, focal households), the roster (who is busy, fatigue) and the run's
    ``ageing`` and ``dynamics`` streams. The order book calls :meth:`record_service` and
    :meth:`record_decline`; the model calls :meth:`end_of_day` and :meth:`end_of_year`.
    """

    def __init__(
        self,
        scenario: Scenario,
        population: Population,
        layout: Layout,
        roster: Roster,
        streams: dict[str, np.random.Generator],
    ) -> None:
        self.scenario = scenario
        self.population = population
        self.layout = layout
        self.roster = roster
        self.params = scenario.dynamics
        self.start_year = scenario.simulation.start_year
        self.retiree_age_years = scenario.volunteers.retiree_age_years
        self.min_age = scenario.volunteers.min_age_years
        self.max_age = scenario.volunteers.max_age_years
        self.fixed_volunteers = (
            scenario.volunteers.always_available or scenario.volunteers.count is not None
        )
        self.volunteers_change = self.params.volunteers and not self.fixed_volunteers
        self.people_change = self.params.population
        self.ageing_rng = streams["ageing"]
        self.rng = streams["dynamics"]
        self.counts = {"arrivals": 0, "births": 0, "deaths": 0, "departures": 0}
        self.counts.update(left_home=0, moved_in_with_family=0, partners=0)
        self.counts.update(joined=0, stopped=0, burnt_out=0, returned=0, left_registry=0)
        self._last_year_counts = dict(self.counts)
        self.left_day = np.full(population.size, -1)
        self._period_start = 0
        # the period's bookings, kept only for those who served or declined in it (a few
        # hundred of the thousands of resident slots): made arrays once, at the period's end
        self._work_today: dict[int, float] = {}
        self._rating_sum: dict[int, float] = {}  # stars above rating_neutral_stars
        self._work_min: dict[int, float] = {}
        self._overwork_min: dict[int, float] = {}  # beyond comfortable_work_min_per_day
        self._days_worked: dict[int, int] = {}
        self._declines: dict[int, int] = {}
        self._burnt: set[int] = set()  # fatigue reached burnout after a service
        self._focal_stairwell = layout.building_focal_count[layout.stairwell_building] > 0
        self._stairwell_grid = layout.stairwell_grid
        self._tables: dict[int, dict[str, np.ndarray | float]] = {}
        self._events: dict[tuple[int, int], float] = {}

    def _period_tables(self, days: int) -> dict[str, np.ndarray | float]:
        """Probabilities over a period of ``days`` (cached: periods repeat)."""
        if days not in self._tables:
            p, people = self.params, self.scenario.population
            ages = np.arange(MAX_AGE_YEARS + 1)
            # a household moves away at the rate of its oldest member's age band
            move = np.select(
                [ages < 18, ages < 60],
                [p.departure_per_year_under_18, p.departure_per_year_18_59 * p.ageing_speed],
                p.departure_per_year_60_plus,
            )
            death = np.zeros(len(ages))
            if p.gompertz_a_per_year > 0:
                # a hazard beyond the largest float is a certain death (per_period caps it at
                # 1), not a warning: gompertz_b_per_year has no upper bound
                with np.errstate(over="ignore"):
                    death = p.gompertz_a_per_year * np.exp(p.gompertz_b_per_year * ages)
            elder_move = np.select(
                [ages < 60, ages < 80],
                [0.0, people.alone_elder_moves_per_year_60_79],
                people.alone_elder_moves_per_year_80_plus,
            )
            self._tables[days] = {
                "death_by_age": per_period(death, days),
                "move_by_age": per_period(move, days),
                "alone_elder_move_by_age": per_period(elder_move, days),
                "leave_home": per_period(people.leave_home_per_year * p.ageing_speed, days),
                "stop": per_period(p.stop_per_year, days),
                "return": per_period(p.return_per_year, days),
                "leave": per_period(p.leave_registry_per_year, days),
            }
        return self._tables[days]

    # --- events during the day (called by the order book) ---------------------------------
    def record_service(self, v: int, stars: float, work_min: float) -> None:
        """A finished service: its rating, its minutes, and burnout if fatigue has built up."""
        rating_sum = self._rating_sum
        rating_sum[v] = rating_sum.get(v, 0.0) + (stars - self.params.rating_neutral_stars)
        self._work_today[v] = self._work_today.get(v, 0.0) + work_min
        if self.roster.fatigue[v] >= self.params.burnout_fatigue:
            self._burnt.add(v)

    def record_decline(self, v: int) -> None:
        self._declines[v] = self._declines.get(v, 0) + 1

    def _booked(self, booked: dict[int, float] | dict[int, int], ids: np.ndarray) -> np.ndarray:
        """A period's bookings for residents ``ids`` (0 for those without any)."""
        values = np.zeros(self.population.size)
        n = len(booked)
        values[np.fromiter(booked, np.intp, n)] = np.fromiter(booked.values(), float, n)
        return values[ids]

    # --- the day's end -------------------------------------------------------------------
    def calendar(self, day: int) -> tuple[int, int]:
        """(calendar year, day of year) of a simulation day."""
        return self.start_year + day // DAYS_PER_YEAR, day % DAYS_PER_YEAR

    def end_of_day(self, day: int, last: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Book the day's work; at the end of a period (every ``update_interval_days``, at
        each year's end and on the ``last`` day) apply the period's changes.
        Return (ids who arrived, ids who left)."""
        comfortable = self.params.comfortable_work_min_per_day
        work, overwork, days_worked = self._work_min, self._overwork_min, self._days_worked
        for v, minutes in self._work_today.items():
            work[v] = work.get(v, 0.0) + minutes
            beyond = minutes - comfortable
            if beyond > 0.0:  # adding nothing leaves the sum as it is
                overwork[v] = overwork.get(v, 0.0) + beyond
            days_worked[v] = days_worked.get(v, 0) + 1
        self._work_today.clear()
        none = np.empty(0, dtype=np.int64)
        ends_period = (
            last
            or (day + 1 - self._period_start) >= self.params.update_interval_days
            or (day + 1) % DAYS_PER_YEAR == 0
        )
        if not ends_period:
            return none, none
        first, days = self._period_start, day + 1 - self._period_start
        self._period_start = day + 1
        pop = self.population
        tables = self._period_tables(days)
        left, arrived = none, none
        if self.volunteers_change:
            self._motivation(pop, days)
            self._activity(pop, tables)
            self._recruitment(pop, first, days)
        if self.people_change:
            left = self._deaths_and_departures(pop, day, tables)
            arrived = self._arrivals(pop, days)
        for booked in (self._rating_sum, work, overwork, days_worked, self._declines):
            booked.clear()
        return arrived, left

    def _motivation(self, pop: Population, days: int) -> None:
        """The period's motivation of registered volunteers; everyone else's is 0."""
        p = self.params
        ids = np.flatnonzero(pop.registered)
        m = pop.motivation[ids]
        m += p.rating_gain_per_star * self._booked(self._rating_sum, ids)
        m += p.recognition_gain_per_hour * self._booked(self._work_min, ids) / 60.0
        overwork_min = self._booked(self._overwork_min, ids)
        declines = self._booked(self._declines, ids)
        m -= p.overwork_loss_per_hour * overwork_min / 60.0 + p.decline_loss * declines
        rested_days = days - self._booked(self._days_worked, ids)
        m += (p.motivation_initial - m) * (1.0 - (1.0 - p.rest_recovery_per_day) ** rested_days)
        np.clip(m, 0.0, 1.0, out=m)
        pop.motivation.fill(0.0)
        pop.motivation[ids] = m

    def _activity(self, pop: Population, tables: dict) -> None:
        p = self.params
        u = self.rng.random(pop.size)
        # the exponent capped where exp would overflow: a hazard that large is a certain stop
        # (u < hazard), and 0 stays 0 with stop_per_year = 0 (not inf · 0)
        exponent = p.stop_motivation_sensitivity * (p.motivation_initial - pop.motivation)
        hazard = tables["stop"] * np.exp(np.minimum(exponent, MAX_EXPONENT))
        burnt = np.zeros(pop.size, dtype=bool)
        burnt[list(self._burnt)] = True
        burnt &= pop.active
        self._burnt.clear()
        stop = pop.active & ((u < hazard) | burnt)
        resting = pop.registered & ~pop.active
        back = resting & (u < tables["return"])
        leave = resting & (u > 1.0 - tables["leave"])
        busy = self.roster.busy
        stop &= ~busy  # a volunteer finishes the order in hand first
        pop.active[stop] = False
        pop.active[back] = True
        pop.motivation[back] = p.motivation_initial
        pop.registered[leave] = False
        pop.motivation[leave] = 0.0
        self.counts["stopped"] += int(np.count_nonzero(stop))
        self.counts["burnt_out"] += int(np.count_nonzero(stop & burnt))
        self.counts["returned"] += int(np.count_nonzero(back))
        self.counts["left_registry"] += int(np.count_nonzero(leave))

    def recruitment_effort(self, year: int) -> float:
        """Effort in a calendar year: ``recruitment_effort``, rising along a logistic path to
        ``recruitment_effort_final`` (if set; mid-year of ``year``), then any steps."""
        p = self.params
        effort = p.recruitment_effort
        if p.recruitment_effort_final is not None:
            # 10% to 90% of the rise takes rise_years: the logistic's scale is rise / (2 ln 9)
            x = (year + 0.5 - p.recruitment_effort_midpoint_year) / p.recruitment_effort_rise_years
            exponent = min(700.0, -2 * math.log(9) * x)  # no overflow far before the rise
            effort += (p.recruitment_effort_final - effort) / (1.0 + math.exp(exponent))
        for start, value in sorted(p.recruitment_effort_steps):
            if year >= start:
                effort = value
        return effort

    def event_multiplier(self, day_of_year: int) -> float:
        p = self.params
        if day_of_year in VOLUNTEER_WEEK:
            return p.volunteer_week_multiplier
        if day_of_year in MARKET_DAYS:
            return p.market_multiplier
        if day_of_year in VOLUNTEER_DAYS:
            return p.volunteer_day_multiplier
        return 1.0

    def _mean_event_multiplier(self, first_day: int, days: int) -> float:
        """The mean event multiplier over ``days`` from ``first_day`` (cached: the periods of
        one year are those of the next)."""
        key = (self.calendar(first_day)[1], days)
        if key not in self._events:
            self._events[key] = np.mean(
                [
                    self.event_multiplier(self.calendar(d)[1])
                    for d in range(first_day, first_day + days)
                ]
            )
        return self._events[key]

    def _recruitment(self, pop: Population, first_day: int, days: int) -> None:
        p, layout = self.params, self.layout
        year = self.calendar(first_day)[0]
        events = self._mean_event_multiplier(first_day, days)
        u = self.rng.random(pop.size)
        age = pop.age_years
        eligible = pop.present & ~pop.registered & (age >= self.min_age) & (age <= self.max_age)
        ids = np.flatnonzero(eligible)
        if len(ids) == 0:
            return
        grid_of = self._stairwell_grid
        # per stairwell, then per grid (sums of whole numbers: exact as floats); those present
        # (most slots) counted as weights, quicker than picked out
        active_here = np.bincount(pop.stairwell[pop.active], minlength=layout.n_stairwells)
        people_here = np.bincount(pop.stairwell, weights=pop.present, minlength=layout.n_stairwells)
        grid_active = np.bincount(grid_of, weights=active_here)
        grid_share = grid_active / np.maximum(1, np.bincount(grid_of, weights=people_here))
        stairwell = pop.stairwell[ids]
        rate_per_year = (
            p.recruit_spontaneous_per_year
            + p.recruit_per_active_neighbour_per_year * active_here[stairwell]
            + p.recruit_per_grid_active_share_per_year * grid_share[grid_of[stairwell]]
            + p.recruit_focal_building_per_year * self._focal_stairwell[stairwell]
        ) * (self.recruitment_effort(year) * events)
        # a rate, not a probability: joining within the period is 1 - exp(-rate · years)
        join = ids[u[ids] < -np.expm1(-rate_per_year * days / DAYS_PER_YEAR)]
        pop.registered[join] = True
        pop.active[join] = True
        pop.motivation[join] = p.motivation_initial
        self.counts["joined"] += len(join)

    def _deaths_and_departures(self, pop: Population, day: int, tables: dict) -> np.ndarray:
        """Deaths; households moving away; adult children leaving home; elders living alone
        moving to their children or into care. Return the ids of those who left.

        Worked out for the residents present only (``here``: every mask is over them), with one
        uniform drawn per resident slot, as always."""
        here = np.flatnonzero(pop.present)
        age = np.minimum(pop.age_years[here], MAX_AGE_YEARS)
        n_households = int(pop.household.max()) + 1
        u = self.ageing_rng.random(pop.size)[here]
        u_household = self.ageing_rng.random(n_households)
        home = pop.household[here]
        oldest = np.full(n_households, -1)
        np.maximum.at(oldest, home, age)
        size = np.bincount(home, minlength=n_households)
        dies = u < tables["death_by_age"][age]
        household_moves = u_household < tables["move_by_age"][np.maximum(oldest, 0)]
        moves = ~dies & household_moves[home]
        stays = ~dies & ~moves
        # disjoint groups by age, so one uniform decides: u above 1 - p means the event
        leaves_home = (
            stays
            & (age >= 18)
            & (age < 30)
            & (oldest[home] >= age + 18)
            & (u > 1.0 - tables["leave_home"])
        )
        elder_p = tables["alone_elder_move_by_age"][age]
        elder_goes = stays & (size[home] == 1) & (u > 1.0 - elder_p)
        # the top share of that interval: into a family household of the same stairwell
        into_family = elder_goes & (
            u > 1.0 - elder_p * self.scenario.population.moves_in_with_family_share
        )
        if self.fixed_volunteers:  # the queueing-limit volunteers never leave
            for leaving in (dies, moves, leaves_home, elder_goes, into_family):
                leaving &= ~pop.active[here]
        elders = np.flatnonzero(into_family)
        moved_in = np.zeros(len(here), dtype=bool)
        moved_in[elders] = self._move_in_with_family(pop, here[elders], here[stays & ~leaves_home])
        gone = (moves | leaves_home | elder_goes) & ~moved_in
        left = here[dies | gone]
        pop.remove(left)
        self.left_day[left] = day
        self.counts["deaths"] += int(np.count_nonzero(dies))
        self.counts["departures"] += int(np.count_nonzero(gone))
        self.counts["left_home"] += int(np.count_nonzero(leaves_home))
        self.counts["moved_in_with_family"] += int(np.count_nonzero(moved_in))
        return left

    def _move_in_with_family(
        self, pop: Population, elders: np.ndarray, staying: np.ndarray
    ) -> np.ndarray:
        """Elders who join a household with a member aged 18-59 in their own stairwell, among
        the ids ``staying`` (the household changes; the stairwell, and the floor the roster
        knows, do not); return which of ``elders`` found one."""
        moved = np.zeros(len(elders), dtype=bool)
        if len(elders) == 0:
            return moved
        staying_age = pop.age_years[staying]
        adult = staying[(staying_age >= 18) & (staying_age < 60)]
        adult_stairwell = pop.stairwell[adult]
        for i, e in enumerate(elders.tolist()):
            candidates = adult[adult_stairwell == pop.stairwell[e]]
            if len(candidates) == 0:
                continue
            host = candidates[self.ageing_rng.integers(len(candidates))]
            pop.household[e] = pop.household[host]
            moved[i] = True
        return moved

    def _arrivals(self, pop: Population, days: int) -> np.ndarray:
        p, rng = self.params, self.ageing_rng
        years = days / DAYS_PER_YEAR
        households = rng.poisson(p.arriving_households_per_year / p.ageing_speed * years)
        mothers = pop.present & (pop.age_years >= 22) & (pop.age_years <= 40)
        births = rng.poisson(p.births_per_1000_per_year * pop.residents / 1000 * years)
        # couples: a partner of about their age moves in with someone aged 22-59 living alone
        here = pop.present
        size = np.bincount(pop.household, weights=here)  # people per household (as floats)
        singles = np.flatnonzero(
            here & (size[pop.household] == 1) & (pop.age_years >= 22) & (pop.age_years < 60)
        )
        partner_p = per_period(self.scenario.population.single_partner_per_year, days)
        singles = singles[rng.random(len(singles)) < partner_p]
        if households == 0 and len(singles) == 0 and (births == 0 or not mothers.any()):
            return np.empty(0, dtype=np.int64)
        ages, household, stairwell, floor = [], [], [], []
        next_household = int(pop.household.max()) + 1
        layout = self.layout
        floors = self.scenario.community.floors_per_building
        for h in range(households):
            size = 1 + bisect.bisect_right(ARRIVING_SIZE_CUMULATIVE, rng.random())
            adult = int(rng.integers(22, 46))
            members = [adult, max(18, adult + int(rng.integers(-3, 4))), int(rng.integers(0, 11))]
            ages += members[:size]
            household += [next_household + h] * size
            stairwell += [int(rng.integers(layout.n_stairwells))] * size
            floor += [int(rng.integers(1, floors + 1))] * size
        partner_age = pop.age_years[singles] + rng.integers(-3, 4, len(singles))
        ages += np.maximum(18, partner_age).tolist()
        household += pop.household[singles].tolist()
        stairwell += pop.stairwell[singles].tolist()
        floor += pop.floor[singles].tolist()
        self.counts["partners"] += len(singles)
        parents = np.flatnonzero(mothers)
        if births and len(parents):
            for parent in rng.choice(parents, births).tolist():
                ages.append(0)
                household.append(int(pop.household[parent]))
                stairwell.append(int(pop.stairwell[parent]))
                floor.append(int(pop.floor[parent]))
            self.counts["births"] += births
        self.counts["arrivals"] += len(ages) - (births if len(parents) else 0)
        n = len(ages)
        age = np.array(ages, dtype=np.int64)
        false = np.zeros(n, dtype=bool)
        ids = pop.append(
            {
                "age_years": age,
                "household": np.array(household, dtype=np.int64),
                "stairwell": np.array(stairwell, dtype=np.int64),
                "floor": np.array(floor, dtype=np.int64),
                "living_alone": false,
                "empty_nest": false,
                "registered": false,
                "active": false,
                "pattern": patterns(age, self.retiree_age_years),
                "client_group": np.zeros(n, dtype=np.int64),
                "present": np.ones(n, dtype=bool),
                "motivation": np.zeros(n),
            }
        )
        self.left_day = np.concatenate([self.left_day, np.full(n, -1)])
        return ids

    # --- the year's end ------------------------------------------------------------------
    def end_of_year(self) -> None:
        """Birthdays; volunteers of 80 stop; arrangements and order groups recomputed."""
        if not self.people_change:
            return
        pop = self.population
        pop.age_years[pop.present] += 1
        aged_out = pop.registered & (pop.age_years > self.max_age)
        if self.fixed_volunteers:
            aged_out[:] = False
        pop.active[aged_out] = False
        pop.registered[aged_out] = False
        pop.refresh_households(self.retiree_age_years)

    def yearly_columns(self) -> dict[str, float]:
        """What decides sustainability, for the year's row: living arrangements of those aged
        60+, helpers aged 60-69 per elder eligible for a pair, the age of active volunteers,
        and stops (burnout among them) in the year."""
        pop = self.population
        elder = pop.present & (pop.age_years >= 60)
        n_elder = max(1, int(elder.sum()))
        eligible = pop.present & (pop.age_years >= 80) & (pop.living_alone | pop.empty_nest)
        helpers = pop.active & (pop.age_years >= 60) & (pop.age_years <= 69)
        active_age = pop.age_years[pop.active]
        counts, last = self.counts, self._last_year_counts
        row = {
            "living_alone_share_60_plus": float((pop.living_alone & elder).sum() / n_elder),
            "empty_nest_share_60_plus": float((pop.empty_nest & elder).sum() / n_elder),
            "eligible_elders": int(eligible.sum()),
            "helpers_60_69_per_eligible_elder": (
                float(helpers.sum() / eligible.sum()) if eligible.any() else math.nan
            ),
            "active_volunteer_age_mean_years": (
                float(active_age.mean()) if len(active_age) else math.nan
            ),
            "active_volunteer_age_median_years": (
                float(np.median(active_age)) if len(active_age) else math.nan
            ),
            "volunteer_stops": counts["stopped"] - last["stopped"],
            "burnout_stops": counts["burnt_out"] - last["burnt_out"],
        }
        self._last_year_counts = dict(counts)
        return row
