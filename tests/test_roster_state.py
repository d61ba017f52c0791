"""The roster's kept-up-to-date state equals what a full recount gives, hour after hour.

The roster updates its free set, masks and per-stairwell counts one change at a time (offers,
services, shift changes over the day's eligible volunteers); these tests recount them from
scratch at every hourly sample and at each day's end, under policies that reach volunteers on
and off duty, with ageing, recruitment and daily absences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import VolunteerModel

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def recount_problems(model: VolunteerModel) -> list[str]:
    """What differs between the roster's kept state and a recount of it."""
    roster, pop = model.roster, model.population
    n_stairwells = model.layout.n_stairwells
    problems = []
    on_duty = roster.on_duty
    if (on_duty & ~(pop.active & roster.available_today)).any():
        problems.append("on duty but not active and well today")
    if not np.array_equal(roster.free_mask, on_duty & roster.idle_mask):
        problems.append("free_mask != on_duty & idle_mask")
    if roster.on_duty_total != int(on_duty.sum()):
        problems.append("on_duty_total != on_duty's count")
    if roster.free_total != int(roster.free_mask.sum()):
        problems.append("free_total != free_mask's count")
    for p, members in enumerate(roster._idle_of):
        if members != set(np.flatnonzero(roster.idle_mask & (pop.pattern == p)).tolist()):
            problems.append(f"idle of pattern {p} != idle_mask of the pattern")
    on_patterns = [p for p, on in enumerate(roster._pattern_on) if on]
    eligible = pop.active & roster.available_today
    if not np.array_equal(on_duty, np.isin(pop.pattern, on_patterns) & eligible):
        problems.append("on duty != active and well with a pattern on duty")
    free_count = np.bincount(pop.stairwell[roster.free_mask], minlength=n_stairwells)
    if not np.array_equal(np.array(roster.counts_by_stairwell()[0]), free_count):
        problems.append("free counts per stairwell")
    idle_count = np.bincount(pop.stairwell[roster.idle_mask], minlength=n_stairwells)
    if not np.array_equal(np.array(roster.counts_by_stairwell()[1]), idle_count):
        problems.append("idle counts per stairwell")
    available = np.bincount(pop.stairwell[on_duty & ~roster.busy], minlength=n_stairwells)
    if not np.array_equal(np.frombuffer(roster._available_count, dtype=np.int64), available):
        problems.append("on duty and not serving, per stairwell")
    return problems


@pytest.mark.parametrize(
    ("scenario", "policy", "days", "overrides"),
    [
        ("chaoyangli.toml", "nearest", 10, {}),
        ("chaoyangli.toml", "broadcast", 10, {"volunteers.daily_availability_share": 0.7}),
        ("chaoyangli-stress.toml", "pairing+nearest", 14, {}),
        ("chaoyangli-2045.toml", "pairing+broadcast", 40, {}),
    ],
)
def test_kept_state_equals_a_recount(scenario, policy, days, overrides):
    model = VolunteerModel(SCENARIOS / scenario, policy=policy, rng=3, days=days, **overrides)
    seen: list[str] = []
    checks = [0]
    sample = model._sample_hours

    def checked_sample(count: int) -> None:
        seen.extend(recount_problems(model))
        checks[0] += 1
        sample(count)

    model.events._sampler = checked_sample
    model.run(on_day=lambda _day: seen.extend(recount_problems(model)))
    assert checks[0] > days  # hours with no event between them are sampled together
    assert model.summary()["served"] > 0
    assert seen == []
