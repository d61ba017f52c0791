"""The levers a community controls and the objectives ``volsim optimise`` can pursue.

A lever is ``NAME=SPEC`` on the command line (``--lever``); each turns an optuna trial's
suggestions into dotted scenario overrides. ``LEVER_KEYS`` is the one map from lever names to
scenario keys.

=========================  ======================================  =============================
lever                      spec                                    scenario key
=========================  ======================================  =============================
``broadcast.k``            ``1..10`` (integers), ``1,3,5`` (list)  ``dispatch.broadcast.k``
``broadcast.radius_m``     ``200..1500`` (``/100``: in steps)      ``dispatch.broadcast.radius_m``
``pairing.max_distance_m`` as radius                               ``dispatch.pairing.max_...``
``pairing.max_elders_per_helper``  as k                            ``dispatch.pairing.max_...``
``policy``                 ``nearest,broadcast`` (a list)          ``dispatch.policy``
``points``                 ``N`` or ``N@S1,S2,..``: N sites among  ``community.service_point_
                           all (or the listed) stairwells          stairwells``
``recruit``                ``grid:N`` (or ``grid:A..B``, or        ``volunteers.recruits_by_grid``
                           ``grid:N@G1,G2,..``): N recruits shared
                           over grids by chosen weights;
                           ``stairwell:N/K[@S1,..]``: N shared     ``volunteers.recruits_by_
                           over K chosen stairwells                stairwell``
=========================  ======================================  =============================

Sites (``points``, ``recruit=stairwell``) are one categorical parameter per site over the
candidate stairwells (``points.0``, ``points.1``, ...), the same choices in every trial, and
decoded into distinct stairwells by ``distinct_sites``: a stairwell picked again stands for the
nearest one not yet chosen, so a trial of ``points=N`` opens N points (see its docstring).

An objective is ``METRIC`` or ``METRIC:min`` / ``METRIC:max`` (``--objective``); the headline
metrics have a default direction (``DIRECTIONS``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim import scenario as scenario_module
from sim.community import build_layout
from sim.district import is_district
from sim.errors import InputError
from sim.experiment.design import DEFAULT_METRICS, EXTRA_METRICS
from sim.population import apportion
from sim.scenario import POLICY_NAMES, Scenario, chain_overrides, parse_chain
from sim.space import lane_m

#: lever name -> the scenario key it sets (the one place to change when keys move)
LEVER_KEYS = {
    "broadcast.k": "dispatch.broadcast.k",
    "broadcast.radius_m": "dispatch.broadcast.radius_m",
    "pairing.max_distance_m": "dispatch.pairing.max_distance_m",
    "pairing.max_elders_per_helper": "dispatch.pairing.max_elders_per_helper",
    "policy": "dispatch.policy",
    "points": "community.service_point_stairwells",
    "recruit.grid": "volunteers.recruits_by_grid",
    "recruit.stairwell": "volunteers.recruits_by_stairwell",
}
#: the policy lever's other key: a chain's fallbacks (``pairing+nearest``: pairing, then nearest)
FALLBACK_KEY = "dispatch.fallback"
#: numeric levers and whether they take integers
NUMERIC = {
    "broadcast.k": int,
    "broadcast.radius_m": float,
    "pairing.max_distance_m": float,
    "pairing.max_elders_per_helper": int,
}
#: the headline metrics' better direction (others need METRIC:min or METRIC:max)
DIRECTIONS = {
    "urgent_response_time_p90_min": "minimize",
    "urgent_response_time_p50_min": "minimize",
    "urgent_response_time_p95_min": "minimize",
    "urgent_within_window_share": "maximize",
    "same_day_within_window_share": "maximize",
    "scheduled_within_window_share": "maximize",
    "eligible_within_window_share": "maximize",
    "urgent_unmet_share": "minimize",
    "same_day_unmet_share": "minimize",
    "scheduled_unmet_share": "minimize",
    "eligible_unmet_share": "minimize",
    "unmet": "minimize",
    "willing_coverage_15min_share": "maximize",
    "workload_gini": "minimize",
}
METRICS = (*DEFAULT_METRICS, *EXTRA_METRICS)
#: metrics only a policy chain with pairing defines (others leave them undefined: NaN)
#: metrics only a policy with pairing defines (0 or undefined in every run of another)
PAIRING_METRICS = (
    "paired_elders_share",
    "paired_elders_share_final",
    "eligible_served_by_pair_share",
)
LEVER_HELP = (
    "broadcast.k=1..10, broadcast.radius_m=200..1500[/100], pairing.max_distance_m=50..300, "
    "pairing.max_elders_per_helper=1..6, policy=nearest,broadcast, points=N[@S1,S2,..], "
    "recruit=grid:N[@G1,..] or grid:A..B, recruit=stairwell:N/K[@S1,..]"
)


@dataclass
class Lever:
    """One lever: its name, the text it came from, and how it suggests values."""

    name: str
    text: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: list[Any] = field(default_factory=list)
    count: int | tuple[int, int] = 0  # points, recruits (a range: the count is a lever too)
    spread: int = 1  # recruit.stairwell: how many stairwells
    candidates: list[int] = field(default_factory=list)
    #: sites: the candidates' cells in the scenario's fixed layout, () if it has none
    positions: tuple[tuple[int, int], ...] = ()
    metric: str = "manhattan"  # sites: how distance is measured between them

    @property
    def key(self) -> str:
        return LEVER_KEYS[self.name]

    @property
    def discrete(self) -> bool:
        return self.name != "recruit.grid" and (
            bool(self.choices) or NUMERIC.get(self.name) is not float or self.step is not None
        )

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Dotted scenario overrides for this trial."""
        name = self.name
        if name == "policy":
            return chain_overrides(trial.suggest_categorical(name, self.choices))
        if self.choices:
            return {self.key: trial.suggest_categorical(name, self.choices)}
        if name in NUMERIC:
            if NUMERIC[name] is int:
                value = trial.suggest_int(name, int(self.low), int(self.high))
            else:
                value = trial.suggest_float(name, self.low, self.high, step=self.step)
            return {self.key: value}
        count = self.count
        if isinstance(count, tuple):
            count = trial.suggest_int(f"{name}.n", *count)
        if name == "points":
            return {self.key: sorted(self.sites(trial, count))}
        if name == "recruit.stairwell":
            sites = self.sites(trial, self.spread)
            shares = apportion(count, np.ones(len(sites)))
            return {self.key: sorted([s, n] for s, n in zip(sites, shares.tolist(), strict=True))}
        # recruit.grid: a weight per candidate grid, the count shared by largest remainders
        weights = np.array([trial.suggest_float(f"{name}.w{g}", 0.0, 1.0) for g in self.candidates])
        if weights.sum() <= 0:
            weights = np.ones(len(weights))
        per_grid = np.zeros(max(self.candidates) + 1, dtype=int)
        per_grid[self.candidates] = apportion(count, weights)
        return {self.key: per_grid.tolist()}

    def sites(self, trial: Any, slots: int) -> list[int]:
        """``slots`` distinct stairwells: a categorical pick per slot, decoded by
        ``distinct_sites`` (a stairwell picked again: the nearest one not yet chosen)."""
        picks = [
            trial.suggest_categorical(f"{self.name}.{i}", self.candidates) for i in range(slots)
        ]
        return distinct_sites(picks, self.candidates, self.positions, self.metric)

    def grid(self) -> list[dict[str, Any]] | None:
        """Every combination of this lever's parameters, for a grid search (None: not
        enumerable). Sites are enumerated without repeats, each layout once: ``points`` as
        sets in increasing order (the sites are sorted anyway), ``recruit=stairwell`` as the
        orders that share the recruits differently (the first sites take the remainder's)."""
        if not self.discrete:
            return None
        if self.choices:
            return [{self.name: v} for v in self.choices]
        if self.name in NUMERIC:
            if NUMERIC[self.name] is int:
                values = list(range(int(self.low), int(self.high) + 1))
            else:
                values = np.arange(self.low, self.high + self.step / 2, self.step).tolist()
            return [{self.name: v} for v in values]
        if self.name == "points":  # one count (parse_lever): the sets of that many sites
            combos = itertools.combinations(self.candidates, self.count)
            return [{f"points.{i}": s for i, s in enumerate(combo)} for combo in combos]
        ranged = isinstance(self.count, tuple)
        counts = range(self.count[0], self.count[1] + 1) if ranged else [self.count]
        points, seen = [], set()
        for n in counts:
            shares = apportion(n, np.ones(self.spread)).tolist()
            for combo in itertools.permutations(self.candidates, self.spread):
                layout = (n, tuple(sorted(zip(combo, shares, strict=True))))
                if layout not in seen:
                    seen.add(layout)
                    point = {f"{self.name}.{i}": s for i, s in enumerate(combo)}
                    points.append({f"{self.name}.n": n, **point} if ranged else point)
        return points


