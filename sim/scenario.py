"""Scenario files: the schema of every parameter, loading TOML, dotted overrides, clear errors.

A scenario is a TOML file with one table per section below. Every key is optional in the file
(the defaults are the Chaoyangli baseline); unknown keys, wrong types and values out of range are
refused with an :class:`~sim.errors.InputError` naming the file and the dotted key.

Every number must be finite: NaN never, and ``inf`` only where a field says what it means
(:func:`_may_be_inf`: ``demand.max_wait_min``, ``travel.speed_m_per_min``). Upper bounds keep
rates and sizes within what the model can draw and hold, and the section checks refuse the
combinations the model cannot run (no elders at all, age bands that add up to more than the
residents, service points with no opening hours), and the scenario check refuses keys whose
product is more than the model can draw or hold (a day's orders, surges included, above
MAX_RATE; a run's orders or people above 10⁸; a district's map above MAX_CELLS), so every
accepted scenario runs.
"""

from __future__ import annotations

import copy
import itertools
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, create_model, model_validator

from sim.errors import InputError
from sim.policy_registry import CHANNEL_NAMES as CHANNEL_NAMES  # the channels' names, re-exported
from sim.policy_registry import POLICY_NAMES as POLICY_NAMES  # the policies' names, re-exported
from sim.policy_registry import POLICY_PARAMS, Table

ORDER_TYPES = (
    "daily_help",
    "shopping",
    "medical_escort",
    "companionship_check",
    "repair",
    "urgent",
)
#: how soon an order must be served (sim.needs): now, within hours, or at an agreed time
URGENCIES = ("urgent", "same_day", "scheduled")
#: keys that moved or went, with what replaced them (old files get a clear error)
MOVED_KEYS = {
    "acceptance.response_mean_min": "answers take each channel's channels.<name>."
    "answer_delay_mean_min",
    "acceptance.familiarity_bonus": "use acceptance.familiarity_multiplier",
    "dispatch.grid_assign_delay_min": "the focal household's call is "
    "channels.focal_call.answer_delay_mean_min",
    "population.share_aged_70_plus": "ages 60-79 follow population.age_table (Tianjin census)",
    "population.share_aged_under_18": "ages under 60 follow population.age_table (Tianjin census)",
    "population.working_age_density_ratio": "ages under 60 follow population.age_table "
    "(Tianjin census)",
    # each policy's parameters moved into its own table, [dispatch.<policy>]
    **{
        f"dispatch.{old}": f"use dispatch.{table}.{key} ([dispatch.{table}] {key})"
        for old, (table, key) in {
            "broadcast_k": ("broadcast", "k"),
            "broadcast_radius_m": ("broadcast", "radius_m"),
            "broadcast_phase_min": ("broadcast", "phase_min"),
            "broadcast_channel": ("broadcast", "channel"),
            "nearest_channel": ("nearest", "channel"),
            "pairing_helpers_per_elder": ("pairing", "helpers_per_elder"),
            "pairing_max_distance_m": ("pairing", "max_distance_m"),
            "pairing_max_elders_per_helper": ("pairing", "max_elders_per_helper"),
            "pairing_helper_min_age_years": ("pairing", "helper_min_age_years"),
            "pairing_helper_max_age_years": ("pairing", "helper_max_age_years"),
        }.items()
    },
}


#: the largest rate or relative weight a key takes (Poisson draws need lam < 1e18)
MAX_RATE = 1e6
#: the longest run, in simulated days (a century)
MAX_DAYS = 36500
#: the most cells of the community grid (Mesa builds every cell: about 20 s per million)
MAX_CELLS = 1_000_000
#: the most orders a run may place, and people it may hold: the model keeps about 1 KB for each
#: (an order's row, a resident's columns), so 10⁸ of them would take about 100 GB
MAX_RUN_ORDERS = 100_000_000
MAX_RUN_PEOPLE = 100_000_000
#: the most people an arriving household brings (sim.dynamics)
MAX_ARRIVING_HOUSEHOLD = 3


class _Section(Table):
    """A section of the scenario; the few keys where inf has a meaning opt in with _may_be_inf.
    The policies' tables share the base (sim.policy_registry)."""


def _may_be_inf(default: float, description: str) -> Any:
    """A positive float field that also takes ``inf``, with the meaning of inf in its
    description (NaN still fails: it is not greater than 0)."""
    return Field(default, gt=0, allow_inf_nan=True, description=description)


def _per_type(**values: float) -> Any:
    return Field(default_factory=lambda: PerOrderType(**values))


class PerOrderType(_Section):
    """One number for each order type."""

    daily_help: float = Field(ge=0, le=MAX_RATE)
    shopping: float = Field(ge=0, le=MAX_RATE)
    medical_escort: float = Field(ge=0, le=MAX_RATE)
    companionship_check: float = Field(ge=0, le=MAX_RATE)
    repair: float = Field(ge=0, le=MAX_RATE)
    urgent: float = Field(ge=0, le=MAX_RATE)

    def as_list(self) -> list[float]:
        return [getattr(self, name) for name in ORDER_TYPES]


class ScenarioInfo(_Section):
    name: str = "chaoyangli"
    description: str = ""


