"""The timing rules of dispatch, as ODD §3 and §7.7 state them, checked on recorded offers.

- broadcast's phases come every ``phase_min`` from the first alert while the order is pending
  and at the broadcast stage (a replacement alert does not put the clock back);
- an order served is credited to the chain stage of the offer that was accepted;
- a volunteer who declined an order is not asked for it again before ``retry_interval_min``;
- a shift change runs before orders released at the same minute.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from sim.dispatch.broadcast import BroadcastPolicy
from sim.engine import EventQueue
from sim.model import VolunteerModel
from sim.orders import SERVED
from sim.scenario import CHANNEL_NAMES

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class Recorder:
    """Every offer (time, order, volunteer, stage, on duty) and answer (time, order, volunteer,
    accepted) of a model's run."""

    def __init__(self, model: VolunteerModel) -> None:
        self.model = model
        self.offers: list[tuple[float, int, int, int, bool]] = []
        self.answers: list[tuple[float, int, int, bool]] = []
        book = model.orders
        offer, answer = book.offer, book._answer

        def recorded_offer(o, v, *args, **kwargs):
            on_duty = bool(model.roster.on_duty[v])
            self.offers.append((book.queue.now_min, o, v, book.stage[o], on_duty))
            return offer(o, v, *args, **kwargs)

        def recorded_answer(event):
            self.answers.append((book.queue.now_min, event[0], event[1], bool(event[2])))
            return answer(event)

        book.offer = recorded_offer
        book._answer = recorded_answer

    def run(self) -> VolunteerModel:
        self.model.run()
        return self.model


def test_broadcast_phases_come_every_phase_min_from_the_first_alert():
    """Long answer delays keep alerts out, so phases are due; each must fire on the clock."""
    model = VolunteerModel(
        SCENARIOS / "chaoyangli.toml",
        policy="broadcast",
        rng=2,
        days=20,
        **{"channels.app.answer_delay_mean_min": 12.0},
    )
    phases: dict[int, list[float]] = defaultdict(list)
    phase = BroadcastPolicy._phase
    policy = model.policy.policies[0]

    def recorded_phase(o):
        book = policy.book
        due = policy._next_phase.get(o, (None, -1))[0]
        if due == book.queue.now_min and book.status[o] == 0 and o not in book.waiting:
            phases[o].append(book.queue.now_min)
        return phase(policy, o)

    policy._phase = recorded_phase
    recorder = Recorder(model)
    recorder.run()
    first_alert = {}
    for when, o, *_ in recorder.offers:
        first_alert.setdefault(o, when)
    step = model.scenario_params.dispatch.broadcast.phase_min
    checked = 0
    for o, times in phases.items():
        expected = first_alert[o] + step * np.arange(1, len(times) + 1)
        assert np.allclose(times, expected), (o, times, expected)
        checked += len(times)
    assert checked > 50  # many phases were due and fired


@pytest.mark.parametrize(
    ("policy", "overrides"),
    [
        ("broadcast+nearest", {"dispatch.broadcast.radius_m": 120.0}),
        ("pairing+nearest", {"channels.phone.answer_delay_mean_min": 0.0}),
        ("pairing+broadcast", {"dispatch.broadcast.radius_m": 40.0}),
    ],
)
def test_an_order_is_credited_to_the_stage_of_the_offer_accepted(policy, overrides):
    """Each stage asks through its own channel, so a served order's channel names its stage."""
    model = VolunteerModel(
        SCENARIOS / "chaoyangli-stress.toml", policy=policy, rng=2, days=20, **overrides
    )
    model.run()
    table = model.order_table()
    served = table[table["status"] == SERVED]
    stage_channel = [
        CHANNEL_NAMES.index(p.channel_name) for p in model.policy.policies
    ]  # one channel per stage (distinct in these chains)
    assert len(set(stage_channel)) == len(stage_channel)
    expected = np.array([stage_channel[s] for s in served["served_stage"]])
    assert len(served) > 50
    assert (served["channel"].to_numpy() == expected).all()


@pytest.mark.parametrize("policy", ["station", "grid", "pairing+nearest", "nearest"])
def test_who_declined_is_not_asked_again_before_the_retry_interval(policy):
    model = VolunteerModel(SCENARIOS / "chaoyangli-stress.toml", policy=policy, rng=0, days=28)
    recorder = Recorder(model)
    recorder.run()
    interval = model.scenario_params.dispatch.retry_interval_min
    declined: dict[tuple[int, int], float] = {}
    asked_again = 0
    for kind, when, o, v in sorted(
        [("offer", t, o, v) for t, o, v, *_ in recorder.offers]
        + [("answer", t, o, v) for t, o, v, ok in recorder.answers if not ok],
        key=lambda row: (row[1], row[0] == "offer"),
    ):
        if kind == "answer":
            declined[(o, v)] = when
        elif (o, v) in declined:
            assert when - declined[(o, v)] >= interval - 1e-9, (o, v, declined[(o, v)], when)
            asked_again += 1
    assert asked_again > 0  # retries happened


def test_a_shift_change_runs_before_events_due_at_the_same_minute():
    queue = EventQueue()
    ran = []
    queue.schedule(480.0, ran.append, "release")
    queue.schedule_first(480.0, ran.append, "shift")
    queue.schedule(479.0, ran.append, "before")
    queue.schedule_first(480.0, ran.append, "shift 2")
    queue.run_until(1440.0)
    assert ran == ["before", "shift", "shift 2", "release"]


def test_offers_at_a_shift_change_see_the_new_shift():
    """Volunteers asked at the minute a shift starts are on duty if their pattern says so."""
    model = VolunteerModel(SCENARIOS / "chaoyangli.toml", policy="broadcast", rng=0, days=30)
    recorder = Recorder(model)
    recorder.run()
    pop, roster = model.population, model.roster
    change_minutes = {h * 60 for h in range(0, 30 * 24) if h % 168 in model._duty_hours}
    at_change = [row for row in recorder.offers if row[0] in change_minutes]
    assert at_change  # orders released at 08:00 are offered at 08:00
    for when, _, v, _, on_duty in at_change:
        hour_of_week = int(when // 60) % 168
        due = roster.availability[pop.pattern[v], hour_of_week]
        # (a volunteer absent that day or inactive is off duty whatever the pattern says)
        assert on_duty <= due
        if due and pop.active[v]:
            assert on_duty or not roster.available_today[v]
