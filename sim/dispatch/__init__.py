"""Dispatch policies (派单), one class each, chosen by name; a chain adds fallbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.dispatch.base import Policy, PolicyChain
from sim.dispatch.broadcast import BroadcastPolicy
from sim.dispatch.grid import GridPolicy
from sim.dispatch.nearest import NearestPolicy
from sim.dispatch.pairing import PairingPolicy
from sim.dispatch.random_choice import RandomPolicy
from sim.dispatch.station import StationPolicy

if TYPE_CHECKING:
    from sim.model import VolunteerModel

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        PairingPolicy,
        NearestPolicy,
        BroadcastPolicy,
        GridPolicy,
        StationPolicy,
        RandomPolicy,
    )
}


def build_policy(names: list[str], model: VolunteerModel) -> PolicyChain:
    """The chain of policies named, first to last (names are checked by the scenario)."""
    return PolicyChain([POLICIES[name](model) for name in names])


__all__ = ["POLICIES", "Policy", "PolicyChain", "build_policy"]
