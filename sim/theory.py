"""Closed-form results that the simulator is validated against.

Queueing: the M/M/c (Erlang C) queue, used to check the dispatch engine's
waiting times and utilisation. Spatial: the Poisson point process nearest
neighbour law, used to check volunteer-to-incident distances.
"""

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival to an M/M/c queue has to wait.

    Uses the Erlang B recursion, which stays in [0, 1] and is therefore
    stable for thousands of servers.

    Args:
        servers: number of servers c (at least 1).
        offered_load: a = lambda / mu in Erlangs, with 0 <= a < c.

    Raises:
        ValueError: if c < 1, a < 0 or a >= c (no steady state).
    """
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")
    if not 0.0 <= offered_load < servers:
        raise ValueError(f"offered_load must be in [0, {servers}), got {offered_load}")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking / (1.0 - (offered_load / servers) * (1.0 - blocking))


def _offered_load(arrival_rate: float, service_rate: float) -> float:
    """Return a = lambda / mu after checking both rates."""
    if arrival_rate < 0.0:
        raise ValueError(f"arrival_rate must be >= 0, got {arrival_rate}")
    if service_rate <= 0.0:
        raise ValueError(f"service_rate must be > 0, got {service_rate}")
    return arrival_rate / service_rate


def mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue W_q = C / (c mu - lambda), in the time unit of the rates."""
    load = _offered_load(arrival_rate, service_rate)
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


def mmc_wait_exceeds(servers: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """P(W_q > t) = C exp(-(c mu - lambda) t), t >= 0 in the rates' time unit."""
    if t < 0.0:
        raise ValueError(f"t must be >= 0, got {t}")
    load = _offered_load(arrival_rate, service_rate)
    decay_rate = servers * service_rate - arrival_rate
    return erlang_c(servers, load) * math.exp(-decay_rate * t)


def mmc_utilisation(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Traffic intensity rho = lambda / (c mu): long-run busy fraction per server.

    Only a utilisation when rho < 1; larger values mean the queue is unstable.
    """
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")
    return _offered_load(arrival_rate, service_rate) / servers


def nearest_beyond_probability(
    density_per_m2: float, accept_probability: float, radius_m: float
) -> float:
    """Probability that the nearest accepting volunteer is farther than radius_m.

    Volunteers form a Poisson point process of intensity density_per_m2; each
    accepts independently with accept_probability, so acceptors are a thinned
    Poisson process and P(none within r) = exp(-p delta pi r^2).
    """
    if density_per_m2 < 0.0:
        raise ValueError(f"density_per_m2 must be >= 0, got {density_per_m2}")
    if not 0.0 <= accept_probability <= 1.0:
        raise ValueError(f"accept_probability must be in [0, 1], got {accept_probability}")
    if radius_m < 0.0:
        raise ValueError(f"radius_m must be >= 0, got {radius_m}")
    return math.exp(-accept_probability * density_per_m2 * math.pi * radius_m**2)
