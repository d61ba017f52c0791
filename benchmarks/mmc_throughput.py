"""Engine speed side by side: volsim in its M/M/c limit against SimPy, Ciw and a bare heapq loop.

Each engine simulates the same M/M/c FCFS queue (time in minutes, service rate mu = 1 per
minute) with about ``--customers`` customers, ``--repeats`` times (seeds 0, 1, ...); the
median rate and the mean of the mean waits are printed next to Erlang C.

volsim is ``VolunteerModel`` with Poisson orders (flat daily profile), exponential service,
c volunteers always on duty who always accept and no travel: exactly the dotted keys of the
queueing limit, so the population changes as in any run (tests/test_validation.py checks
that this is an M/M/c queue). Its simulated customers are its orders, over as many whole days
as needed; "sim" rates use ``model.wall_seconds`` (the simulation's own time, as the references
time only their run), "+set-up" adds building the model. The references are in
benchmarks/mmc_reference.py.

    python benchmarks/mmc_throughput.py            # ~200,000 customers, 3 repeats
    python benchmarks/mmc_throughput.py --quick    # ~20,000 customers
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

from sim.model import VolunteerModel
from sim.theory import mmc_mean_wait

try:
    from benchmarks.mmc_reference import ciw_mmc, heapq_mmc, simpy_mmc
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
    from mmc_reference import ciw_mmc, heapq_mmc, simpy_mmc

MIN_PER_DAY = 1440
#: (servers, load rho = lambda / (c mu), service rate mu per minute); the first is the headline
#: case, the last the sparse one: an hour's service, 72 orders a day, where a clock that ticks
#: every simulated hour would cost as much as the orders
CASES = ((4, 0.75, 1.0), (1, 0.5, 1.0), (20, 0.9, 1.0), (4, 0.75, 1 / 60))


def volsim_mmc(
    servers: int, arrival_rate: float, service_rate: float, customers: int, seed: int
) -> tuple[float, float, float, int]:
    """(mean wait, simulation seconds, seconds with set-up, orders) of volsim's M/M/c limit."""
    days = math.ceil(customers / (arrival_rate * MIN_PER_DAY))
    started = time.perf_counter()
    model = VolunteerModel(
        policy="nearest",
        rng=seed,
        days=days,
        **{
            "demand.total_per_day": arrival_rate * MIN_PER_DAY,
            "demand.daily_profile": "flat",
            "demand.max_wait_min": math.inf,
            "service.distribution": "exponential",
            "service.mean_min": 1.0 / service_rate,
            "travel.speed_m_per_min": math.inf,
            "volunteers.count": servers,
            "volunteers.always_available": True,
            "needs.book_non_urgent": False,
            "volunteers.accept_probability": 1.0,
        },
    )
    model.run()
    total = time.perf_counter() - started
    summary = model.summary()
    return summary["wait_mean_min"], model.wall_seconds, total, summary["requests"]


def reference(engine: Callable[..., tuple[float, float]]):
    """Wrap a reference engine to volsim's result shape (it has no set-up to time)."""

    def run(servers, arrival_rate, service_rate, customers, seed):
        wait, seconds = engine(servers, arrival_rate, service_rate, customers, seed)
        return wait, seconds, seconds, customers

    return run


ENGINES = {
    "volsim": volsim_mmc,
    "SimPy": reference(simpy_mmc),
    "Ciw": reference(ciw_mmc),
    "heapq": reference(heapq_mmc),
}


def bench_case(
    servers: int, load: float, service_rate: float, customers: int, repeats: int
) -> dict[str, dict]:
    arrival_rate = load * servers * service_rate
    theory = mmc_mean_wait(servers, arrival_rate, service_rate)
    print(
        f"\nM/M/{servers}, rho = {load}: lambda = {arrival_rate:g}/min, mu = {service_rate:g}/min, "
        f"~{customers:,} customers, median of {repeats}; Erlang C mean wait {theory:.4f} min"
    )
    header = (
        f"{'engine':<8} {'customers':>10} {'cust/s sim':>11} {'cust/s +set-up':>15} "
        f"{'mean wait':>10} {'vs Erlang C':>12}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name, engine in ENGINES.items():
        runs = [
            engine(servers, arrival_rate, service_rate, customers, seed) for seed in range(repeats)
        ]
        rate = statistics.median(n / sim for _, sim, _, n in runs)
        rate_total = statistics.median(n / total for _, _, total, n in runs)
        wait = statistics.fmean(w for w, _, _, _ in runs)
        n = statistics.median(n for _, _, _, n in runs)
        results[name] = {"rate": rate, "rate_total": rate_total, "wait": wait}
        print(
            f"{name:<8} {n:>10,.0f} {rate:>11,.0f} {rate_total:>15,.0f} "
            f"{wait:>10.4f} {wait / theory - 1:>+12.1%}"
        )
    volsim = results["volsim"]
    ratios = ", ".join(
        f"volsim/{name} {volsim['rate'] / results[name]['rate']:.2f}"
        f" ({volsim['rate_total'] / results[name]['rate_total']:.2f} with set-up)"
        for name in ("SimPy", "Ciw", "heapq")
    )
    print(f"speed ratios (sim only): {ratios}")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~20,000 customers per run")
    parser.add_argument("--customers", type=int, default=None, help="customers per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine (median)")
    args = parser.parse_args(argv)
    customers = args.customers or (20_000 if args.quick else 200_000)
    print("customers/s: simulated customers (volsim: orders) per wall second, one core")
    summary = []
    for servers, load, service_rate in CASES:
        results = bench_case(servers, load, service_rate, customers, args.repeats)
        summary.append((servers, load, service_rate, results))
    print("\nsummary: volsim customers/s (sim only) and its ratio to each reference")
    for servers, load, service_rate, results in summary:
        v = results["volsim"]["rate"]
        ratios = "  ".join(
            f"/{name} {v / results[name]['rate']:.2f}" for name in ("SimPy", "Ciw", "heapq")
        )
        per_day = load * servers * service_rate * MIN_PER_DAY
        print(f"  M/M/{servers:<2} rho {load:<4} {per_day:>6,.0f}/day: {v:>9,.0f}  {ratios}")


if __name__ == "__main__":
    main()