#: the most values a stepped range may have (a grid search lists them all)
MAX_STEPS = 100_000


def distinct_sites(
    picks: list[int],
    candidates: list[int],
    positions: tuple[tuple[int, int], ...] = (),
    metric: str = "manhattan",
) -> list[int]:
    """Distinct stairwells from a trial's picks (each one of ``candidates``), in pick order: a
    stairwell picked again is replaced by the nearest candidate not yet chosen, by walking
    distance in the scenario's fixed layout (``positions``: the candidates' cells), or by
    stairwell number when it has none (a layout drawn per seed, a district); ties go to the
    lowest stairwell number.

    Why decode rather than refuse a repeat: every slot keeps the same categorical choices in
    every trial, which TPE, NSGA-II, random and grid sampling all handle, and the sites are a
    pure function of the trial's parameters and the scenario, so a trial (resumed, or re-run
    from the same root seed) opens the same sites. Pruning or failing a trial that repeats a
    pick would waste trials (with N sites among M stairwells, most trials repeat one when N is
    near M) and teach the sampler nothing about the sites it picked; a sequential encoding
    (slot i picks among the M - i stairwells left) changes what a value means from trial to
    trial, which samplers that model each parameter alone cannot learn. A repeat read as "a
    second point near this one" is what the sampler asked for, as closely as it can be given.
    """
    where = {site: i for i, site in enumerate(candidates)}
    xy = np.asarray(positions, dtype=float).reshape(-1, 2) if positions else None
    chosen: list[int] = []
    for pick in picks:
        if pick in chosen:
            free = np.array([c for c in candidates if c not in chosen], dtype=np.int64)
            if xy is None:
                distance = np.abs(free - pick).astype(float)
            else:
                delta = xy[[where[c] for c in free]] - xy[where[pick]]
                distance = lane_m(delta[:, 0], delta[:, 1], 1.0, metric)
            pick = int(free[np.lexsort((free, distance))[0]])
        chosen.append(int(pick))
    return chosen


