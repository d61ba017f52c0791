"""The ``volsim`` command line: one JSON object with --json, tables with --out, and bad input
reported as exactly one line naming the file or flag and the key, with exit status 2."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_support import run_cli

from sim import scenario as scenario_module

SUMMARY_KEYS = {
    "requests",
    "served",
    "unmet",
    "response_time_mean_min",
    "response_time_p50_min",
    "response_time_p90_min",
    "response_time_p95_min",
    "wait_mean_min",
    "served_within_15min_share",
    "coverage_15min_share",
    "volunteer_utilisation",
    "workload_gini",
    "continuity_share",
    "rating_mean",
    "policy",
    "seed",
    "days",
    "events",
    "wall_seconds",
}
#: the tables every run writes with --out (more may follow: all Parquet or JSON)
OUT_FILES = {
    "orders.parquet",
    "daily.parquet",
    "grids.parquet",
    "buildings.parquet",
    "summary.json",
}


def strict_json(text: str) -> Any:
    """Parse standard JSON only: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def only_json_object(out: str) -> dict[str, Any]:
    """The single JSON object that is all of ``out`` (surrounding whitespace aside)."""
    decoder = json.JSONDecoder()
    obj, end = decoder.raw_decode(out.lstrip())
    assert out.lstrip()[end:].strip() == "", "more than one JSON object on stdout"
    assert isinstance(obj, dict)
    strict_json(out)
    return obj


def assert_only_finished_outputs(folder: Path) -> None:
    """The tables of a run are there, and nothing else: no temporary or partial files."""
    names = {path.name for path in folder.iterdir()}
    assert names >= OUT_FILES
    for name in names:
        assert not name.startswith("."), f"temporary file {name} left behind"
        assert name.endswith((".parquet", ".json")), f"unexpected file {name}"


# --- a run ----------------------------------------------------------------------------------
def test_run_json_prints_one_json_object_with_the_metrics(capsys, baseline_file) -> None:
    status, out, err = run_cli(capsys, "run", str(baseline_file), "--days", "5", "--json")
    assert status == 0, err
    summary = only_json_object(out)
    assert summary.keys() >= SUMMARY_KEYS
    assert summary["requests"] == summary["served"] + summary["unmet"]
    assert summary["days"] == 5
    assert summary["seed"] == 0  # the default seed
    assert summary["policy"] == scenario_module.load(baseline_file).dispatch.policy
    assert summary["events"] > 0
    assert summary["wall_seconds"] >= 0


def test_run_json_follows_policy_and_seed(capsys, baseline_file) -> None:
    argv = ["run", str(baseline_file), "--days", "2", "--json"]
    status, out, err = run_cli(capsys, *argv, "--policy", "pairing+broadcast", "--seed", "17")
    assert status == 0, err
    summary = only_json_object(out)
    assert summary["policy"] == "pairing+broadcast"
    assert summary["seed"] == 17
    assert 0 <= summary["paired_elders_share"] <= 1


def test_undefined_metrics_are_json_null(capsys, baseline_file) -> None:
    # nobody can serve: response times are undefined, and must not print as NaN
    argv = ["run", str(baseline_file), "--days", "2", "--json"]
    status, out, err = run_cli(capsys, *argv, "--set", "volunteers.count=0")
    assert status == 0, err
    summary = only_json_object(out)
    assert summary["served"] == 0
    assert summary["response_time_mean_min"] is None
    assert summary["rating_mean"] is None


