"""Validation of the whole model against closed forms (sim.theory).

The M/M/c limit uses exactly the dotted keys that outside validation scripts set (the
population changes as usual, but volunteers.always_available keeps the c volunteers on duty,
alive and in place); the spatial limit switches off the population and volunteer dynamics
(sim.dynamics): nobody dies, moves, joins or stops during a run.

1. The M/M/c limit. Poisson orders (flat profile), exponential service, c volunteers always on
   duty who always accept at once, and no travel: volsim is then an M/M/c FCFS queue, so its
   mean wait, utilisation and wait distribution must match Erlang C.
2. The spatial limit. Volunteers at uniformly random places, each accepting an offer with
   probability p, and the nearest policy offering nearest-first: the accepting volunteer is the
   nearest accepting one, whose distance has P(D > r) = exp(-p delta pi r^2).

Tolerances come from statistics, not from trial and error: each check runs R independent seeds
(replications), takes one estimate per replication and asserts that the closed form lies in
the replication means' t-based 99% confidence interval. Orders within one run are correlated
(queue: consecutive waits; space: elders share the same volunteer placement), so a binomial
standard error over orders would be too narrow; the spread between independent replications
is the honest one. Every check also asserts that its interval is narrow enough to catch a real
error, so a test cannot pass merely by being vague. Seeds are fixed, so results reproduce; with
about 40 checks at 99%, an unlucky seed would fail one check in a few fresh seed sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.model import VolunteerModel
from sim.orders import SERVED
from sim.theory import (
    erlang_c,
    mmc_mean_wait,
    mmc_utilisation,
    mmc_wait_exceeds,
    nearest_beyond_probability,
)

CONFIDENCE = 0.99
MIN_PER_DAY = 1440.0
BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "chaoyangli.toml"


def t_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """(mean, half-width) of the t-based confidence interval of independent replications."""
    x = np.asarray(samples, dtype=float)
    n = len(x)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(half)


def check(failures: list[str], name: str, theory: float, samples, max_half: float) -> None:
    """Record a failure unless ``theory`` lies in the CI and the CI is at most ``max_half``."""
    mean, half = t_interval(samples)
    if not abs(mean - theory) <= half:
        failures.append(
            f"{name}: theory {theory:.5g} outside {mean:.5g} +/- {half:.3g} "
            f"({CONFIDENCE:.0%} CI over {len(samples)} replications)"
        )
    if not half <= max_half:
        failures.append(f"{name}: CI half-width {half:.3g} wider than {max_half:.3g} (too vague)")


# --- 1. the M/M/c limit -------------------------------------------------------------------


@dataclass(frozen=True)
class MMCCase:
    servers: int
    load: float  # rho = lambda / (c mu)
    service_mean_min: float  # 1 / mu
    days: int  # per replication; the first day is a warm-up for the tail estimates
    max_relative_half: float  # the mean wait's CI must be at least this sharp
    replications: int = 10

    @property
    def arrival_rate(self) -> float:
        """lambda, orders per minute."""
        return self.load * self.servers / self.service_mean_min

    @property
    def service_rate(self) -> float:
        return 1.0 / self.service_mean_min

    @property
    def id(self) -> str:
        return f"M/M/{self.servers}-rho{self.load}"


# Horizons: enough customers per replication for the mean wait's CI half-width to be a few per
# cent (expected, from a pilot of the variance: M/M/1 4%, M/M/2 5%, M/M/5 6%, heavy-traffic
# M/M/20 13%, whose waits relax slowly); about 1.7 M orders in all, some 25 s on one core.
# Service means keep a day at 1,000-2,900 orders. The sharpness bound is 1.6x the expected
# half-width: the 99th percentile of s / sigma with 9 degrees of freedom is 1.55.
# The mean wait is the model's own summary() over all orders: the queue starts empty, but it
# relaxes within minutes to hours, a bias below 0.5% of a 13-36 day run. The tails use the
# order table without the first day.
MMC_CASES = [
    MMCCase(servers=1, load=0.5, service_mean_min=0.5, days=17, max_relative_half=0.06),
    MMCCase(servers=2, load=0.7, service_mean_min=2.0, days=36, max_relative_half=0.09),
    MMCCase(servers=5, load=0.8, service_mean_min=2.0, days=13, max_relative_half=0.10),
    MMCCase(servers=20, load=0.9, service_mean_min=10.0, days=28, max_relative_half=0.20),
]


def mmc_model(case: MMCCase, seed: int) -> VolunteerModel:
    return VolunteerModel(
        policy="nearest",
        rng=seed,
        days=case.days,
        **{
            "demand.total_per_day": case.arrival_rate * MIN_PER_DAY,
            "demand.daily_profile": "flat",
            "demand.max_wait_min": math.inf,
            "service.distribution": "exponential",
            "service.mean_min": case.service_mean_min,
            "travel.speed_m_per_min": math.inf,
            "volunteers.count": case.servers,
            "volunteers.always_available": True,
            "needs.book_non_urgent": False,
            "volunteers.accept_probability": 1.0,
        },
    )


@pytest.mark.parametrize("case", MMC_CASES, ids=lambda case: case.id)
def test_mmc_limit_matches_erlang_c(case: MMCCase) -> None:
    """Mean wait, utilisation and P(wait > t) against Erlang C, over independent seeds."""
    c, lam, mu = case.servers, case.arrival_rate, case.service_rate
    # P(W > t_k) = C e^-k: at 0 (Erlang C itself), one and two decay times
    decay_time = 1.0 / (c * mu - lam)
    t_points = [0.0, decay_time, 2.0 * decay_time]
    mean_waits, utilisations, tails = [], [], []
    for seed in range(case.replications):
        model = mmc_model(case, seed=1000 * c + seed)
        model.run()
        summary = model.summary()
        table = model.order_table()
        # the M/M/c limit as configured: everyone served, no travel, response = wait
        assert summary["unmet"] == 0 and (table["status"] == SERVED).all()
        assert (table["travel_min"] == 0).all()
        np.testing.assert_array_equal(table["response_min"], table["wait_min"])
        assert summary["active_volunteers"] == c
        mean_waits.append(summary["wait_mean_min"])
        utilisations.append(summary["volunteer_utilisation"])
        wait = table.loc[table["placed_min"] >= MIN_PER_DAY, "wait_min"].to_numpy()
        tails.append([(wait > t).mean() for t in t_points])
    tails = np.array(tails)

    failures: list[str] = []
    theory_wait = mmc_mean_wait(c, lam, mu)
    check(failures, "mean wait", theory_wait, mean_waits, case.max_relative_half * theory_wait)
    rho = mmc_utilisation(c, lam, mu)
    check(failures, "utilisation", rho, utilisations, 0.01)
    for k, t in enumerate(t_points):
        theory = mmc_wait_exceeds(c, lam, mu, t)
        # absolute sharpness: a 10% relative error in P(W > 0) = C is always caught
        check(failures, f"P(wait > {t:.3g} min)", theory, tails[:, k], 0.1 * erlang_c(c, lam / mu))
    assert not failures, f"{case.id}:\n" + "\n".join(failures)


# --- 2. the spatial limit -----------------------------------------------------------------


@dataclass(frozen=True)
class SpatialCase:
    volunteers: int
    accept_probability: float
    seeds: int
    side_m: float = 400.0
    cell_size_m: float = 2.0
    residents: int = 1500  # 60% are 80+ elders who place orders, 40% aged 18-59
    orders_per_day: float = 3000.0
    # P(D > r) is checked where the closed form gives these survival probabilities
    survival_points: tuple[float, ...] = (0.8, 0.6, 0.4, 0.2, 0.05)

    @property
    def density_per_m2(self) -> float:
        return self.volunteers / self.side_m**2

    @property
    def radii_m(self) -> np.ndarray:
        rate = self.accept_probability * self.density_per_m2 * math.pi
        return np.sqrt(-np.log(np.array(self.survival_points)) / rate)

    @property
    def id(self) -> str:
        return f"V{self.volunteers}-p{self.accept_probability}"


# p * V is the same in both, so the distance scale is too: P(D > r) = 1/2 at about 17 m,
# 8.5 cells. Expected CI half-widths with 10 placements: 0.005-0.02 (V500), 0.01-0.025
# (V250); the sharpness bound, 0.035, is below the 0.037 that a 10% error in the density
# shifts P(D > r) = 0.4 by (0.1 s |ln s|) and about 1.5x the expected widest half-width.
SPATIAL_CASES = [
    SpatialCase(volunteers=500, accept_probability=0.25, seeds=10),
    SpatialCase(volunteers=250, accept_probability=0.5, seeds=10),
]


def spatial_model(case: SpatialCase, seed: int) -> VolunteerModel:
    """One resident per household per stairwell, so everyone lives at a distinct random cell.

    The stairwell cells are drawn afresh for every seed (``community.fixed_layout = false``:
    with the default fixed layout every seed shares one point pattern, and the average over
    seeds converges to that pattern's own value, not to the closed form).

    Nobody lives alone or in an empty nest, so the order-placing elders are exactly the 80+
    residents (group "other 80+"), none of whom can volunteer (max age 79). Orders take a
    thousandth of a minute and walking is near-instant, so every volunteer is free when an
    order arrives (any order that is not is dropped below).
    """
    r = case.residents
    return VolunteerModel(
        policy="nearest",
        rng=seed,
        days=1,
        **{
            "community.layout": "uniform",
            "community.fixed_layout": False,  # fresh stairwell cells for every seed
            "community.distance_metric": "euclidean",
            "community.cell_size_m": case.cell_size_m,
            "community.width_m": case.side_m,
            "community.height_m": case.side_m,
            "community.stairwells": r,
            "community.service_points": 0,
            "population.residents": r,
            "population.households": r,
            "population.share_aged_60_plus": 0.6,
            "population.share_aged_80_plus": 0.6,
            "population.share_aged_90_plus": 0.0,
            "population.living_alone_share_of_60_plus": 0.0,
            "population.empty_nest_share_of_60_plus": 0.0,
            "volunteers.count": case.volunteers,
            "volunteers.always_available": True,
            "needs.book_non_urgent": False,
            "volunteers.accept_probability": case.accept_probability,
            "demand.total_per_day": case.orders_per_day,
            "demand.daily_profile": "flat",
            "service.distribution": "deterministic",
            "service.mean_min": 1e-3,
            "travel.speed_m_per_min": 1e7,
            "travel.stair_min_per_floor": 0.0,
            "dynamics.population": False,  # no deaths, moves or births
            "dynamics.volunteers": False,  # no attrition or recruitment
        },
    )


def lattice_survival(case: SpatialCase, model: VolunteerModel, r_m: float) -> float:
    """P(D > r) exactly, for an elder at least r from the edge of the finite lattice.

    Everyone lives at a distinct cell, so the volunteers' cells are a uniformly random
    V-subset of the other N - 1 cells: the number within r is hypergeometric, and each of them
    accepts independently with probability p.
    """
    layout = model.layout
    n_cells = layout.width_cells * layout.height_cells
    k = int(r_m // layout.cell_size_m) + 1
    i, j = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1))
    within = int((np.sqrt(i**2 + j**2) * layout.cell_size_m <= r_m).sum()) - 1  # not own cell
    count = stats.hypergeom(n_cells - 1, within, case.volunteers)
    support = np.arange(min(within, case.volunteers) + 1)
    return float(count.pmf(support) @ (1.0 - case.accept_probability) ** support)


def nearest_acceptor_distances(case: SpatialCase, model: VolunteerModel) -> np.ndarray:
    """Elder-to-volunteer distance of clean, interior orders of one run."""
    pop, layout = model.population, model.layout
    # preconditions of the limit: distinct homes, orders only from non-volunteers
    assert np.bincount(pop.stairwell).max() == 1
    assert len(np.intersect1d(pop.client_ids, pop.volunteer_ids)) == 0
    assert pop.active.sum() == case.volunteers
    table = model.order_table().sort_values("placed_min", kind="stable")
    assert (table["status"] == SERVED).all()
    elder_sw = pop.stairwell[table["elder"].to_numpy()]
    volunteer_sw = pop.stairwell[table["volunteer"].to_numpy()]
    distance = layout.distance_m[elder_sw, volunteer_sw]
    # clean: accepted on the first sweep at once, with every earlier order already finished
    ended = table["ended_min"].to_numpy()
    placed = table["placed_min"].to_numpy()
    earlier_end = np.concatenate([[-np.inf], np.maximum.accumulate(ended)[:-1]])
    clean = (table["wait_min"].to_numpy() == 0) & (earlier_end < placed)
    # interior: the disk of radius r_max lies inside the footprint, so no edge effect
    xy = layout.stairwell_xy[elder_sw] * layout.cell_size_m
    top = (np.array([layout.width_cells, layout.height_cells]) - 1) * layout.cell_size_m
    edge = np.minimum(xy, top - xy).min(axis=1)
    interior = edge >= case.radii_m.max() + layout.cell_size_m
    return distance[clean & interior]


@pytest.mark.parametrize("case", SPATIAL_CASES, ids=lambda case: case.id)
def test_nearest_accepting_volunteer_distance(case: SpatialCase) -> None:
    """Empirical P(D > r) over fresh placements against exp(-p delta pi r^2).

    Two checks at each r. (1) The exact expectation for this finite lattice (hypergeometric
    count of volunteers within r, see lattice_survival) lies in the 99% CI. (2) The closed
    form lies in the CI widened by its computed distance from that exact value: the closed form
    is the continuum limit, and 2 m cells shift it by up to 0.01 at the smallest radius.
    """
    radii = case.radii_m
    estimates, exact = [], None
    for seed in range(case.seeds):
        model = spatial_model(case, seed=seed)
        model.run()
        distance = nearest_acceptor_distances(case, model)
        assert len(distance) > 1000
        estimates.append([(distance > r).mean() for r in radii])
        if exact is None:
            exact = [lattice_survival(case, model, r) for r in radii]
    estimates = np.array(estimates)

    failures: list[str] = []
    for k, r in enumerate(radii):
        closed = nearest_beyond_probability(case.density_per_m2, case.accept_probability, r)
        check(failures, f"P(D > {r:.1f} m), lattice", exact[k], estimates[:, k], max_half=0.035)
        mean, half = t_interval(estimates[:, k])
        bias = abs(exact[k] - closed)
        if not abs(mean - closed) <= half + bias:
            failures.append(
                f"P(D > {r:.1f} m): closed form {closed:.4f} outside {mean:.4f} +/- {half:.3g} "
                f"+ lattice bias {bias:.3g}"
            )
    assert not failures, f"{case.id}:\n" + "\n".join(failures)


# --- bugs found while validating ----------------------------------------------------------


def test_fixed_acceptance_survives_many_declines() -> None:
    model = VolunteerModel(
        policy="nearest",
        rng=1,
        days=1,
        **{
            "demand.total_per_day": 5.0,
            "volunteers.count": 400,
            "volunteers.always_available": True,
            "needs.book_non_urgent": False,
            "volunteers.accept_probability": 0.0,
        },
    )
    model.run()
    assert model.summary()["unmet"] == model.summary()["requests"]


@pytest.mark.parametrize("policy", ["nearest", "broadcast", "grid"])
def test_no_elder_serves_own_order(policy: str) -> None:
    # population dynamics off: isolates this from the grid policy's growth bug below
    model = VolunteerModel(
        BASELINE,
        policy=policy,
        rng=1,
        days=60,
        **{"dynamics.population": False, "dynamics.volunteers": False},
    )
    model.run()
    table = model.order_table()
    served = table[table["status"] == SERVED]
    assert (served["volunteer"] != served["elder"]).all()


def test_grid_policy_survives_population_growth() -> None:
    model = VolunteerModel(BASELINE, policy="grid", rng=1, days=60)
    model.run()
    assert model.population.size > 4900  # residents did arrive
    assert model.summary()["served"] > 0