def _site_positions(scenario: Scenario, candidates: list[int]) -> tuple[tuple[int, int], ...]:
    """The candidate stairwells' cells in the scenario's layout when every run has the same one
    (one community, ``fixed_layout``); () otherwise (``distinct_sites`` then goes by number)."""
    community = scenario.community
    if is_district(scenario) or not community.fixed_layout:
        return ()
    layout = build_layout(community, np.random.default_rng(community.layout_seed))
    return tuple((int(x), int(y)) for x, y in layout.stairwell_xy[candidates].tolist())


def _bad(text: str, message: str) -> InputError:
    return InputError("--lever", text, message)


def _distinct(values: list[Any], spec: str) -> list[Any]:
    """The values of a list the user wrote, refused if one is given twice."""
    twice = sorted({str(v) for v in values if values.count(v) > 1})
    if twice:
        raise _bad(spec, f"{twice[0]} is listed twice")
    return values


def _at_most(count: int | tuple[int, int], most: int, what: str, spec: str) -> None:
    """Refuse a count (or a count range's top) above what the scenario has."""
    top = count[1] if isinstance(count, tuple) else count
    if top > most:
        raise _bad(spec, f"{top} is more than the {most} {what}")


def _allowed(spec: str, candidates: list[dict[str, Any]], scenario: Scenario) -> None:
    """Refuse a lever whose values (a range's ends, a list's items: their overrides) the
    scenario refuses, which would make every such trial fail."""
    for overrides in candidates:
        try:
            scenario_module.with_overrides(scenario, overrides)
        except InputError as error:
            raise _bad(spec, f"{error.key}: {error.message}") from None


