"""Dispatch policies (派单), one class each, chosen by name; a chain adds fallbacks.

``POLICIES`` maps the registry's names (sim.policy_registry, the one list of policy names: the
scenario's validation, the command line's choices and the report's labels read it) to their
classes; each class names its parameter table as ``Params``. ``parse_chain`` is the one reader of
"a+b" strings.
"""

from __future__ import annotations

from sim.dispatch.base import DispatchContext, Policy, PolicyChain
from sim.dispatch.broadcast import BroadcastPolicy
from sim.dispatch.grid import GridPolicy
from sim.dispatch.nearest import NearestPolicy
from sim.dispatch.neighbours import NeighboursPolicy
from sim.dispatch.pairing import PairingPolicy
from sim.dispatch.random_choice import RandomPolicy
from sim.dispatch.station import StationPolicy
from sim.policy_registry import POLICY_PARAMS
from sim.scenario import parse_chain

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        PairingPolicy,
        NearestPolicy,
        BroadcastPolicy,
        GridPolicy,
        StationPolicy,
        NeighboursPolicy,
        RandomPolicy,
    )
}
assert [(name, cls.Params) for name, cls in POLICIES.items()] == list(POLICY_PARAMS.items()), (
    "sim.policy_registry.POLICY_PARAMS lists the same policies, in order, with their tables"
)


def build_policy(names: list[str], ctx: DispatchContext) -> PolicyChain:
    """The chain of policies named, first to last (names are checked by the scenario)."""
    return PolicyChain([POLICIES[name](ctx) for name in names])


__all__ = ["POLICIES", "DispatchContext", "Policy", "PolicyChain", "build_policy", "parse_chain"]
