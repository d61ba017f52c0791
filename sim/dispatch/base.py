"""The interface every dispatch policy (派单) implements, and the chain that adds fallbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sim.model import VolunteerModel


class Policy:
    """Decides whom to offer an order to.

    ``dispatch(o)`` makes one or more offers through ``self.book.offer`` and returns True, or
    returns False when it has nobody to ask now (the order then waits, or a fallback policy
    takes it). Volunteers not to ask (who declined, and the elder) are in
    ``self.book.excluded[o]``; busy volunteers and those
    holding an offer are not in the roster's free set.
    """

    name: ClassVar[str] = ""
    #: False for policies whose servers are not the roster's free volunteers (station hosts)
    uses_free_volunteers: ClassVar[bool] = True

    def __init__(self, model: VolunteerModel) -> None:
        self.model = model
        self.book = model.orders
        self.roster = model.roster
        self.params = model.scenario_params.dispatch

    def dispatch(self, o: int) -> bool:
        raise NotImplementedError


class PolicyChain:
    """Policies tried in turn: an order moves to the next when the current has nobody to ask."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = policies
        self.book = policies[0].book
        self.name = "+".join(p.name for p in policies)
        self.uses_free_volunteers = all(p.uses_free_volunteers for p in policies)
        if len(policies) == 1:
            self.dispatch = policies[0].dispatch  # no stages to track

    def dispatch(self, o: int) -> bool:
        book = self.book
        stage = book.stage[o]
        while stage < len(self.policies):
            if self.policies[stage].dispatch(o):
                book.stage[o] = stage
                return True
            stage += 1
        return False

    def first(self, policy_type: type) -> Policy | None:
        """The chain's policy of this type, if any."""
        return next((p for p in self.policies if isinstance(p, policy_type)), None)
