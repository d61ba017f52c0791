"""What the app (sim/app.py) draws: the community at a moment, and a model whose step moves a clock.

:class:`WatchedModel` simulates whole days exactly as ``volsim run`` does (same seed, same run)
and moves a clock by a chosen interval per ``step()``, from minutes to days. The map shows the
moment on the clock, rebuilt from the orders' recorded times (placed, accepted, arrived, ended):
who is waiting, who is walking over, who is serving. Residents are not drawn one by one (Altair
refuses more than 5,000 rows, matplotlib is slow with 5,340 markers): stairwells are coloured by
a property layer per stairwell (waiting orders, active volunteers, elders without a reachable
helper), and only the few residents who are walking, serving or waiting are drawn as agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import mesa
import numpy as np
import pandas as pd
from mesa.visualization import SpaceRenderer
from mesa.visualization.components import AgentPortrayalStyle, PropertyLayerStyle

from sim.agents import ServicePoint, Stairwell
from sim.demand import MIN_PER_DAY
from sim.metrics import CIRCLE_MIN
from sim.model import VolunteerModel
from sim.orders import NOT_PLACED, SERVED
from sim.scenario import ORDER_TYPES

#: step intervals offered on the page, in simulated minutes
STEP_CHOICES_MIN = {
    "10 min": 10,
    "1 hour": 60,
    "6 hours": 360,
    "1 day": MIN_PER_DAY,
    "1 week": 7 * MIN_PER_DAY,
    "30 days": 30 * MIN_PER_DAY,
}
#: stairwell layers: name → (label, colour of the highest count; 0 is transparent)
LAYERS = {
    "waiting_orders": ("waiting orders", "#d62728"),
    "active_volunteers": ("active volunteers", "#2ca02c"),
    "elders_unreached": ("elders without a reachable helper", "#ff7f0e"),
}
#: the daily series the page plots (DataCollector columns)
PLOTS = {
    "urgent_response_min_30d": "urgent response time (min, last 30 days)",
    "orders_unmet": "unmet orders per day",
    "active_volunteers": "active volunteers",
    "paired_elders_share": "paired share of old-old elders",
}
MAP_PX = 360
URGENT = ORDER_TYPES.index("urgent")


@dataclass
class Moment:
    """Orders and volunteers at one minute: order ids, and who is where."""

    minute: float
    waiting: np.ndarray  # order ids placed and not yet accepted or expired
    walking: np.ndarray  # order ids whose volunteer is on the way
    serving: np.ndarray  # order ids being served
    #: resident id → (role, order, x, y) for the residents drawn
    roles: dict[int, tuple[str, int, float, float]] = field(default_factory=dict)
    busy: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _column(values: list, first: int) -> np.ndarray:
    return np.asarray(values[first:], dtype=float)


def order_moment(model: VolunteerModel, minute: float, first: int = 0) -> tuple[Moment, int]:
    """The orders' state at ``minute`` (of days already simulated), looking at orders from
    ``first`` on; also the first order still open then (a hint for the next, later, minute)."""
    orders, pop, xy = model.orders, model.population, model.layout.stairwell_xy
    placed = _column(orders.placed_min, first)
    accepted = _column(orders.accepted_min, first)
    arrived = _column(orders.arrived_min, first)
    ended = _column(orders.ended_min, first)
    service = _column(orders.service_min, first)
    status = np.asarray(orders.status[first:], dtype=np.int64)
    end = np.where(np.isnan(ended), arrived + service, ended)  # NaN while still waiting
    end = np.where(np.isnan(end), math.inf, end)
    taken = np.where(np.isnan(accepted), math.inf, accepted)
    arrives = np.where(np.isnan(arrived), math.inf, arrived)
    placed_now = (placed <= minute) & (status != NOT_PLACED)
    waiting = np.flatnonzero(placed_now & (minute < np.minimum(taken, end))) + first
    walking = np.flatnonzero((taken <= minute) & (minute < arrives)) + first
    serving = np.flatnonzero((arrives <= minute) & (minute < end)) + first
    done = end <= minute
    open_from = first + (int(np.argmin(done)) if not done.all() else len(done))
    roles: dict[int, tuple[str, int, float, float]] = {}
    for o in waiting.tolist():
        elder = orders.elder[o]
        x, y = xy[pop.stairwell[elder]]
        roles[elder] = ("waiting", o, float(x), float(y))
    origin = getattr(orders, "origin", {})
    for o in walking.tolist():
        v, elder = orders.volunteer[o], orders.elder[o]
        start = xy[origin.get(o, pop.stairwell[v])]
        share = (minute - orders.accepted_min[o]) / (orders.arrived_min[o] - orders.accepted_min[o])
        x, y = _along_lanes(start, xy[pop.stairwell[elder]], share)
        roles[v] = ("walking", o, x, y)
    for o in serving.tolist():
        v, elder = orders.volunteer[o], orders.elder[o]
        x, y = xy[pop.stairwell[elder]]
        roles[v] = ("serving", o, float(x), float(y))
    busy = np.asarray([orders.volunteer[o] for o in [*walking, *serving]], dtype=np.int64)
    moment = Moment(minute, waiting, walking, serving, roles, busy)
    return moment, open_from


def _along_lanes(start: np.ndarray, end: np.ndarray, share: float) -> tuple[float, float]:
    """A point ``share`` of the way along the lanes (first along x, then along y)."""
    dx, dy = float(end[0] - start[0]), float(end[1] - start[1])
    walked = min(max(share, 0.0), 1.0) * (abs(dx) + abs(dy))
    if walked <= abs(dx):
        return float(start[0]) + math.copysign(walked, dx), float(start[1])
    return float(end[0]), float(start[1]) + math.copysign(walked - abs(dx), dy)


def stairwell_layers(model: VolunteerModel, moment: Moment) -> dict[str, np.ndarray]:
    """Per-stairwell counts at the moment (index = stairwell)."""
    pop, layout, orders = model.population, model.layout, model.orders
    n = layout.n_stairwells
    elders_waiting = np.asarray([orders.elder[o] for o in moment.waiting], dtype=np.int64)
    here = pop.present
    active = here & pop.active
    hour_of_week = int(moment.minute // 60) % 168
    on_duty = model.roster.availability[pop.pattern, hour_of_week] & active
    on_duty[moment.busy[moment.busy < len(on_duty)]] = False
    speed = model.scenario_params.travel.speed_m_per_min
    helpers = np.bincount(pop.stairwell[on_duty], minlength=n) > 0
    reach = layout.space.pairs_within(CIRCLE_MIN * speed)
    reached = reach @ helpers.astype(np.int64) > 0 if reach.nnz else np.zeros(n, dtype=bool)
    elders = np.bincount(pop.stairwell[here & (pop.client_group > 0)], minlength=n)
    return {
        "waiting_orders": np.bincount(pop.stairwell[elders_waiting], minlength=n),
        "active_volunteers": np.bincount(pop.stairwell[active], minlength=n),
        "elders_unreached": np.where(reached, 0, elders),
    }


def clock_text(minute: float) -> str:
    """'day 12, 08:30' for a minute of simulated time (day 1 starts at minute 0)."""
    day, rest = divmod(int(minute), MIN_PER_DAY)
    return f"day {day + 1}, {rest // 60:02d}:{rest % 60:02d}"


class WatchedModel(VolunteerModel):
    """VolunteerModel whose ``step()`` moves a clock by ``step_min`` simulated minutes.

    Whole days are simulated (``VolunteerModel.step``) as the clock enters them, so the run is
    the one ``volsim run`` makes with the same seed; ``steps`` and ``time`` still count days.
    The map's state at the clock is :attr:`moment`; stairwell counts are property layers of
    ``grid``. The daily series adds the plotted figures.
    """

    def __init__(self, params: Any = None, *, step_min: float = MIN_PER_DAY, **kwargs: Any):
        super().__init__(params, **kwargs)
        self.step_min = step_min
        self.clock_min = 0.0
        self._open_from = 0
        self._simulate_day = self.step  # Mesa's step: one simulated day
        self.step = self._advance_clock
        self.datacollector = mesa.DataCollector(
            model_reporters={
                **self.datacollector.model_reporters,
                "urgent_response_min_30d": "urgent_response_min_30d",
                "paired_elders_share": "paired_share_or_nan",
            }
        )
        for name in LAYERS:  # 0 off the stairwells: transparent
            self.grid.create_property_layer(name, 0.0)
        self._cells = tuple(self.layout.stairwell_xy.T)
        self._look()

    def _advance_clock(self) -> None:
        """Move the clock on by ``step_min``, simulating the days it enters."""
        horizon = self.days * MIN_PER_DAY
        target = min(self.clock_min + self.step_min, horizon)
        while self.steps * MIN_PER_DAY < target and self.steps < self.days:
            self._simulate_day()
        self.clock_min = target
        self.running = target < horizon
        self._look()

    def _look(self) -> None:
        self.moment, self._open_from = order_moment(self, self.clock_min, self._open_from)
        for name, counts in stairwell_layers(self, self.moment).items():
            layer = self.grid._mesa_property_layers[name]
            layer.data[self._cells] = counts

    @property
    def days_on_clock(self) -> int:
        """Whole days the clock has passed (the daily series shown stops there)."""
        return int(self.clock_min // MIN_PER_DAY)

    @property
    def urgent_response_min_30d(self) -> float:
        """Mean response time of urgent orders placed in the last 30 simulated days, served."""
        orders = self.orders
        since = (self.steps - 30) * MIN_PER_DAY
        placed = np.asarray(orders.placed_min, dtype=float)
        recent = np.flatnonzero(placed >= since)
        kind = np.asarray(orders.order_type, dtype=np.int64)[recent]
        status = np.asarray(orders.status, dtype=np.int64)[recent]
        chosen = recent[(kind == URGENT) & (status == SERVED)]
        if len(chosen) == 0:
            return math.nan
        arrived = np.asarray(orders.arrived_min, dtype=float)[chosen]
        return float(np.mean(arrived - placed[chosen]))

    @property
    def paired_share_or_nan(self) -> float:
        share = self.paired_elders_share()
        return math.nan if share is None else float(share)


# --- drawing ----------------------------------------------------------------------------------
ROLE_STYLE = {
    # role: (colour, marker, size)
    "waiting": ("#d62728", "^", 40),
    "walking": ("#1f77b4", "o", 30),
    "serving": ("#9467bd", "D", 30),
}


def agent_portrayal(agent: Any) -> AgentPortrayalStyle:
    """Stairwells as outlined squares, service points as small grey squares, and the
    residents who are waiting, walking or serving."""
    model = agent.model
    if isinstance(agent, Stairwell):
        x, y = agent.cell.coordinate
        counts = {name: model.grid._mesa_property_layers[name].data[x, y] for name in LAYERS}
        return AgentPortrayalStyle(
            x=x,
            y=y,
            color="transparent",
            marker="s",
            size=40,
            zorder=0,
            edgecolors="#444444",
            linewidths=3,
            tooltip={
                "what": f"stairwell {agent.index}",
                "building": int(agent.building),
                "grid": int(agent.grid),
                **{LAYERS[name][0]: int(value) for name, value in counts.items()},
            },
        )
    if isinstance(agent, ServicePoint):
        x, y = agent.cell.coordinate
        hour = int(model.clock_min // 60) % 24
        return AgentPortrayalStyle(
            x=x + 0.3,
            y=y + 0.3,
            color="#7f7f7f" if agent.is_open(hour) else "#d9d9d9",
            marker="s",
            size=8,
            zorder=1,
            tooltip={
                "what": f"service point: {agent.category}",
                "hours": f"{agent.open_hour}:00-{agent.close_hour}:00",
                "open now": "yes" if agent.is_open(hour) else "no",
            },
        )
    role, o, x, y = model.moment.roles[agent.index]
    colour, marker, size = ROLE_STYLE[role]
    orders = model.orders
    since = orders.placed_min[o] if role == "waiting" else orders.accepted_min[o]
    who = "elder" if role == "waiting" else "volunteer"
    return AgentPortrayalStyle(
        x=x,
        y=y,
        color=colour,
        marker=marker,
        size=size,
        zorder=3,
        tooltip={
            "what": f"{who} {agent.index}, {role}",
            "order": f"{ORDER_TYPES[orders.order_type[o]]} (order {o})",
            "minutes": round(model.clock_min - since),
            "age": agent.age_years,
        },
    )


def layer_portrayal(layer: Any) -> PropertyLayerStyle:
    """Colour scale of a stairwell layer."""
    top = max(1.0, float(layer.data.max()))
    return PropertyLayerStyle(color=LAYERS[layer.name][1], vmin=0, vmax=top, alpha=0.9)


class _Shown:
    """The grid as the renderer should see it: only the agents worth drawing."""

    def __init__(self, space: Any, agents: list) -> None:
        self._space = space
        self.agents = agents

    def __getattr__(self, name: str) -> Any:
        return getattr(self._space, name)


class CommunityRenderer(SpaceRenderer):
    """Mesa's SpaceRenderer (Altair) drawing buildings and grid boundaries as the structure,
    one stairwell layer, and only the agents worth drawing (not every resident)."""

    def __init__(self, model: WatchedModel, backend: str = "altair") -> None:
        super().__init__(model, backend=backend)
        self.model = model
        self.agent_portrayal = agent_portrayal
        self.propertylayer_portrayal = layer_portrayal
        self._structure = None

    def shown_layer(self) -> str:
        """The layer colouring the stairwells (the page binds this to a control)."""
        return "waiting_orders"

    def shown_agents(self) -> list:
        model = self.model
        first_point: dict[int, Any] = {}
        for point in model.agents_by_type.get(ServicePoint, []):
            first_point.setdefault(point.cell.coordinate, point)
        residents = model.residents
        people = [residents[r] for r in model.moment.roles if r < len(residents)]
        stairwells = list(model.agents_by_type.get(Stairwell, []))
        return [*stairwells, *first_point.values(), *people]

    def draw_structure(self, **kwargs):
        if self._structure is None:  # the buildings stand still during a run
            self._structure = community_structure(self.model)
        self.space_mesh = self._structure
        return self.space_mesh

    def draw_agents(self, agent_portrayal=None, **kwargs):
        shown = _Shown(self.space, self.shown_agents())
        data = self.backend_renderer.collect_agent_data(shown, self.agent_portrayal)
        data = self._map_coordinates(data)
        chart = self.backend_renderer.draw_agents(data, chart_width=MAP_PX, chart_height=MAP_PX)
        if chart is not None:  # the page explains the markers; Mesa's legends would not
            chart.encoding.shape.legend = None
            chart.encoding.opacity.legend = None
        self.agent_mesh = chart
        return self.agent_mesh

    def draw_propertylayer(self, propertylayer_portrayal=None):
        name = self.shown_layer()
        layers = {name: self.space._mesa_property_layers[name]}
        self.propertylayer_mesh = self.backend_renderer.draw_propertylayer(
            self.space, layers, self.propertylayer_portrayal, MAP_PX, MAP_PX
        )
        return self.propertylayer_mesh


def community_structure(model: VolunteerModel) -> alt.Chart:
    """Buildings (grey blocks around their stairwells) and grid boundaries (dashed boxes)."""
    layout = model.layout
    xy = layout.stairwell_xy
    frame = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "building": layout.stairwell_building,
            "grid": layout.stairwell_grid,
        }
    )
    extent = {"x0": ("x", "min"), "x1": ("x", "max"), "y0": ("y", "min"), "y1": ("y", "max")}
    buildings = frame.groupby("building").agg(**extent)
    grids = frame.groupby("grid").agg(**extent)
    pad_building, pad_grid = 0.6, 1.2
    for table, pad in ((buildings, pad_building), (grids, pad_grid)):
        table["x0"] -= pad
        table["y0"] -= pad
        table["x1"] += pad
        table["y1"] += pad
    x_scale = alt.Scale(domain=[-0.5, layout.width_cells - 0.5], nice=False)
    y_scale = alt.Scale(domain=[-0.5, layout.height_cells - 0.5], nice=False)

    def boxes(table: pd.DataFrame, **mark: Any) -> alt.Chart:
        return (
            alt.Chart(table.reset_index())
            .mark_rect(**mark)
            .encode(
                x=alt.X("x0:Q", scale=x_scale, axis=None),
                x2="x1:Q",
                y=alt.Y("y0:Q", scale=y_scale, axis=None),
                y2="y1:Q",
            )
            .properties(width=MAP_PX, height=MAP_PX)
        )

    return alt.layer(
        boxes(grids, fill="transparent", stroke="#3a6ea5", strokeDash=[4, 3], strokeWidth=1.2),
        boxes(buildings, fill="#e6e6e6", stroke="#9a9a9a", strokeWidth=0.8),
    )