def test_run_out_writes_the_tables_and_no_temporary_files(capsys, baseline_file, tmp_path) -> None:
    out_dir = tmp_path / "results" / "baseline"  # does not exist yet
    argv = ["run", str(baseline_file), "--days", "5", "--json", "--out", str(out_dir)]
    status, out, err = run_cli(capsys, *argv)
    assert status == 0, err
    printed = only_json_object(out)
    assert_only_finished_outputs(out_dir)
    written = strict_json((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in written.items() if k != "wall_seconds"} == {
        k: v for k, v in printed.items() if k != "wall_seconds"
    }
    orders = pd.read_parquet(out_dir / "orders.parquet")
    assert len(orders) == printed["requests"]
    assert (orders["status"].value_counts().sum()) == printed["served"] + printed["unmet"]
    daily = pd.read_parquet(out_dir / "daily.parquet")
    assert len(daily) == 5
    assert daily["orders_placed"].sum() == printed["requests"]
    grids = pd.read_parquet(out_dir / "grids.parquet")
    buildings = pd.read_parquet(out_dir / "buildings.parquet")
    assert grids["requests"].sum() == buildings["requests"].sum() == printed["requests"]


def test_run_out_into_an_existing_folder_replaces_its_tables(
    capsys, baseline_file, tmp_path
) -> None:
    for seed in ("1", "2"):
        argv = ["run", str(baseline_file), "--days", "2", "--json", "--seed", seed]
        status, _, err = run_cli(capsys, *argv, "--out", str(tmp_path))
        assert status == 0, err
    assert_only_finished_outputs(tmp_path)
    assert strict_json((tmp_path / "summary.json").read_text(encoding="utf-8"))["seed"] == 2


# --- every documented --set key is accepted -------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("demand.total_per_day=12.5", 12.5),
        ("demand.daily_profile=flat", "flat"),
        ('demand.daily_profile="observed"', "observed"),
        ("demand.max_wait_min=inf", math.inf),
        ("demand.max_wait_min=60", 60),
        ("service.distribution=exponential", "exponential"),
        ("service.mean_min=30", 30),
        ("travel.speed_m_per_min=inf", math.inf),
        ("volunteers.count=50", 50),
        ("volunteers.always_available=true", True),
        ("volunteers.accept_probability=0.7", 0.7),
    ],
)
def test_set_accepts_the_documented_keys(
    setting: str, expected: Any, capsys, baseline_file
) -> None:
    status, out, err = run_cli(
        capsys, "run", str(baseline_file), "--days", "2", "--json", "--set", setting
    )
    assert status == 0, err
    summary = only_json_object(out)
    assert summary["requests"] == summary["served"] + summary["unmet"]
    key, _, text = setting.partition("=")
    section, name = key.split(".")
    loaded = scenario_module.load(baseline_file, {key: scenario_module.parse_value(text)})
    assert getattr(getattr(loaded, section), name) == expected


def test_set_can_be_repeated(capsys, baseline_file) -> None:
    argv = ["run", str(baseline_file), "--days", "2", "--json"]
    settings = ["--set", "volunteers.count=25", "--set", "volunteers.always_available=true"]
    status, out, err = run_cli(capsys, *argv, *settings)
    assert status == 0, err
    only_json_object(out)


# --- bad input: status 2, one line naming where and what, no traceback ----------------------
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


#: (case, scenario file text or None for the baseline, extra arguments, what the line names);
#: "FILE" stands for the scenario file's name, "TAKEN" for an existing file's path
BAD_INPUTS = [
    ("unknown key via --set", None, ["--set", "demand.nope=1"], ["--set", "demand.nope"]),
    ("unknown section via --set", None, ["--set", "nowhere.x=1"], ["--set", "nowhere.x"]),
    (
        "wrong type via --set",
        None,
        ["--set", 'demand.max_wait_min="abc"'],
        ["--set", "demand.max_wait_min"],
    ),
    (
        "bare word for a number via --set",
        None,
        ["--set", "demand.max_wait_min=abc"],
        ["--set", "demand.max_wait_min"],
    ),
    (
        "negative rate via --set",
        None,
        ["--set", "demand.orders_per_year_alone_80_plus=-1"],
        ["--set", "demand.orders_per_year_alone_80_plus"],
    ),
    (
        "probability above 1 via --set",
        None,
        ["--set", "volunteers.accept_probability=1.5"],
        ["--set", "volunteers.accept_probability"],
    ),
    ("fractional count via --set", None, ["--set", "volunteers.count=2.5"], ["volunteers.count"]),
    (
        "more volunteers than residents of volunteer age",
        None,
        ["--set", "volunteers.count=100000"],
        ["volunteers.count"],
    ),
    (
        "--set without '='",
        None,
        ["--set", "demand.max_wait_min"],
        ["--set", "demand.max_wait_min"],
    ),
    ("unknown policy", None, ["--policy", "teleport"], ["--policy", "teleport"]),
    ("unknown policy in a chain", None, ["--policy", "pairing+teleport"], ["--policy", "teleport"]),
    ("--days not a number", None, ["--days", "many"], ["--days"]),
    ("--out is a file", None, ["--out", "TAKEN"], ["TAKEN", "--out"]),
    ("unknown key in a file", "[demand]\nnope = 1\n", [], ["FILE", "demand.nope"]),
    ("unknown section in a file", "[nowhere]\nx = 1\n", [], ["FILE", "nowhere"]),
    (
        "wrong type in a file",
        '[demand]\nmax_wait_min = "abc"\n',
        [],
        ["FILE", "demand.max_wait_min"],
    ),
    (
        "negative rate in a file",
        "[demand]\norders_per_year_alone_80_plus = -1\n",
        [],
        ["FILE", "demand.orders_per_year_alone_80_plus"],
    ),
    (
        "probability above 1 in a file",
        "[volunteers]\naccept_probability = 1.5\n",
        [],
        ["FILE", "volunteers.accept_probability"],
    ),
    ("invalid TOML", "[demand\nmax_wait_min = 60\n", [], ["FILE", "TOML"]),
    ("inf service cv", None, ["--set", "service.cv=inf"], ["--set", "service.cv", "finite"]),
    ("inf service mean", None, ["--set", "service.mean_min=inf"], ["service.mean_min", "finite"]),
    ("nan wait", None, ["--set", "demand.max_wait_min=nan"], ["demand.max_wait_min"]),
    (
        "nan in a list",
        None,
        ["--set", f"demand.hourly_profile=[nan{', 1.0' * 23}]"],
        ["demand.hourly_profile", "finite"],
    ),
    (
        "one resident in one household",
        None,
        ["--set", "population.residents=1", "--set", "population.households=1"],
        ["population.share_aged_60_plus", "aged 60+"],
    ),
    (
        "a section check names the key and its value",
        "[population]\nshare_aged_80_plus = 0.5\n",
        [],
        ["FILE", "population.share_aged_80_plus", "share_aged_60_plus (0.273)", "(got 0.5)"],
    ),
    ("empty --out", None, ["--out", ""], ["--out", "empty"]),
    ("blank --out", None, ["--out", "  "], ["--out", "empty"]),
    ("--out under a file", None, ["--out", "TAKEN/run"], ["--out", "TAKEN", "Not a directory"]),
    ("negative --seed", None, ["--seed", "-1"], ["--seed"]),
    ("--days beyond a century", None, ["--days", "40000"], ["--days", "36500"]),
]