def _number(text: str, kind: type, spec: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise _bad(spec, f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if not np.isfinite(value):
        raise _bad(spec, f"{text!r} is not finite")
    return value


def _range(text: str, kind: type, spec: str) -> tuple[float, float, float | None]:
    body, _, step_text = text.partition("/")
    low_text, sep, high_text = body.partition("..")
    if not sep:
        raise _bad(spec, "expected LOW..HIGH or a list A,B,C")
    low, high = _number(low_text, kind, spec), _number(high_text, kind, spec)
    step = _number(step_text, kind, spec) if step_text else None
    if low > high:
        raise _bad(spec, f"LOW {low:g} is above HIGH {high:g}")
    if step is not None and not step > 0:
        raise _bad(spec, "the step must be positive")
    if step is not None and (high - low) / step > MAX_STEPS:  # a grid to enumerate, or to round to
        raise _bad(
            spec, f"the step {step:g} makes more than {MAX_STEPS:,} values: take a larger one"
        )
    return low, high, step


def _indices(text: str, size: int, what: str, spec: str) -> list[int]:
    if not text:
        return list(range(size))
    values = sorted(_distinct([int(_number(part, int, spec)) for part in text.split(",")], spec))
    if values[0] < 0 or values[-1] >= size:
        raise _bad(spec, f"{what} must be from 0 to {size - 1}")
    return values


def _count(text: str, spec: str) -> int | tuple[int, int]:
    if ".." in text:
        low, high, _ = _range(text, int, spec)
        if low < 0:
            raise _bad(spec, "counts must be 0 or more")
        return (int(low), int(high))
    value = int(_number(text, int, spec))
    if value < 1:
        raise _bad(spec, "the count must be at least 1")
    return value


def parse_lever(spec: str, scenario: Scenario) -> Lever:
    """A lever from ``NAME=SPEC``, checked against the scenario; bad input is an InputError."""
    name, sep, body = spec.partition("=")
    name, body = name.strip(), body.strip()
    if not sep or not body:
        raise _bad(spec, f"expected NAME=SPEC, e.g. {LEVER_HELP}")
    community = scenario.community
    if name in NUMERIC:
        kind = NUMERIC[name]
        if "," in body:
            choices = _distinct([_number(part, kind, spec) for part in body.split(",")], spec)
            _allowed(spec, [{LEVER_KEYS[name]: v} for v in choices], scenario)
            return Lever(name, spec, choices=sorted(choices))
        low, high, step = _range(body, kind, spec)
        _allowed(spec, [{LEVER_KEYS[name]: v} for v in (low, high)], scenario)
        return Lever(name, spec, low=low, high=high, step=step)
    if name == "policy":
        choices = _distinct([part.strip() for part in body.split(",") if part.strip()], spec)
        for chain in choices:
            for policy in parse_chain(chain):
                if policy not in POLICY_NAMES:
                    raise _bad(spec, f"unknown policy {policy!r} ({', '.join(POLICY_NAMES)})")
        _allowed(spec, [chain_overrides(chain) for chain in choices], scenario)
        return Lever(name, spec, choices=choices)
    if name == "points":
        count_text, _, where = body.partition("@")
        count = _count(count_text, spec)
        if isinstance(count, tuple):
            raise _bad(spec, "points takes one count, e.g. points=2")
        candidates = _indices(where, community.stairwells, "stairwells", spec)
        if community.service_points < 1:
            raise _bad(spec, "the scenario has no service points to place")
        _at_most(count, len(candidates), "stairwells to choose sites from", spec)
        _at_most(count, community.service_points, "service points to place", spec)
        return Lever(
            name,
            spec,
            count=count,
            candidates=candidates,
            positions=_site_positions(scenario, candidates),
            metric=community.distance_metric,
        )
    if name == "recruit":
        kind, _, rest = body.partition(":")
        rest, _, where = rest.partition("@")
        residents = scenario.population.residents
        if kind == "grid" and rest:
            candidates = _indices(where, community.grids, "grids", spec)
            count = _count(rest, spec)
            _at_most(count, residents, "residents", spec)
            return Lever("recruit.grid", spec, count=count, candidates=candidates)
        if kind == "stairwell" and rest:
            count_text, _, spread_text = rest.partition("/")
            count = _count(count_text, spec)
            _at_most(count, residents, "residents", spec)
            spread = int(_number(spread_text, int, spec)) if spread_text else 1
            if spread < 1:
                raise _bad(spec, "the number of stairwells must be at least 1")
            candidates = _indices(where, community.stairwells, "stairwells", spec)
            _at_most(spread, len(candidates), "stairwells to recruit at", spec)
            top = count[1] if isinstance(count, tuple) else count
            if spread > top:
                raise _bad(spec, f"{top} recruits cannot be shared over {spread} stairwells")
            return Lever(
                "recruit.stairwell",
                spec,
                count=count,
                spread=spread,
                candidates=candidates,
                positions=_site_positions(scenario, candidates),
                metric=community.distance_metric,
            )
        raise _bad(spec, "expected recruit=grid:N or recruit=stairwell:N/K")
    known = ", ".join(sorted({n.split(".")[0] if "recruit" in n else n for n in LEVER_KEYS}))
    raise _bad(spec, f"unknown lever {name!r} (choose from {known})")


def parse_levers(specs: list[str], scenario: Scenario) -> list[Lever]:
    """The levers of ``--lever NAME=SPEC`` options, each checked against the scenario."""
    if not specs:
        raise InputError("--lever", None, f"give at least one lever, e.g. {LEVER_HELP}")
    levers = [parse_lever(spec, scenario) for spec in specs]
    names = [lever.name for lever in levers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError("--lever", twice[0], "given twice")
    return levers


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str  # "minimize" or "maximize"

    @property
    def sign(self) -> float:
        """+1 to minimise, -1 to maximise: sign × value is lower for better."""
        return 1.0 if self.direction == "minimize" else -1.0


_DIRECTION_WORDS = {"min": "minimize", "max": "maximize"}


def parse_objectives(specs: list[str]) -> list[Objective]:
    """Objectives from ``METRIC[:min|max]``; bad input is an InputError on ``--objective``."""
    if not specs:
        raise InputError(
            "--objective", None, "give at least one, e.g. urgent_response_time_p90_min"
        )
    objectives = []
    for spec in specs:
        metric, _, word = spec.strip().partition(":")
        if metric not in METRICS:
            close = [m for m in METRICS if re.sub(r"_", "", metric) in re.sub(r"_", "", m)][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InputError("--objective", spec, f"unknown metric {metric!r}{hint}")
        if word and word not in _DIRECTION_WORDS:
            raise InputError("--objective", spec, "the direction is min or max")
        direction = _DIRECTION_WORDS.get(word) or DIRECTIONS.get(metric)
        if direction is None:
            raise InputError("--objective", spec, f"say {metric}:min or {metric}:max")
        objectives.append(Objective(metric, direction))
    metrics = [o.metric for o in objectives]
    if len(set(metrics)) < len(metrics):
        raise InputError("--objective", None, "a metric given twice")
    return objectives


def check_objectives(objectives: list[Objective], levers: list[Lever], scenario: Scenario) -> None:
    """Refuse an objective no candidate would define: a pairing metric (``PAIRING_METRICS``)
    when the scenario's policy, or a choice of the ``policy`` lever, has no pairing."""
    lever = next((lever for lever in levers if lever.name == "policy"), None)
    dispatch = scenario.dispatch
    chains = lever.choices if lever else ["+".join([dispatch.policy, *dispatch.fallback])]
    for objective in objectives:
        if objective.metric not in PAIRING_METRICS:
            continue
        for policy in chains:
            if "pairing" not in parse_chain(policy):
                raise InputError(
                    "--objective",
                    objective.metric,
                    f"defined only for a policy with pairing, and {policy!r} has none "
                    "(e.g. --set dispatch.policy=pairing+nearest)",
                )
