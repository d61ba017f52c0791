"""Bad input is refused in one line, and whatever the schema accepts, the model runs.

Every float key of the scenario schema refuses NaN, and inf unless the key says what inf means.
Values the schema accepts but the model could not run (no elders, age bands larger than the
population, rates beyond what a Poisson draw takes) are refused naming the key. Hypothesis draws
edge values of the schema (from tools/fuzz_scenario.py) and checks that each is either refused
clearly or runs with counts that add up. Files with a byte-order mark are read. Experiment
designs that would run something other than what they say are refused.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.experiment.design import load_experiment
from sim.model import VolunteerModel
from sim.scenario import CHANNEL_NAMES, POLICY_NAMES, Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
#: keys where inf has a documented meaning (README, docs/ODD.md: the M/M/c limit)
INF_ALLOWED = {
    "demand.max_wait_min",
    "travel.speed_m_per_min",
    *(f"channels.{name}.reach_m" for name in CHANNEL_NAMES),
}


def _load_fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_scenario", ROOT / "tools/fuzz_scenario.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


FUZZ = _load_fuzz()


def float_keys() -> list[tuple[str, bool]]:
    """(dotted key, is a list) of every float field of the schema, per-order-type ones too."""
    found = []
    for section, info in Scenario.model_fields.items():
        for key, field in info.annotation.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found += [(f"{section}.{key}.{sub}", False) for sub in annotation.model_fields]
            elif "float" in str(annotation):
                found.append((f"{section}.{key}", "list" in str(annotation)))
    return found


def with_value(key: str, is_list: bool, value: float) -> Any:
    """``value`` in the shape of ``key``: itself, or inside the default list."""
    if not is_list:
        return value
    default = scenario_module.Scenario().model_dump()
    current = default[key.split(".")[0]][key.split(".")[1]]
    if current and isinstance(current[0], list):
        return [[2026, value]]
    return [value, *current[1:]] if current else [value]


def refusal(overrides: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        scenario_module.with_overrides(Scenario(), overrides)
    return caught.value


def assert_one_clear_line(error: InputError, key: str) -> None:
    text = str(error)
    assert "\n" not in text
    assert key in text, text
    assert "{'" not in text, f"a whole section printed: {text}"
    assert len(text) < 250, text


@pytest.mark.parametrize(("key", "is_list"), float_keys(), ids=lambda v: str(v))
def test_every_float_key_refuses_nan(key: str, is_list: bool) -> None:
    error = refusal({key: with_value(key, is_list, math.nan)})
    assert_one_clear_line(error, key)


@pytest.mark.parametrize(("key", "is_list"), float_keys(), ids=lambda v: str(v))
def test_every_float_key_refuses_inf_unless_inf_has_a_meaning(key: str, is_list: bool) -> None:
    overrides = {key: with_value(key, is_list, math.inf)}
    if key in INF_ALLOWED:
        assert math.isinf(scenario_module.key_type(key)(math.inf))
        scenario_module.with_overrides(Scenario(), overrides)
        return
    assert_one_clear_line(refusal(overrides), key)


def test_inf_where_it_has_a_meaning_runs_with_counts_that_add_up(small_community) -> None:
    overrides = {**small_community, **dict.fromkeys(INF_ALLOWED, math.inf)}
    model = VolunteerModel(None, days=3, rng=1, **overrides)
    model.run()
    summary = model.summary()
    assert summary["requests"] > 0
    assert summary["requests"] == summary["served"] + summary["unmet"]


#: (case, overrides, the key the line names): accepted by the old schema, unusable by the model
UNRUNNABLE = [
    ("service cv inf", {"service.cv": math.inf}, "service.cv"),
    ("service mean inf", {"service.mean_min": math.inf}, "service.mean_min"),
    ("service cv overflows", {"service.cv": 1e300}, "service.cv"),
    ("nan in the hourly profile", {"demand.hourly_profile": [math.nan] + [1.0] * 23}, "hourly"),
    ("inf in the hourly profile", {"demand.hourly_profile": [math.inf] + [1.0] * 23}, "hourly"),
    ("huge rate", {"demand.orders_per_year_alone_80_plus": 1e300}, "orders_per_year_alone"),
    ("huge total", {"demand.total_per_day": 1e300}, "demand.total_per_day"),
    ("inf type share", {"demand.type_shares.urgent": math.inf}, "demand.type_shares.urgent"),
    ("stairs inf", {"travel.stair_min_per_floor": math.inf}, "travel.stair_min_per_floor"),
    ("births huge", {"dynamics.births_per_1000_per_year": 1e300}, "births_per_1000"),
    ("ageing tiny", {"dynamics.ageing_speed": 1e-300}, "dynamics.ageing_speed"),
    ("cells too many", {"community.cell_size_m": 1e-9}, "community.cell_size_m"),
    ("no opening hours", {"community.service_point_hours": []}, "service_point_hours"),
    (
        "one resident in one household",
        {"population.residents": 1, "population.households": 1},
        "population.share_aged_60_plus",
    ),
    (
        "all elder shares 0",
        {f"population.share_aged_{age}_plus": 0.0 for age in (60, 80, 90)},
        "population.share_aged_60_plus",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key"), [pytest.param(o, k, id=case) for case, o, k in UNRUNNABLE]
)
def test_values_the_model_cannot_run_are_refused_naming_the_key(
    overrides: dict[str, Any], key: str
) -> None:
    assert_one_clear_line(refusal(overrides), key)


def test_a_section_error_shows_the_value_not_the_section() -> None:
    error = refusal({"population.share_aged_80_plus": 0.5})
    assert_one_clear_line(error, "population.share_aged_80_plus")
    assert str(error).endswith("(got 0.5)")
    error = refusal({"population.households": 5000})  # more than the default residents
    assert_one_clear_line(error, "population.households")
    assert str(error).endswith("(got 5000)")


# --- whatever the schema accepts runs, and its counts add up ----------------------------------
EDGES = FUZZ.keys()


@st.composite
def edge_overrides(draw) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(EDGES)), min_size=1, max_size=4, unique=True))
    chosen = {name: draw(st.sampled_from(EDGES[name])) for name in names if EDGES[name]}
    if draw(st.booleans()):
        chosen.update(draw(st.sampled_from(FUZZ.small_populations())))
    return chosen


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(overrides=edge_overrides())
def test_edge_values_are_refused_clearly_or_run_with_counts_that_add_up(overrides) -> None:
    slow = {"population.residents", "demand.total_per_day", "community.cell_size_m"}
    if any(
        overrides.get(key, 0) >= 1e5 for key in slow if not isinstance(overrides.get(key), list)
    ):
        return  # large but valid: runs, only slowly (tools/fuzz_scenario.py tries them)
    assert FUZZ.check(overrides, days=2, seconds=60) is None


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_every_order_is_served_or_unmet_at_the_end(policy, small_community) -> None:
    overrides = {**small_community, "demand.max_wait_min": 30.0}
    model = VolunteerModel(None, policy=policy, days=3, rng=3, **overrides)
    model.run()
    summary = model.summary()
    assert summary["requests"] > 0
    assert summary["requests"] == summary["served"] + summary["unmet"]


# --- files with a byte-order mark ------------------------------------------------------------
BOM = b"\xef\xbb\xbf"


def test_a_scenario_file_with_a_byte_order_mark_is_read(tmp_path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(BOM + b"[demand]\nmax_wait_min = 60.0\n")
    assert scenario_module.load(path).demand.max_wait_min == 60.0


def test_an_experiment_file_with_a_byte_order_mark_is_read(tmp_path) -> None:
    path = tmp_path / "bom-experiment.toml"
    text = f'[experiment]\nname = "bom"\nscenario = "{SCENARIO.as_posix()}"\nseeds = 2\n'
    path.write_bytes(BOM + text.encode("utf-8"))
    assert load_experiment(path).name == "bom"


# --- experiment designs ----------------------------------------------------------------------
HEAD = f'[experiment]\nname = "design-test"\nscenario = "{SCENARIO.as_posix()}"\nseeds = 2\n'

#: (case, lines after [experiment]'s head, key the line names, words it contains)
BAD_DESIGNS = [
    (
        "baseline not among the policies",
        'baseline_policy = "pairing"\n[variables]\npolicy = ["nearest", "grid"]',
        "experiment.baseline_policy",
        "not among",
    ),
    (
        "baseline other than the one policy run",
        'baseline_policy = "grid"',
        "experiment.baseline_policy",
        "not among",
    ),
    ("unknown baseline", 'baseline_policy = "teleport"', "experiment.baseline_policy", "unknown"),
    (
        "a policy listed twice",
        '[variables]\npolicy = ["nearest", "nearest"]',
        "variables.policy",
        "twice",
    ),
    ("a number listed twice", '[variables]\n"service.cv" = [1, 1.0]', "service.cv", "twice"),
    ("steps 0", '[variables]\n"service.cv" = {min = 0.1, max = 1.0, steps = 0}', "steps", "1"),
    ("steps 1", '[variables]\n"service.cv" = {min = 0.1, max = 1.0, steps = 1}', "cv", "steps"),
    ("min > max", '[variables]\n"service.cv" = {min = 2.0, max = 1.0, steps = 3}', "cv", "less"),
    (
        "min == max, steps 3",
        '[variables]\n"service.cv" = {min = 1.0, max = 1.0, steps = 3}',
        "cv",
        "repeats",
    ),
    (
        "min == max, sampled",
        '[design]\nkind = "lhs"\n[variables]\n"service.cv" = {min = 1.0, max = 1.0}',
        "cv",
        "sample",
    ),
    ("nan bound", '[variables]\n"service.cv" = {min = nan, max = 1.0, steps = 3}', "min", "finite"),
    ("inf bound", '[variables]\n"service.cv" = {min = 0.0, max = inf, steps = 3}', "max", "finite"),
    ("inf value", '[variables]\n"service.cv" = [0.5, inf]', "service.cv", "finite"),
    (
        "integer key stepped by fractions",
        '[variables]\n"volunteers.count" = {min = 1, max = 4, steps = 3}',
        "volunteers.count",
        "integer",
    ),
    ("negative root seed", "root_seed = -1", "experiment.root_seed", "-1"),
    ("max_seeds 0", "max_seeds = 0", "experiment.max_seeds", "greater than or equal to 1"),
    ("a bare value for a variable", '[variables]\n"service.cv" = "abc"', "cv", "list"),
    (
        "a misspelt range key",
        '[variables]\n"service.cv" = {min = 1, max = 2, step = 3}',
        "step",
        "",
    ),
]


def experiment_file(tmp_path: Path, lines: str) -> Path:
    head, _, tables = lines.partition("[")
    text = HEAD + head + ("\n[" + tables if tables else "") + "\n"
    path = tmp_path / "design.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("lines", "key", "words"),
    [pytest.param(lines, key, words, id=case) for case, lines, key, words in BAD_DESIGNS],
)
def test_a_design_that_would_run_something_else_is_refused(tmp_path, lines, key, words) -> None:
    path = experiment_file(tmp_path, lines)
    with pytest.raises(InputError) as caught:
        load_experiment(path)
    text = str(caught.value)
    assert text.startswith(str(path)), text
    assert key in text and words in text, text
    assert "\n" not in text and len(text) < 250, text


#: (case, lines, values of the one variable)
GOOD_DESIGNS = [
    ("min == max, steps 1", '[variables]\n"service.cv" = {min = 1.0, max = 1.0, steps = 1}', [1.0]),
    (
        "integer range",
        '[variables]\n"volunteers.count" = {min = 1, max = 4, steps = 4}',
        [1, 2, 3, 4],
    ),
    ("one value", '[variables]\n"service.cv" = [0.5]', [0.5]),
    (
        "baseline among the policies",
        'baseline_policy = "grid"\n[variables]\npolicy = ["grid"]',
        ["grid"],
    ),
]


@pytest.mark.parametrize(
    ("lines", "values"),
    [pytest.param(lines, values, id=case) for case, lines, values in GOOD_DESIGNS],
)
def test_a_degenerate_but_sensible_design_runs_what_it_says(tmp_path, lines, values) -> None:
    experiment = load_experiment(experiment_file(tmp_path, lines))
    found = [next(iter(point.values.values())) for point in experiment.points]
    assert found == values
    assert len(experiment.seeds) == len(set(experiment.seeds)) == 2
