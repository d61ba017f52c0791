"""Fuzz the scenario schema: every value it accepts must give a run whose counts add up.

For every scalar key of the schema (and the lists of numbers), this tries its edge values (the
bounds, just inside them, 0, 1, tiny and huge numbers, inf and NaN) one at a time, then random
combinations of two to four of them, on a small community for a few simulated days. A value the
schema refuses (one-line InputError) is fine; a value it accepts must run without an exception,
within a time limit, and give ``requests == served + unmet``. Prints every finding, one a line.

    PYTHONPATH=$PWD python tools/fuzz_scenario.py [--days 3] [--combos 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import random
import signal
import sys
import traceback
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from sim import scenario as schema
from sim.errors import InputError

#: a community of 400 residents in 30 stairwells (as tests/conftest.py)
SMALL = {
    "population.residents": 400,
    "population.households": 150,
    "community.buildings": 10,
    "community.stairwells": 30,
    "community.grids": 3,
    "community.service_points": 20,
}
TINY, HUGE = 1e-300, 1e300


def _bounds(info) -> tuple[float | None, float | None]:
    low = high = None
    for item in info.metadata:
        if isinstance(item, (Ge, Gt)):
            low = item.ge if isinstance(item, Ge) else item.gt
        if isinstance(item, (Le, Lt)):
            high = item.le if isinstance(item, Le) else item.lt
    return low, high


def edge_values(annotation: Any, info) -> list[Any]:
    """Values at and around the edges of one field's type and bounds."""
    text = str(annotation)
    low, high = _bounds(info)
    if annotation is bool or text.startswith("typing.Literal"):
        return []
    if "list[list" in text:
        return [[], [[0, 0]], [[-5, 1.0]], [[3000, 0.0]], [[0, HUGE]]]
    if "list[float]" in text:
        return [[0.0] * 24, [0.0] * 23 + [TINY], [HUGE] * 24, [1.0] * 24]
    if "list[int]" in text:
        return [[0, 24], [0, 1], [23, 24], [12, 13]]
    if "list[str]" in text:
        return [[], ["nearest", "nearest"], ["random", "broadcast", "grid", "station"]]
    if "int" in text:
        values = {0, 1, 2, 3, 10**6}
        values |= {v for v in (low, high) if v is not None}
        values |= {low + 1} if low is not None else set()
        values |= {high - 1} if high is not None else set()
        return sorted(values)
    if "float" in text:
        values = {0.0, 1.0, TINY, 0.5, 1e6, HUGE, math.inf}
        if low is not None:
            values |= {float(low), float(low) + 1e-9}
        if high is not None:
            values |= {float(high), float(high) - 1e-9}
        return [*sorted(values), math.nan]
    return []


def keys() -> dict[str, list[Any]]:
    """Every dotted key of the schema with its edge values."""
    found: dict[str, list[Any]] = {}
    for section, info in schema.Scenario.model_fields.items():
        model = info.annotation
        if section in ("scenario", "simulation"):
            continue
        for key, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for sub, subfield in annotation.model_fields.items():
                    found[f"{section}.{key}.{sub}"] = edge_values(subfield.annotation, subfield)
                continue
            values = edge_values(annotation, field)
            if values:
                found[f"{section}.{key}"] = values
    found["simulation.start_weekday"] = [0, 6]
    return found


def small_populations() -> list[dict[str, Any]]:
    """Tiny and lopsided populations: one resident, one household, no elders, all elders."""
    shares = [
        {},
        {
            "population.share_aged_60_plus": 1.0,
            "population.share_aged_80_plus": 1.0,
            "population.share_aged_90_plus": 1.0,
        },
        {
            "population.share_aged_60_plus": 0.0,
            "population.share_aged_80_plus": 0.0,
            "population.share_aged_90_plus": 0.0,
        },
        {"population.share_aged_60_plus": 0.5},
        {
            "population.living_alone_share_of_60_plus": 1.0,
            "population.empty_nest_share_of_60_plus": 0,
        },
        {
            "population.living_alone_share_of_60_plus": 0,
            "population.empty_nest_share_of_60_plus": 1,
        },
        {"volunteers.registered_share_of_residents": 0.0},
        {"volunteers.count": 0},
        {"volunteers.min_age_years": 120, "volunteers.max_age_years": 120},
    ]
    cases = []
    for residents in (1, 2, 3, 5, 11, 40):
        for households in {1, 2, residents}:
            if households <= residents:
                for extra in shares:
                    cases.append(
                        {
                            "population.residents": residents,
                            "population.households": households,
                            **extra,
                        }
                    )
    return cases


class _Timeout(Exception):
    pass


def _expire(signum, frame):
    raise _Timeout


def check(overrides: dict[str, Any], days: int, seconds: float) -> str | None:
    """None if the overrides are refused clearly or run with counts that add up."""
    from sim.model import VolunteerModel

    try:
        params = schema.with_overrides(schema.Scenario(), {**SMALL, **overrides})
    except InputError:
        return None
    signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        model = VolunteerModel(params, days=days, rng=0)
        model.run()
        summary = model.summary()
    except InputError:
        return None
    except _Timeout:
        return f"still running after {seconds} s"
    except BaseException as error:  # any other exception is a finding
        if isinstance(error, KeyboardInterrupt):
            raise
        last = traceback.extract_tb(error.__traceback__)[-1]
        return f"{type(error).__name__}: {error} ({last.filename}:{last.lineno})"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    requests, served, unmet = summary["requests"], summary["served"], summary["unmet"]
    if requests != served + unmet:
        return f"counts do not add up: {requests} requests, {served} served, {unmet} unmet"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--combos", type=int, default=300, help="random combinations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per run")
    args = parser.parse_args()
    edges = keys()
    cases = [{key: value} for key, values in edges.items() for value in values]
    cases += small_populations()
    rng = random.Random(args.seed)
    names = list(edges)
    for _ in range(args.combos):
        chosen = rng.sample(names, rng.randint(2, 4))
        cases.append({k: rng.choice(edges[k]) for k in chosen if edges[k]})
    findings = 0
    for i, case in enumerate(cases):
        problem = check(case, args.days, args.seconds)
        if problem is not None:
            findings += 1
            print(f"{case}: {problem}", flush=True)
        if i % 100 == 0:
            print(f"[{i}/{len(cases)} cases, {findings} findings]", file=sys.stderr, flush=True)
    print(f"{len(cases)} cases, {findings} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
