"""Ages and households (sim.population, sim.dynamics): the sourced age table, living
arrangements at the start and as they drift, and people conserved through household events.

1. the initial counts by age band are the census table scaled to the profile's 60+, 80+ and
   90+ counts (deterministic apportionment: exact up to rounding);
2. at the start 6.0% of those aged 60+ live alone and 36.8% are empty-nest (the profile), and
   nobody under 60 lives alone;
3. over 20 years the share of 60+ living alone stays within the band docs/ODD.md §7.9.5
   derives;
4. people are conserved through household moves, leaving home, partners moving in and
   elders moving in with family.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from sim.dynamics import DAYS_PER_YEAR
from sim.model import VolunteerModel
from sim.population import age_band_counts, apportion
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def test_apportion_keeps_the_total_and_the_proportions() -> None:
    counts = apportion(100, np.array([1.0, 1.0, 1.0]))
    assert counts.sum() == 100 and counts.max() - counts.min() <= 1
    assert apportion(0, np.array([1.0])).tolist() == [0]


def test_initial_counts_by_band_match_the_scaled_census_table() -> None:
    scenario = Scenario()
    p = scenario.population
    model = VolunteerModel(days=1, rng=3)
    age = model.population.age_years
    table = dict((start, persons) for start, persons in p.age_table)
    under_60 = sum(v for k, v in table.items() if k < 60)
    n, n60 = p.residents, round(p.residents * p.share_aged_60_plus)
    n80 = round(p.residents * p.share_aged_80_plus)
    for lo, hi, count in age_band_counts(scenario):
        drawn = int(((age >= lo) & (age <= hi)).sum())
        assert drawn == count, (lo, hi)
        if lo < 60:
            expected = (n - n60) * table[lo] / under_60
        elif lo < 80:
            expected = (n60 - n80) * table[lo] / (table[60] + table[70])
        else:
            continue
        assert abs(count - expected) < 1, (lo, count, expected)
    assert int((age >= 60).sum()) == n60 == 1338
    assert int((age >= 80).sum()) == n80 == 438


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_living_arrangements_at_the_start_are_the_profile(seed: int) -> None:
    pop = VolunteerModel(days=1, rng=seed).population
    elder = pop.age_years >= 60
    n60 = int(elder.sum())
    # rounding, and at most one empty-nest elder without a partner
    assert abs(pop.living_alone[elder].sum() - 0.060 * n60) <= 1.5
    assert abs(pop.empty_nest[elder].sum() - 0.368 * n60) <= 1.5
    size = np.bincount(pop.household)
    assert not ((size[pop.household] == 1) & ~elder).any(), "someone under 60 lives alone"


@functools.cache
def twenty_years(seed: int) -> VolunteerModel:
    """The 2045 scenario without orders (people and households only change as they would)."""
    no_orders = {
        f"demand.orders_per_year_{g}": 0.0
        for g in (
            "alone_80_plus",
            "empty_nest_80_plus",
            "other_80_plus",
            "alone_60_79",
            "empty_nest_60_79",
        )
    }
    model = VolunteerModel(ROOT / "scenarios" / "chaoyangli-2045.toml", rng=seed, **no_orders)
    model.run()
    return model


@pytest.mark.parametrize("seed", [0, 1])
def test_share_living_alone_stays_within_the_derived_band(seed: int) -> None:
    """docs/ODD.md §7.9.5: the share of 60+ living alone rises from 6% by widowhood; the
    band is 5-35% in every year (its derivation is there)."""
    yearly = twenty_years(seed).yearly_table()
    share = yearly["living_alone_share_60_plus"]
    assert ((share >= 0.05) & (share <= 0.35)).all(), share.tolist()
    assert share.iloc[-1] > share.iloc[0], "widowhood should raise it"


@pytest.mark.parametrize("seed", [0, 1])
def test_people_are_conserved_through_household_events(seed: int) -> None:
    model = twenty_years(seed)
    c = model.dynamics.counts
    assert min(c["left_home"], c["partners"], c["moved_in_with_family"]) > 10, c
    start = model.scenario_params.population.residents
    expected = start + c["arrivals"] + c["births"] - c["deaths"] - c["departures"]
    assert model.population.residents == expected
    assert model.population.size == start + c["arrivals"] + c["births"]
    pop = model.population
    # every present resident is in a household whose members share a stairwell
    here = np.flatnonzero(pop.present)
    first = {}
    for r in here.tolist():
        h = int(pop.household[r])
        assert first.setdefault(h, int(pop.stairwell[r])) == pop.stairwell[r]
    assert len(model.yearly) == 7300 // DAYS_PER_YEAR
