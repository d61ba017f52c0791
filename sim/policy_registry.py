"""The registry of dispatch policies: each policy's name and its parameter table.

Each policy owns its parameters in its own scenario table, ``[dispatch.<name>]`` (for instance
``[dispatch.broadcast] k = 3``); every policy asks through a channel and can set it there. The
order of :data:`POLICY_PARAMS` is the one list of policy names: the scenario's ``Dispatch``
section is built from it (sim.scenario), the policy classes name their table as ``Params``
(sim.dispatch checks they match), and the command line's choices and the report's labels read it.

This module imports nothing of the model, so that both the schema and the policies can import it.
Adding a policy: its ``Params`` here; its class in sim/dispatch, naming them, added to
``POLICIES`` (an import-time check refuses a class list that differs from this one); its labels.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: the ways of reaching a volunteer (sim.channels)
CHANNEL_NAMES = ("centre_call", "app", "phone", "focal_call", "knock", "walk_in")


class Table(BaseModel):
    """A table of a scenario: unknown keys refused, strict types, frozen, finite numbers.

    Every float must be finite (NaN never); the few keys where inf has a meaning opt in
    (sim.scenario). inf stays inf in JSON dumps and hashes, not null."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        ser_json_inf_nan="constants",
    )


Channel = Literal[CHANNEL_NAMES]


class PairingParams(Table):
    """``[dispatch.pairing]``: 花甲助耄耋 pairs (sim.dispatch.pairing)."""

    helpers_per_elder: int = Field(2, ge=1, le=5, description="one or two")
    max_distance_m: float = Field(150.0, gt=0, description="same or nearby 楼门")
    max_elders_per_helper: int = Field(3, ge=1, description="assumed")
    helper_min_age_years: int = Field(60, ge=0, le=120, description="花甲")
    helper_max_age_years: int = Field(69, ge=0, le=120, description="花甲")
    channel: Channel = Field("phone", description="the elder phones her helper")

    @model_validator(mode="after")
    def _check(self) -> PairingParams:
        if self.helper_min_age_years > self.helper_max_age_years:
            raise ValueError("helper_min_age_years: greater than helper_max_age_years")
        return self


class NearestParams(Table):
    """``[dispatch.nearest]``: the centre's nearest-first call (sim.dispatch.nearest)."""

    channel: Channel = Field("centre_call", description="the centre's duty roster")


class BroadcastParams(Table):
    """``[dispatch.broadcast]``: the app's alerts (sim.dispatch.broadcast)."""

    k: int = Field(3, ge=1, description="GoodSAM NZ: 3 nearest")
    radius_m: float = Field(1000.0, gt=0, description="GoodSAM NZ: within 1 km")
    phase_min: float = Field(5.0, gt=0, description="re-alert interval")
    channel: Channel = Field("app", description="the 志愿和平 app")


class GridParams(Table):
    """``[dispatch.grid]``: the grid's focal household calls (sim.dispatch.grid)."""

    channel: Channel = Field("focal_call", description="the focal household relays the call")


class StationParams(Table):
    """``[dispatch.station]``: service points (sim.dispatch.station)."""

    channel: Channel = Field("walk_in", description="the order is taken to the point")


class NeighboursParams(Table):
    """``[dispatch.neighbours]``: knocks in the elder's stairwell (sim.dispatch.neighbours)."""

    channel: Channel = Field("knock", description="a knock on the door, own stairwell only")


class RandomParams(Table):
    """``[dispatch.random]``: a random volunteer, the baseline (sim.dispatch.random_choice)."""

    channel: Channel = Field("centre_call", description="the centre's duty roster")


#: every policy's name and parameter table, in the order the choices are listed
POLICY_PARAMS: dict[str, type[Table]] = {
    "pairing": PairingParams,
    "nearest": NearestParams,
    "broadcast": BroadcastParams,
    "grid": GridParams,
    "station": StationParams,
    "neighbours": NeighboursParams,
    "random": RandomParams,
}
POLICY_NAMES = tuple(POLICY_PARAMS)
