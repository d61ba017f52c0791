"""Who can take an order right now: volunteers' duty, busy and offer state, and their workload.

Indexed by resident id. The free (``free_mask``, ``free_total`` of them) are active volunteers who
are on duty, not serving, not holding an unanswered offer and within their weekly budget;
policies that ask through the centre search them. The idle (``idle_mask``) add those off duty at
home (reachable by phone, app or a knock, sim.channels). Duty follows a handful of patterns (by
age: sim.population.patterns), so the free are the idle whose pattern is on duty this hour: a
shift change switches patterns and recounts, and touches no volunteer one by one. A volunteer
who has used up the week's hours (``volunteers.weekly_budget_hours``) or services
(``volunteers.max_services_per_week``) is asked by nobody until the week ends; one who is unwell
or away today (``volunteers.daily_availability_share``) neither.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

from sim.community import Layout
from sim.population import Population
from sim.space import Space, reachable_within


def without(mask: np.ndarray, exclude: set[int] | None) -> np.ndarray:
    """The ids set in ``mask``, ascending, less those in ``exclude``."""
    if exclude:
        mask = mask.copy()
        mask[list(exclude)] = False
    return np.flatnonzero(mask)


#: below this many free volunteers, looking at each beats visiting stairwells nearest first
_FEW = 32


def _counts(stairwells: np.ndarray, n_stairwells: int) -> array:
    """How many of the given volunteers live at each stairwell, as a Python array of int64
    (kept up to date one item at a time between recounts)."""
    return array("q", np.bincount(stairwells, minlength=n_stairwells).astype(np.int64).tobytes())


class Roster:
    """Volunteers' working state during a run."""

    def __init__(
        self,
        population: Population,
        layout: Layout,
        availability: np.ndarray,
        speed_m_per_min: float,
        stair_min_per_floor: float,
        weekly_budget_min: float = float("inf"),
        max_services_per_week: int | None = None,
    ) -> None:
        n = population.size
        self.population = population
        self.availability = availability
        self.space: Space = layout.space  # every distance is asked of it (sim.space)
        # a dense space (one community) lends its rows as lists: the walk's look-up per offer
        self._rows: list[list[float]] | None = getattr(layout.space, "rows_m", None)
        self._stairwell = population.stairwell.tolist()
        self._floor = population.floor.tolist()
        self._speed = speed_m_per_min
        self.walks = speed_m_per_min != float("inf")  # False: no travel at all
        self._stair_min = stair_min_per_floor
        self.on_duty = np.zeros(n, dtype=bool)
        self.on_duty_total = 0  # how many are on duty
        self.busy = np.zeros(n, dtype=bool)
        self.reserved = np.zeros(n, dtype=bool)
        self.free_mask = np.zeros(n, dtype=bool)
        self.idle_mask = np.zeros(n, dtype=bool)
        self.free_total = 0  # how many are free
        self.exhausted = np.zeros(n, dtype=bool)
        self.available_today = np.ones(n, dtype=bool)
        # the week's work per volunteer as Python lists: updated one at a time at each service
        self.week_busy_min = [0.0] * n
        self.week_services = [0] * n
        self._weekly_budget_min = weekly_budget_min
        self._max_services = max_services_per_week if max_services_per_week else 1 << 62
        self.budget_min_total = np.zeros(n)  # budget pledged while active, for utilisation
        self.changed = True  # set on every change of who is free or idle (coverage reads it)
        # the idle volunteers of each stairwell, for nearest-first searches (they change at
        # offers and services, not when shifts change)
        self._idle_at: list[set[int]] = [set() for _ in range(layout.n_stairwells)]
        # the duty pattern of each resident (as a list: read one at a time), whether each pattern
        # is on duty this hour, and the idle volunteers of each pattern (the free are those of
        # the patterns on duty)
        self._pattern_of = population.pattern  # the array they were read from
        self._pattern: list[int] = population.pattern.tolist()
        self._pattern_on: list[bool] = [False] * len(availability)
        self._patterns_on: list[int] = []  # the patterns on duty
        self._idle_of: list[set[int]] = [set() for _ in range(len(availability))]
        # free and idle volunteers per stairwell, kept up to date at each change (coverage
        # reads them every simulated hour; Python arrays, as single items change far more
        # often, which numpy reads without a conversion per item)
        self._free_count = array("q", bytes(8 * layout.n_stairwells))
        self._idle_count = array("q", bytes(8 * layout.n_stairwells))
        # on duty and not serving, per stairwell (the plain coverage measure reads it hourly)
        self._available_count = array("q", bytes(8 * layout.n_stairwells))
        # who may be on duty today (active and well), ascending, and their duty patterns: a
        # shift change looks at them only (None: found again at the next shift change)
        self._eligible: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._column: np.ndarray | None = None  # the duty column last applied (by pattern)
        self.served_count = np.zeros(n, dtype=np.int64)
        self._served = [0] * n  # served_count as Python ints, for rankings (one item at a time)
        self.orders_today = [0] * n
        self._busy_min = [0.0] * n  # minutes served, one at a time (busy_min: as an array)
        self.fatigue = np.zeros(n)
        self.on_duty_min_total = 0.0
        self._weight_of: np.ndarray | None = None  # the weights reachable_share last summed
        self._weight_total = 0

    def grow(self, n: int) -> None:
        """Room for ``n`` new residents (arrivals and births)."""
        pop = self.population
        for name in ("on_duty", "busy", "reserved", "free_mask", "idle_mask", "exhausted"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(n, dtype=bool)]))
        self.available_today = np.concatenate([self.available_today, np.ones(n, dtype=bool)])
        self.served_count = np.concatenate([self.served_count, np.zeros(n, dtype=np.int64)])
        for name in ("fatigue", "budget_min_total"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(n)]))
        self.week_busy_min.extend([0.0] * n)
        self.week_services.extend([0] * n)
        self._busy_min.extend([0.0] * n)
        self.orders_today.extend([0] * n)
        self._served.extend([0] * n)
        self._stairwell = pop.stairwell.tolist()
        self._floor = pop.floor.tolist()
        # the newcomers' patterns (the others' change only in a yearly refresh: see refresh)
        self._pattern.extend(pop.pattern[len(self._pattern) :].tolist())
        self._eligible = self._column = None

    # --- state changes -------------------------------------------------------------------
    def set_hour(self, hour_of_week: int) -> None:
        """Put on duty the active volunteers whose pattern covers this hour of the week."""
        pop = self.population
        eligible = pop.active & self.available_today
        self._eligible = self._column = None
        # the hour's column, then one entry per resident's pattern (faster than a 2-d gather)
        self._column = self.availability[:, hour_of_week]
        self._set_patterns_on(self._column)
        self.on_duty = self._column[pop.pattern] & eligible
        self.on_duty_total = int(np.count_nonzero(self.on_duty))
        available = pop.stairwell[self.on_duty & ~self.busy]
        self._available_count = _counts(available, len(self._available_count))
        self.refresh()

    def change_shift(self, hour_of_week: int) -> None:
        """:meth:`set_hour` within a day, when only duty changes: who is idle (kept up to date at
        each offer and service; the registry, absences and budgets change only between days,
        each followed by :meth:`set_hour`) stays; the free are the idle of the patterns now on
        duty, and the counts per stairwell are taken again.

        Only those who may be on duty today are looked at (the active and well, found once a
        day), so the cost follows the volunteers, not the residents."""
        column = self.availability[:, hour_of_week]
        if self._column is not None and np.array_equal(column, self._column):
            return  # no duty pattern changes at this hour (a service point opens)
        self._column = column
        self._set_patterns_on(column)
        ids, pattern, stairwell = self._eligible or self._find_eligible()
        on = column[pattern]
        self.on_duty[ids] = on
        self.on_duty_total = int(np.count_nonzero(on))  # (the others are off duty all day)
        free = on & self.idle_mask[ids]
        self.free_mask[ids] = free  # (the others are not idle, so not free)
        self.free_total = int(np.count_nonzero(free))
        self._free_count = _counts(stairwell[free], len(self._free_count))
        # on duty and not serving, per stairwell
        available = stairwell[on & ~self.busy[ids]]
        self._available_count = _counts(available, len(self._available_count))
        self.changed = True

    def _set_patterns_on(self, column: np.ndarray) -> None:
        self._pattern_on = column.tolist()
        self._patterns_on = np.flatnonzero(column).tolist()

    def _find_eligible(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who may be on duty today (active and well), ascending, with their duty patterns
        and stairwells."""
        pop = self.population
        ids = np.flatnonzero(pop.active & self.available_today)
        self._eligible = (ids, pop.pattern[ids], pop.stairwell[ids])
        return self._eligible

    def start_day(self, available_today: np.ndarray) -> None:
        """Who is well and at home today (the rest are asked by nobody)."""
        self.available_today = available_today
        self._eligible = self._column = None

    def new_week(self) -> None:
        """Weekly budgets start again; the week's pledge counts toward utilisation."""
        self.budget_min_total[self.population.active] += self._weekly_budget_min
        n = len(self.week_busy_min)
        self.week_busy_min = [0.0] * n
        self.week_services = [0] * n
        self.exhausted[:] = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute who is idle and free after duty or registry changes.

        Only those whose idleness changed are touched one by one (most days); the idle of each
        pattern are found again when patterns changed (a yearly refresh); the free and their
        counts per stairwell are taken again."""
        pop = self.population
        idle = pop.active & self.available_today
        idle &= ~(self.busy | self.reserved | self.exhausted)
        stairwell, at, idle_count = self._stairwell, self._idle_at, self._idle_count
        patterns_changed = pop.pattern is not self._pattern_of
        pattern, idle_of = self._pattern, self._idle_of
        for v in np.flatnonzero(self.idle_mask > idle).tolist():  # no longer idle
            s = stairwell[v]
            at[s].discard(v)
            idle_count[s] -= 1
            idle_of[pattern[v]].discard(v)
        for v in np.flatnonzero(idle > self.idle_mask).tolist():  # newly idle
            s = stairwell[v]
            at[s].add(v)
            idle_count[s] += 1
            idle_of[pattern[v]].add(v)
        if patterns_changed:
            self._pattern_of = pop.pattern
            self._pattern = pop.pattern.tolist()
            self._idle_of = [
                set(np.flatnonzero(idle & (pop.pattern == p)).tolist())
                for p in range(len(self._idle_of))
            ]
        self.idle_mask = idle
        self.free_mask = mask = self.on_duty & idle
        self.free_total = int(np.count_nonzero(mask))
        self._free_count = _counts(pop.stairwell[mask], len(self._free_count))
        self.changed = True

    def _set(self, v: int, idle: bool, free: bool) -> None:
        """Volunteer ``v`` becomes idle (reachable at home) and free (on duty) or not.

        The Python sets tell what changes (reading a numpy item is slower): free is idle with
        the pattern on duty. The masks and per-stairwell counts follow."""
        s = self._stairwell[v]
        at = self._idle_at[s]
        was_idle = v in at
        pattern = self._pattern[v]
        if idle != was_idle:
            self.idle_mask[v] = idle
            if idle:
                at.add(v)
                self._idle_of[pattern].add(v)
                self._idle_count[s] += 1
            else:
                at.discard(v)
                self._idle_of[pattern].discard(v)
                self._idle_count[s] -= 1
        if free != (was_idle and self._pattern_on[pattern]):
            self.free_mask[v] = free
            if free:
                self.free_total += 1
                self._free_count[s] += 1
            else:
                self.free_total -= 1
                self._free_count[s] -= 1
        self.changed = True

    def _update(self, v: int) -> None:
        idle = not (self.busy[v] or self.reserved[v] or self.exhausted[v])
        idle = idle and bool(self.population.active[v]) and bool(self.available_today[v])
        self._set(v, idle, idle and bool(self.on_duty[v]))

    def reserve(self, v: int) -> None:
        """``v`` holds an offer: neither idle nor free until the answer."""
        self.reserved[v] = True
        s = self._stairwell[v]
        at = self._idle_at[s]
        if v in at:
            self.idle_mask[v] = False
            at.discard(v)
            pattern = self._pattern[v]
            self._idle_of[pattern].discard(v)
            self._idle_count[s] -= 1
            if self._pattern_on[pattern]:  # it was free
                self.free_mask[v] = False
                self.free_total -= 1
                self._free_count[s] -= 1
        self.changed = True

    def release(self, v: int) -> None:
        self.reserved[v] = False
        self._update(v)

    def start_service(self, v: int) -> None:
        """``v`` accepted the offer it held (so is already neither idle nor free)."""
        self.reserved[v] = False
        self.busy[v] = True
        if self.on_duty[v]:
            self._available_count[self._stairwell[v]] -= 1
        self.orders_today[v] += 1
        self.changed = True

    def end_service(self, v: int, busy_min: float, fatigue_per_min: float) -> None:
        """``v`` finished a service (and holds no offer: only idle volunteers are asked)."""
        self.busy[v] = False
        if self.on_duty[v]:
            self._available_count[self._stairwell[v]] += 1
        self.served_count[v] += 1
        self._served[v] += 1
        self._busy_min[v] += busy_min
        week_busy_min = self.week_busy_min[v] + busy_min
        self.week_busy_min[v] = week_busy_min
        week_services = self.week_services[v] + 1
        self.week_services[v] = week_services
        if week_busy_min >= self._weekly_budget_min or week_services >= self._max_services:
            self.exhausted[v] = True
            idle = False
        else:
            idle = not (self.reserved[v] or self.exhausted[v])
            idle = idle and bool(self.population.active[v]) and bool(self.available_today[v])
        if fatigue_per_min:
            self.fatigue[v] = min(1.0, self.fatigue[v] + busy_min * fatigue_per_min)
        self._set(v, idle, idle and bool(self.on_duty[v]))

    def end_day(self, recovery_share: float) -> None:
        self.fatigue *= 1.0 - recovery_share
        self.orders_today = [0] * len(self.orders_today)

    # --- queries ------------------------------------------------------------------------
    @property
    def busy_min(self) -> np.ndarray:
        """Minutes each resident has spent serving (walk and service), as an array."""
        return np.array(self._busy_min)

    def travel_min(self, v: int, elder: int, origin_stairwell: int | None = None) -> float:
        """Walk to the elder's door, from the volunteer's stairwell unless another origin is
        given, and climb to the elder's floor (0 at infinite speed: no travel at all)."""
        if self._speed == float("inf"):
            return 0.0
        origin = self._stairwell[v] if origin_stairwell is None else origin_stairwell
        rows = self._rows
        if rows is not None:
            walk_m = rows[origin][self._stairwell[elder]]
        else:
            walk_m = self.space.distance_m(origin, self._stairwell[elder])
        return walk_m / self._speed + (self._floor[elder] - 1) * self._stair_min

    def counts_by_stairwell(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(free, idle) volunteers per stairwell: on duty, and also those at home off duty.

        Counts kept up to date at each change, so the cost follows the stairwells, not the
        residents; tuples, so that they can be looked up."""
        return tuple(self._free_count), tuple(self._idle_count)

    def count_key(self) -> bytes:
        """The (free, idle) counts per stairwell as one bytes key (sim.coverage remembers
        shares by it; :meth:`counts_from_key` reads it back)."""
        return self._free_count.tobytes() + self._idle_count.tobytes()

    @staticmethod
    def counts_from_key(key: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(free, idle) counts per stairwell, as int64 arrays, from :meth:`count_key`."""
        both = np.frombuffer(key, dtype=np.int64)
        half = len(both) // 2
        return both[:half], both[half:]

    def distances_m_from(self, elder: int, ids: np.ndarray) -> np.ndarray:
        """Walking distances from the elder's stairwell to each of ``ids``'s."""
        stairwell = self.population.stairwell
        return self.space.distances_m_from(stairwell[elder], stairwell[ids])

    def distance_m_between(self, v: int, elder: int) -> float:
        return self.space.distance_m(self._stairwell[v], self._stairwell[elder])

    def free_ids(self, exclude: set[int] | None = None) -> np.ndarray:
        """Free volunteers, ascending, without ``exclude``."""
        return without(self.free_mask, exclude)

    def nearest_free(self, elder: int, exclude: set[int]) -> int | None:
        """The free volunteer nearest the elder; ties go to the one who has served least."""
        ranked = self.ranked(elder, True, exclude, limit=1)
        return ranked[0] if ranked else None

    def ranked(
        self,
        elder: int,
        on_duty_only: bool,
        exclude: set[int],
        within_m: float = float("inf"),
        limit: int | None = None,
        stairwells: np.ndarray | None = None,
    ) -> list[int]:
        """Free volunteers (``on_duty_only``) or idle ones (also at home off duty), nearest the
        elder first (ties: fewest served, then lowest id), within ``within_m``, not in
        ``exclude``, living in ``stairwells`` (a bool mask) if given; the first ``limit``.

        Stairwells are visited nearest first (the space's rings) and the search stops once
        ``limit`` are found and no stairwell as near is left: the cost follows the few
        stairwells looked at. Stairwells the space cannot reach (another community) are never
        visited.
        """
        at, on, pattern = self._idle_at, self._pattern_on, self._pattern
        served, free_count = self._served, self._free_count
        if on_duty_only and not self.free_total:
            return []
        if on_duty_only and self.free_total <= _FEW:
            return self._ranked_few(elder, exclude, within_m, limit, stairwells)
        if len(exclude) > _FEW:  # most nearby have declined: one pass over arrays beats the walk
            mask = self.free_mask if on_duty_only else self.idle_mask
            ids = without(mask, exclude)
            if stairwells is not None:
                ids = ids[stairwells[self.population.stairwell[ids]]]
            return self.rank_by_distance(elder, ids, within_m, limit).tolist()
        found: list[tuple[float, int, int]] = []
        cutoff = float("inf")
        for order, distance in self.space.rings(self._stairwell[elder]):
            for s, d in zip(order, distance, strict=True):
                if d > within_m or d > cutoff:
                    break
                members = at[s]
                if not members or (stairwells is not None and not stairwells[s]):
                    continue
                if on_duty_only and not free_count[s]:
                    continue  # nobody here on duty and free (most stairwells, at night)
                found.extend(  # the idle here, on duty if asked (free: their pattern is on)
                    (d, served[v], v)
                    for v in members
                    if v not in exclude and (not on_duty_only or on[pattern[v]])
                )
                if limit is not None and len(found) >= limit:
                    cutoff = d  # stairwells just as near may still hold a tie
            else:
                continue
            break  # the run was cut short: nothing further is wanted
        found.sort()
        return [v for _, _, v in found[:limit]]

    def reachable_ids(
        self, elder: int, on_duty_only: bool, exclude: set[int], within_m: float = math.inf
    ) -> list[int]:
        """Everyone :meth:`ranked` would return, in no particular order (cheaper: nothing to
        rank): the stairwells the space reaches from the elder's, nearest first, up to
        ``within_m``."""
        at, on, pattern = self._idle_at, self._pattern_on, self._pattern
        found: list[int] = []
        for order, distance in self.space.rings(self._stairwell[elder]):
            for s, d in zip(order, distance, strict=True):
                if d > within_m:
                    return found
                members = at[s]
                if members:
                    found.extend(
                        v
                        for v in members
                        if v not in exclude and (not on_duty_only or on[pattern[v]])
                    )
        return found

    def _ranked_few(
        self,
        elder: int,
        exclude: set[int],
        within_m: float,
        limit: int | None,
        stairwells: np.ndarray | None,
    ) -> list[int]:
        """:meth:`ranked` over a handful of free volunteers: one look at each."""
        row = self.space.row(self._stairwell[elder])
        stairwell, served = self._stairwell, self._served
        found = []
        for p in self._patterns_on:  # the free: the idle of the patterns on duty
            for v in self._idle_of[p]:
                s = stairwell[v]
                d = row[s]
                if v in exclude or d > within_m or (stairwells is not None and not stairwells[s]):
                    continue  # (an unreachable one is at inf, beyond any within_m but inf)
                if d == math.inf:
                    continue
                found.append((d, served[v], v))
        found.sort()
        return [v for _, _, v in found[:limit]]

    def rank_by_distance(
        self,
        elder: int,
        ids: np.ndarray,
        within_m: float = float("inf"),
        limit: int | None = None,
    ) -> np.ndarray:
        """``ids`` nearest first (ties: fewest served, then lowest id), within a distance;
        only the first ``limit`` if given."""
        if len(ids) == 0:
            return ids
        dist = self.distances_m_from(elder, ids)
        keep = dist <= reachable_within(within_m)  # inf (another community) is never kept
        if not keep.all():
            ids, dist = ids[keep], dist[keep]
        ranked = ids[np.lexsort((ids, self.served_count[ids], dist))]
        return ranked if limit is None else ranked[:limit]

    def reachable_share(self, reach, weight_by_stairwell: np.ndarray) -> float:
        """Share of ``weight`` at stairwells within reach of an available volunteer.

        Available: active, on duty and not serving (an open offer still counts).
        ``reach`` is a (S, S) sparse 0/1 matrix (sim.coverage.within_reach), or None when
        every stairwell reaches every other.
        """
        if weight_by_stairwell is not self._weight_of:  # the model replaces, never edits, it
            self._weight_of, self._weight_total = weight_by_stairwell, weight_by_stairwell.sum()
        total = self._weight_total
        if total == 0:
            return 1.0
        # on duty and not serving, per stairwell: counts kept up to date at each change
        counts = np.frombuffer(self._available_count, dtype=np.int64)
        if reach is None:  # anyone on duty and not busy
            return 1.0 if self.free_total or counts.any() else 0.0
        covered = reach @ (counts > 0).astype(np.int64) > 0
        return float(weight_by_stairwell[covered].sum() / total)
