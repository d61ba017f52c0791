"""Residents: ages, households, living arrangements, the volunteer registry, who places orders.

Everything is a numpy array indexed by resident, generated at once from the population random
stream; Mesa agents (:mod:`sim.agents`) are thin views onto these arrays, so that daily and
yearly updates run on the whole population at once.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields

import numpy as np

from sim.community import Layout
from sim.errors import InputError
from sim.scenario import Scenario
from sim.space import Space

#: availability patterns: who is on duty when (see :func:`availability_table`)
RETIREE, WORKER, STUDENT = 0, 1, 2

#: the groups of elders with their own order rate (index into ``Population.client_group``)
CLIENT_GROUPS = (
    "none",
    "alone_80_plus",
    "empty_nest_80_plus",
    "other_80_plus",
    "alone_60_79",
    "empty_nest_60_79",
)


@dataclass
class Population:
    """One row per resident (arrays may be updated in place during a run)."""

    age_years: np.ndarray
    household: np.ndarray
    stairwell: np.ndarray
    floor: np.ndarray
    living_alone: np.ndarray
    empty_nest: np.ndarray
    registered: np.ndarray
    active: np.ndarray
    pattern: np.ndarray
    client_group: np.ndarray
    present: np.ndarray  # living in the community (not dead, not moved away)
    motivation: np.ndarray  # of registered volunteers, 0-1 (sim.dynamics)
    #: bumped whenever who may order changes (arrivals, departures, yearly refresh), so that
    #: per-day readers (sim.demand) can keep what they derive from it
    version: int = 0

    @property
    def size(self) -> int:
        return len(self.age_years)

    @property
    def residents(self) -> int:
        return int(self.present.sum())

    @property
    def volunteer_ids(self) -> np.ndarray:
        return np.flatnonzero(self.active)

    @property
    def client_ids(self) -> np.ndarray:
        return np.flatnonzero(self.client_group > 0)

    def append(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Add residents (every field given); return their ids."""
        first = self.size
        for f in fields(self):
            if f.name != "version":
                setattr(self, f.name, np.concatenate([getattr(self, f.name), columns[f.name]]))
        self.version += 1
        return np.arange(first, self.size)

    def remove(self, ids: np.ndarray) -> None:
        """Residents who die or move away: no longer present, volunteering or ordering."""
        for name in ("present", "registered", "active", "living_alone", "empty_nest"):
            getattr(self, name)[ids] = False
        self.client_group[ids] = 0
        self.version += 1

    def refresh_households(self, retiree_age_years: int) -> None:
        """Living arrangements, availability patterns and order groups from ages and households
        of the residents present (after a year of deaths, moves and birthdays)."""
        here = self.present
        n_households = int(self.household.max()) + 1
        size = np.bincount(self.household[here], minlength=n_households)
        youngest = np.full(n_households, 999)
        np.minimum.at(youngest, self.household[here], self.age_years[here])
        home_size, home_youngest = size[self.household], youngest[self.household]
        elder = here & (self.age_years >= 60)
        self.living_alone = elder & (home_size == 1)
        self.empty_nest = elder & (home_size >= 2) & (home_youngest >= 60)
        self.pattern = patterns(self.age_years, retiree_age_years)
        self.client_group = np.where(
            here, client_groups(self.age_years, self.living_alone, self.empty_nest), 0
        )
        self.version += 1


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` as integers (largest remainders)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def age_band_counts(scenario: Scenario) -> list[tuple[int, int, int]]:
    """(youngest, oldest, residents) of each age band at the start.

    The profile fixes the residents aged 60+, 80+ and 90+; the census table
    (``population.age_table``) shares out the rest: those under 60 in proportion to its bands
    under 60, and those aged 60-79 in proportion to its bands from 60 to 79. 80-89 and 90-100
    are the profile's own.
    """
    p = scenario.population
    n = p.residents
    n60, n80, n90 = (
        round(n * s) for s in (p.share_aged_60_plus, p.share_aged_80_plus, p.share_aged_90_plus)
    )
    starts = [band[0] for band in p.age_table]
    ends = [s - 1 for s in starts[1:]] + [79]
    persons = np.array([band[1] for band in p.age_table], dtype=float)
    young = np.array(starts) < 60
    bands: list[tuple[int, int, int]] = []
    for mask, total in ((young, n - n60), (~young, n60 - n80)):
        counts = apportion(total, persons[mask])
        idx = np.flatnonzero(mask)
        bands += [(starts[i], ends[i], int(c)) for i, c in zip(idx, counts, strict=True)]
    return [*bands, (80, 89, n80 - n90), (90, 100, n90)]


def _ages(scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Ages by band (:func:`age_band_counts`), uniform within each band, shuffled."""
    ages = [rng.integers(lo, hi + 1, count) for lo, hi, count in age_band_counts(scenario)]
    return rng.permutation(np.concatenate(ages))


def _match(targets: np.ndarray, head_age_sorted: np.ndarray, rng: np.random.Generator):
    """For each target age, the index (into the sorted heads) of a head of about that age."""
    pos = np.searchsorted(head_age_sorted, targets)
    pos += rng.integers(-2, 3, len(targets))  # spread over heads of nearly the same age
    return np.clip(pos, 0, len(head_age_sorted) - 1)


def _households(
    scenario: Scenario, age: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign residents to households; return (household, living_alone, empty_nest).

    Elders living alone and empty-nest couples (both aged 60+) come first, in the profile's
    shares; everyone else lives in a family household of two or more with a head aged 25-59
    (18-59 if too few) and, while they last, a partner aged 18-59 of about the head's age;
    then children join parents 22-40 years older, adults a head of about their age, elders a
    child 22-40 years younger. Nobody under 60 lives alone, unless there are as many
    households as residents (the limit settings of docs/ODD.md §7.10): then each their own.
    """
    p = scenario.population
    n = len(age)
    household = np.full(n, -1)
    elders = np.flatnonzero(age >= 60)
    # assumed: the older, the more often alone (widowhood)
    weight = np.where(age[elders] >= 80, 4.0, np.where(age[elders] >= 70, 2.0, 1.0))
    n_alone = min(len(elders), round(len(elders) * p.living_alone_share_of_60_plus))
    alone = rng.choice(elders, n_alone, replace=False, p=weight / weight.sum())
    rest = np.setdiff1d(elders, alone)
    n_nest = min(len(rest), round(len(elders) * p.empty_nest_share_of_60_plus))
    nest = rng.choice(rest, n_nest, replace=False)
    nest = nest[np.argsort(age[nest], kind="stable")]  # couples of similar age
    household[alone] = np.arange(n_alone)
    household[nest] = n_alone + np.arange(n_nest) // 2
    next_id = n_alone + (n_nest + 1) // 2
    others = np.flatnonzero(household < 0)
    families = max(0, min(p.households - next_id, len(others) // 2))
    if p.households - next_id >= len(others):  # a household for each (limit settings)
        household[others] = next_id + np.arange(len(others))
    elif families:
        adult = (age[others] >= 25) & (age[others] < 60)
        if adult.sum() < families:
            adult = (age[others] >= 18) & (age[others] < 60)
        pool = others[adult] if adult.sum() >= families else others
        heads = rng.choice(pool, families, replace=False)
        heads = heads[np.argsort(age[heads], kind="stable")]
        head_age = age[heads]
        members = rng.permutation(np.setdiff1d(others, heads))
        # partners first: adults 18-59 take the first places, one beside each head
        a = age[members]
        members = members[np.argsort(~((a >= 18) & (a < 60)), kind="stable")]
        a = age[members]
        # the head's age each member looks for: a parent, a partner, or a child
        target = np.where(
            a < 18,
            a + rng.integers(22, 41, len(a)),
            np.where(a < 60, a + rng.integers(-3, 4, len(a)), a - rng.integers(22, 41, len(a))),
        )
        # the first ``families`` members go one to each head (every family has two or more),
        # matched by rank of age; the rest join a head of about the age they look for
        first, later = np.arange(min(families, len(members))), np.arange(families, len(members))
        slot = np.empty(len(members), dtype=np.int64)
        slot[first[np.argsort(target[first], kind="stable")]] = np.arange(len(first))
        slot[later] = _match(target[later], head_age, rng)
        household[heads] = next_id + np.arange(families)
        household[members] = next_id + slot
    else:  # too few people for families of two: one household
        household[others] = next_id
    living_alone = np.zeros(n, dtype=bool)
    living_alone[alone] = True
    empty_nest = np.zeros(n, dtype=bool)
    empty_nest[nest] = True
    if n_nest % 2:  # the last empty-nest elder has no partner: living alone instead
        living_alone[nest[-1]] = True
        empty_nest[nest[-1]] = False
    return household, living_alone, empty_nest


def _choose(ids: np.ndarray, count: int, weight: np.ndarray, rng: np.random.Generator):
    if count >= len(ids):
        return ids
    return rng.choice(ids, count, replace=False, p=weight / weight.sum())


def _registry(
    scenario: Scenario, age: np.ndarray, rng: np.random.Generator, source: str
) -> tuple[np.ndarray, np.ndarray]:
    v = scenario.volunteers
    n = len(age)
    eligible = np.flatnonzero((age >= v.min_age_years) & (age <= v.max_age_years))
    # retirees are the core of Chaoyangli's volunteers; teenagers register less often
    weight = np.where(age[eligible] >= v.retiree_age_years, 2.0, 1.0)
    weight = np.where(age[eligible] < 18, 0.5, weight)
    registered_ids = _choose(eligible, round(n * v.registered_share_of_residents), weight, rng)
    if v.count is not None:
        if v.count > len(eligible):
            raise InputError(
                source,
                "volunteers.count",
                f"{v.count} is more than the {len(eligible)} residents of volunteer age",
            )
        pool = registered_ids if v.count <= len(registered_ids) else eligible
        pool_weight = np.where(age[pool] >= v.retiree_age_years, 2.0, 1.0)
        active_ids = _choose(pool, v.count, pool_weight, rng)
        registered_ids = np.union1d(registered_ids, active_ids)
    else:
        count = round(len(registered_ids) * v.active_share_of_registered)
        active_weight = np.where(age[registered_ids] >= v.retiree_age_years, 2.0, 1.0)
        active_ids = _choose(registered_ids, count, active_weight, rng)
    registered = np.zeros(n, dtype=bool)
    registered[registered_ids] = True
    active = np.zeros(n, dtype=bool)
    active[active_ids] = True
    return registered, active


def _recruit(
    scenario: Scenario,
    layout: Layout,
    age: np.ndarray,
    stairwell: np.ndarray,
    active: np.ndarray,
    rng: np.random.Generator,
    source: str,
) -> None:
    """Make ``volunteers.recruits_by_grid`` and ``recruits_by_stairwell`` extra residents of
    volunteer age active there, in place (registered too, via ``active``). Drawn from a child
    of the population stream, so the rest of the population is the same with or without them
    (common random numbers across recruitment plans). Fewer candidates than asked: all of them.
    """
    v = scenario.volunteers
    if not v.recruits_by_grid and not v.recruits_by_stairwell:
        return
    if len(v.recruits_by_grid) > layout.n_grids:
        raise InputError(
            source, "volunteers.recruits_by_grid", f"more entries than the {layout.n_grids} grids"
        )
    child = rng.spawn(1)[0]
    of_age = (age >= v.min_age_years) & (age <= v.max_age_years)
    places = [(layout.stairwell_grid[stairwell] == g, n) for g, n in enumerate(v.recruits_by_grid)]
    for site, count in v.recruits_by_stairwell:
        if site >= layout.n_stairwells:
            raise InputError(
                source, "volunteers.recruits_by_stairwell", f"stairwell {site} does not exist"
            )
        places.append((stairwell == site, count))
    for here, count in places:
        pool = np.flatnonzero(here & of_age & ~active)
        if count and len(pool):
            active[child.choice(pool, min(count, len(pool)), replace=False)] = True


def client_groups(age: np.ndarray, living_alone: np.ndarray, empty_nest: np.ndarray) -> np.ndarray:
    """Which order-rate group each resident is in (0: places no orders).

    Depends on age and living arrangement only, not on volunteering, so that every policy
    faces the same elders (common random numbers) even when volunteers come and go.
    """
    old_old = age >= 80
    young_old = (age >= 60) & ~old_old
    group = np.zeros(len(age), dtype=np.int64)
    group[old_old] = 3
    group[old_old & empty_nest] = 2
    group[old_old & living_alone] = 1
    group[young_old & empty_nest] = 5
    group[young_old & living_alone] = 4
    return group


def build_population(
    scenario: Scenario, layout: Layout, rng: np.random.Generator, source: str = "scenario"
) -> Population:
    """Generate residents and the volunteer registry for a scenario."""
    age = _ages(scenario, rng)
    household, living_alone, empty_nest = _households(scenario, age, rng)
    n_households = int(household.max()) + 1
    # households fill stairwells evenly, each on a random floor
    household_stairwell = rng.permutation(np.arange(n_households) % layout.n_stairwells)
    household_floor = rng.integers(1, scenario.community.floors_per_building + 1, n_households)
    registered, active = _registry(scenario, age, rng, source)
    _recruit(scenario, layout, age, household_stairwell[household], active, rng, source)
    registered |= active
    return Population(
        age_years=age,
        household=household,
        stairwell=household_stairwell[household],
        floor=household_floor[household],
        living_alone=living_alone,
        empty_nest=empty_nest,
        registered=registered,
        active=active,
        pattern=patterns(age, scenario.volunteers.retiree_age_years),
        client_group=client_groups(age, living_alone, empty_nest),
        present=np.ones(len(age), dtype=bool),
        motivation=np.where(registered, scenario.dynamics.motivation_initial, 0.0),
    )


def patterns(age: np.ndarray, retiree_age_years: int) -> np.ndarray:
    """Availability pattern by age: retirees, people of working age, pupils."""
    return np.where(age >= retiree_age_years, RETIREE, np.where(age >= 18, WORKER, STUDENT))


def availability_table(scenario: Scenario, start_weekday: int) -> np.ndarray:
    """On duty or not, by pattern and hour of the simulated week: bool array (3, 168).

    Hour 0 is midnight at the start of the simulation, a day of the week ``start_weekday``.
    """
    v = scenario.volunteers
    table = np.zeros((3, 168), dtype=bool)
    if v.always_available:
        table[:] = True
        return table
    for hour in range(168):
        weekday = (start_weekday + hour // 24) % 7
        h = hour % 24
        weekend = weekday >= 5
        table[RETIREE, hour] = v.retiree_hours[0] <= h < v.retiree_hours[1]
        worker = v.weekend_hours if weekend else v.worker_weekday_hours
        table[WORKER, hour] = worker[0] <= h < worker[1]
        table[STUDENT, hour] = weekend and v.weekend_hours[0] <= h < v.weekend_hours[1]
    return table


def assign_point_hosts(
    point_stairwell: np.ndarray,
    population: Population,
    space: Space,
    rng: np.random.Generator,
) -> np.ndarray:
    """A host for each service point: an active volunteer who lives nearest to it.

    Among equally near candidates the host is drawn at random; nobody hosts two points while
    unused candidates remain. Hosts come from the active volunteers, so the station policy
    works with the same volunteers as the others.
    """
    candidates = np.flatnonzero(population.active)
    if len(candidates) == 0:
        candidates = np.arange(population.size)
    used = np.zeros(population.size, dtype=bool)
    hosts = np.empty(len(point_stairwell), dtype=np.int64)
    at = _ids_by_stairwell(candidates, population.stairwell)
    for p, stairwell in enumerate(point_stairwell.tolist()):
        nearest = _nearest_ids(space, stairwell, at, lambda v: not used[v])
        if not nearest:  # every reachable candidate hosts already: the nearest of them
            nearest = _nearest_ids(space, stairwell, at, lambda v: True)
        if not nearest:  # nobody is reachable (a community without volunteers)
            pool = candidates[~used[candidates]]
            if len(pool) == 0:
                pool = candidates
            d = space.distances_m_from(stairwell, population.stairwell[pool])
            nearest = pool[d == d.min()].tolist()
        hosts[p] = nearest[rng.integers(len(nearest))]
        used[hosts[p]] = True
    return hosts


def _ids_by_stairwell(ids: np.ndarray, stairwell: np.ndarray) -> list[list[int]]:
    """``ids`` grouped by stairwell: a list per stairwell (ascending within each)."""
    where = stairwell[ids]
    order = np.argsort(where, kind="stable")
    bounds = np.searchsorted(where[order], np.arange(int(stairwell.max(initial=0)) + 2)).tolist()
    grouped = ids[order].tolist()
    return [grouped[a:b] for a, b in itertools.pairwise(bounds)]


def _nearest_ids(space: Space, place: int, at: list[list[int]], usable) -> list[int]:
    """The usable ids living nearest ``place`` (all at the least distance), ascending; the
    space's stairwells are visited nearest first, so the cost follows the few looked at."""
    last = len(at)
    best, found = math.inf, []
    for order, distance in space.rings(place):
        for s, d in zip(order, distance, strict=True):
            if d > best:
                return sorted(found)
            if s >= last:
                continue
            here = [v for v in at[s] if usable(v)]
            if here:
                best = d
                found += here
    return sorted(found)


def replace_point_hosts(
    point_host: np.ndarray, point_stairwell: np.ndarray, population: Population, space: Space
) -> None:
    """Hosts who stopped volunteering, died or moved hand their point to the nearest active
    volunteer (ties: the lowest id; nobody reachable: the lowest id of all), in place.

    A few points change hands at a time, so each looks at every active volunteer's distance
    once (the first of the least is the lowest id: the ids are ascending)."""
    stale = np.flatnonzero(~population.active[point_host])
    if len(stale) == 0:  # (most days)
        return
    active = np.flatnonzero(population.active)
    if len(active) == 0:
        return
    where = population.stairwell[active]
    for p in stale.tolist():
        point_host[p] = active[np.argmin(space.distances_m_from(point_stairwell[p], where))]


#: 耄耋: the age from which an elder living alone or in an empty nest is paired (花甲助耄耋)
PAIRED_FROM_AGE_YEARS = 80


def pairing_eligible(population: Population, ids: np.ndarray | None = None) -> np.ndarray:
    """Whether each resident (or each of ``ids``) is an elder 花甲助耄耋 pairs: 80 or older,
    living alone or in an empty nest."""
    ids = slice(None) if ids is None else ids
    alone_or_empty = population.living_alone[ids] | population.empty_nest[ids]
    return (population.age_years[ids] >= PAIRED_FROM_AGE_YEARS) & alone_or_empty
