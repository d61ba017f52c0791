"""Tests for the closed forms in sim.theory."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from sim.theory import (
    erlang_c,
    mmc_mean_wait,
    mmc_utilisation,
    mmc_wait_exceeds,
    nearest_beyond_probability,
)


def erlang_c_direct(servers: int, offered_load: float) -> float:
    """Textbook Erlang C with factorials; only usable for small c."""
    tail = offered_load**servers / math.factorial(servers) * servers / (servers - offered_load)
    head = sum(offered_load**k / math.factorial(k) for k in range(servers))
    return tail / (head + tail)


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_single_server_wait_probability_is_rho(rho: float) -> None:
    assert erlang_c(1, rho) == pytest.approx(rho, abs=1e-15)


def test_two_servers_unit_load() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-14)


@pytest.mark.parametrize("servers", [1, 2, 3, 5, 8, 13, 20, 30])
@pytest.mark.parametrize("load_fraction", [0.05, 0.3, 0.6, 0.85, 0.99])
def test_matches_direct_formula(servers: int, load_fraction: float) -> None:
    load = load_fraction * servers
    assert erlang_c(servers, load) == pytest.approx(erlang_c_direct(servers, load), rel=1e-10)


def test_stable_for_many_servers() -> None:
    value = erlang_c(1000, 950.0)
    assert math.isfinite(value)
    assert 0.0 < value < 1.0


@pytest.mark.parametrize(("servers", "load"), [(3, 3.0), (3, 4.5), (0, 0.5), (2, -0.1)])
def test_rejects_invalid_arguments(servers: int, load: float) -> None:
    with pytest.raises(ValueError):
        erlang_c(servers, load)


def test_mm1_mean_wait_and_utilisation() -> None:
    # M/M/1 with lambda = 0.5, mu = 1: W_q = rho / (mu - lambda) = 1.
    assert mmc_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0, rel=1e-14)
    assert mmc_utilisation(4, 3.0, 1.0) == pytest.approx(0.75)


def test_wait_tail_integrates_to_mean_wait() -> None:
    servers, arrival_rate, service_rate = 4, 3.0, 1.0
    assert mmc_wait_exceeds(servers, arrival_rate, service_rate, 0.0) == pytest.approx(
        erlang_c(servers, arrival_rate / service_rate)
    )
    area, _ = quad(lambda t: mmc_wait_exceeds(servers, arrival_rate, service_rate, t), 0, np.inf)
    assert area == pytest.approx(mmc_mean_wait(servers, arrival_rate, service_rate), rel=1e-8)


@pytest.mark.parametrize(
    ("density_per_m2", "accept_probability", "radius_m"),
    [(1e-4, 0.3, 100.0), (5e-5, 0.8, 150.0), (2e-4, 0.1, 60.0)],
)
def test_nearest_beyond_matches_monte_carlo(
    density_per_m2: float, accept_probability: float, radius_m: float
) -> None:
    """Scatter volunteers uniformly in a square around the incident and thin them."""
    rng = np.random.default_rng(20240601)
    trials, half_side_m = 20_000, 2 * radius_m
    counts = rng.poisson(density_per_m2 * (2 * half_side_m) ** 2, size=trials)
    trial_of_point = np.repeat(np.arange(trials), counts)
    xy = rng.uniform(-half_side_m, half_side_m, size=(counts.sum(), 2))
    accepted_near = (rng.random(counts.sum()) < accept_probability) & (
        np.hypot(xy[:, 0], xy[:, 1]) <= radius_m
    )
    hits = np.bincount(trial_of_point[accepted_near], minlength=trials)
    estimate = np.mean(hits == 0)

    expected = nearest_beyond_probability(density_per_m2, accept_probability, radius_m)
    standard_error = math.sqrt(expected * (1 - expected) / trials)
    assert abs(estimate - expected) < 4 * standard_error


@given(
    servers=st.integers(min_value=1, max_value=500),
    fractions=st.lists(st.floats(min_value=0.0, max_value=0.999), min_size=2, max_size=2),
)
def test_erlang_c_is_probability_increasing_in_load(servers: int, fractions: list[float]) -> None:
    low, high = (f * servers for f in sorted(fractions))
    c_low, c_high = erlang_c(servers, low), erlang_c(servers, high)
    assert 0.0 <= c_low <= 1.0
    assert 0.0 <= c_high <= 1.0
    assert c_low <= c_high * (1 + 1e-12)