@pytest.mark.parametrize(
    ("text", "extra", "mentions"),
    [pytest.param(text, extra, mentions, id=case) for case, text, extra, mentions in BAD_INPUTS],
)
def test_bad_input_is_one_line_naming_where_and_what_with_status_2(
    text: str | None, extra: list[str], mentions: list[str], capsys, tmp_path, baseline_file
) -> None:
    scenario = baseline_file if text is None else write(tmp_path / "scenario.toml", text)
    taken = write(tmp_path / "taken.txt", "a file, not a folder\n")
    names = {"FILE": scenario.name, "TAKEN": str(taken)}
    extra = [names.get(a, a.replace("TAKEN", str(taken))) for a in extra]
    status, out, err = run_cli(capsys, "run", str(scenario), "--days", "2", "--json", *extra)
    assert status == 2
    assert out == "", "nothing on stdout when the input is bad"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    for mention in mentions:
        assert names.get(mention, mention) in lines[0]
    assert "{'" not in lines[0], "a whole section printed instead of the key and value"
    assert len(lines[0]) < 300, lines[0]


def test_a_missing_scenario_file_is_one_line_naming_it(capsys, tmp_path) -> None:
    missing = tmp_path / "missing.toml"
    status, out, err = run_cli(capsys, "run", str(missing), "--json")
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert str(missing) in err


def test_out_pointing_at_a_file_leaves_the_file_alone(capsys, baseline_file, tmp_path) -> None:
    target = write(tmp_path / "notes.txt", "keep me\n")
    status, _, _ = run_cli(capsys, "run", str(baseline_file), "--days", "2", "--out", str(target))
    assert status == 2
    assert target.read_text(encoding="utf-8") == "keep me\n"


def test_a_bad_days_flag_is_reported_as_days(capsys, baseline_file) -> None:
    status, _, err = run_cli(capsys, "run", str(baseline_file), "--days", "0", "--json")
    assert status == 2
    assert len(err.splitlines()) == 1
    assert "--days" in err


def test_an_unknown_policy_in_a_file_names_dispatch_policy(capsys, tmp_path) -> None:
    scenario = write(tmp_path / "policy.toml", '[dispatch]\npolicy = "teleport"\n')
    status, _, err = run_cli(capsys, "run", str(scenario), "--days", "2", "--json")
    assert status == 2
    assert len(err.splitlines()) == 1
    assert "dispatch.policy" in err


# --- through the interpreter: exit status and no traceback ----------------------------------
def python_m_sim(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *argv], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_help_exits_0(repo_root) -> None:
    result = python_m_sim("--help", cwd=repo_root)
    assert result.returncode == 0
    assert "run" in result.stdout


def test_help_in_process_exits_0(capsys) -> None:
    status, out, _ = run_cli(capsys, "run", "--help")
    assert status == 0
    for flag in ("--policy", "--seed", "--days", "--set", "--json", "--out"):
        assert flag in out


def test_bad_input_exits_2_without_traceback_from_the_interpreter(repo_root, baseline_file) -> None:
    arguments = ["--set", "volunteers.accept_probability=1.5"]
    result = python_m_sim("run", str(baseline_file), "--days", "2", *arguments, cwd=repo_root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "volunteers.accept_probability" in result.stderr


def test_a_broken_scenario_file_exits_2_without_traceback_from_the_interpreter(
    repo_root, tmp_path
) -> None:
    scenario = write(tmp_path / "broken.toml", "[community\n")
    result = python_m_sim("run", str(scenario), "--json", cwd=repo_root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert scenario.name in result.stderr
