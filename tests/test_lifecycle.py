"""The life cycle of an order: placed, offered, accepted, served or unmet, exactly once.

Invariants every run must keep, whatever the policy and scenario: every order ends once (served
or unmet), the per-order table and the summary agree, a volunteer serves one order at a time,
times are ordered (wait, travel, response), and no order waits longer than ``max_wait_min``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.dispatch.pairing import PairingPolicy
from sim.model import VolunteerModel
from sim.orders import SERVED, UNMET

POLICIES = (
    "pairing",
    "nearest",
    "broadcast",
    "grid",
    "station",
    "neighbours",
    "random",
    "pairing+broadcast",
    "pairing+neighbours+nearest",
)
#: minutes; times are sums of a few floats
EPS = 1e-6
MIN_PER_DAY = 1440

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # reproducible in CI
    suppress_health_check=[HealthCheck.too_slow],
)


# --- the invariants -----------------------------------------------------------------------
def assert_one_order_at_a_time(served: pd.DataFrame) -> None:
    """For each volunteer, [accepted, ended] intervals of served orders do not overlap."""
    frame = served.assign(accepted_min=served["placed_min"] + served["wait_min"])
    for volunteer, orders in frame.groupby("volunteer"):
        orders = orders.sort_values(["accepted_min", "ended_min"])
        starts = orders["accepted_min"].to_numpy()
        ends = orders["ended_min"].to_numpy()
        overlap = np.flatnonzero(starts[1:] < ends[:-1] - EPS)
        assert len(overlap) == 0, (
            f"volunteer {volunteer} accepted order {orders['order'].iloc[overlap[0] + 1]} "
            f"at {starts[overlap[0] + 1]:.2f} while serving order "
            f"{orders['order'].iloc[overlap[0]]} until {ends[overlap[0]]:.2f}"
        )


def assert_order_life_cycle(model: VolunteerModel) -> pd.DataFrame:
    """Every invariant of the order life cycle, for a finished run; returns the order table."""
    table = model.order_table()
    summary = model.summary()
    status = table["status"]
    served = table[status == SERVED]
    unmet = table[status == UNMET]

    # every order ends exactly once: served or unmet, counted once, table and summary agree
    assert status.isin([SERVED, UNMET]).all(), "an order neither served nor unmet"
    assert summary["requests"] == len(table) == len(served) + len(unmet)
    assert summary["served"] == len(served)
    assert summary["unmet"] == len(unmet)
    assert table["order"].is_unique
    daily = model.daily_table()
    assert daily["orders_placed"].sum() == len(table)
    assert daily["orders_served"].sum() == len(served)
    assert daily["orders_unmet"].sum() == len(unmet)
    assert table["placed_min"].between(0, model.days * MIN_PER_DAY).all()

    # served orders: someone accepted, walked over and served
    assert (served["volunteer"] >= 0).all(), "a served order without a volunteer"
    assert (served["offers"] >= 1).all()
    assert (served["wait_min"] >= 0).all(), "accepted before it was placed"
    assert (served["travel_min"] >= 0).all()
    assert (served["response_min"] >= served["travel_min"] - EPS).all()
    assert (served["response_min"] >= served["wait_min"] - EPS).all()
    accepted = served["placed_min"] + served["wait_min"]
    np.testing.assert_allclose(
        served["ended_min"],
        accepted + served["travel_min"] + served["service_min"],
        rtol=0,
        atol=EPS,
        err_msg="ended_min != accepted + travel + service",
    )
    assert served["rating"].between(1, 5).all()

    # unmet orders: nobody took them
    assert (unmet["volunteer"] == -1).all(), "an unmet order with a volunteer"
    assert unmet[["wait_min", "travel_min", "response_min", "rating"]].isna().all().all()
    assert (unmet["ended_min"] >= unmet["placed_min"]).all()

    # nobody is dispatched before release or taken after expiry (sim.needs)
    assert (table["release_min"] >= table["placed_min"]).all()
    assert (table["due_min"] > table["release_min"]).all()
    accepted_at = served["placed_min"] + served["wait_min"]
    assert (accepted_at >= served["release_min"] - EPS).all(), "accepted before release"
    assert (accepted_at <= served["expire_min"] + EPS).all(), "accepted after expiry"
    assert (unmet["ended_min"] <= unmet["expire_min"] + EPS).all()
    max_wait = model.scenario_params.demand.max_wait_min
    if math.isfinite(max_wait) and not model.scenario_params.needs.book_non_urgent:
        assert (served["wait_min"] <= max_wait + EPS).all(), "accepted after max_wait_min"
        assert (unmet["ended_min"] - unmet["placed_min"] <= max_wait + EPS).all()

    assert_one_order_at_a_time(served)

    # the summary's statistics are those of the table
    if len(served):
        assert summary["response_time_mean_min"] == pytest.approx(served["response_min"].mean())
        assert summary["wait_mean_min"] == pytest.approx(served["wait_min"].mean())
        assert (
            summary["response_time_p50_min"]
            <= summary["response_time_p90_min"]
            <= summary["response_time_p95_min"]
        )
        within = (served["response_min"] <= 15).sum() / len(table)
        assert summary["served_within_15min_share"] == pytest.approx(within)
    return table


# --- random small scenarios -----------------------------------------------------------------
@st.composite
def small_runs(
    draw: st.DrawFn,
    policies: tuple[str, ...] = POLICIES,
    accept: st.SearchStrategy[float] | None = None,
) -> dict[str, Any]:
    """Arguments of a VolunteerModel for a small valid community, fast to run; ``accept``
    draws a fixed acceptance probability (None: the acceptance model decides)."""
    buildings = draw(st.integers(5, 20))
    residents = draw(st.integers(200, 600))
    overrides = {
        "population.residents": residents,
        "population.households": draw(st.integers(residents // 4, residents // 2)),
        "community.buildings": buildings,
        "community.stairwells": draw(st.integers(max(20, buildings), 60)),
        "community.grids": draw(st.integers(1, min(5, buildings))),
        "community.service_points": draw(st.integers(10, 40)),
        "demand.max_wait_min": draw(st.just(math.inf) | st.floats(5.0, 300.0)),
        "demand.total_per_day": draw(st.none() | st.floats(2.0, 40.0)),
        "volunteers.count": draw(st.none() | st.integers(0, 40)),
        "volunteers.always_available": draw(st.booleans()),
        "volunteers.accept_probability": None if accept is None else draw(accept),
        "travel.speed_m_per_min": draw(st.sampled_from([75.0, 20.0, math.inf])),
        "needs.book_non_urgent": draw(st.booleans()),
    }
    return {
        "policy": draw(st.sampled_from(policies)),
        "days": draw(st.integers(2, 10)),
        "rng": draw(st.integers(0, 2**32 - 1)),
        **overrides,
    }


@PROPERTY
@given(arguments=small_runs())
def test_every_order_ends_once_and_each_volunteer_serves_one_order_at_a_time(
    arguments: dict[str, Any], run_model, time_limit
) -> None:
    with time_limit(10):  # a hang is a failure, not a frozen test run (an example: < 1 s)
        model = run_model(**arguments)
    assert_order_life_cycle(model)


@PROPERTY
@given(arguments=small_runs(accept=st.floats(0.0, 1.0)))
def test_life_cycle_holds_with_a_fixed_acceptance_probability(
    arguments: dict[str, Any], run_model, time_limit
) -> None:
    # a hang is a failure; nobody accepting with orders that never expire re-asks everyone an
    # app reaches, day and night, every 15 minutes for days (9 s alone for the slowest example,
    # several times that on a loaded machine)
    with time_limit(90):
        model = run_model(**arguments)
    assert_order_life_cycle(model)


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_serves_the_baseline_by_the_life_cycle_rules(
    policy: str, baseline_file, run_model
) -> None:
    model = run_model(baseline_file, policy=policy, days=7, rng=11)
    table = assert_order_life_cycle(model)
    assert model.summary()["policy"] == policy
    assert len(table) > 0
    assert (table["status"] == SERVED).any(), f"{policy} served nobody in a week"


@pytest.mark.parametrize("policy", POLICIES)
def test_when_every_volunteer_accepts_one_offer_is_enough(
    policy: str, small_community, run_model
) -> None:
    model = run_model(
        policy=policy,
        days=5,
        rng=5,
        **small_community,
        **{"volunteers.accept_probability": 1.0, "demand.total_per_day": 15.0},
    )
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED]
    assert len(served) > 0
    assert (served["offers"] == 1).all()


# --- waiting ----------------------------------------------------------------------------
@pytest.mark.parametrize("max_wait", [10.0, 45.0, 200.0])
def test_an_order_not_accepted_within_max_wait_expires_then(
    max_wait: float, small_community, run_model
) -> None:
    # four volunteers for 30 orders a day: many orders wait, some too long
    overrides = {
        "volunteers.count": 4,
        "demand.total_per_day": 30.0,
        "demand.max_wait_min": max_wait,
        "needs.book_non_urgent": False,  # every order dispatched when placed
    }
    model = run_model(policy="nearest", days=4, rng=3, **small_community, **overrides)
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED]
    unmet = table[table["status"] == UNMET]
    assert len(unmet) > 0, "the scenario should overload four volunteers"
    assert served["wait_min"].max() <= max_wait
    np.testing.assert_allclose(unmet["ended_min"] - unmet["placed_min"], max_wait, atol=EPS)


def test_with_unlimited_wait_orders_stay_open_until_the_run_ends(
    small_community, run_model
) -> None:
    overrides = {
        "volunteers.count": 4,
        "demand.total_per_day": 30.0,
        "demand.max_wait_min": math.inf,
    }
    model = run_model(policy="nearest", days=4, rng=3, **small_community, **overrides)
    table = assert_order_life_cycle(model)
    unmet = table[table["status"] == UNMET]
    served = table[table["status"] == SERVED]
    assert served["wait_min"].max() > 180, "some order should wait beyond the default limit"
    assert (unmet["ended_min"] >= model.days * MIN_PER_DAY).all()


# --- travel and familiarity -----------------------------------------------------------------
def test_at_infinite_speed_response_time_is_the_wait(small_community, run_model) -> None:
    model = run_model(
        policy="nearest", days=5, rng=2, **small_community, **{"travel.speed_m_per_min": math.inf}
    )
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED]
    assert len(served) > 0
    assert (served["travel_min"] == 0).all()
    np.testing.assert_allclose(served["response_min"], served["wait_min"], atol=EPS)


def test_an_order_is_familiar_exactly_when_its_volunteer_served_the_elder_before(
    small_community, run_model
) -> None:
    # few elders, many orders: volunteers meet the same elders again
    overrides = {"demand.total_per_day": 25.0, "volunteers.count": 15}
    model = run_model(policy="grid", days=10, rng=4, **small_community, **overrides)
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED].copy()
    served["accepted_min"] = served["placed_min"] + served["wait_min"]
    for row in served.itertuples():
        same_pair = served[
            (served["elder"] == row.elder)
            & (served["volunteer"] == row.volunteer)
            & (served["order"] != row.order)
        ]
        before = same_pair["ended_min"] < row.accepted_min
        if row.familiar:
            assert (same_pair["ended_min"] <= row.accepted_min).any(), row
        else:
            assert not before.any(), row
    assert served["familiar"].any(), "the scenario should produce repeat pairs"


# --- pairing (花甲助耄耋) and station policies -----------------------------------------------
@pytest.mark.parametrize(
    ("helpers_per_elder", "max_distance_m"), [(1, 150.0), (2, 150.0), (3, 60.0), (2, 400.0)]
)
def test_pairing_gives_eligible_elders_at_most_k_young_old_helpers_nearby(
    helpers_per_elder: int, max_distance_m: float, baseline_file
) -> None:
    model = VolunteerModel(
        baseline_file,
        policy="pairing",
        days=1,
        rng=8,
        **{
            "dispatch.pairing.helpers_per_elder": helpers_per_elder,
            "dispatch.pairing.max_distance_m": max_distance_m,
        },
    )
    params = model.scenario_params.dispatch
    pop, distance = model.population, model.layout.distance_m
    pairing = model.policy.first(PairingPolicy)
    assert pairing is not None
    eligible = set(np.flatnonzero((pop.age_years >= 80) & (pop.living_alone | pop.empty_nest)))
    young_old_active = np.flatnonzero(
        pop.active
        & (pop.age_years >= params.pairing.helper_min_age_years)
        & (pop.age_years <= params.pairing.helper_max_age_years)
    )
    load: dict[int, int] = {}
    paired = 0
    for elder, helpers in pairing.pairs.items():
        assert elder in eligible, f"resident {elder} is paired but not an eligible elder"
        assert len(helpers) <= helpers_per_elder
        assert len(set(helpers)) == len(helpers)
        paired += bool(helpers)
        for h in helpers:
            assert pop.active[h]
            assert 60 <= pop.age_years[h] <= 69
            assert distance[pop.stairwell[elder], pop.stairwell[h]] <= max_distance_m
            load[h] = load.get(h, 0) + 1
    assert paired > 0, "some elder should have a helper"
    assert max(load.values()) <= params.pairing.max_elders_per_helper
    # greedy pairing leaves no elder short while a helper in reach has room
    for elder in eligible:
        helpers = pairing.pairs.get(elder, [])
        if len(helpers) < helpers_per_elder:
            d = distance[pop.stairwell[elder], pop.stairwell[young_old_active]]
            in_reach = young_old_active[d <= max_distance_m]
            spare = [
                h
                for h in in_reach.tolist()
                if h not in helpers and load.get(h, 0) < params.pairing.max_elders_per_helper
            ]
            assert not spare, f"elder {elder} lacks helpers while {spare} have room"
    assert model.paired_elders_share() == pytest.approx(paired / len(eligible))


def test_pairing_alone_serves_only_paired_elders_by_their_helpers(baseline_file, run_model) -> None:
    model = run_model(baseline_file, policy="pairing", days=14, rng=9)
    # pairs are re-formed only after this many days: they are still those formed at the start
    assert model.days < model.scenario_params.dynamics.repair_interval_days
    table = assert_order_life_cycle(model)
    pairs = model.policy.first(PairingPolicy).pairs
    has_helpers = table["elder"].map(lambda e: bool(pairs.get(e)))
    without = table[~has_helpers]
    assert len(without) > 0, "some orders should come from elders without helpers"
    assert (without["status"] == UNMET).all(), "an elder without helpers was served"
    served = table[table["status"] == SERVED]
    assert len(served) > 0
    for row in served.itertuples():
        assert row.volunteer in pairs[row.elder], f"order {row.order} served by a non-helper"


def test_a_fallback_after_pairing_serves_elders_without_helpers(baseline_file, run_model) -> None:
    model = run_model(baseline_file, policy="pairing+broadcast", days=14, rng=9)
    table = assert_order_life_cycle(model)
    pairs = model.policy.first(PairingPolicy).pairs
    without = table[~table["elder"].map(lambda e: bool(pairs.get(e)))]
    assert (without["status"] == SERVED).any()


def test_station_orders_are_served_by_service_point_hosts(baseline_file, run_model) -> None:
    # without dynamics nobody leaves or stops, so the hosts stay those chosen at the start
    static = {"dynamics.population": False, "dynamics.volunteers": False}
    model = VolunteerModel(baseline_file, policy="station", days=7, rng=12, **static)
    hosts = model.point_host.copy()
    model.run_model()
    assert (model.point_host == hosts).all()
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED]
    assert len(served) > 0
    strangers = set(served["volunteer"]) - set(hosts.tolist())
    assert not strangers, f"volunteers {sorted(strangers)} host no service point"


def test_station_orders_are_served_by_hosts_as_hosts_change(baseline_file) -> None:
    # hosts who leave or stop are replaced: each order's volunteer hosted a point at some time
    model = VolunteerModel(baseline_file, policy="station", days=14, rng=12)
    hosts = set(model.point_host.tolist())
    while model.running:
        model.step()
        hosts |= set(model.point_host.tolist())
    table = assert_order_life_cycle(model)
    served = table[table["status"] == SERVED]
    assert len(served) > 0
    strangers = set(served["volunteer"]) - hosts
    assert not strangers, f"volunteers {sorted(strangers)} never hosted a service point"


# --- declines ----------------------------------------------------------------------------
def test_broadcast_with_fixed_acceptance_never_double_books_a_volunteer(
    small_community, run_model
) -> None:
    overrides = {
        "volunteers.accept_probability": 0.5,
        "volunteers.count": 8,
        "demand.total_per_day": 30.0,
        "demand.max_wait_min": math.inf,
    }
    for seed in range(6):
        model = run_model(policy="broadcast", days=5, rng=seed, **small_community, **overrides)
        table = model.order_table()
        assert_one_order_at_a_time(table[table["status"] == SERVED])


def test_with_zero_acceptance_every_order_goes_unmet_among_many_volunteers(
    baseline_file, run_model, time_limit
) -> None:
    overrides = {
        "volunteers.accept_probability": 0.0,
        "volunteers.always_available": True,
        "demand.max_wait_min": 30.0,
        "needs.book_non_urgent": False,  # every order expires 30 minutes after it is placed
    }
    with time_limit(20):
        model = run_model(baseline_file, policy="nearest", days=1, rng=1, **overrides)
    table = assert_order_life_cycle(model)
    assert len(table) > 0
    assert (table["status"] == UNMET).all()


def test_with_zero_acceptance_a_short_run_finishes(small_community, run_model, time_limit) -> None:
    overrides = {
        "volunteers.accept_probability": 0.0,
        "volunteers.count": 5,
        "demand.total_per_day": 20.0,
    }
    with time_limit(5):
        model = run_model(policy="nearest", days=3, rng=1, **small_community, **overrides)
    table = assert_order_life_cycle(model)
    assert (table["status"] == UNMET).all()
