"""Each dispatch policy owns its parameters in its own table, ``[dispatch.<policy>]``.

The registry (sim.policy_registry) is the one list of policies: the scenario's schema, the
policy classes, the command line's choices and the labels follow it. The old flat keys are
refused in one line naming the new key, from a file, ``--set``, an experiment or the ranges table;
the new keys reach the policy through ``--set`` and experiment variables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import run_cli

from sim import ranges
from sim import scenario as scenario_module
from sim.dispatch import POLICIES
from sim.errors import InputError
from sim.experiment.design import load_experiment
from sim.model import VolunteerModel
from sim.policy_registry import CHANNEL_NAMES, POLICY_NAMES, POLICY_PARAMS
from sim.report import labels

#: every flat key the tables replaced, with its new dotted key (other helpers and old files)
MOVED = {
    "dispatch.broadcast_k": "dispatch.broadcast.k",
    "dispatch.broadcast_radius_m": "dispatch.broadcast.radius_m",
    "dispatch.broadcast_phase_min": "dispatch.broadcast.phase_min",
    "dispatch.broadcast_channel": "dispatch.broadcast.channel",
    "dispatch.nearest_channel": "dispatch.nearest.channel",
    "dispatch.pairing_helpers_per_elder": "dispatch.pairing.helpers_per_elder",
    "dispatch.pairing_max_distance_m": "dispatch.pairing.max_distance_m",
    "dispatch.pairing_max_elders_per_helper": "dispatch.pairing.max_elders_per_helper",
    "dispatch.pairing_helper_min_age_years": "dispatch.pairing.helper_min_age_years",
    "dispatch.pairing_helper_max_age_years": "dispatch.pairing.helper_max_age_years",
}
#: a small community, a few days: the broadcast tests run in seconds
SMALL = {
    "population.residents": 800,
    "population.households": 380,
    "community.buildings": 8,
    "community.stairwells": 24,
    "community.grids": 3,
    "community.service_points": 20,
}


def small_scenario(path: Path, extra: str = "") -> Path:
    """A small scenario file running broadcast; ``extra`` is appended as TOML."""
    lines = ["[population]", "residents = 800", "households = 380", "[community]"]
    lines += ["buildings = 8", "stairwells = 24", "grids = 3", "service_points = 20"]
    lines += ["[dispatch]", 'policy = "broadcast"', extra]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def old_value(old: str) -> Any:
    """A value the new key accepts, for writing the old one."""
    return ranges.value_of(scenario_module.Scenario(), MOVED[old])


def toml(value: Any) -> str:
    return json.dumps(value)


# --- old keys: one line naming the new key --------------------------------------------------


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_key_in_a_file_is_one_line_naming_the_new_key(tmp_path, old) -> None:
    section, key = old.split(".")
    path = tmp_path / "old.toml"
    path.write_text(f"[{section}]\n{key} = {toml(old_value(old))}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        scenario_module.load(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: {old}: no longer a key: "), text
    assert f"use {MOVED[old]} " in text, text


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_key_in_set_is_one_line_naming_the_new_key(old) -> None:
    with pytest.raises(InputError) as caught:
        scenario_module.with_overrides(scenario_module.Scenario(), {old: old_value(old)})
    assert str(caught.value).startswith(f"--set: {old}: no longer a key: use {MOVED[old]} ")


def test_the_command_line_refuses_an_old_key_from_a_file_and_from_set(capsys, tmp_path) -> None:
    old_file = small_scenario(tmp_path / "old.toml", "broadcast_k = 5")
    status, out, err = run_cli(capsys, "run", str(old_file), "--days", "1", "--json")
    assert status == 2 and out == ""
    assert err.strip() == (
        f"volsim run: error: {old_file}: dispatch.broadcast_k: no longer a key: "
        "use dispatch.broadcast.k "
        "([dispatch.broadcast] k)"
    )
    new_file = small_scenario(tmp_path / "new.toml")
    argv = ["run", str(new_file), "--days", "1", "--json", "--set", "dispatch.broadcast_k=5"]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert err.strip() == (
        "volsim run: error: --set: dispatch.broadcast_k: no longer a key: "
        "use dispatch.broadcast.k "
        "([dispatch.broadcast] k)"
    )


def test_an_old_key_in_an_experiment_or_the_ranges_table_names_the_new_key(tmp_path) -> None:
    scenario = small_scenario(tmp_path / "s.toml")
    experiment = tmp_path / "e.toml"
    experiment.write_text(
        f'[experiment]\nname = "old"\nscenario = "{scenario.name}"\nseeds = 1\n'
        '[variables]\n"dispatch.broadcast_k" = [1, 5]\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_experiment(experiment)
    assert str(caught.value).startswith(
        f"{experiment}: variables.dispatch.broadcast_k: no longer a key: use dispatch.broadcast.k"
    )
    table = tmp_path / "assumed.toml"
    table.write_text(
        '[range."dispatch.broadcast_phase_min"]\nlow = 2.0\nhigh = 10.0\nwhy = "a"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        ranges.load(table)
    assert "use dispatch.broadcast.phase_min" in str(caught.value)


# --- new keys reach the policy ----------------------------------------------------------------


def summary_of(capsys, path: Path, *sets: str) -> dict[str, Any]:
    argv = ["run", str(path), "--days", "4", "--seed", "3", "--json"]
    for setting in sets:
        argv += ["--set", setting]
    status, out, err = run_cli(capsys, *argv)
    assert status == 0, err
    summary = json.loads(out)
    summary.pop("wall_seconds", None)
    return summary


def test_broadcast_k_in_its_table_or_set_changes_the_broadcast(capsys, tmp_path) -> None:
    """k = 1 alerts one volunteer at a time, so orders wait longer for a taker than with five
    alerts out at once; the file's table and ``--set dispatch.broadcast.k`` give the same run."""
    default = small_scenario(tmp_path / "default.toml")
    in_table = small_scenario(tmp_path / "k1.toml", "[dispatch.broadcast]\nk = 1")
    one = summary_of(capsys, in_table)
    assert summary_of(capsys, default, "dispatch.broadcast.k=1") == one
    five = summary_of(capsys, default, "dispatch.broadcast.k=5")
    assert one["requests"] == five["requests"] > 0
    assert one["response_time_p50_min"] > five["response_time_p50_min"]
    assert one["served_within_15min_share"] < five["served_within_15min_share"]


