"""The volsim page: watch the community in the browser (Mesa SolaraViz, works offline).

``volsim app [SCENARIO]`` serves it on 127.0.0.1 (:func:`serve`: the scenario is loaded and the
address bound before it says where it serves, and bad input is one line with exit status 2);
``solara run sim/app.py`` works too (the Mesa convention). The map shows buildings, grid
boundaries, service points and stairwells coloured by a chosen layer, with the volunteers walking
or serving and the orders waiting at the clock's minute (:mod:`sim.viz`); plots follow the daily
series; the sidebar sets policy, active share, scenario and seed (applied on Reset), the step
interval and the play speed.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

import altair as alt
import solara
import solara.server.settings
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import force_update, update_counter

from sim.errors import InputError
from sim.scenario import POLICY_NAMES
from sim.scenario import load as load_scenario
from sim.viz import (
    LAYERS,
    PLOTS,
    ROLE_STYLE,
    STEP_CHOICES_MIN,
    CommunityRenderer,
    WatchedModel,
    clock_text,
)

#: the scenario the page opens with (``volsim app SCENARIO`` sets it)
SCENARIO_ENV = "VOLSIM_APP_SCENARIO"
SCENARIO_DIR = Path("scenarios")
POLICIES = [*POLICY_NAMES, "pairing+broadcast", "pairing+nearest"]

#: the JavaScript packages solara's Altair widget asks for by major version
VEGA_PACKAGES = ("vega@5", "vega-lite@5", "vega-embed@6")

# the page never calls home (solara's usage statistics go to a web service)
solara.server.settings.telemetry.mixpanel_enable = False


def offline_assets(cache: Path | None = None) -> list[str]:
    """Let the charts load offline; return the packages still missing.

    solara-assets ships vega, vega-lite and vega-embed under their full versions in solara's CDN
    cache, but the Altair widget asks for ``vega-lite@5`` and so on, which solara would fetch from
    the web. Each gets a link in the cache to the newest shipped version of that major.
    """
    cache = Path(cache or solara.server.settings.assets.proxy_cache_dir)
    missing = []
    for package in VEGA_PACKAGES:
        alias = cache / package
        if alias.exists():
            continue
        shipped = sorted(cache.glob(f"{package}.*"), key=lambda p: _version(p.name))
        try:
            alias.symlink_to(shipped[-1].name, target_is_directory=True)
        except (IndexError, OSError):
            missing.append(package)
    return missing


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.rpartition("@")[2].split(".") if part.isdigit())


MISSING_ASSETS = offline_assets()

CLOCK_STYLE = {"font-size": "1.6em", "font-weight": "bold", "display": "block"}
step_choice = solara.reactive("6 hours")
layer_choice = solara.reactive("waiting_orders")


def scenario_choices() -> list[str]:
    """The scenario files offered: the one asked for, then scenarios/*.toml."""
    first = os.environ.get(SCENARIO_ENV)
    found = sorted(str(p) for p in SCENARIO_DIR.glob("*.toml")) if SCENARIO_DIR.is_dir() else []
    baseline = str(SCENARIO_DIR / "chaoyangli.toml")
    if first is None:
        first = baseline if baseline in found else (found[0] if found else None)
    return [first, *(f for f in found if f != first)] if first else found


def model_params() -> dict:
    """Controls of the model (applied on Reset)."""
    scenarios = scenario_choices()
    params: dict = {
        "policy": {"type": "Select", "value": "pairing", "values": POLICIES, "label": "Policy"},
        "volunteers.active_share_of_registered": {
            "type": "SliderFloat",
            "value": 0.25,
            "min": 0.05,
            "max": 0.8,
            "step": 0.05,
            "label": "Active share of registered volunteers",
        },
        "rng": {"type": "InputText", "value": "42", "label": "Seed"},
    }
    if scenarios:
        params["params"] = {
            "type": "Select",
            "value": scenarios[0],
            "values": scenarios,
            "label": "Scenario",
        }
    return params


def new_model(**params) -> WatchedModel:
    """The model the page opens with (the controls' first values)."""
    defaults = {name: spec["value"] for name, spec in model_params().items()}
    return WatchedModel(**{**defaults, **params})


class PageRenderer(CommunityRenderer):
    """The map, colouring stairwells by the layer chosen on the page."""

    def shown_layer(self) -> str:
        return layer_choice.value


@solara.component
def ClockPanel(model: WatchedModel):
    """Simulated time, the step interval, the stairwell layer, and the legend."""
    update_counter.get()
    model.step_min = STEP_CHOICES_MIN[step_choice.value]
    moment = model.moment

    def set_layer(name: str) -> None:
        layer_choice.set(name)
        force_update()

    with solara.Card("Clock", style={"min-width": "280px"}):
        solara.Text(clock_text(model.clock_min), classes=["volsim-clock"], style=CLOCK_STYLE)
        solara.Text(
            f"{len(moment.waiting)} waiting, {len(moment.walking)} walking, "
            f"{len(moment.serving)} serving; {model.active_volunteers} active volunteers; "
            f"policy {model.policy.name}, seed {model.seed}"
        )
        solara.Select("Step by", value=step_choice, values=list(STEP_CHOICES_MIN))
        solara.Select(
            "Colour stairwells by",
            value=layer_choice.value,
            values=list(LAYERS),
            on_value=set_layer,
        )
        solara.HTML(tag="div", unsafe_innerHTML=_legend(layer_choice.value))


def _legend(layer: str) -> str:
    """What the colours and markers mean (fixed text: no user input in it)."""
    label, colour = LAYERS[layer]
    shapes = {"^": "&#9650;", "o": "&#9679;", "D": "&#9670;"}
    items = [f'<span style="color:{colour}">&#9632;</span> stairwells: {label} (darker = more)']
    for role, (role_colour, marker, _) in ROLE_STYLE.items():
        who = "elder with an order" if role == "waiting" else "volunteer"
        items.append(f'<span style="color:{role_colour}">{shapes[marker]}</span> {who} {role}')
    items.append("grey blocks: buildings; dashed boxes: grids; small squares: service points")
    items.append("hover over the map for details")
    return "<br>".join(items)


def _plot(measure: str, model: solara.Reactive):
    """A daily series (Mesa's plot component), up to the day on the clock."""

    def shown_days(chart):
        days = model.value.days_on_clock
        chart.data = chart.data[chart.data["Step"] < days]
        return chart.encode(
            x=alt.X("Step:Q", title="day"),
            y=alt.Y("Value:Q", title=None),
            color=alt.Color("Measure:N", legend=None),
        ).properties(width=420, height=105, title=PLOTS[measure])

    return make_plot_component(measure, backend="altair", post_process=shown_days)[0]


def _plot_pair(first: str, second: str, model: solara.Reactive):
    """Two daily series, one above the other (one tile of the page)."""
    top, bottom = _plot(first, model), _plot(second, model)

    def PlotPair(current: WatchedModel):
        with solara.Column() as column:
            top(current)
            bottom(current)
        return column

    return PlotPair


@solara.component
def Page():
    model = solara.use_reactive(solara.use_memo(new_model, []))
    renderer = solara.use_memo(lambda: PageRenderer(model.value).render(), [])
    measures = list(PLOTS)
    components = [
        ClockPanel,
        _plot_pair(measures[0], measures[1], model),
        _plot_pair(measures[2], measures[3], model),
    ]
    SolaraViz(
        model,
        renderer,
        components=components,
        model_params=model_params(),
        name="volsim: Chaoyangli volunteer service",
        play_interval=150,
    )


page = Page


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, for the server to take over.

    Bad input names the option at fault (``--host`` that does not resolve or is not this
    machine's, ``--port`` out of range, in use or reserved) as an :class:`InputError`.
    """
    if not 1 <= port <= 65535:
        raise InputError("--port", None, f"must be between 1 and 65535 (got {port})")
    if not host.strip():
        raise InputError("--host", None, "is empty: give an address, e.g. 127.0.0.1")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, ValueError) as error:  # ValueError: a name no resolver takes (too long)
        reason = getattr(error, "strerror", None) or error
        raise InputError("--host", None, f"cannot resolve {host!r}: {reason}") from None
    # IPv4 first, as uvicorn (and so `solara run`) binds a name like localhost
    family, kind, proto, _, address = min(found, key=lambda info: info[0] != socket.AF_INET)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise _address_error(error, host, port) from None
    return sock


def _address_error(error: OSError, host: str, port: int) -> InputError:
    if error.errno == errno.EADDRINUSE:
        return InputError("--port", None, f"{port} is already in use on {host}: choose another")
    if error.errno == errno.EACCES:
        return InputError("--port", None, f"{port} is reserved on this machine: use 1024 or more")
    if error.errno == errno.EADDRNOTAVAIL:
        return InputError("--host", None, f"{host} is not an address of this machine")
    return InputError("--host", None, f"cannot listen on {host} port {port}: {error.strerror}")


def serve(scenario: str | None, host: str, port: int) -> int:
    """``volsim app``: check the scenario and the address, say where, then become the server.

    The scenario is loaded before anything is served, so one that ``volsim run`` refuses is
    refused the same way (:class:`InputError`, exit status 2), and the address is bound once
    (then let go for the server) before "serving on" is printed. The process then
    becomes ``solara run`` (the Mesa convention; no child is left behind when it is stopped or
    killed). Building the page's model here before becoming the server broke the page now and
    then in Chromium ("Cannot read properties of undefined (reading 'usermeta')"), so only the
    scenario is loaded.
    """
    if scenario is not None:  # the page opens with it: a bad one is refused here, not there
        load_scenario(scenario)
        os.environ[SCENARIO_ENV] = scenario
    listening_socket(host, port).close()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    command = [sys.executable, "-m", "solara", "run", __file__, "--production"]
    command += ["--no-check-version", "--host", host, "--port", str(port)]
    shown = f"[{host}]" if ":" in host else host
    print(f"volsim app: serving on http://{shown}:{port}/ (Ctrl+C stops it)", flush=True)
    os.execve(sys.executable, command, env)
    return 0  # not reached