class Community(_Section):
    width_m: float = Field(400.0, gt=0, le=1e5, description="0.16 km² footprint (profile, 2015)")
    height_m: float = Field(400.0, gt=0, le=1e5, description="0.16 km² footprint (profile, 2015)")
    cell_size_m: float = Field(10.0, gt=0, description="one stairwell frontage")
    layout: Literal["blocks", "uniform"] = Field(
        "blocks", description="blocks: buildings in rows; uniform: stairwells anywhere"
    )
    distance_metric: Literal["manhattan", "euclidean"] = Field(
        "manhattan", description="walking along lanes, or as the crow flies"
    )
    fixed_layout: bool = Field(True, description="the same buildings in every run")
    layout_seed: int = Field(0, ge=0, description="seed of the fixed layout")
    buildings: int = Field(43, ge=1, le=10_000, description="43 buildings (profile, 2015)")
    stairwells: int = Field(164, ge=1, le=10_000, description="164 楼门 (profile, 2015)")
    floors_per_building: int = Field(6, ge=1, le=40, description="assumed walk-ups")
    grids: int = Field(11, ge=1, description="11 网格 (article)")
    focal_households_per_building: int = Field(1, ge=0, description="党员中心户 (article)")
    service_points: int = Field(276, ge=0, le=100_000, description="276 家站服务点 (article)")
    service_point_hours: list[list[int]] = Field(
        default_factory=lambda: [[8, 12], [14, 18], [8, 18], [18, 21]],
        description="opening windows [open_hour, close_hour) a point draws from",
    )
    service_point_stairwells: list[int] = Field(
        default_factory=list,
        description="stairwells the service points stand at, in turn (a lever of volsim "
        "optimise); empty: each point at a random stairwell",
    )

    @model_validator(mode="after")
    def _check(self) -> Community:
        if self.stairwells < self.buildings:
            raise ValueError("stairwells: must be at least buildings")
        if self.grids > self.buildings:
            raise ValueError("grids: must be at most buildings")
        cells = int(self.width_m // self.cell_size_m) * int(self.height_m // self.cell_size_m)
        if cells < 4 * self.stairwells:
            raise ValueError("cell_size_m: too coarse for the number of stairwells")
        if cells > MAX_CELLS:
            raise ValueError(
                f"cell_size_m: too fine: {f'{cells:,}' if cells < 10**15 else 'over 10^15'} "
                "cells of the community grid, "
                f"at most {MAX_CELLS:,} (width_m/cell_size_m × height_m/cell_size_m)"
            )
        for window in self.service_point_hours:
            if len(window) != 2 or not 0 <= window[0] < window[1] <= 24:
                raise ValueError("service_point_hours: each window is [open, close], 0-24")
        if self.service_points and not self.service_point_hours:
            raise ValueError("service_point_hours: service points need at least one window")
        for site in self.service_point_stairwells:
            if not 0 <= site < self.stairwells:
                raise ValueError(
                    f"service_point_stairwells: stairwell {site} does not exist "
                    f"(0 to {self.stairwells - 1})"
                )
        return self


#: Tianjin, 2010 census, residents by ten-year age band (youngest age of the band, persons):
#: citypopulation.de, "Tiānjīn", from the National Bureau of Statistics of China. The 2020
#: census's five-year table was not found; its broad shares (0-14: 13.47%, 15-59: 64.87%,
#: 60+: 21.66%; NBS bulletin No. 5, 2021) are compared in docs/ODD.md §5.
TIANJIN_2010_AGE_TABLE = [
    [0, 858691],
    [10, 1210637],
    [20, 3021156],
    [30, 2081235],
    [40, 2165107],
    [50, 1917182],
    [60, 953176],
    [70, 527386],
]


class Population(_Section):
    residents: int = Field(
        4900, ge=1, le=1_000_000, description="3,966 volunteers = 'over 80%' (article)"
    )
    households: int = Field(2300, ge=1, description="2,300+ households (profile, 2015)")
    share_aged_60_plus: float = Field(0.273, ge=0, le=1, description="1,637 of 6,000 (2015)")
    share_aged_80_plus: float = Field(0.0893, ge=0, le=1, description="536 of 6,000 (2015)")
    share_aged_90_plus: float = Field(0.0075, ge=0, le=1, description="45 of 6,000 (2015)")
    age_table: list[list[int]] = Field(
        default_factory=lambda: [list(band) for band in TIANJIN_2010_AGE_TABLE],
        description="[[youngest_age, persons], ...] from 0 to 79: shape under 60 and of 60-79",
    )
    living_alone_share_of_60_plus: float = Field(0.060, ge=0, le=1, description="98 of 1,637")
    empty_nest_share_of_60_plus: float = Field(0.368, ge=0, le=1, description="603 of 1,637")
    leave_home_per_year: float = Field(
        0.10, ge=0, le=1, description="adults 18-29 living with a parent move out (assumed)"
    )
    alone_elder_moves_per_year_60_79: float = Field(
        0.02, ge=0, le=1, description="to children or into care (assumed)"
    )
    alone_elder_moves_per_year_80_plus: float = Field(
        0.06, ge=0, le=1, description="to children or into care (assumed)"
    )
    single_partner_per_year: float = Field(
        0.10, ge=0, le=1, description="a partner moves in with someone 22-59 alone (assumed)"
    )
    moves_in_with_family_share: float = Field(
        0.5, ge=0, le=1, description="of those moves, into a family in the stairwell (assumed)"
    )

    @model_validator(mode="after")
    def _check(self) -> Population:
        names = [f"share_aged_{age}_plus" for age in (60, 80, 90)]
        for younger, older in itertools.pairwise(names):
            if getattr(self, younger) < getattr(self, older):
                raise ValueError(
                    f"{older}: more than {younger} ({getattr(self, younger)}): "
                    "age shares must fall with age"
                )
        starts = [band[0] if len(band) == 2 else -1 for band in self.age_table]
        if (
            not starts
            or starts[0] != 0
            or any(a >= b for a, b in itertools.pairwise(starts))
            or 60 not in starts
            or starts[-1] >= 80
            or any(band[1] < 0 for band in self.age_table)
        ):
            raise ValueError(
                "age_table: [[youngest_age, persons], ...] ascending from 0, a band starting "
                "at 60, the last starting before 80, persons >= 0"
            )
        if self.living_alone_share_of_60_plus + self.empty_nest_share_of_60_plus > 1:
            raise ValueError("living_alone_share_of_60_plus: with empty-nest share exceeds 1")
        if self.households > self.residents:
            raise ValueError("households: more households than residents")
        elders = round(self.residents * self.share_aged_60_plus)
        if elders < 1:
            raise ValueError(
                f"share_aged_60_plus: no resident aged 60+ ({self.residents} residents × "
                f"{self.share_aged_60_plus} rounds to 0): the model needs elders to place orders"
            )
        return self


class Volunteers(_Section):
    registered_share_of_residents: float = Field(0.81, ge=0, le=1, description="3,966/4,900")
    min_age_years: int = Field(14, ge=0, le=120, description="youngest registrants")
    max_age_years: int = Field(79, ge=0, le=120, description="volunteers stop at 80")
    active_share_of_registered: float = Field(0.25, ge=0, le=1, description="assumed")
    count: int | None = Field(None, ge=0, description="exactly this many active volunteers")
    always_available: bool = Field(False, description="on duty all day, never tired")
    accept_probability: float | None = Field(None, ge=0, le=1, description="fixed acceptance")
    retiree_age_years: int = Field(60, ge=0, le=120, description="retirement age")
    retiree_hours: list[int] = Field(default_factory=lambda: [8, 20], description="daily")
    worker_weekday_hours: list[int] = Field(default_factory=lambda: [18, 21])
    weekend_hours: list[int] = Field(default_factory=lambda: [9, 20])
    weekly_budget_hours: float = Field(
        4.0, gt=0, description="hours a volunteer gives a week, walks included (assumed)"
    )
    max_services_per_week: int = Field(5, ge=1, description="services a week at most (assumed)")
    daily_availability_share: float = Field(
        1.0, ge=0, le=1, description="share of volunteers able to serve on a given day"
    )
    recruits_by_grid: list[int] = Field(
        default_factory=list,
        description="extra volunteers recruited at the start in each grid, by grid index "
        "(a lever of volsim optimise; missing grids: none)",
    )
    recruits_by_stairwell: list[list[int]] = Field(
        default_factory=list,
        description="[[stairwell, count], ...]: extra volunteers recruited at the start there",
    )

    @model_validator(mode="after")
    def _check(self) -> Volunteers:
        if self.min_age_years > self.max_age_years:
            raise ValueError("min_age_years: greater than max_age_years")
        for name in ("retiree_hours", "worker_weekday_hours", "weekend_hours"):
            window = getattr(self, name)
            if len(window) != 2 or not 0 <= window[0] < window[1] <= 24:
                raise ValueError(f"{name}: must be [start_hour, end_hour] within 0-24")
        if any(count < 0 for count in self.recruits_by_grid):
            raise ValueError("recruits_by_grid: counts must be 0 or more")
        for entry in self.recruits_by_stairwell:
            if len(entry) != 2 or entry[0] < 0 or entry[1] < 0:
                raise ValueError("recruits_by_stairwell: each entry is [stairwell, count], >= 0")
        return self


class Demand(_Section):
    total_per_day: float | None = Field(
        None,
        gt=0,
        le=MAX_RATE,
        description="flat total, uniform over elders who are not active volunteers",
    )
    daily_profile: Literal["observed", "flat"] = "observed"
    surges: list[list[float]] = Field(
        default_factory=list, description="[[first_day, days, multiplier], ...] of demand"
    )
    max_wait_min: float = _may_be_inf(
        180.0, "an order not accepted by then expires; inf: orders never expire"
    )
    orders_per_year_alone_80_plus: float = Field(34.0, ge=0, le=MAX_RATE, description="calibrated")
    orders_per_year_empty_nest_80_plus: float = Field(
        16.0, ge=0, le=MAX_RATE, description="calibrated"
    )
    orders_per_year_other_80_plus: float = Field(4.5, ge=0, le=MAX_RATE, description="calibrated")
    orders_per_year_alone_60_79: float = Field(9.0, ge=0, le=MAX_RATE, description="calibrated")
    orders_per_year_empty_nest_60_79: float = Field(
        2.2, ge=0, le=MAX_RATE, description="calibrated"
    )
    type_shares: PerOrderType = _per_type(
        daily_help=0.30,
        shopping=0.20,
        medical_escort=0.08,
        companionship_check=0.25,
        repair=0.12,
        urgent=0.05,
    )
    hourly_profile: list[float] = Field(
        default_factory=lambda: [
            *[0.1] * 6,
            *[0.6, 1.2, 1.8, 2.0, 1.8, 1.2],
            *[0.8, 1.0, 1.5, 1.6, 1.4, 1.0],
            *[0.8, 0.6, 0.4, 0.3, 0.2, 0.1],
        ],
        description="relative order rate by hour of day (observed profile)",
    )

    @model_validator(mode="after")
    def _check(self) -> Demand:
        if len(self.hourly_profile) != 24 or not all(
            0 <= v <= MAX_RATE for v in self.hourly_profile
        ):
            raise ValueError(f"hourly_profile: must be 24 numbers from 0 to {MAX_RATE:g}")
        if sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile: must not be all zero")
        if sum(self.type_shares.as_list()) <= 0:
            raise ValueError("type_shares: must not be all zero")
        for surge in self.surges:
            if len(surge) != 3 or surge[0] < 0 or surge[1] <= 0 or not 0 <= surge[2] < 1e6:
                raise ValueError("surges: each is [first_day >= 0, days > 0, multiplier >= 0]")
        return self


class Service(_Section):
    distribution: Literal["lognormal", "exponential", "deterministic"] = "lognormal"
    mean_min: float | None = Field(None, gt=0, description="one mean for every order type")
    cv: float = Field(0.5, ge=0, le=100, description="coefficient of variation (lognormal)")
    mean_min_by_type: PerOrderType = _per_type(
        daily_help=45.0,
        shopping=40.0,
        medical_escort=120.0,
        companionship_check=20.0,
        repair=60.0,
        urgent=30.0,
    )


class Travel(_Section):
    speed_m_per_min: float = _may_be_inf(
        75.0, "1.25 m/s walking (1.2-1.4 m/s); inf: no travel at all, stairs included"
    )
    stair_min_per_floor: float = Field(0.25, ge=0, description="climbing one floor")


class Acceptance(_Section):
    """One rule for every offer, whoever is asked and through whichever channel (sim.acceptance)."""

    base_probability: float = Field(
        0.40, ge=0, le=1, description="17-47% of alerts accepted (Khalemsky 2023)"
    )
    distance_scale_m: float = Field(400.0, gt=0, description="p falls by e per this distance")
    load_penalty_per_order_today: float = Field(
        0.15, ge=0, le=1, description="per order accepted today"
    )
    fatigue_weight: float = Field(0.6, ge=0, le=1)
    familiarity_multiplier: float = Field(1.2, ge=0, description="knows the elder (assumed)")
    off_duty_multiplier: float = Field(
        0.3, ge=0, le=1, description="reached at home off duty: asleep, away (assumed)"
    )
    on_shift_multiplier: float = Field(
        1.5, ge=0, description="a host on shift at an open point (assumed)"
    )
    full_fatigue_work_min: float = Field(240.0, gt=0, description="a day's work to full fatigue")
    fatigue_recovery_per_day: float = Field(0.5, ge=0, le=1, description="share shed daily")


class Channel(_Section):
    """A way of reaching a volunteer: how long an answer takes, and whom it reaches."""

    answer_delay_mean_min: float = Field(ge=0, description="mean of an exponential delay")
    reaches_off_duty: bool = Field(description="reaches volunteers at home, off duty")
    reach_m: float = Field(
        float("inf"),
        ge=0,
        allow_inf_nan=True,
        description="only volunteers this near the elder; inf: any distance",
    )


def _channel(delay_min: float, off_duty: bool, reach_m: float = math.inf) -> Any:
    return Field(
        default_factory=lambda: Channel(
            answer_delay_mean_min=delay_min, reaches_off_duty=off_duty, reach_m=reach_m
        )
    )


class Channels(_Section):
    """The channels policies use (sim.channels); delays are assumed (docs/ODD.md ranges)."""

    centre_call: Channel = _channel(2.0, False)
    app: Channel = _channel(3.0, True)
    phone: Channel = _channel(1.0, True)
    focal_call: Channel = _channel(3.0, True)
    knock: Channel = _channel(1.0, True, 0.0)
    walk_in: Channel = _channel(1.0, False)


class Needs(_Section):
    """Each order type's urgency and each urgency's clock (sim.needs)."""

    urgency_by_type: dict[str, Literal["urgent", "same_day", "scheduled"]] = Field(
        default_factory=lambda: {
            "daily_help": "same_day",
            "shopping": "same_day",
            "medical_escort": "scheduled",
            "companionship_check": "same_day",
            "repair": "scheduled",
            "urgent": "urgent",
        },
        description="the service forms (article): escorts and repairs are appointments",
    )
    book_non_urgent: bool = Field(
        True, description="false: every order is dispatched when placed (queueing limit)"
    )
    service_hours: list[int] = Field(
        default_factory=lambda: [8, 20], description="same-day and scheduled visits (assumed)"
    )
    urgent_window_min: float = Field(15.0, gt=0, description="15分钟志愿服务圈 (article)")
    same_day_window_min: float = Field(240.0, gt=0, description="within hours (assumed)")
    scheduled_window_min: float = Field(60.0, gt=0, description="late after agreed (assumed)")
    scheduled_notice_min: float = Field(60.0, ge=0, description="dispatched before (assumed)")
    scheduled_lead_days: list[int] = Field(
        default_factory=lambda: [1, 3], description="agreed time, days ahead (assumed)"
    )

    @model_validator(mode="after")
    def _check(self) -> Needs:
        unknown = set(self.urgency_by_type) - set(ORDER_TYPES)
        if unknown:
            raise ValueError(f"urgency_by_type: unknown order type {sorted(unknown)[0]!r}")
        missing = set(ORDER_TYPES) - set(self.urgency_by_type)
        if missing:
            raise ValueError(f"urgency_by_type: no urgency for {sorted(missing)[0]!r}")
        hours = self.service_hours
        if len(hours) != 2 or not 0 <= hours[0] < hours[1] <= 24:
            raise ValueError("service_hours: must be [start_hour, end_hour] within 0-24")
        lead = self.scheduled_lead_days
        if len(lead) != 2 or not 0 <= lead[0] <= lead[1] <= 60:
            raise ValueError("scheduled_lead_days: must be [fewest, most] days, 0-60")
        return self

    def urgency_index(self) -> list[int]:
        """The urgency of each order type, as an index into URGENCIES."""
        return [URGENCIES.index(self.urgency_by_type[t]) for t in ORDER_TYPES]


class _DispatchBook(_Section):
    """The keys of the order book's dispatch: which policy, its fallbacks, how often to retry."""

    policy: str = "nearest"
    fallback: list[str] = Field(default_factory=list, description="policies tried next")
    retry_interval_min: float = Field(15.0, gt=0, description="re-offer a waiting order")

    @model_validator(mode="after")
    def _check(self) -> _DispatchBook:
        choices = ", ".join(POLICY_NAMES)
        for key, names in (("policy", [self.policy]), ("fallback", self.fallback)):
            for name in names:
                if name not in POLICY_NAMES:
                    raise ValueError(f"{key}: unknown policy {name!r} (choose from {choices})")
        chain = [self.policy, *self.fallback]
        twice = repeated_in_chain(chain)
        if twice is not None:
            raise ValueError(f"fallback: {twice} is already in the chain {'+'.join(chain)}")
        return self


#: ``[dispatch]``: the book's keys and one table per policy of the registry, ``[dispatch.<name>]``
Dispatch = create_model(
    "Dispatch",
    __base__=_DispatchBook,
    __module__=__name__,
    **{
        name: (params, Field(default_factory=params, description=f"[dispatch.{name}]"))
        for name, params in POLICY_PARAMS.items()
    },
)


class Rating(_Section):
    base_stars: float = Field(4.8, ge=1, le=5, description="assumed")
    late_penalty_per_min: float = Field(0.03, ge=0, description="stars lost per minute late")
    familiar_bonus_stars: float = Field(0.2, ge=0)
    noise_sd_stars: float = Field(0.3, ge=0)


class Dynamics(_Section):
    """People and volunteers changing over days and years (sim.dynamics).

    Rates, motivation steps and effort multipliers are at most MAX_RATE, so that their
    products stay finite; ``gompertz_b_per_year`` and ``stop_motivation_sensitivity`` scale an
    exponent and have no upper bound (a hazard beyond the largest float is a certain event)."""

    population: bool = Field(True, description="ageing, deaths, moves, arrivals, births")
    volunteers: bool = Field(True, description="motivation, burnout, attrition, recruitment")
    gompertz_a_per_year: float = Field(1.6e-5, ge=0, le=MAX_RATE, description="mortality at age 0")
    gompertz_b_per_year: float = Field(0.10, ge=0, description="mortality rise per year of age")
    departure_per_year_under_18: float = Field(0.02, ge=0, le=1)
    departure_per_year_18_59: float = Field(0.04, ge=0, le=1)
    departure_per_year_60_plus: float = Field(0.01, ge=0, le=1)
    arriving_households_per_year: float = Field(
        80.0, ge=0, le=MAX_RATE, description="calibrated: steady"
    )
    births_per_1000_per_year: float = Field(5.0, ge=0, le=1000, description="Tianjin, about 5‰")
    ageing_speed: float = Field(1.0, ge=0.01, le=100, description="× young departures, ÷ arrivals")
    motivation_initial: float = Field(0.7, ge=0, le=1)
    rating_gain_per_star: float = Field(
        0.02, ge=0, le=MAX_RATE, description="per star above neutral"
    )
    rating_neutral_stars: float = Field(4.0, ge=1, le=5)
    recognition_gain_per_hour: float = Field(0.01, ge=0, le=MAX_RATE, description="志愿服务积分")
    rest_recovery_per_day: float = Field(0.01, ge=0, le=1, description="toward the initial")
    overwork_loss_per_hour: float = Field(0.05, ge=0, le=MAX_RATE)
    comfortable_work_min_per_day: float = Field(120.0, ge=0)
    decline_loss: float = Field(0.005, ge=0, le=MAX_RATE, description="per offer declined")
    stop_per_year: float = Field(0.355, ge=0, le=1, description="35.5% (CNCS 2009)")
    stop_motivation_sensitivity: float = Field(5.0, ge=0)
    burnout_fatigue: float = Field(0.9, gt=0, le=1)
    return_per_year: float = Field(0.136, ge=0, le=1, description="keeps 25% active")
    leave_registry_per_year: float = Field(0.03, ge=0, le=1, description="inactive leave")
    recruit_spontaneous_per_year: float = Field(0.01, ge=0, le=MAX_RATE, description="calibrated")
    recruit_per_active_neighbour_per_year: float = Field(
        0.15, ge=0, le=MAX_RATE, description="楼门, calibrated"
    )
    recruit_per_grid_active_share_per_year: float = Field(
        0.5, ge=0, le=MAX_RATE, description="网格, calibrated"
    )
    recruit_focal_building_per_year: float = Field(
        0.02, ge=0, le=MAX_RATE, description="党员中心户, calibrated"
    )
    recruitment_effort: float = Field(1.0, ge=0, le=MAX_RATE)
    recruitment_effort_steps: list[list[float]] = Field(
        default_factory=list, description="[[year, effort], ...] from that calendar year"
    )
    recruitment_effort_final: float | None = Field(
        None, ge=0, le=MAX_RATE, description="effort a logistic path rises to (None: no rise)"
    )
    recruitment_effort_midpoint_year: float = Field(
        2010.0, ge=1900, le=2200, description="halfway up the rise"
    )
    recruitment_effort_rise_years: float = Field(
        5.0, ge=0.1, le=200, description="10% to 90% of the rise"
    )
    volunteer_day_multiplier: float = Field(
        3.0, ge=0, le=MAX_RATE, description="monthly volunteer day"
    )
    volunteer_week_multiplier: float = Field(5.0, ge=0, le=MAX_RATE, description="3·18 week")
    market_multiplier: float = Field(2.0, ge=0, le=MAX_RATE, description="quarterly welfare market")
    repair_interval_days: int = Field(30, ge=1, description="pairs re-formed this often")
    update_interval_days: int = Field(7, ge=1, le=365, description="people change this often")

    @model_validator(mode="after")
    def _check(self) -> Dynamics:
        for step in self.recruitment_effort_steps:
            if len(step) != 2 or not 0 <= step[1] <= MAX_RATE:
                raise ValueError(
                    f"recruitment_effort_steps: each step is [year, effort from 0 to {MAX_RATE:g}]"
                )
        return self


class Simulation(_Section):
    days: int = Field(365, ge=1, le=MAX_DAYS)
    start_weekday: int = Field(0, ge=0, le=6, description="0 = Monday")
    start_year: int = Field(2025, ge=1900, le=2200, description="calendar year of day 0")


class DistrictCommunity(_Section):
    """One community of a district (a row of the per-community table, sim.district)."""

    name: str
    residents: int = Field(ge=1, le=1_000_000)
    area_km2: float = Field(gt=0, le=100)
    share_aged_60_plus: float = Field(ge=0, le=1)
    share_aged_80_plus: float = Field(ge=0, le=1)
    share_aged_90_plus: float = Field(ge=0, le=1)
    registered_share: float = Field(ge=0, le=1, description="registered volunteers/residents")
    source: str = Field("assumed", description="where the row's figures come from")


class District(_Section):
    """Several communities side by side (empty: one community, the [community] section)."""

    communities: list[DistrictCommunity] = Field(
        default_factory=list, description="one row each; [community] and [population] scale"
    )
    cross_boundary_m: float = Field(
        0.0,
        ge=0,
        description="an order may go to a volunteer of another community this near (0: never)",
    )
    columns: int = Field(0, ge=0, description="communities per row of the map (0: square)")


class Scenario(_Section):
    """A whole scenario: every parameter of a run but the policy override and seed."""

    scenario: ScenarioInfo = Field(default_factory=ScenarioInfo)
    community: Community = Field(default_factory=Community)
    population: Population = Field(default_factory=Population)
    volunteers: Volunteers = Field(default_factory=Volunteers)
    demand: Demand = Field(default_factory=Demand)
    service: Service = Field(default_factory=Service)
    travel: Travel = Field(default_factory=Travel)
    acceptance: Acceptance = Field(default_factory=Acceptance)
    channels: Channels = Field(default_factory=Channels)
    needs: Needs = Field(default_factory=Needs)
    dispatch: Dispatch = Field(default_factory=Dispatch)
    rating: Rating = Field(default_factory=Rating)
    dynamics: Dynamics = Field(default_factory=Dynamics)
    simulation: Simulation = Field(default_factory=Simulation)
    district: District = Field(default_factory=District)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        chain = [self.dispatch.policy, *self.dispatch.fallback]
        if "station" in chain and self.community.service_points == 0:
            raise ValueError(
                "community.service_points: 0, but the station policy needs service points"
            )
        self._check_size()
        return self

    def _check_size(self) -> None:
        """Refuse keys that are each within bounds but together make a run the model cannot
        draw or hold: the orders of a day (the elders' rates, or the flat total, times the
        surges over that day) above MAX_RATE, the orders of the whole run above
        MAX_RUN_ORDERS, the people it holds above MAX_RUN_PEOPLE, a district's map above
        MAX_CELLS. The orders are estimated from the elders at the start, as sim.population
        draws them on average (:meth:`orders_per_day_at_start`)."""
        days = self.simulation.days
        base, key = self.orders_per_day_at_start()
        if base > MAX_RATE:
            raise ValueError(
                f"{key}: the elders would place about {base:,.0f} orders a day; at most "
                f"{MAX_RATE:,.0f} a day (too many to draw and hold)"
            )
        if base > 0:
            profile = _surge_profile(self.demand.surges, days)
            first, _, peak = max(profile, key=lambda span: span[2])
            if peak > math.log(MAX_RATE / base):
                multiplier = math.exp(min(peak, 700.0))
                raise ValueError(
                    f"demand.surges: demand peaks at about {base * multiplier:,.0f} orders a day "
                    f"on day {first} ({base:,.4g} a day × {multiplier:,.6g}, the surges over "
                    f"that day multiplied); at most {MAX_RATE:,.0f} a day (too many to draw and "
                    "hold)"
                )
            spans = [(end - start) * math.exp(min(log, 700.0)) for start, end, log in profile]
            orders = base * math.fsum(spans)
            if orders > MAX_RUN_ORDERS:
                raise ValueError(
                    f"{key}: about {orders:,.0f} orders in {days:,} days (simulation.days, "
                    f"surges included); at most {MAX_RUN_ORDERS:,} in a run (the model keeps "
                    "about 1 KB for each): fewer days or a lower rate"
                )
        residents = sum(row[0] for row in self._communities())
        where = "district.communities" if self.district.communities else "population.residents"
        if residents > MAX_RUN_PEOPLE:
            raise ValueError(
                f"{where}: {residents:,} residents; at most {MAX_RUN_PEOPLE:,} in a run (the "
                "model keeps about 1 KB for each)"
            )
        if self.dynamics.population:
            d = self.dynamics
            arrivals = d.arriving_households_per_year / d.ageing_speed
            if arrivals > MAX_RATE:
                raise ValueError(
                    f"dynamics.arriving_households_per_year: {d.arriving_households_per_year:g} "
                    f"a year ÷ ageing_speed {d.ageing_speed:g} is {arrivals:,.0f} households a "
                    f"year; at most {MAX_RATE:,.0f} a year"
                )
            years = days / 365
            people = residents + MAX_ARRIVING_HOUSEHOLD * arrivals * years
            if people > MAX_RUN_PEOPLE:
                raise ValueError(
                    f"dynamics.arriving_households_per_year: {residents:,} residents and "
                    f"{arrivals:,.0f} households a year (÷ ageing_speed) of up to "
                    f"{MAX_ARRIVING_HOUSEHOLD} people for {days:,} days could reach "
                    f"{people:,.0f} people; at most {MAX_RUN_PEOPLE:,} in a run"
                )
            # births compound: at most a factor exp(rate · years) on everyone (capped before
            # exp overflows: far beyond the limit anyway)
            born = min(700.0, d.births_per_1000_per_year / 1000 * years)
            people *= math.exp(born)
            if people > MAX_RUN_PEOPLE:
                reach = f"{people:,.0f}" if people < 1e12 else "over 10¹² (a trillion)"
                raise ValueError(
                    f"dynamics.births_per_1000_per_year: {d.births_per_1000_per_year:g} births "
                    f"per 1,000 a year for {days:,} days on {residents:,} residents (and the "
                    f"arrivals) could reach {reach} people; at most {MAX_RUN_PEOPLE:,} in a run"
                )
        if self.district.communities:
            width, height = self.district_cells()
            if width * height > MAX_CELLS:
                raise ValueError(
                    f"district.communities: the district's map is {width:,} × {height:,} = "
                    f"{width * height:,} cells, at most {MAX_CELLS:,} (the rows' area_km2, "
                    "community.cell_size_m, district.columns)"
                )

    def _communities(self) -> list[tuple[int, float, float]]:
        """(residents, share aged 60+, share aged 80+) of each community of the run."""
        if self.district.communities:
            return [
                (row.residents, row.share_aged_60_plus, row.share_aged_80_plus)
                for row in self.district.communities
            ]
        p = self.population
        return [(p.residents, p.share_aged_60_plus, p.share_aged_80_plus)]

    def orders_per_day_at_start(self) -> tuple[float, str]:
        """About how many orders a day the run's elders place at its start, before surges,
        and the key that sets most of them: ``demand.total_per_day``, else each group's rate
        times its elders (:func:`_elder_groups`, summed over the communities)."""
        d, p = self.demand, self.population
        if d.total_per_day is not None:
            return d.total_per_day, "demand.total_per_day"
        share_70 = _share_aged_70_of_60_79(p.age_table)
        elders: dict[str, float] = {}
        for residents, share_60, share_80 in self._communities():
            for group, count in _elder_groups(residents, share_60, share_80, share_70, p).items():
                elders[group] = elders.get(group, 0.0) + count
        by_key = {
            f"demand.orders_per_year_{group}": count * getattr(d, f"orders_per_year_{group}") / 365
            for group, count in elders.items()
        }
        return math.fsum(by_key.values()), max(by_key, key=lambda key: by_key[key])

    def district_cells(self) -> tuple[int, int]:
        """(width, height) in cells of the district's map: each community a square tile of
        its area, in rows of ``district.columns`` (sim.district lays them out so)."""
        rows = self.district.communities
        columns = self.district.columns or max(1, round(math.sqrt(len(rows))))
        cell = self.community.cell_size_m
        sides = [int(math.sqrt(row.area_km2) * 1000.0 // cell) for row in rows]
        width = height = 0
        for start in range(0, len(sides), columns):
            line = sides[start : start + columns]
            width, height = max(width, sum(line)), height + max(line)
        return width, height


def _share_aged_70_of_60_79(age_table: list[list[int]]) -> float:
    """The share aged 70-79 of those aged 60-79, by the census bands from 60 (ages uniform
    within each band, as sim.population.age_band_counts draws them)."""
    starts = [band[0] for band in age_table]
    ends = [start - 1 for start in starts[1:]] + [79]
    persons = [
        (start, end, band[1])
        for band, start, end in zip(age_table, starts, ends, strict=True)
        if start >= 60
    ]
    in_band = sum(n for _, _, n in persons)
    aged_70 = sum(n * (end - max(start, 70) + 1) / (end - start + 1) for start, end, n in persons)
    return aged_70 / in_band if in_band else 0.5


def _elder_groups(
    residents: int, share_60: float, share_80: float, share_70: float, p: Population
) -> dict[str, float]:
    """The elders of each group with its own order rate (sim.population.CLIENT_GROUPS) in a
    community at the start, on average, as sim.population draws them: those aged 60+ and 80+
    by their shares, ``share_70`` of the rest aged 70-79; the elders living alone chosen with
    weight 4 aged 80+, 2 aged 70-79, 1 aged 60-69; the empty-nest among the rest alike."""
    n60, n80 = round(residents * share_60), round(residents * share_80)
    n60_79 = n60 - n80
    n70_79 = n60_79 * share_70
    alone = min(n60, round(n60 * p.living_alone_share_of_60_plus))
    nest = min(n60 - alone, round(n60 * p.empty_nest_share_of_60_plus))
    weight = 4 * n80 + 2 * n70_79 + (n60_79 - n70_79)
    alone_80 = min(n80, alone * 4 * n80 / weight) if weight else 0.0
    rest_80, rest_60_79 = n80 - alone_80, n60_79 - (alone - alone_80)
    nest_80 = nest * rest_80 / (rest_80 + rest_60_79) if rest_80 + rest_60_79 else 0.0
    return {
        "alone_80_plus": alone_80,
        "empty_nest_80_plus": nest_80,
        "other_80_plus": rest_80 - nest_80,
        "alone_60_79": alone - alone_80,
        "empty_nest_60_79": nest - nest_80,
    }


def _surge_profile(surges: list[list[float]], days: int) -> list[tuple[int, int, float]]:
    """The run's days split where ``demand.surges`` start and end: (first day, end day, log of
    the demand multiplier), surges over the same day multiplied (as sim.demand does); the log
    of a multiplier of 0 is -inf."""
    cuts, spans = {0, days}, []
    for first, length, multiplier in surges:
        # the whole days d with first <= d < first + length, within the run
        start = math.ceil(min(max(first, 0.0), days))
        end = math.ceil(min(max(first + length, 0.0), days))
        if start < end:
            spans.append((start, end, multiplier))
            cuts.update((start, end))
    days_cut = sorted(cuts)
    at = {day: i for i, day in enumerate(days_cut)}
    zeros, logs = [0] * len(days_cut), [0.0] * len(days_cut)
    for start, end, multiplier in spans:
        if multiplier == 0:
            zeros[at[start]] += 1
            zeros[at[end]] -= 1
        else:
            logs[at[start]] += math.log(multiplier)
            logs[at[end]] -= math.log(multiplier)
    profile, zero, log = [], 0, 0.0
    for i, (start, end) in enumerate(itertools.pairwise(days_cut)):
        zero, log = zero + zeros[i], log + logs[i]
        profile.append((start, end, -math.inf if zero else log))
    return profile


def parse_chain(policy: str) -> list[str]:
    """The policy names of a chain such as ``"pairing+nearest"``, first to last."""
    return [name.strip() for name in str(policy).split("+")]


def repeated_in_chain(names: list[str]) -> str | None:
    """The first policy a chain names twice (a chain tries each policy once), or None."""
    return next((name for i, name in enumerate(names) if name in names[:i]), None)


def chain_overrides(policy: str) -> dict[str, Any]:
    """The scenario keys a policy chain sets: its first policy and the fallbacks after it."""
    first, *fallback = parse_chain(policy)
    return {"dispatch.policy": first, "dispatch.fallback": fallback}


def parse_value(text: str) -> Any:
    """Read a ``--set`` value as TOML (numbers, ``inf``, booleans, arrays), else as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: dict[str, Any], source: str = "--set") -> dict:
    """Return a copy of ``data`` with dotted keys (``demand.max_wait_min``,
    ``dispatch.broadcast.k``) set."""
    result = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if len(parts) < 2 or parts[0] not in Scenario.model_fields:
            raise InputError(source, dotted, "unknown key (expected section.key)")
        node = result.setdefault(parts[0], {})
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(source, dotted, "unknown key")
        _merge(node, parts[-1], value)
    return result


def _merge(node: dict, key: str, value: Any) -> None:
    """Set ``node[key]``; a table given for a table sets the keys it names and keeps the others
    (``dispatch.broadcast={k=3}`` keeps the scenario's radius, not the default's)."""
    old = node.get(key)
    if isinstance(value, dict) and isinstance(old, dict):
        for inner, inner_value in value.items():
            _merge(old, inner, inner_value)
    else:
        node[key] = value


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int))


def _with_default_tables(data: dict) -> dict:
    """Per-order-type tables given in part keep the defaults of the types not given."""
    defaults = Scenario().model_dump()
    merged = dict(data)
    for section, values in data.items():
        if not isinstance(values, dict) or section not in defaults:
            continue
        merged[section] = dict(values)
        for key, value in values.items():
            default = defaults[section].get(key)
            if isinstance(value, dict) and isinstance(default, dict):
                merged[section][key] = {**default, **value}
    return merged


def error_line(error: ValidationError) -> tuple[str | None, str]:
    """The dotted key and a one-line message of a validation error's first problem.

    A section check names its key as ``"key: message"``; the value shown is then that key's,
    not the whole section's.
    """
    first = error.errors()[0]
    key = _dotted(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input", _MISSING)
    if first["type"] == "extra_forbidden":
        if key in MOVED_KEYS:
            return key, f"no longer a key: {MOVED_KEYS[key]}"
        return key or None, "unknown key"
    if first["type"] == "finite_number":
        message = "must be a finite number"
    if ": " in message and first["type"] == "value_error":
        field, message = message.split(": ", 1)
        value = value.get(field, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:  # not in the file: the default was used
            value = _default(error.title, [*key.split("."), field] if key else [field])
        key = f"{key}.{field}" if key else field
    if value is not _MISSING and not isinstance(value, dict):
        message = f"{message} (got {value!r})"
    return key or None, message


_MISSING = object()


def _default(model_name: str, path: list[str]) -> Any:
    """The default value of a dotted field of the Scenario (or a section), else _MISSING."""
    model: Any = Scenario
    if model_name != Scenario.__name__:
        sections = {
            info.annotation.__name__: info.annotation for info in Scenario.model_fields.values()
        }
        model = sections.get(model_name, Scenario)
    for name in path[:-1]:
        info = getattr(model, "model_fields", {}).get(name)
        model = info.annotation if info is not None else None
    info = getattr(model, "model_fields", {}).get(path[-1])
    if info is None:
        return _MISSING
    return info.get_default(call_default_factory=True)


def validate(data: dict, source: str) -> Scenario:
    """Build a :class:`Scenario` from nested dicts, turning the first problem into one line."""
    try:
        return Scenario.model_validate(_with_default_tables(data))
    except ValidationError as error:
        key, message = error_line(error)
        raise InputError(source, key, message) from None


def read_toml(path: Path) -> dict:
    """A TOML file's tables (UTF-8, with or without a byte-order mark); a missing, unreadable
    or malformed file is an InputError."""
    try:  # utf-8-sig: a byte-order mark, as some Windows editors write, is read and dropped
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(str(path), None, f"cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(str(path), None, f"not valid TOML: {error}") from None
    if not data:  # an empty file (or only comments) is a mistake, not "every default"
        raise InputError(str(path), None, "sets nothing: the file is empty or only comments")
    return data


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file and apply dotted overrides; every failure is an InputError."""
    path = Path(path)
    data = read_toml(path)
    scenario = validate(data, str(path))
    if overrides:
        scenario = validate(apply_overrides(data, overrides), "--set")
    return scenario


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A scenario with dotted overrides applied, validated again."""
    if not overrides:
        return scenario
    return validate(apply_overrides(scenario.model_dump(), overrides), "--set")


def is_infinite(value: float | None) -> bool:
    return value is not None and math.isinf(value)


def is_section(dotted: str) -> bool:
    """Whether a dotted name is a section or sub-table of the scenario (``community``,
    ``dispatch.broadcast``, ``demand.type_shares``), whose keys may follow it."""
    model: Any = Scenario
    for name in dotted.split("."):
        info = getattr(model, "model_fields", {}).get(name)
        if info is None:
            return False
        model = info.annotation
    return isinstance(model, type) and issubclass(model, BaseModel)


def key_type(dotted: str) -> type | None:
    """The Python type of a scalar scenario key (``int`` for ``volunteers.count``, ``float`` for
    ``channels.app.reach_m``), or None."""
    model: Any = Scenario
    *sections, key = dotted.split(".")
    for name in sections:
        info = getattr(model, "model_fields", {}).get(name)
        model = info.annotation if info is not None else None
    fields = getattr(model, "model_fields", {}) if sections else {}
    if key not in fields:
        return None
    annotation = fields[key].annotation
    if annotation in (int, float, bool, str):
        return annotation
    scalar = [a for a in get_args(annotation) if a is not type(None)]
    return scalar[0] if len(scalar) == 1 and scalar[0] in (int, float, bool, str) else None
