"""The app's model conventions and page: Mesa's Reset, seeds as text, the clock, a headless render.

The page is clicked through Mesa's ModelController with solara's test renderer (no browser): Step
moves the time on, Reset rebuilds the model from the page's parameters (where Mesa passes its own
Scenario back), and no error shows.
"""

from __future__ import annotations

import warnings

import mesa
import numpy as np
import pytest
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.demand import MIN_PER_DAY
from sim.model import VolunteerModel

solara = pytest.importorskip("solara", reason="the app needs the extra: pip install -e '.[app]'")
v = pytest.importorskip("ipyvuetify")

from conftest import SMALL_COMMUNITY as SMALL  # noqa: E402


def test_mesa_scenario_from_reset_is_accepted_and_carries_the_seed() -> None:
    first = VolunteerModel(days=2, rng=5, **SMALL)
    again = VolunteerModel(days=2, scenario=MesaScenario(rng="5"), **SMALL)
    assert again.seed == 5
    assert isinstance(again.scenario, MesaScenario)
    first.run_model()
    again.run_model()
    assert first.summary()["requests"] == again.summary()["requests"]


def test_volsim_scenario_as_scenario_is_deprecated_but_works(baseline_file) -> None:
    with pytest.warns(DeprecationWarning, match="params="):
        model = VolunteerModel(scenario=baseline_file, days=1, rng=1)
    assert model.scenario_params.community.buildings == 43
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VolunteerModel(params=baseline_file, days=1, rng=1)
        VolunteerModel(baseline_file, days=1, rng=1)


@pytest.mark.parametrize(("rng", "seed"), [("42", 42), (" 7 ", 7), (42, 42), (np.int64(3), 3)])
def test_rng_as_int_or_numeric_string(rng, seed) -> None:
    assert VolunteerModel(days=1, rng=rng, **SMALL).seed == seed


def test_rng_text_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="whole number"):
        VolunteerModel(days=1, rng="abc", **SMALL)


def test_daily_figures_are_properties_reported_by_name() -> None:
    model = VolunteerModel(days=3, rng=2, **SMALL)
    model.run_model()
    last = model.daily_table().iloc[-1]
    assert last["orders_placed"] == model.orders_placed_today
    assert last["orders_unmet"] == model.orders_unmet_today
    assert last["active_volunteers"] == model.active_volunteers
    reporters = model.datacollector.model_reporters
    assert reporters["orders_served"] == "orders_served_today"


def test_watched_model_replays_the_same_run_as_volsim_run() -> None:
    from sim.viz import WatchedModel

    direct = VolunteerModel(days=4, rng=9, **SMALL)
    direct.run_model()
    watched = WatchedModel(days=4, rng=9, step_min=90, **SMALL)
    clocks = []
    while watched.running:
        watched.step()
        clocks.append(watched.clock_min)
    assert clocks[0] == 90 and clocks[-1] == 4 * MIN_PER_DAY
    assert watched.steps == 4  # Mesa's steps still count days
    assert watched.summary()["requests"] == direct.summary()["requests"]
    assert watched.summary()["served"] == direct.summary()["served"]


def test_moment_agrees_with_the_order_times() -> None:
    from sim.viz import WatchedModel

    model = WatchedModel(days=3, rng=4, step_min=20)  # Chaoyangli: about 15 orders a day
    seen = {"waiting": 0, "walking": 0, "serving": 0}
    orders = model.orders
    while model.running:
        model.step()
        moment, minute = model.moment, model.clock_min
        for o in moment.waiting:
            assert orders.placed_min[o] <= minute
            assert not orders.accepted_min[o] <= minute
        for o in moment.walking:
            assert orders.accepted_min[o] <= minute < orders.arrived_min[o]
        for o in moment.serving:
            assert orders.arrived_min[o] <= minute
        waiting = model.grid._mesa_property_layers["waiting_orders"].data.sum()
        assert waiting == len(moment.waiting)
        for name in seen:
            seen[name] += len(getattr(moment, name))
    assert seen["waiting"] > 0 and seen["serving"] > 0


def _shows_time(rc, days: float) -> None:
    """Mesa's Information card shows the model's time (simulated days)."""
    rc.find(v.Html, children=[f"Time: {days:.1f}"]).assert_single()


def test_page_steps_and_resets_through_model_controller() -> None:
    from sim import app

    app.step_choice.set("1 day")
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    _shows_time(rc, 0.0)
    step = rc.find(v.Btn, children=["Step"])
    step.widget.click()
    step.widget.click()
    _shows_time(rc, 2.0)
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = "7"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    _shows_time(rc, 0.0)
    assert rc.find(v.Alert).widgets == []  # Mesa shows errors of Step and Reset in an Alert
    step.widget.click()
    _shows_time(rc, 1.0)


def test_cli_help_names_the_app() -> None:
    from sim.cli import build_parser

    text = build_parser().format_help()
    assert "app" in text


def test_every_plotted_series_is_collected() -> None:
    from sim.viz import PLOTS, WatchedModel

    model = WatchedModel(days=2, rng=1, **SMALL)
    model.run_model()
    table = model.datacollector.get_model_vars_dataframe()
    assert set(PLOTS) <= set(table.columns)
    assert isinstance(model, mesa.Model)


def test_app_command_refuses_a_missing_scenario_in_one_line(capsys) -> None:
    from sim.cli import main

    assert main(["app", "no-such-file.toml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-file.toml" in err
