"""People and volunteers changing over days and years, on arrays for everyone at once.

Daily, after the day's orders:
- volunteers' motivation rises with good ratings, recognition (volunteer points, 志愿服务积分,
  per hour served) and rest, and falls with overwork, their own declines and bad ratings;
- an active volunteer stops at an annual hazard ``stop_per_year`` scaled by
  exp(sensitivity · (initial − motivation)), or at once when burnt out (fatigue at or above
  ``burnout_fatigue``); inactive volunteers return at ``return_per_year`` and leave the
  registry at ``leave_registry_per_year``;
- residents join the registry through their ties to active volunteers (same stairwell, the
  grid's active share, a focal household in the building), more on event days (the monthly
  volunteer day, the 3·18 volunteer week, the quarterly public-welfare market);
- residents die (Gompertz hazard a·e^(b·age)), move away (by age band), and households move in;
  babies are born into households with adults of child-bearing age.
Yearly: everyone present ages one year; living arrangements, patterns and order groups are
recomputed; a volunteer who reaches 80 stops volunteering. Pairs are re-formed every
``repair_interval_days``.

Draws come from two streams: ``ageing`` (deaths, moves, arrivals: the same under every policy)
and ``dynamics`` (motivation and recruitment), each drawing one uniform per resident slot per day
so that policies consume them identically (common random numbers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.population import Population, patterns

if TYPE_CHECKING:
    from sim.model import VolunteerModel

DAYS_PER_YEAR = 365
MONTH_START_DAY = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
#: volunteer day: the 5th of each month; 3·18 week: March 18-24; market: mid-quarter (assumed)
VOLUNTEER_DAYS = frozenset(start + 4 for start in MONTH_START_DAY)
VOLUNTEER_WEEK = frozenset(range(MONTH_START_DAY[2] + 17, MONTH_START_DAY[2] + 24))
MARKET_DAYS = frozenset(MONTH_START_DAY[m] + 14 for m in (0, 3, 6, 9))
MAX_VOLUNTEER_AGE_YEARS = 79
MAX_AGE_YEARS = 130


def _daily(per_year: np.ndarray | float) -> np.ndarray | float:
    """A daily probability from an annual one."""
    return 1.0 - (1.0 - np.minimum(per_year, 1.0)) ** (1.0 / DAYS_PER_YEAR)


class Dynamics:
    """Daily and yearly updates of the population and the volunteer registry."""

    def __init__(self, model: VolunteerModel) -> None:
        params = model.scenario_params
        self.model = model
        self.params = params.dynamics
        self.start_year = params.simulation.start_year
        self.retiree_age_years = params.volunteers.retiree_age_years
        self.fixed_volunteers = (
            params.volunteers.always_available or params.volunteers.count is not None
        )
        self.volunteers_change = self.params.volunteers and not self.fixed_volunteers
        self.people_change = self.params.population
        self.ageing_rng = model.streams["ageing"]
        self.rng = model.streams["dynamics"]
        self.counts = {"arrivals": 0, "births": 0, "deaths": 0, "departures": 0}
        self.counts.update(joined=0, stopped=0, burnt_out=0, returned=0, left_registry=0)
        self.left_day = np.full(model.population.size, -1)
        self._reset_day(model.population.size)
        p = self.params
        ages = np.arange(MAX_AGE_YEARS + 1)
        self._death_by_age = _daily(p.gompertz_a_per_year * np.exp(p.gompertz_b_per_year * ages))
        move = np.select(
            [ages < 18, ages < 60],
            [p.departure_per_year_under_18, p.departure_per_year_18_59 * p.ageing_speed],
            p.departure_per_year_60_plus,
        )
        self._move_by_age = _daily(move)
        self._stop = _daily(p.stop_per_year)
        self._return = _daily(p.return_per_year)
        self._leave = _daily(p.leave_registry_per_year)
        layout = model.layout
        self._focal_stairwell = layout.building_focal_count[layout.stairwell_building] > 0

    # --- events during the day (called by the order book) ---------------------------------
    def _reset_day(self, n: int) -> None:
        self.rating_today = np.zeros(n)
        self.work_min_today = np.zeros(n)
        self.declines_today = np.zeros(n)

    def record_service(self, v: int, stars: float, work_min: float) -> None:
        self.rating_today[v] += stars - self.params.rating_neutral_stars
        self.work_min_today[v] += work_min

    def record_decline(self, v: int) -> None:
        self.declines_today[v] += 1

    # --- the day's end -------------------------------------------------------------------
    def calendar(self, day: int) -> tuple[int, int]:
        """(calendar year, day of year) of a simulation day."""
        return self.start_year + day // DAYS_PER_YEAR, day % DAYS_PER_YEAR

    def end_of_day(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Apply the day's changes; return (ids who arrived, ids who left)."""
        pop = self.model.population
        left = np.empty(0, dtype=np.int64)
        arrived = np.empty(0, dtype=np.int64)
        if self.volunteers_change:
            self._motivation(pop)
            self._activity(pop)
            self._recruitment(pop, day)
        if self.people_change:
            left = self._deaths_and_departures(pop, day)
            arrived = self._arrivals(pop)
        self._reset_day(pop.size)
        return arrived, left

    def _motivation(self, pop: Population) -> None:
        p = self.params
        m = pop.motivation
        served_hours = self.work_min_today / 60.0
        overwork = np.maximum(0.0, self.work_min_today - p.comfortable_work_min_per_day) / 60.0
        rested = self.work_min_today == 0
        m += p.rating_gain_per_star * self.rating_today + p.recognition_gain_per_hour * served_hours
        m -= p.overwork_loss_per_hour * overwork + p.decline_loss * self.declines_today
        m += np.where(rested, p.rest_recovery_per_day * (p.motivation_initial - m), 0.0)
        np.clip(m, 0.0, 1.0, out=m)
        m[~pop.registered] = 0.0

    def _activity(self, pop: Population) -> None:
        p = self.params
        u = self.rng.random(pop.size)
        hazard = self._stop * np.exp(
            p.stop_motivation_sensitivity * (p.motivation_initial - pop.motivation)
        )
        burnt = pop.active & (self.model.roster.fatigue >= p.burnout_fatigue)
        stop = pop.active & ((u < hazard) | burnt)
        resting = pop.registered & ~pop.active
        back = resting & (u < self._return)
        leave = resting & (u > 1.0 - self._leave)
        busy = self.model.roster.busy
        stop &= ~busy  # a volunteer finishes the order in hand first
        pop.active[stop] = False
        pop.active[back] = True
        pop.motivation[back] = p.motivation_initial
        pop.registered[leave] = False
        pop.motivation[leave] = 0.0
        self.counts["stopped"] += int(stop.sum())
        self.counts["burnt_out"] += int((stop & burnt).sum())
        self.counts["returned"] += int(back.sum())
        self.counts["left_registry"] += int(leave.sum())

    def recruitment_effort(self, year: int) -> float:
        effort = self.params.recruitment_effort
        for start, value in sorted(self.params.recruitment_effort_steps):
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

    def _recruitment(self, pop: Population, day: int) -> None:
        p, layout = self.params, self.model.layout
        year, day_of_year = self.calendar(day)
        u = self.rng.random(pop.size)
        age = pop.age_years
        eligible = pop.present & ~pop.registered & (age >= 14) & (age <= MAX_VOLUNTEER_AGE_YEARS)
        ids = np.flatnonzero(eligible)
        if len(ids) == 0:
            return
        grid_of = layout.stairwell_grid
        active_stairwells = pop.stairwell[pop.active]
        active_here = np.bincount(active_stairwells, minlength=layout.n_stairwells)
        grid_active = np.bincount(grid_of[active_stairwells], minlength=layout.n_grids)
        grid_people = np.bincount(grid_of[pop.stairwell[pop.present]], minlength=layout.n_grids)
        grid_share = grid_active / np.maximum(1, grid_people)
        stairwell = pop.stairwell[ids]
        rate_per_year = (
            p.recruit_spontaneous_per_year
            + p.recruit_per_active_neighbour_per_year * active_here[stairwell]
            + p.recruit_per_grid_active_share_per_year * grid_share[grid_of[stairwell]]
            + p.recruit_focal_building_per_year * self._focal_stairwell[stairwell]
        ) * (self.recruitment_effort(year) * self.event_multiplier(day_of_year))
        join = ids[u[ids] < _daily(rate_per_year)]
        pop.registered[join] = True
        pop.active[join] = True
        pop.motivation[join] = p.motivation_initial
        self.counts["joined"] += len(join)

    def _deaths_and_departures(self, pop: Population, day: int) -> np.ndarray:
        age = np.minimum(pop.age_years, MAX_AGE_YEARS)
        u = self.ageing_rng.random(pop.size)
        dies = pop.present & (u < self._death_by_age[age])
        moves = pop.present & ~dies & (u > 1.0 - self._move_by_age[age])
        if self.fixed_volunteers:  # the queueing-limit volunteers never leave
            dies &= ~pop.active
            moves &= ~pop.active
        busy = self.model.roster.busy | self.model.roster.reserved
        dies &= ~busy  # they leave once the order in hand is done
        moves &= ~busy
        left = np.flatnonzero(dies | moves)
        pop.remove(left)
        self.left_day[left] = day
        self.counts["deaths"] += int(dies.sum())
        self.counts["departures"] += int(moves.sum())
        return left

    def _arrivals(self, pop: Population) -> np.ndarray:
        p, rng = self.params, self.ageing_rng
        households = rng.poisson(p.arriving_households_per_year / p.ageing_speed / DAYS_PER_YEAR)
        mothers = pop.present & (pop.age_years >= 22) & (pop.age_years <= 40)
        births = rng.poisson(p.births_per_1000_per_year * pop.residents / 1000 / DAYS_PER_YEAR)
        if households == 0 and (births == 0 or not mothers.any()):
            return np.empty(0, dtype=np.int64)
        ages, household, stairwell, floor = [], [], [], []
        next_household = int(pop.household.max()) + 1
        layout = self.model.layout
        floors = self.model.scenario_params.community.floors_per_building
        for h in range(households):
            size = int(rng.choice([1, 2, 3], p=[0.3, 0.3, 0.4]))
            adult = int(rng.integers(22, 46))
            members = [adult, max(18, adult + int(rng.integers(-3, 4))), int(rng.integers(0, 11))]
            ages += members[:size]
            household += [next_household + h] * size
            stairwell += [int(rng.integers(layout.n_stairwells))] * size
            floor += [int(rng.integers(1, floors + 1))] * size
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
        pop = self.model.population
        pop.age_years[pop.present] += 1
        aged_out = pop.active & (pop.age_years > MAX_VOLUNTEER_AGE_YEARS)
        if self.fixed_volunteers:
            aged_out[:] = False
        pop.active[aged_out] = False
        pop.registered[aged_out] = False
        pop.refresh_households(self.retiree_age_years)
