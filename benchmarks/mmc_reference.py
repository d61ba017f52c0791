"""Reference M/M/c simulators for the side-by-side engine speed benchmark.

Each function simulates an M/M/c FCFS queue that starts empty and returns
(mean wait in queue, wall seconds spent simulating). Setup such as building
the model is excluded from the timing. SimPy and the bare heapq loop average
over the first `customers` customers to start service; Ciw averages over the
first `customers` to complete it (Ciw writes records only on departure).
SimPy and heapq draw from random.Random(seed) in the same order, so for one
seed they follow the same sample path and their mean waits agree to rounding.
"""

import math
import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Generator
from heapq import heappop, heappush

import ciw
import simpy

from sim.theory import mmc_mean_wait

_ARRIVAL, _DEPARTURE = 0, 1


def simpy_mmc(
    servers: int, arrival_rate: float, service_rate: float, customers: int, seed: int
) -> tuple[float, float]:
    """Simulate with SimPy 4: a Resource of `servers` slots fed by a Poisson source."""
    rng = random.Random(seed)
    env = simpy.Environment()
    counter = simpy.Resource(env, capacity=servers)
    waits: list[float] = []
    enough = env.event()

    def customer() -> Generator[simpy.Event]:
        arrived = env.now
        with counter.request() as request:
            yield request
            waits.append(env.now - arrived)
            if len(waits) == customers:
                enough.succeed()
            yield env.timeout(rng.expovariate(service_rate))

    def source() -> Generator[simpy.Event]:
        while True:
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer())

    env.process(source())
    start = time.perf_counter()
    env.run(until=enough)
    elapsed = time.perf_counter() - start
    return statistics.fmean(waits[:customers]), elapsed


def ciw_mmc(
    servers: int, arrival_rate: float, service_rate: float, customers: int, seed: int
) -> tuple[float, float]:
    """Simulate with Ciw until `customers` customers have completed service."""
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=service_rate)],
        number_of_servers=[servers],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    start = time.perf_counter()
    simulation.simulate_until_max_customers(customers, method="Complete")
    elapsed = time.perf_counter() - start
    records = simulation.get_all_records()
    return statistics.fmean(record.waiting_time for record in records), elapsed


def heapq_mmc(
    servers: int, arrival_rate: float, service_rate: float, customers: int, seed: int
) -> tuple[float, float]:
    """Simulate with a bare heapq event loop: the floor for any Python event engine."""
    rng = random.Random(seed)
    draw = rng.expovariate
    events: list[tuple[float, int]] = [(draw(arrival_rate), _ARRIVAL)]
    queue: deque[float] = deque()
    busy = started = 0
    total_wait = 0.0
    start = time.perf_counter()
    while started < customers:
        now, kind = heappop(events)
        if kind == _ARRIVAL:
            heappush(events, (now + draw(arrival_rate), _ARRIVAL))
            if busy < servers:
                busy += 1
                started += 1
                heappush(events, (now + draw(service_rate), _DEPARTURE))
            else:
                queue.append(now)
        elif queue:
            total_wait += now - queue.popleft()
            started += 1
            heappush(events, (now + draw(service_rate), _DEPARTURE))
        else:
            busy -= 1
    elapsed = time.perf_counter() - start
    return total_wait / started, elapsed


def main() -> None:
    """Time each reference on M/M/4 at load 0.75 and compare waits with theory."""
    servers, arrival_rate, service_rate, customers, repeats = 4, 3.0, 1.0, 200_000, 3
    theory = mmc_mean_wait(servers, arrival_rate, service_rate)
    print(f"M/M/{servers}, lambda={arrival_rate}, mu={service_rate}, n={customers:,}")
    print(f"theoretical mean wait: {theory:.4f}")
    engines: dict[str, Callable[..., tuple[float, float]]] = {
        "SimPy": simpy_mmc,
        "Ciw": ciw_mmc,
        "heapq": heapq_mmc,
    }
    for name, engine in engines.items():
        runs = [
            engine(servers, arrival_rate, service_rate, customers, seed) for seed in range(repeats)
        ]
        rate = customers / statistics.median(seconds for _, seconds in runs)
        waits = [mean_wait for mean_wait, _ in runs]
        wait = statistics.fmean(waits)
        error = statistics.stdev(waits) / math.sqrt(repeats)
        print(
            f"{name:>6}: {rate:>10,.0f} customers/s (median of {repeats}), "
            f"mean wait {wait:.4f} +/- {error:.4f} ({wait / theory - 1:+.1%} vs theory)"
        )


if __name__ == "__main__":
    main()
