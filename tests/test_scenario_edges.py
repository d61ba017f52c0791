"""Edges of the scenario schema found by fuzzing: keys each within bounds whose product the model
cannot run (demand × surges, rates × elders, days × rate, districts, arrivals); experiment files
with unquoted dotted keys; and large dynamics values that overflowed numpy's exp."""

from __future__ import annotations

import glob
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_COMMUNITY

from sim import scenario as scenario_module
from sim.district import build_place_layout
from sim.errors import InputError
from sim.experiment.design import _dotted_keys, load_experiment
from sim.model import VolunteerModel
from sim.scenario import MAX_RATE, Scenario, with_overrides

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
HEPING = ROOT / "scenarios" / "heping-district.toml"
SMALL = SMALL_COMMUNITY  # a community of 400 residents


def refused(overrides: dict, base: Scenario | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        with_overrides(base or Scenario(), overrides)
    return caught.value


# --- 1. products of keys the model cannot draw or hold --------------------------------------
def test_a_surge_beyond_the_largest_rate_is_refused_in_one_line_at_once() -> None:
    """The fuzzer's case: the multiplier alone is below 10⁶, the day's demand is not."""
    command = [sys.executable, "-m", "sim", "run", str(SCENARIO), "--days", "2", "--json"]
    command += ["--set", "demand.surges=[[0, 2, 999999]]"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "--set: demand.surges: demand peaks at about" in lines[0]
    assert f"at most {MAX_RATE:,.0f} a day" in lines[0]


def test_overlapping_surges_multiply() -> None:
    error = refused({"demand.surges": [[0, 2, 1000], [1, 3, 1000]], "simulation.days": 5})
    assert error.key == "demand.surges" and "on day 1" in error.message
    # apart, neither reaches the limit
    with_overrides(Scenario(), {"demand.surges": [[0, 2, 1000], [5, 3, 1000]]})
    # a surge of 0 over the other's days ends the peak there
    with_overrides(Scenario(), {"demand.surges": [[0, 2, 1000], [0, 2, 1000], [0, 5, 0]]})


def test_a_surge_after_the_last_day_is_not_counted() -> None:
    surge = {"demand.surges": [[10, 2, 999999]]}
    with_overrides(Scenario(), {**surge, "simulation.days": 10})
    assert refused({**surge, "simulation.days": 11}).key == "demand.surges"
    # fractional days: the whole days d with first <= d < first + days
    with_overrides(Scenario(), {"demand.surges": [[9.5, 0.5, 999999]], "simulation.days": 11})
    error = refused({"demand.surges": [[9.5, 0.6, 999999]], "simulation.days": 11})
    assert "on day 10" in error.message


def test_group_rates_times_elders_beyond_the_largest_rate_are_refused() -> None:
    """Each yearly rate is below 10⁶, but the elders of a large community together order more
    than 10⁶ a day; the key named is the group that orders most."""
    big = {"population.residents": 20_000, "population.households": 8_000}
    error = refused({**big, "demand.orders_per_year_other_80_plus": 1e6})
    assert error.key == "demand.orders_per_year_other_80_plus"
    assert "orders a day" in error.message


def test_the_estimated_rate_is_the_models() -> None:
    """The check's estimate of the day's orders is the model's own rate, within a few per cent
    (the groups are drawn at random)."""
    scenario = with_overrides(Scenario(), SMALL)
    estimate, key = scenario.orders_per_day_at_start()
    model = VolunteerModel(scenario, rng=3, days=1)
    actual = model.demand.elder_rates_per_day(model.population)[1].sum()
    assert estimate == pytest.approx(actual, rel=0.1)
    assert key.startswith("demand.orders_per_year_")


def test_days_times_rate_beyond_what_a_run_holds_is_refused() -> None:
    error = refused({"demand.total_per_day": 1e6})  # 365 days of the largest rate
    assert error.key == "demand.total_per_day" and "in a run" in error.message
    with_overrides(Scenario(), {"demand.total_per_day": 1e6, "simulation.days": 2})


def test_a_district_beyond_a_million_cells_is_refused() -> None:
    heping = scenario_module.load(HEPING)
    assert "district.communities" in str(refused({"community.cell_size_m": 2.0}, heping))


def test_the_district_map_size_is_the_layouts() -> None:
    heping = scenario_module.load(HEPING)
    layout = build_place_layout(heping, np.random.default_rng(0))
    assert heping.district_cells() == (layout.width_cells, layout.height_cells)


def test_a_district_of_too_many_residents_is_refused() -> None:
    row = {
        "name": "c",
        "residents": 1_000_000,
        "area_km2": 1.0,
        "share_aged_60_plus": 0.2,
        "share_aged_80_plus": 0.05,
        "share_aged_90_plus": 0.01,
        "registered_share": 0.5,
    }
    quiet = {f"demand.orders_per_year_{g}": 0.0 for g in ("alone_80_plus", "other_80_plus")}
    quiet |= {f"demand.orders_per_year_{g}": 0.0 for g in ("empty_nest_80_plus",)}
    quiet |= {f"demand.orders_per_year_{g}": 0.0 for g in ("alone_60_79", "empty_nest_60_79")}
    rows = [{**row, "name": f"c{i}"} for i in range(101)]
    error = refused({**quiet, "district.communities": rows, "dynamics.population": False})
    assert error.key == "district.communities" and "residents" in error.message


def test_arrivals_divided_by_ageing_speed_beyond_the_largest_rate_are_refused() -> None:
    fast = {"dynamics.arriving_households_per_year": 1e6, "dynamics.ageing_speed": 0.5}
    assert refused(fast).key == "dynamics.arriving_households_per_year"
    with_overrides(Scenario(), {**fast, "dynamics.population": False})
    long = {"dynamics.arriving_households_per_year": 1e6, "simulation.days": 36500}
    assert "people" in refused(long).message


def test_births_that_compound_past_the_people_limit_are_refused() -> None:
    """1,000 births per 1,000 a year multiplies the community by e each year: a century could
    not be held (nor simulated); a year can."""
    fertile = {"dynamics.births_per_1000_per_year": 1000, "simulation.days": 36500}
    problem = refused(fertile)
    assert problem.key == "dynamics.births_per_1000_per_year"
    assert "trillion" in problem.message
    with_overrides(Scenario(), {**fertile, "simulation.days": 365})
    with_overrides(Scenario(), {**fertile, "dynamics.population": False})
    with_overrides(Scenario(), {"simulation.days": 36500})  # Tianjin's 5 per 1,000: e^0.5


def test_the_shipped_scenarios_are_accepted() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario_module.load(path)


# --- 2. unquoted dotted keys in an experiment file --------------------------------------------
EXPERIMENT = f"""\
[experiment]
name = "edges"
scenario = "{SCENARIO.as_posix()}"
days = 2
seeds = 1

"""


def _experiment(tmp_path: Path, name: str, body: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(EXPERIMENT + body, encoding="utf-8")
    return load_experiment(path)


@pytest.mark.parametrize(
    ("unquoted", "quoted"),
    [
        (
            "[variables]\nacceptance.base_probability = [0.2, 0.3]\n",
            '[variables]\n"acceptance.base_probability" = [0.2, 0.3]\n',
        ),
        (
            "[variables]\nrating = { base_stars = { min = 4.0, max = 5.0, steps = 2 } }\n",
            '[variables]\n"rating.base_stars" = { min = 4.0, max = 5.0, steps = 2 }\n',
        ),
        (
            "[variables]\ndispatch.broadcast.k = [2, 3]\n",
            '[variables]\n"dispatch.broadcast.k" = [2, 3]\n',
        ),
        (
            "[overrides]\ncommunity.grids = 2\n[variables]\npolicy = ['nearest']\n",
            "[overrides]\n\"community.grids\" = 2\n[variables]\npolicy = ['nearest']\n",
        ),
        (
            "[overrides]\ncommunity = { grids = 2 }\ndemand.type_shares.urgent = 0.1\n",
            '[overrides]\n"community.grids" = 2\n"demand.type_shares.urgent" = 0.1\n',
        ),
    ],
)
def test_unquoted_dotted_keys_read_as_the_quoted_ones(
    tmp_path: Path, unquoted: str, quoted: str
) -> None:
    a = _experiment(tmp_path, "a", unquoted)
    b = _experiment(tmp_path, "b", quoted)
    assert a.spec.model_dump() == b.spec.model_dump()
    assert a.sha256() == b.sha256()
    assert a.points == b.points


def test_an_unquoted_override_reaches_the_scenario(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path, "a", "[overrides]\ncommunity = { grids = 2 }\n")
    assert experiment.scenario.community.grids == 2


def test_a_key_given_quoted_and_unquoted_is_refused(tmp_path: Path) -> None:
    body = '[overrides]\n"community.grids" = 2\ncommunity.grids = 3\n'
    with pytest.raises(InputError) as caught:
        _experiment(tmp_path, "a", body)
    assert caught.value.key == "overrides.community.grids"
    assert "given twice" in caught.value.message


def test_an_unquoted_range_with_a_problem_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _experiment(tmp_path, "a", "[variables]\nacceptance.base_probability = { min = 0.2 }\n")
    assert caught.value.key == "variables.acceptance.base_probability.max"


def test_an_unknown_unquoted_key_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _experiment(tmp_path, "a", "[overrides]\ncommunity.no_such_key = 2\n")
    assert caught.value.key == "overrides.community.no_such_key"


def test_the_shipped_experiments_read_as_they_are() -> None:
    """Quoted keys only: the files' tables (and so their hashes) are unchanged."""
    for path in sorted(glob.glob(str(ROOT / "experiments" / "*.toml"))):
        data = scenario_module.read_toml(Path(path))
        flat = _dotted_keys(data, path)
        assert flat == data
        for section in ("variables", "overrides"):
            assert list(flat.get(section, {})) == list(data.get(section, {}))


# --- 3. large dynamics values: the limit, not a numpy warning ---------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"dynamics.gompertz_b_per_year": 1000.0},
        {"dynamics.gompertz_b_per_year": 1e300, "dynamics.gompertz_a_per_year": 1e6},
        {"dynamics.gompertz_b_per_year": 1000.0, "dynamics.gompertz_a_per_year": 0.0},
        {"dynamics.stop_motivation_sensitivity": 1e6},
        {"dynamics.stop_motivation_sensitivity": 1e300, "dynamics.stop_per_year": 0.0},
    ],
)
def test_large_dynamics_values_run_without_warnings(overrides: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = VolunteerModel(rng=1, days=15, **SMALL, **overrides)
        model.run()
    summary = model.summary()
    assert summary["requests"] == summary["served"] + summary["unmet"]


def test_a_huge_mortality_is_a_certain_death_and_none_is_none() -> None:
    certain = VolunteerModel(rng=1, days=1, **SMALL, **{"dynamics.gompertz_b_per_year": 1000.0})
    death = certain.dynamics._period_tables(7)["death_by_age"]
    assert death[0] < 1 and np.all(death[1:] == 1.0)
    none = {"dynamics.gompertz_b_per_year": 1000.0, "dynamics.gompertz_a_per_year": 0.0}
    model = VolunteerModel(rng=1, days=1, **SMALL, **none)
    assert np.all(model.dynamics._period_tables(7)["death_by_age"] == 0.0)


def test_the_warning_does_not_reach_the_command_line() -> None:
    command = [sys.executable, "-W", "error", "-m", "sim", "run", str(SCENARIO), "--days", "8"]
    command += ["--json", "--set", "dynamics.stop_motivation_sensitivity=1e6"]
    command += ["--set", "dynamics.gompertz_b_per_year=1000"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    "key",
    [
        "dynamics.recruitment_effort",
        "dynamics.volunteer_day_multiplier",
        "dynamics.recruit_spontaneous_per_year",
        "dynamics.rating_gain_per_star",
        "dynamics.decline_loss",
    ],
)
def test_rates_and_weights_of_dynamics_are_at_most_the_largest_rate(key: str) -> None:
    """Their products (rate × effort × event multiplier, gains minus losses) stay finite."""
    assert refused({key: 1e300}).key == key
    with_overrides(Scenario(), {key: MAX_RATE})


def test_recruitment_effort_steps_are_at_most_the_largest_rate() -> None:
    error = refused({"dynamics.recruitment_effort_steps": [[2025, 1e300]]})
    assert error.key == "dynamics.recruitment_effort_steps"


def test_a_table_given_for_a_table_keeps_the_scenarios_other_keys(tmp_path) -> None:
    """``--set 'dispatch.broadcast={k=3}'`` (or an experiment's override of a whole table) set
    the table anew: keys it did not name fell back to the defaults, not the scenario's."""
    path = tmp_path / "s.toml"
    path.write_text("[dispatch.broadcast]\nradius_m = 500.0\nk = 7\n", encoding="utf-8")
    default = scenario_module.Scenario().dispatch.broadcast.radius_m
    assert default != 500.0
    loaded = scenario_module.load(path, {"dispatch.broadcast": {"k": 3}})
    assert (loaded.dispatch.broadcast.k, loaded.dispatch.broadcast.radius_m) == (3, 500.0)
    again = scenario_module.with_overrides(loaded, {"dispatch.broadcast": {"radius_m": 250.0}})
    assert (again.dispatch.broadcast.k, again.dispatch.broadcast.radius_m) == (3, 250.0)
