"""Channels: the documented ways a policy reaches a volunteer, each with its delay and reach.

A policy decides whom to ask, in what order and how many at once; the channel it asks through
decides how long the answer takes and who can be reached at all. Every answer then comes from the
one acceptance model (:mod:`sim.acceptance`), so two policies that ask the same volunteers in the
same order through the same channel give the same result.

``reaches_off_duty``: a channel that rings a phone or knocks on a door reaches volunteers at home
outside their duty hours (at night, say), who then answer with ``acceptance.off_duty_multiplier``;
the centre's roster call and a walk-in at a point reach only those on duty (or on shift).
``reach_m``: only volunteers this near the elder (a knock reaches the elder's own 楼门).
"""

from __future__ import annotations

from sim.scenario import CHANNEL_NAMES, Channel, Scenario

#: what each channel is, for ODD, the report and --help
CHANNEL_DESCRIPTIONS = {
    "centre_call": "the centre phones a volunteer on its duty roster (中心派单)",
    "app": "a push from the 志愿和平 app to a volunteer's phone",
    "phone": "the elder phones a helper she knows (her pair, 花甲助耄耋)",
    "focal_call": "the grid's party-member focal household (党员中心户) relays the call",
    "knock": "a knock on a neighbour's door in the elder's own stairwell (邻里守望)",
    "walk_in": "the order is taken to a service point, whose host is on shift (家站服务点)",
}
assert tuple(CHANNEL_DESCRIPTIONS) == CHANNEL_NAMES


def channel(scenario: Scenario, name: str) -> Channel:
    """The parameters of channel ``name`` in this scenario."""
    return getattr(scenario.channels, name)
