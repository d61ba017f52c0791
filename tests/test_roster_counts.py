"""The roster's per-pattern counts equal a recount, for every pattern, on duty or not.

A shift change sums, over the patterns on duty, the idle per stairwell and those who may be on
duty today (active and well) and are not serving; set_hour splits who may be on duty by pattern
only when that changed. These tests recount every pattern's rows and ids from scratch at each
hourly sample and at each day's end: with the registry changing each period (2045), with absences
drawn daily (stress) and under a policy that reads the free mask between shift changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import VolunteerModel

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def pattern_problems(model: VolunteerModel) -> list[str]:
    """What differs between the roster's per-pattern state and a recount of it."""
    roster, pop = model.roster, model.population
    n_stairwells = model.layout.n_stairwells
    eligible = pop.active & roster.available_today
    problems = []
    if not np.array_equal(roster._eligible_mask, eligible):
        problems.append("who may be on duty today")
    for p in range(len(roster.availability)):
        of_pattern = pop.pattern == p
        if not np.array_equal(roster._eligible_of[p], np.flatnonzero(eligible & of_pattern)):
            problems.append(f"who may be on duty today, pattern {p}")
        idle = np.bincount(pop.stairwell[roster.idle_mask & of_pattern], minlength=n_stairwells)
        if not np.array_equal(np.frombuffer(roster._idle_by[p], dtype=np.int64), idle):
            problems.append(f"idle per stairwell, pattern {p}")
        free = eligible & ~roster.busy & of_pattern
        available = np.bincount(pop.stairwell[free], minlength=n_stairwells)
        if not np.array_equal(np.frombuffer(roster._available_by[p], dtype=np.int64), available):
            problems.append(f"may be on duty and not serving per stairwell, pattern {p}")
    return problems


@pytest.mark.parametrize(
    ("scenario", "policy", "days"),
    [
        ("chaoyangli-2045.toml", "pairing+nearest", 60),
        ("chaoyangli-stress.toml", "pairing+nearest", 14),
        ("chaoyangli.toml", "broadcast", 10),
    ],
)
def test_per_pattern_counts_equal_a_recount(scenario, policy, days):
    model = VolunteerModel(SCENARIOS / scenario, policy=policy, rng=5, days=days)
    seen: list[str] = []
    sample = model._sample_hours

    def checked_sample(count: int) -> None:
        seen.extend(pattern_problems(model))
        sample(count)

    model.events._sampler = checked_sample
    model.run(on_day=lambda _day: seen.extend(pattern_problems(model)))
    assert model.summary()["served"] > 0
    assert seen == []