def test_an_experiment_variable_in_a_policy_table_reaches_the_policy(tmp_path) -> None:
    scenario = small_scenario(tmp_path / "s.toml")
    experiment = tmp_path / "e.toml"
    experiment.write_text(
        f'[experiment]\nname = "k"\nscenario = "{scenario.name}"\nseeds = 1\ndays = 4\n'
        '[variables]\n"dispatch.broadcast.k" = [1, 5]\n',
        encoding="utf-8",
    )
    loaded = load_experiment(experiment)
    medians = {}
    for point in loaded.points:
        params = loaded.point_scenario(point)
        k = point.values["dispatch.broadcast.k"]
        assert params.dispatch.broadcast.k == k
        model = VolunteerModel(params, rng=3)
        assert model.policy.policies[0].params.k == k
        model.run()
        medians[k] = model.summary()["response_time_p50_min"]
    assert medians[1] > medians[5]


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_every_policy_asks_through_the_channel_its_table_names(policy) -> None:
    default = POLICY_PARAMS[policy]().channel
    other = next(c for c in CHANNEL_NAMES if c != default)
    for channel in (default, other):
        model = VolunteerModel(
            None, policy=policy, days=1, rng=1, **SMALL, **{f"dispatch.{policy}.channel": channel}
        )
        assert model.policy.policies[0].channel_name == channel


# --- the registry is the one list -------------------------------------------------------------


def test_the_registry_is_the_one_list_of_policies(capsys) -> None:
    dispatch = scenario_module.Dispatch.model_fields
    book = {"policy", "fallback", "retry_interval_min"}
    assert set(dispatch) == book | set(POLICY_NAMES), "a key outside the book and the tables"
    assert list(POLICIES) == list(POLICY_NAMES)
    status, out, _ = run_cli(capsys, "run", "--help")
    assert status == 0
    help_text = " ".join(out.split())
    for name, params in POLICY_PARAMS.items():
        assert dispatch[name].annotation is params
        assert POLICIES[name].Params is params
        assert name in help_text
        for language in labels.LABELS:
            assert f"policy.{name}" in labels.LABELS[language]
    assert scenario_module.POLICY_NAMES is POLICY_NAMES


def test_a_policy_table_refuses_unknown_keys_and_bad_values() -> None:
    cases = {
        "dispatch.broadcast.kk": "unknown key",
        "dispatch.broadcast.k": "greater than or equal to 1",
        "dispatch.grid.channel": "Input should be",
    }
    values = {"dispatch.broadcast.kk": 1, "dispatch.broadcast.k": 0, "dispatch.grid.channel": "fax"}
    for key, message in cases.items():
        with pytest.raises(InputError) as caught:
            scenario_module.with_overrides(scenario_module.Scenario(), {key: values[key]})
        text = str(caught.value)
        assert text.startswith(f"--set: {key}: ") and message in text, text
