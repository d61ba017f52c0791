"""One thing listed twice under two spellings ran twice, as two design points, and the report
compared it with itself (fuzzing): the same scenario file under two paths (``./``, absolute, a
link), two files that make the same runs, two spellings of one policy chain, and values of a key
that no run tells apart. Each is refused in one line naming the experiment file and the key,
exit status 2, before anything runs or is written; policy chains are read in one spelling."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sim import cli
from sim.experiment.design import load_experiment

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = json.dumps(str(ROOT / "scenarios" / "chaoyangli.toml"))

#: a scenario file of a few keys (the rest are the model's defaults)
ONE = '[scenario]\nname = "one"\n[acceptance]\nbase_probability = 0.3\n'


def experiment(tmp_path: Path, body: str, days: bool = True) -> Path:
    path = tmp_path / "x.toml"
    head = f'[experiment]\nname = "x"\nscenario = {SCENARIO}\nseeds = 1\nroot_seed = 1\n'
    path.write_text(head + ("days = 2\n" if days else "") + body, encoding="utf-8")
    return path


def scenarios(tmp_path: Path, *paths: str) -> str:
    """The ``[variables]`` line listing ``paths``."""
    return f"[variables]\nscenario = {json.dumps(list(paths))}\n"


def refused(capsys, tmp_path: Path, path: Path, key: str, words: str) -> str:
    out = tmp_path / "out"
    code = cli.main(["experiment", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{path}: {key}: " in err and words in err, err
    assert not out.exists(), "a refused experiment wrote its results folder"
    return err


@pytest.fixture
def one(tmp_path: Path) -> Path:
    folder = tmp_path / "scen"
    folder.mkdir()
    path = folder / "one.toml"
    path.write_text(ONE, encoding="utf-8")
    return path


# --- the same file under two paths -------------------------------------------------------------
SAME_FILE = {
    "dot slash": lambda one: "./scen/one.toml",
    "a detour": lambda one: "scen/../scen/one.toml",
    "absolute": lambda one: str(one.resolve()),
    "a symlink": lambda one: _link(one, os.symlink),
    "a hard link": lambda one: _link(one, os.link),
}


def _link(one: Path, make) -> str:
    make(one, one.parent / "link.toml")
    return "scen/link.toml"


@pytest.mark.parametrize("case", SAME_FILE)
def test_one_scenario_file_under_two_paths_is_refused(tmp_path, capsys, one, case) -> None:
    other = SAME_FILE[case](one)
    path = experiment(tmp_path, scenarios(tmp_path, "scen/one.toml", other))
    err = refused(capsys, tmp_path, path, "variables.scenario", "same file")
    assert "'scen/one.toml'" in err and repr(other) in err, err


# --- two files that make the same runs ----------------------------------------------------------
#: (second file's text, lines after the variables' table, or before it when they start with "[")
SAME_RUNS = {
    "an identical copy": (ONE, ""),
    "a copy under another name": (ONE.replace('"one"', '"two"'), ""),
    "differing in an override": (
        ONE.replace("0.3", "0.4"),
        '[overrides]\n"acceptance.base_probability" = 0.5\n',
    ),
    "differing in a variable": (
        ONE.replace("0.3", "0.4"),
        '"acceptance.base_probability" = [0.2, 0.5]\n',
    ),
    "differing in the days the experiment sets": (ONE + "[simulation]\ndays = 9\n", ""),
    "differing in the policy the experiment sets": (
        ONE + '[dispatch]\npolicy = "grid"\n',
        'policy = ["nearest", "broadcast"]\n',
    ),
}


def _with(tmp_path: Path, one: Path, case: str) -> Path:
    text, more = SAME_RUNS[case]
    (one.parent / "two.toml").write_text(text, encoding="utf-8")
    listed = scenarios(tmp_path, "scen/one.toml", "scen/two.toml")
    body = more + listed if more.startswith("[") else listed + more
    return experiment(tmp_path, body)


@pytest.mark.parametrize("case", SAME_RUNS)
def test_two_scenario_files_that_make_the_same_runs_are_refused(
    tmp_path, capsys, one, case
) -> None:
    path = _with(tmp_path, one, case)
    err = refused(capsys, tmp_path, path, "variables.scenario", "same scenario")
    assert "'scen/one.toml' and 'scen/two.toml'" in err, err


def test_two_scenario_files_that_differ_in_what_a_run_reads_both_run(tmp_path, one) -> None:
    (one.parent / "two.toml").write_text(ONE.replace("0.3", "0.4"), encoding="utf-8")
    body = scenarios(tmp_path, "scen/one.toml", "scen/two.toml")
    loaded = load_experiment(experiment(tmp_path, body))
    assert [p.values["scenario"] for p in loaded.points] == ["scen/one.toml", "scen/two.toml"]
    # days differ, and the experiment lets each scenario run its own
    (one.parent / "two.toml").write_text(ONE + "[simulation]\ndays = 9\n", encoding="utf-8")
    loaded = load_experiment(experiment(tmp_path, body, days=False))
    assert len(loaded.points) == 2
    shipped = [str(ROOT / "scenarios" / f) for f in ("chaoyangli.toml", "chaoyangli-stress.toml")]
    assert len(load_experiment(experiment(tmp_path, scenarios(tmp_path, *shipped))).points) == 2


# --- policy chains ------------------------------------------------------------------------------
SAME_CHAIN = {
    "a space before": ["nearest", " nearest"],
    "a space after": ["nearest", "nearest "],
    "spaces around +": ["pairing+nearest", "pairing + nearest"],
}


@pytest.mark.parametrize("case", SAME_CHAIN)
def test_two_spellings_of_one_policy_chain_are_refused(tmp_path, capsys, case) -> None:
    first, second = SAME_CHAIN[case]
    path = experiment(tmp_path, f"[variables]\npolicy = {json.dumps([first, second, 'grid'])}\n")
    err = refused(capsys, tmp_path, path, "variables.policy", "one policy chain")
    assert f"{first!r} and {second!r}" in err, err


def test_policy_chains_are_read_in_one_spelling(tmp_path) -> None:
    spaced = (
        'baseline_policy = " pairing + nearest"\n'
        '[variables]\npolicy = ["pairing + nearest", "nearest "]\n'
    )
    loaded = load_experiment(experiment(tmp_path, spaced))
    assert [p.values["policy"] for p in loaded.points] == ["pairing+nearest", "nearest"]
    assert loaded.spec.experiment.baseline_policy == "pairing+nearest"
    assert loaded.point_scenario(loaded.points[0]).dispatch.fallback == ["nearest"]
    plain = (
        'baseline_policy = "pairing+nearest"\n'
        '[variables]\npolicy = ["pairing+nearest", "nearest"]\n'
    )
    other = tmp_path / "plain"
    other.mkdir()
    assert load_experiment(experiment(other, plain)).sha256() == loaded.sha256()


CHAINS_NO_RUN_TAKES = {
    "a policy twice in a chain": ("", "nearest+nearest", "nearest twice"),
    "station without service points": (
        '[overrides]\n"community.service_points" = 0\n',
        "station",
        "community.service_points",
    ),
}


@pytest.mark.parametrize("case", CHAINS_NO_RUN_TAKES)
def test_a_chain_no_run_takes_is_refused_before_anything_is_written(tmp_path, capsys, case) -> None:
    overrides, chain, words = CHAINS_NO_RUN_TAKES[case]
    path = experiment(tmp_path, f'{overrides}[variables]\npolicy = ["{chain}", "nearest"]\n')
    refused(capsys, tmp_path, path, "variables.policy", words)


# --- other keys, metrics and series ------------------------------------------------------------
#: (lines after [experiment]'s head, key the line names, words it contains)
SAME_VALUES = {
    "a name no run reads": (
        '[variables]\n"scenario.name" = ["a", "b"]\n',
        "variables.scenario.name",
        "same runs",
    ),
    "a metric twice": ('metrics = ["served", "served"]\n', "experiment.metrics", "twice"),
    "a series twice": (
        'series = ["orders_placed", "orders_placed"]\n',
        "experiment.series",
        "twice",
    ),
    "an integer range rounding to one value": (
        '[design]\nkind = "lhs"\nsamples = 4\n[variables]\n'
        '"community.floors_per_building" = { min = 5.6, max = 6.4 }\n',
        "variables.community.floors_per_building",
        "round to one integer",
    ),
    # refused before (1 and 1.0 are one value): kept here beside their kin
    "an integer spelt as a float": (
        '[variables]\n"community.floors_per_building" = [6, 6.0]\n',
        "variables.community.floors_per_building",
        "twice",
    ),
}


@pytest.mark.parametrize("case", SAME_VALUES)
def test_values_that_make_the_same_runs_are_refused(tmp_path, capsys, case) -> None:
    body, key, words = SAME_VALUES[case]
    refused(capsys, tmp_path, experiment(tmp_path, body), key, words)


# --- values fine alone, impossible together ----------------------------------------------------
def test_a_design_point_the_model_cannot_take_is_refused_before_anything_is_written(
    tmp_path, capsys
) -> None:
    """Each value passes alone, the combination does not: refused at load, naming the point,
    not after the results folder and its lock were made (it failed with a ``--set:`` line)."""
    body = '[variables]\npolicy = ["nearest", "station"]\n"community.service_points" = [0, 10]\n'
    path = experiment(tmp_path, body)
    text = path.read_text(encoding="utf-8").replace(
        "seeds = 1\n", 'seeds = 1\nbaseline_policy = "nearest"\n'
    )
    path.write_text(text, encoding="utf-8")
    err = refused(capsys, tmp_path, path, "variables", "the design point")
    assert "policy = 'station'" in err and "community.service_points = 0" in err, err
    assert "station policy needs service points" in err, err
