"""Inputs that used to run and then say something untrue, or crash after every run: a key set in
two places (one silently won), values a variable cannot take, designs SALib cannot analyse,
scenarios no policy can serve, and run tables no experiment writes. Each is refused in one line
with exit status 2 before anything runs or is written (second fuzzing round)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.experiment.store import check_run_table

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = json.dumps(str(ROOT / "scenarios" / "chaoyangli.toml"))


def experiment(tmp_path: Path, body: str, days: bool = True) -> Path:
    path = tmp_path / "x.toml"
    head = f'[experiment]\nname = "x"\nscenario = {SCENARIO}\nseeds = 1\nroot_seed = 1\n'
    path.write_text(head + ("days = 2\n" if days else "") + body, encoding="utf-8")
    return path


def refused(capsys, argv: list[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


CLASHES = {
    "policy's key as a variable": (
        '[variables]\npolicy = ["nearest", "broadcast"]\n"dispatch.policy" = ["grid"]\n',
        "variables.dispatch.policy",
    ),
    "policy's key as an override": (
        '[overrides]\n"dispatch.fallback" = ["grid"]\n[variables]\npolicy = ["nearest", "grid"]\n',
        "overrides.dispatch.fallback",
    ),
    "days as a variable": (
        '[variables]\npolicy = ["nearest"]\n"simulation.days" = [1, 2]\n',
        "variables.simulation.days",
    ),
    "days as an override": (
        '[overrides]\n"simulation.days" = 3\n[variables]\npolicy = ["nearest"]\n',
        "overrides.simulation.days",
    ),
    "a key in both": (
        '[overrides]\n"acceptance.base_probability" = 0.3\n'
        '[variables]\n"acceptance.base_probability" = [0.2, 0.4]\n',
        "overrides.acceptance.base_probability",
    ),
    "a list as a value": (
        '[variables]\n"needs.service_hours" = [[8, 20], [9, 17]]\n',
        "variables.needs.service_hours",
    ),
    "second order over two parameters": (
        '[design]\nkind = "sobol"\nsamples = 2\n[variables]\n'
        '"acceptance.base_probability" = { min = 0.1, max = 0.3 }\n'
        '"travel.speed_m_per_min" = { min = 60.0, max = 84.0 }\n',
        "design.second_order",
    ),
    "no metrics": ('metrics = []\n[variables]\npolicy = ["nearest"]\n', "experiment.metrics"),
    "odd Morris levels": (
        '[design]\nkind = "morris"\nsamples = 1\nlevels = 3\n[variables]\n'
        '"acceptance.base_probability" = { min = 0.1, max = 0.3 }\n',
        "design.levels",
    ),
}


@pytest.mark.parametrize("case", CLASHES)
def test_an_experiment_that_would_mislead_or_crash_is_refused(tmp_path, capsys, case) -> None:
    body, key = CLASHES[case]
    path = experiment(tmp_path, body)
    err = refused(capsys, ["experiment", str(path), "--out", str(tmp_path / "out")])
    assert key in err and str(path) in err, err
    assert not (tmp_path / "out").exists()


def test_days_as_a_variable_are_fine_when_the_experiment_sets_none(tmp_path) -> None:
    from sim.experiment.design import load_experiment

    body = '[variables]\npolicy = ["nearest"]\n"simulation.days" = [1, 2]\n'
    loaded = load_experiment(experiment(tmp_path, body, days=False))
    assert sorted(p.values["simulation.days"] for p in loaded.points) == [1, 2]


SCENARIOS = {
    "station without points": (
        ["--policy", "station", "--set", "community.service_points=0"],
        "community.service_points",
    ),
    "helpers older than they may be": (
        ["--policy", "pairing", "--set", "dispatch.pairing.helper_min_age_years=80"],
        "helper_min_age_years",
    ),
    "a policy twice in the chain": (
        ["--policy", "nearest+nearest"],
        "--policy: 'nearest+nearest' names nearest twice",
    ),
}


@pytest.mark.parametrize("case", SCENARIOS)
def test_a_scenario_no_policy_can_serve_is_refused(tmp_path, capsys, case) -> None:
    options, message = SCENARIOS[case]
    out = tmp_path / "out"
    scenario = str(ROOT / "scenarios" / "chaoyangli.toml")
    err = refused(capsys, ["run", scenario, "--days", "2", *options, "--out", str(out)])
    assert message in err and not out.exists(), err


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "point": [0, 0, 1, 1],
            "seed": [1, 1, 1, 1],
            "status": "done",
            "policy": ["nearest", "broadcast", "nearest", "broadcast"],
            "requests": [10, 10, 10, 10],
            "served": [8, 9, 7, 10],
            "unmet": [2, 1, 3, 0],
            "urgent_within_window_share": [0.5, 0.6, 0.7, 0.8],
        }
    ).assign(point=[0, 1, 2, 3])


TABLES = {
    "a run twice": (lambda r: pd.concat([r, r]), "point"),
    "an unknown policy": (lambda r: r.assign(policy=["nearest", "nosuch"] * 2), "policy"),
    "more served than requests": (lambda r: r.assign(served=[11, 9, 7, 10]), "served"),
    "a negative count": (lambda r: r.assign(requests=[-1, 10, 10, 10]), "requests"),
    "a share above one": (
        lambda r: r.assign(urgent_within_window_share=[5.0, 0.6, 0.7, 0.8]),
        "urgent_within_window_share",
    ),
}


@pytest.mark.parametrize("case", TABLES)
def test_a_run_table_no_experiment_writes_is_refused(case) -> None:
    change, column = TABLES[case]
    check_run_table(_runs(), "runs.parquet", ["nearest", "broadcast"])  # the sound one passes
    with pytest.raises(cli.InputError) as error:
        check_run_table(change(_runs()), "runs.parquet", ["nearest", "broadcast"])
    assert error.value.key == column and error.value.source == "runs.parquet"


@pytest.fixture(scope="module")
def lhs_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("lhs")
    body = (
        '[design]\nkind = "lhs"\nsamples = 3\n[variables]\npolicy = ["nearest", "broadcast"]\n'
        '"acceptance.base_probability" = { min = 0.2, max = 0.4 }\n'
    )
    out = tmp / "r"
    assert cli.main(["experiment", str(experiment(tmp, body)), "--out", str(out)]) == 0
    return out


def test_robustness_for_a_robustness_design_or_a_missing_folder_leaves_no_report(
    lhs_folder, tmp_path, capsys
) -> None:
    err = refused(capsys, ["report", str(lhs_folder), "--lang", "en", "--robustness", "/nope"])
    assert "--robustness" in err and "robustness design" in err
    assert not (lhs_folder / "report").exists()


def test_discover_refuses_zero_and_a_read_only_folder_in_one_line(lhs_folder, capsys) -> None:
    for option in ("--top", "--samples"):
        argv = ["discover", str(lhs_folder), "--sobol-design", "s.toml", option, "0"]
        err = refused(capsys, argv)
        assert option in err
    # as root, without the capabilities that let root write anywhere
    drop = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]
    prefix = drop if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("root without setpriv writes anywhere")
    lhs_folder.chmod(0o555)
    try:
        command = [*prefix, sys.executable, "-m", "sim", "discover", str(lhs_folder)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        lhs_folder.chmod(0o755)
    err = done.stderr
    assert done.returncode == 2 and err.count("\n") == 1 and "cannot write there" in err, err
    assert not (lhs_folder / "discovery.csv").exists()


EMPTY_VALUES = {
    "calibrate --out": ["calibrate", "scenarios/chaoyangli-history.toml", "--out", ""],
    "experiment --scheduler": [
        "experiment",
        "experiments/pairing-policies.toml",
        "--scheduler",
        " ",
    ],
    "report --robustness": ["report", "results", "--robustness", ""],
    "run's scenario": ["run", ""],
    "optimise --out": ["optimise", "scenarios/chaoyangli.toml", "--out", ""],
}


@pytest.mark.parametrize("case", EMPTY_VALUES)
def test_an_empty_file_folder_or_address_is_refused_not_taken_as_none(
    tmp_path, capsys, monkeypatch, case
) -> None:
    """Fuzzing found ``calibrate --out ""`` wrote into the current folder, ``--scheduler ""``
    ran locally and ``--robustness ""`` was ignored, each with exit 0."""
    argv = EMPTY_VALUES[case]
    monkeypatch.chdir(ROOT)
    err = refused(capsys, argv)
    flag = argv[-2] if argv[-2].startswith("--") else "scenario"
    assert f"argument {flag}: is empty" in err


def test_a_single_run_is_not_written_into_an_experiments_results_folder(tmp_path, capsys) -> None:
    """Fuzzing found ``volsim run --out`` over an experiment's folder replaced its layout (the
    map its report draws) and added its own files beside the runs."""
    (tmp_path / "manifest.json").write_text('{"experiment": "x"}', encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    err = refused(
        capsys,
        ["run", str(ROOT / "scenarios" / "chaoyangli.toml"), "--days=1", f"--out={tmp_path}"],
    )
    assert "--out" in err and "manifest.json" in err
    assert sorted(tmp_path.iterdir()) == before


RANGE = '"acceptance.base_probability" = { min = 0.1, max = 0.3 }\n'
KEYS_3 = ("volunteers.count", "population.households", "dispatch.broadcast.k")
TOO_LARGE = {
    "a range's steps": (
        '[variables]\n"acceptance.base_probability" = { min = 0.1, max = 0.3, steps = 1e9 }\n'
    ).replace("1e9", "1000000000"),
    "LHS samples": '[design]\nkind = "lhs"\nsamples = 1000000000\n[variables]\n' + RANGE,
    "Morris levels": '[design]\nkind = "morris"\nsamples = 2\nlevels = 1000000000\n'
    "[variables]\n" + RANGE,
    "Morris rows times policies": '[design]\nkind = "morris"\nsamples = 400000\n[variables]\n'
    + RANGE
    + 'policy = ["nearest", "broadcast"]\n',
    "a factorial product": "[variables]\n"
    + "".join(f'"{k}" = [{", ".join(str(v) for v in range(1, 120))}]\n' for k in KEYS_3),
}


@pytest.mark.parametrize("case", TOO_LARGE)
def test_a_sweep_too_large_to_plan_is_refused_before_any_sample(tmp_path, capsys, case) -> None:
    """Fuzzing found a range of 10^9 steps, an LHS of 10^9 samples or a Morris grid of 10^9
    levels ran out of memory (a traceback) or planned for minutes without a run."""
    path = experiment(tmp_path, TOO_LARGE[case])
    err = refused(capsys, ["experiment", str(path), "--out", str(tmp_path / "out")])
    assert str(path) in err
    assert "less than or equal to" in err or "more than 1,000,000" in err, err
    assert not (tmp_path / "out").exists()


def test_more_seeds_on_the_command_line_than_a_file_may_have_is_refused(tmp_path, capsys) -> None:
    path = experiment(tmp_path, '[variables]\npolicy = ["nearest"]\n')
    argv = ["experiment", str(path), "--seeds", "100000000", "--out", str(tmp_path / "out")]
    assert "--seeds: must be from 1 to 100,000" in refused(capsys, argv)
    assert not (tmp_path / "out").exists()


def test_a_calibration_larger_than_a_sweep_may_be_is_refused(tmp_path, capsys) -> None:
    history = str(ROOT / "scenarios" / "chaoyangli-history.toml")
    argv = ["calibrate", history, "--samples", "1000000000000", "--out", str(tmp_path / "c")]
    assert "--samples: must be at most 1,000,000" in refused(capsys, argv)
    assert not (tmp_path / "c").exists()


def test_what_only_building_the_model_finds_names_the_file_or_set(tmp_path, capsys) -> None:
    """Fuzzing found checks made while the model is built named ``scenario`` for the file."""
    base = ROOT / "scenarios" / "chaoyangli.toml"
    path = tmp_path / "many.toml"  # the same count, once in the file, once by --set
    text = base.read_text(encoding="utf-8")
    path.write_text(text.replace("[volunteers]\n", "[volunteers]\ncount = 100000\n"), "utf-8")
    err = refused(capsys, ["run", str(path), "--days", "1"])
    assert err.startswith(f"volsim run: error: {path}: volunteers.count: 100000 is more than")
    err = refused(capsys, ["run", str(base), "--days", "1", "--set", "volunteers.count=100000"])
    assert err.startswith("volsim run: error: --set: volunteers.count: 100000 is more than")


@pytest.mark.parametrize(
    "text", ["", "\ufeff", "# only a comment\n\n"], ids=["empty", "bom", "comment"]
)
@pytest.mark.parametrize("command", ["run", "ranges", "experiment"])
def test_a_file_that_sets_nothing_is_refused(tmp_path, capsys, text, command) -> None:
    """Fuzzing found an empty scenario file ran the defaults with exit 0, and an empty ranges
    table gave an empty table with exit 0."""
    path = tmp_path / "empty.toml"
    path.write_text(text, encoding="utf-8")
    argv = {
        "run": ["run", str(path), "--days", "1"],
        "ranges": ["ranges", str(ROOT / "scenarios" / "chaoyangli.toml"), "--ranges", str(path)],
        "experiment": ["experiment", str(path), "--out", str(tmp_path / "out")],
    }[command]
    err = refused(capsys, argv)
    assert f"{path}: sets nothing" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.toml"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--policy", "pairing+pairing"], "--policy: 'pairing+pairing' names pairing twice"),
        (["--set", "community.cell_size_m=1e-300"], "too fine: over 10^15 cells"),
    ],
    ids=["policy twice", "a cell of 1e-300 m"],
)
def test_a_run_names_the_flag_given_in_a_short_line(capsys, argv, expected) -> None:
    """Fuzzing found ``--policy pairing+pairing`` blamed ``--set: dispatch.fallback``, and a
    cell of 1e-300 m printed a 300-digit count (a 973-character line)."""
    err = refused(capsys, ["run", str(ROOT / "scenarios" / "chaoyangli.toml"), "--days=1", *argv])
    assert expected in err and len(err) < 300, err


def test_a_range_wider_than_a_float_is_one_line_without_warnings(tmp_path, capsys) -> None:
    """Fuzzing found ±1e308 printed two numpy RuntimeWarnings, then 'got nan'."""
    import warnings

    body = '[variables]\n"travel.speed_m_per_min" = { min = -1e308, max = 1e308, steps = 3 }\n'
    path = experiment(tmp_path, body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = refused(capsys, ["experiment", str(path), "--out", str(tmp_path / "out")])
    assert "variables.travel.speed_m_per_min: the range -1e+308 to 1e+308 is wider" in err
