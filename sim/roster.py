"""Who can take an order right now: volunteers' duty, busy and offer state, and their workload.

Indexed by resident id. The free (``free_mask``, ``free_total`` of them) are active volunteers who
are on duty, not serving, not holding an unanswered offer and within their weekly budget;
policies that ask through the centre search them. The idle (``idle_mask``) add those off duty at
home (reachable by phone, app or a knock, sim.channels). Duty follows a handful of patterns (by
age: sim.population.patterns), so the free are the idle whose pattern is on duty this hour. The
roster keeps, per pattern and stairwell, how many are idle and how many may be on duty today and
are not serving, one change at a time (offers, services): a shift change sums the rows of the
patterns now on duty, switches ``on_duty`` for those of the patterns that came on or went off,
and leaves ``free_mask`` to be made again when next read; it touches no volunteer one by one.
A volunteer who has used up the week's hours (``volunteers.weekly_budget_hours``) or services
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


def _sum_rows(rows: list[array], patterns: list[int], n_stairwells: int) -> array:
    """The sum of the given patterns' per-stairwell counts, as a new Python array of int64 (kept
    up to date one item at a time until summed again): mostly a copy of one row, or zeros."""
    if not patterns:
        return array("q", bytes(8 * n_stairwells))
    total = array("q", rows[patterns[0]])
    for p in patterns[1:]:
        sums = np.frombuffer(total, dtype=np.int64)  # a view: adds into total
        sums += np.frombuffer(rows[p], dtype=np.int64)
    return total


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
        n, n_stairwells, n_patterns = population.size, layout.n_stairwells, len(availability)
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
        self._free_mask: np.ndarray | None = None  # None: made again when next read (free_mask)
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
        self._idle_at: list[set[int]] = [set() for _ in range(n_stairwells)]
        # the duty pattern of each resident (as a list: read one at a time), whether each pattern
        # is on duty this hour, and the idle volunteers of each pattern (the free are those of
        # the patterns on duty)
        self._pattern_of = population.pattern  # the array they were read from
        self._pattern: list[int] = population.pattern.tolist()
        self._pattern_on: list[bool] = [False] * n_patterns
        self._patterns_on: list[int] = []  # the patterns on duty
        self._idle_of: list[set[int]] = [set() for _ in range(n_patterns)]
        # free and idle volunteers per stairwell, kept up to date at each change (coverage
        # reads them every simulated hour; Python arrays, as single items change far more
        # often, which numpy reads without a conversion per item)
        self._free_count = array("q", bytes(8 * n_stairwells))
        self._idle_count = array("q", bytes(8 * n_stairwells))
        # on duty and not serving, per stairwell (the plain coverage measure reads it hourly)
        self._available_count = array("q", bytes(8 * n_stairwells))
        # per pattern, the idle per stairwell (the free counts are the rows of the patterns on
        # duty, summed at each shift change)
        self._idle_by = [array("q", bytes(8 * n_stairwells)) for _ in range(n_patterns)]
        # who may be on duty today (active and well; None: found by set_hour at the next shift
        # change), the ids of each pattern among them, ascending, and per pattern those of them
        # not serving per stairwell (summed, for the patterns on duty, into _available_count)
        self._eligible_mask: np.ndarray | None = None
        self._eligible_patterns: np.ndarray | None = None  # the patterns they were split by
        self._eligible_of: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_patterns
        self._available_by = [array("q", bytes(8 * n_stairwells)) for _ in range(n_patterns)]
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
        for name in ("on_duty", "busy", "reserved", "idle_mask", "exhausted"):
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
        # the newcomers' stairwells, floors and patterns (a resident's stairwell and floor never
        # change; patterns only in a yearly refresh: see refresh)
        self._stairwell.extend(pop.stairwell[len(self._stairwell) :].tolist())
        self._floor.extend(pop.floor[len(self._floor) :].tolist())
        self._pattern.extend(pop.pattern[len(self._pattern) :].tolist())
        self._free_mask = self._eligible_mask = None

    # --- state changes -------------------------------------------------------------------
    def set_hour(self, hour_of_week: int) -> None:
        """Put on duty the active volunteers who are well today and whose pattern covers this
        hour of the week, and recompute who is idle (:meth:`refresh`).

        Who may be on duty today is noted per pattern, with those of them not serving per
        stairwell (kept up to date at each service); it is found again only when it changed (the
        registry changes each period, absences each day if drawn, patterns each year). Otherwise
        duty changes as at a shift change, and who is idle stays (busy, offers and budgets are
        kept up to date one volunteer at a time): most days' ends cost a shift change."""
        pop = self.population
        eligible = pop.active & self.available_today
        if (
            self._eligible_mask is not None
            and pop.pattern is self._eligible_patterns
            and np.array_equal(eligible, self._eligible_mask)
        ):
            self.change_shift(hour_of_week)
            return
        ids = np.flatnonzero(eligible)
        pattern = pop.pattern[ids]
        self._eligible_of = [ids[pattern == p] for p in range(len(self._idle_of))]
        self._available_by = self._counts_by_pattern(ids[~self.busy[ids]])
        self._eligible_mask, self._eligible_patterns = eligible, pop.pattern
        self.on_duty = np.zeros(pop.size, dtype=bool)
        self._pattern_on = [False] * len(self._idle_of)  # nobody yet: all on come on below
        self._switch_duty(self.availability[:, hour_of_week].tolist())
        self.refresh()

    def change_shift(self, hour_of_week: int) -> None:
        """:meth:`set_hour` within a day, when only duty changes: who is idle (kept up to date at
        each offer and service; the registry, absences and budgets change only between days,
        each followed by :meth:`set_hour`) stays. Those who may be on duty today and whose
        pattern came on or went off duty are switched; the totals and counts per stairwell are
        the sums over the patterns now on duty, so the cost follows the patterns, not the
        volunteers."""
        if self._eligible_mask is None:  # the run's first hour, or a day not yet set
            self.set_hour(hour_of_week)
            return
        on = self.availability[:, hour_of_week].tolist()
        if on == self._pattern_on:
            return  # no duty pattern changes at this hour (a service point opens)
        self._switch_duty(on)
        self._sum_on_duty()

    def _switch_duty(self, on: list[bool]) -> None:
        """Patterns come on (True) or go off duty, and with them those who may be on duty
        today."""
        for p, (now, before) in enumerate(zip(on, self._pattern_on, strict=True)):
            if now != before:
                self.on_duty[self._eligible_of[p]] = now
        self._pattern_on = on
        self._patterns_on = [p for p, is_on in enumerate(on) if is_on]

    def _sum_on_duty(self) -> None:
        """How many are on duty and free, and per stairwell the free and the available (on
        duty, not serving): sums over the patterns on duty. ``free_mask`` is made again when
        next read."""
        on, n_stairwells = self._patterns_on, len(self._free_count)
        self.on_duty_total = sum([len(self._eligible_of[p]) for p in on])
        self.free_total = sum([len(self._idle_of[p]) for p in on])
        self._free_count = _sum_rows(self._idle_by, on, n_stairwells)
        self._available_count = _sum_rows(self._available_by, on, n_stairwells)
        self._free_mask = None
        self.changed = True

    def _counts_by_pattern(self, ids: np.ndarray) -> list[array]:
        """Per duty pattern, how many of ``ids`` live at each stairwell, as Python arrays of
        int64 (kept up to date one item at a time between recounts)."""
        pop = self.population
        n_stairwells = len(self._idle_count)
        cells = pop.pattern[ids] * n_stairwells + pop.stairwell[ids]
        counts = np.bincount(cells, minlength=len(self._idle_of) * n_stairwells)
        rows = counts.astype(np.int64).reshape(-1, n_stairwells)
        return [array("q", row.tobytes()) for row in rows]

    def start_day(self, available_today: np.ndarray) -> None:
        """Who is well and at home today (the rest are asked by nobody)."""
        self.available_today = available_today
        self._eligible_mask = None

    def new_week(self) -> None:
        """Weekly budgets start again; the week's pledge counts toward utilisation."""
        self.budget_min_total[self.population.active] += self._weekly_budget_min
        n = len(self.week_busy_min)
        self.week_busy_min = [0.0] * n
        self.week_services = [0] * n
        self.exhausted[:] = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute who is idle after duty or registry changes, then the free and the counts
        (:meth:`_sum_on_duty`).

        Only those whose idleness changed are touched one by one (most days); the idle of each
        pattern are found again when patterns changed (a yearly refresh)."""
        pop = self.population
        idle = pop.active & self.available_today
        idle &= ~(self.busy | self.reserved | self.exhausted)
        stairwell, at, idle_count = self._stairwell, self._idle_at, self._idle_count
        patterns_changed = pop.pattern is not self._pattern_of
        pattern, idle_of, idle_by = self._pattern, self._idle_of, self._idle_by
        for v in np.flatnonzero(self.idle_mask > idle).tolist():  # no longer idle
            s, p = stairwell[v], pattern[v]
            at[s].discard(v)
            idle_count[s] -= 1
            idle_of[p].discard(v)
            idle_by[p][s] -= 1
        for v in np.flatnonzero(idle > self.idle_mask).tolist():  # newly idle
            s, p = stairwell[v], pattern[v]
            at[s].add(v)
            idle_count[s] += 1
            idle_of[p].add(v)
            idle_by[p][s] += 1
        if patterns_changed:
            self._pattern_of = pop.pattern
            self._pattern = pop.pattern.tolist()
            self._idle_of = [
                set(np.flatnonzero(idle & (pop.pattern == p)).tolist())
                for p in range(len(self._idle_of))
            ]
            self._idle_by = self._counts_by_pattern(np.flatnonzero(idle))
        self.idle_mask = idle
        self._sum_on_duty()

    def _set(self, v: int, idle: bool) -> None:
        """Volunteer ``v`` becomes idle (reachable at home) or not, and so free or not if their
        pattern is on duty (the idle may be on duty today: they are active and well).

        The Python sets tell what changes (reading a numpy item is slower). The masks and counts
        follow."""
        s = self._stairwell[v]
        at = self._idle_at[s]
        if idle != (v in at):
            pattern = self._pattern[v]
            self.idle_mask[v] = idle
            if idle:
                at.add(v)
                self._idle_of[pattern].add(v)
                step = 1
            else:
                at.discard(v)
                self._idle_of[pattern].discard(v)
                step = -1
            self._idle_count[s] += step
            self._idle_by[pattern][s] += step
            if self._pattern_on[pattern]:  # free too
                if self._free_mask is not None:
                    self._free_mask[v] = idle
                self.free_total += step
                self._free_count[s] += step
        self.changed = True

    def _update(self, v: int) -> None:
        """``v`` is idle again unless serving, holding an offer, out of budget, or not active and
        well today (who may be on duty: noted by set_hour, unchanged within the day)."""
        idle = not (self.busy[v] or self.reserved[v] or self.exhausted[v])
        self._set(v, idle and bool(self._eligible_mask[v]))

    def reserve(self, v: int) -> None:
        """``v`` holds an offer: neither idle nor free until the answer."""
        self.reserved[v] = True
        self._set(v, False)

    def release(self, v: int) -> None:
        self.reserved[v] = False
        self._update(v)

    def start_service(self, v: int) -> None:
        """``v`` accepted the offer it held (so is already neither idle nor free)."""
        self.reserved[v] = False
        self.busy[v] = True
        if self._eligible_mask[v]:
            self._count_available(v, -1)
        self.orders_today[v] += 1
        self.changed = True

    def end_service(self, v: int, busy_min: float, fatigue_per_min: float) -> None:
        """``v`` finished a service (and holds no offer: only idle volunteers are asked)."""
        self.busy[v] = False
        eligible = bool(self._eligible_mask[v])  # active and well today
        if eligible:
            self._count_available(v, 1)
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
            idle = eligible and not (self.reserved[v] or self.exhausted[v])
        if fatigue_per_min:
            self.fatigue[v] = min(1.0, self.fatigue[v] + busy_min * fatigue_per_min)
        self._set(v, idle)

    def _count_available(self, v: int, step: int) -> None:
        """``v``, who may be on duty today, stops (-1) or starts again (+1) being available."""
        s, pattern = self._stairwell[v], self._pattern[v]
        self._available_by[pattern][s] += step
        if self._pattern_on[pattern]:
            self._available_count[s] += step

    def end_day(self, recovery_share: float) -> None:
        self.fatigue *= 1.0 - recovery_share
        self.orders_today = [0] * len(self.orders_today)

    # --- queries ------------------------------------------------------------------------
    @property
    def free_mask(self) -> np.ndarray:
        """Who is free (idle, and on duty), as a bool array: made again when read after a shift
        change, then kept up to date one item at a time."""
        if self._free_mask is None:
            self._free_mask = self.idle_mask & self.on_duty
        return self._free_mask

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
        """Walking distance between the volunteer's stairwell and the elder's (asked at each
        offer: a dense space's rows are read directly)."""
        if self._rows is not None:
            return self._rows[self._stairwell[v]][self._stairwell[elder]]
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
        farthest_m = within_m  # no further than this (once enough are found, their distance)
        for order, distance in self.space.rings(self._stairwell[elder]):
            for s, d in zip(order, distance, strict=True):
                if d > farthest_m:
                    break
                if stairwells is not None and not stairwells[s]:
                    continue
                if not on_duty_only:  # the idle here
                    found += [(d, served[v], v) for v in at[s] if v not in exclude]
                elif free_count[s]:  # the free: their pattern is on (at night, few stairwells)
                    found += [
                        (d, served[v], v) for v in at[s] if on[pattern[v]] and v not in exclude
                    ]
                if limit is not None and len(found) >= limit:
                    farthest_m = d  # stairwells just as near may still hold a tie
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
        if reach is None:  # anyone on duty and not busy (the free are)
            return 1.0 if self.free_total or any(self._available_count) else 0.0
        counts = np.frombuffer(self._available_count, dtype=np.int64)
        covered = reach @ (counts > 0).astype(np.int64) > 0
        return float(weight_by_stairwell[covered].sum() / total)
