"""A process runs model after model: none of them may keep an earlier one alive.

A large model pauses the garbage collector over its long-lived objects
(sim.model._long_lived_frozen); an earlier run's dead model must be collected, not frozen with
the next one (a sweep's workers grew by a model's size each run until this was fixed)."""

import weakref

import pytest

from sim import model as model_module
from sim.model import VolunteerModel


def _ran(seed: int) -> VolunteerModel:
    model = VolunteerModel(policy="nearest", rng=seed, days=2)
    model.run()
    return model


def test_a_dead_model_is_collected_when_the_next_one_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "FREEZE_MIN_RESIDENTS", 0)  # the district's path, small
    first = _ran(1)
    dead = weakref.ref(first)
    del first
    _ran(2)
    assert dead() is None
