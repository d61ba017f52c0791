"""sim.dynamics built on its own, from what it uses (scenario, residents, layout, roster, streams),
without a VolunteerModel: shared by the tests that drive it directly."""

from __future__ import annotations

from sim.community import build_layout
from sim.dynamics import Dynamics
from sim.population import availability_table, build_population
from sim.roster import Roster
from sim.scenario import Scenario
from sim.streams import spawn_streams


def standalone_dynamics(params: Scenario, seed: int = 3) -> Dynamics:
    """The dynamics of a community built from ``params`` with the streams of ``seed``."""
    streams = spawn_streams(seed)
    layout = build_layout(params.community, streams["layout"])
    population = build_population(params, layout, streams["population"], "test")
    roster = Roster(
        population,
        layout,
        availability_table(params, params.simulation.start_weekday),
        params.travel.speed_m_per_min,
        params.travel.stair_min_per_floor,
    )
    return Dynamics(params, population, layout, roster, streams)
