"""Shared fixtures of the behaviour tests: paths, a small valid community, runs, time limits."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.model import VolunteerModel

ROOT = Path(__file__).resolve().parents[1]

#: a community of 400 residents in 30 stairwells: valid under the schema, builds in milliseconds
SMALL_COMMUNITY: dict[str, Any] = {
    "population.residents": 400,
    "population.households": 150,
    "community.buildings": 10,
    "community.stairwells": 30,
    "community.grids": 3,
    "community.service_points": 20,
}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def baseline_file() -> Path:
    """The shipped Chaoyangli baseline scenario."""
    return ROOT / "scenarios" / "chaoyangli.toml"


@pytest.fixture(scope="session")
def small_community() -> dict[str, Any]:
    """Dotted overrides for a small, fast community (copy before changing)."""
    return dict(SMALL_COMMUNITY)


@pytest.fixture(scope="session")
def run_model() -> Callable[..., VolunteerModel]:
    """Build a VolunteerModel with these arguments and run it to the end."""

    def run(scenario: Any = None, **kwargs: Any) -> VolunteerModel:
        model = VolunteerModel(scenario, **kwargs)
        model.run()
        assert not model.running
        return model

    return run


@pytest.fixture(scope="session")
def time_limit() -> Callable[[float], contextlib.AbstractContextManager[None]]:
    """A context manager raising TimeoutError when its body runs longer than ``seconds``."""

    @contextlib.contextmanager
    def limit(seconds: float) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            pytest.skip("a time limit needs the main thread (signals)")

        def expire(signum, frame):
            raise TimeoutError(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return limit
