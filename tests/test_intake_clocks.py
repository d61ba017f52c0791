"""An order's clocks (sim.needs) are the same numbers, bit for bit, as the per-order array
computation they are taken from: for a day's orders (one day start for all), for orders across
two days, and at the edges of a day. The queueing limit draws nothing from the needs stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.needs import MIN_PER_DAY, SAME_DAY, SCHEDULED, NeedClocks
from sim.scenario import ORDER_TYPES, Scenario, load

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "chaoyangli.toml"


def _per_order_clocks(scenario: Scenario, placed_min, order_type, rng) -> list[np.ndarray]:
    """(urgency, release, due, expire) computed order by order on arrays, with each order's
    own day start and masked assignments."""
    n = scenario.needs
    urgency = np.array(n.urgency_index())[order_type]
    lead_days = rng.integers(n.scheduled_lead_days[0], n.scheduled_lead_days[1] + 1, len(urgency))
    slot = rng.random(len(urgency))
    open_min, close_min = (h * 60.0 for h in n.service_hours)
    release = placed_min.copy()
    day_start = np.floor(placed_min / MIN_PER_DAY) * MIN_PER_DAY
    minute = placed_min - day_start
    early = (urgency == SAME_DAY) & (minute < open_min)
    late = (urgency == SAME_DAY) & (minute >= close_min)
    release[early] = day_start[early] + open_min
    release[late] = day_start[late] + MIN_PER_DAY + open_min
    agreed = day_start + lead_days * MIN_PER_DAY + open_min + slot * (close_min - open_min)
    notice = n.scheduled_notice_min
    agreed = np.where(agreed < placed_min + notice, agreed + MIN_PER_DAY, agreed)
    scheduled = urgency == SCHEDULED
    release[scheduled] = agreed[scheduled] - notice
    window = np.array(
        [n.urgent_window_min, n.same_day_window_min, notice + n.scheduled_window_min]
    )[urgency]
    expire = release + np.maximum(window, scenario.demand.max_wait_min)
    return [urgency, release, release + window, expire]


@pytest.mark.parametrize(
    "placed_min",
    [
        # a day's orders, from its first minute to just before midnight
        3 * MIN_PER_DAY + np.array([0.0, 7.5, 479.9, 480.0, 1199.9, 1200.0, 1439.0, 1439.999]),
        # orders across two days: each keeps its own day
        np.array([5000.0, 5759.5, 5760.0, 6300.0, 7100.0]),
        np.sort(np.random.default_rng(1).random(300) * 3 * MIN_PER_DAY),
        np.nextafter(np.array([2 * MIN_PER_DAY, 2 * MIN_PER_DAY]), [0.0, np.inf]),
    ],
)
def test_clocks_as_per_order_arrays(placed_min: np.ndarray) -> None:
    scenario = load(BASELINE)
    types = np.arange(len(placed_min)) % len(ORDER_TYPES)
    got = NeedClocks(scenario).clocks(placed_min, types, np.random.default_rng(7))
    expected = _per_order_clocks(scenario, placed_min, types, np.random.default_rng(7))
    names = ("urgency", "release_min", "due_min", "expire_min")
    for name, want in zip(names, expected, strict=True):
        assert getattr(got, name).tobytes() == want.tobytes(), name


def test_queueing_limit_draws_nothing() -> None:
    scenario = load(BASELINE, {"needs.book_non_urgent": False})
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    placed = np.array([10.0, 500.0, 1300.0])
    clocks = NeedClocks(scenario).clocks(placed, np.array([0, 2, 4]), rng)
    assert rng.bit_generator.state == state
    assert (clocks.release_min == placed).all()
    assert (clocks.expire_min == placed + scenario.demand.max_wait_min).all()
