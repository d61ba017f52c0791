"""Bad input to ``volsim calibrate`` (sim/calibration.py), run through ``sim.cli.main``: one
line naming the option or file and the key, exit status 2 and nothing written; a damaged run
record is named and its draw simulated again; every JSON written is valid JSON.

The calibrations are tiny: the two-year small history of test_calibration.py (a fraction of a
second a draw), whose years hold no target, so no draw is ever accepted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_calibration import SMALL_HISTORY

from sim import calibration
from sim.cli import main


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small-history.toml"
    path.write_text(SMALL_HISTORY, encoding="utf-8")
    return path


def calibrate(scenario: Path, out: Path, *options: str) -> int:
    return main(["calibrate", str(scenario), "--out", str(out), "--workers", "1", *options])


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's only line on stderr."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def strict_json(path: Path) -> Any:
    """The file's JSON, refusing NaN and Infinity (which are not JSON)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{path}: {constant} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


# --- options: 0 is not replaced by a default, and the message names the option at fault ------
@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--samples", "3", "--generations", "0"], "--generations"),
        (["--samples", "2", "--generations", "0"], "--generations"),
        (["--samples", "0"], "--samples"),
        (["--samples", "3", "--seed", "-1"], "--seed"),
        (["--samples", "3", "--workers", "0"], "--workers"),
    ],
)
def test_a_bad_option_is_named_and_nothing_is_written(
    scenario: Path, tmp_path: Path, capsys, options: list[str], named: str
) -> None:
    out = tmp_path / "c"
    assert calibrate(scenario, out, *options) == 2
    assert one_line(capsys).startswith(f"volsim calibrate: error: {named}: must be ")
    assert not out.exists()


def test_an_out_that_is_a_file_and_an_export_that_is_a_folder_are_named(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine", encoding="utf-8")
    assert calibrate(scenario, afile, "--samples", "3") == 2
    assert one_line(capsys).startswith("volsim calibrate: error: --out: ")
    assert afile.read_text(encoding="utf-8") == "mine"
    out = tmp_path / "c"
    assert calibrate(scenario, out, "--samples", "3", "--export", str(tmp_path)) == 2
    assert one_line(capsys).startswith("volsim calibrate: error: --export: ")
    assert not out.exists()


# --- a damaged run record: named, and its draw simulated again -------------------------------
def _set(key: str, value: Any) -> Callable[[dict], Any]:
    def change(record: dict) -> dict:
        *path, last = key.split("/")
        part = record
        for name in path:
            part = part[name]
        part[last] = value
        return record

    return change


def _drop(record: dict) -> dict:
    del record["params"]["dynamics.recruitment_effort"]
    return record


@pytest.mark.parametrize(
    ("tamper", "key"),
    [
        (_set("stats/registry_2015", "abc"), "stats.registry_2015"),
        (_set("weight", "x"), "weight"),
        (_set("weight", math.nan), "weight"),
        (_set("seconds", -1), "seconds"),
        (_set("distance", "far"), "distance"),
        (_set("distance", 0.5), "distance"),  # stats say it is missing: infinitely far
        (_set("seed", 7), "seed"),
        (_set("index", True), "index"),
        (_set("params/dynamics.recruitment_effort", 5.0), "params.dynamics.recruitment_effort"),
        (_drop, "params.dynamics.recruitment_effort: missing"),
        (_set("params", [1, 2]), "params"),
        (lambda record: [1, 2], "not a JSON object"),
    ],
)
def test_a_damaged_run_record_is_named_and_simulated_again(
    scenario: Path, tmp_path: Path, capsys, tamper: Callable[[dict], Any], key: str
) -> None:
    """A record of generation 0 (which generation 1's draws are planned from) is damaged after
    the calibration ends: the rerun names it, simulates that draw again (the same record as
    before, bar the seconds), leaves the others, and summarises all four draws."""
    out = tmp_path / "c"
    options = ["--samples", "4", "--generations", "2"]
    assert calibrate(scenario, out, *options) == 0
    capsys.readouterr()
    damaged = out / "runs" / "g0-00001.json"
    before = json.loads(damaged.read_text(encoding="utf-8"))
    kept = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json") if p != damaged}
    damaged.write_text(json.dumps(tamper(json.loads(damaged.read_text()))), encoding="utf-8")

    assert calibrate(scenario, out, *options) == 0
    notice, plan = capsys.readouterr().err.splitlines()
    assert notice.startswith(f"volsim calibrate: damaged run file {damaged} (")
    assert key in notice and notice.endswith(": simulating again")
    assert "3 done, 1 to simulate" in plan
    after = strict_json(damaged)
    assert {**after, "seconds": 0} == {**before, "seconds": 0}
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in kept.items())
    assert len(pd.read_parquet(out / "samples.parquet")) == 4


# --- no draw accepted: valid JSON, and said ---------------------------------------------------
def test_no_accepted_draw_writes_valid_json_and_says_so(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    out, exported = tmp_path / "c", tmp_path / "accepted.csv"
    assert calibrate(scenario, out, "--samples", "3", "--export", str(exported)) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("no draw was accepted: none of the 3 met every target")
    assert "mean nan" not in captured.out
    assert f"accepted sets exported to {exported}" in captured.out  # none: a reader says so
    assert "# 0 of 3 draws accepted" in exported.read_text(encoding="utf-8")
    assert len(pd.read_csv(exported, comment="#")) == 0
    for path in [*out.glob("*.json"), *(out / "runs").glob("*.json")]:
        strict_json(path)  # the runs' statistics of years the run lacks are null too
    summary = strict_json(out / "summary.json")
    assert summary["accepted"] == 0 and "no draw was accepted" in summary["note"]
    first = summary[calibration.PRIORS[0].key]
    assert first["mean"] is None and first["q05"] is None and first["prior_low"] == 0.02


# --- a damaged or foreign manifest --------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "damaged, not JSON (Expecting value"),
        ("[1, 2]", "damaged, not a JSON object"),
        ('{"scenario": ', "damaged, not JSON ("),
        ('{"samples": 3}', "scenario: missing: damaged"),
    ],
)
def test_a_damaged_manifest_is_named(
    scenario: Path, tmp_path: Path, capsys, text: str, problem: str
) -> None:
    out = tmp_path / "c"
    out.mkdir()
    manifest = out / "manifest.json"
    manifest.write_text(text, encoding="utf-8")
    assert calibrate(scenario, out, "--samples", "3") == 2
    line = one_line(capsys)
    assert line.startswith(f"volsim calibrate: error: {manifest}: {problem}"), line
    assert line.endswith("choose a new --out")
    assert manifest.read_text(encoding="utf-8") == text
    assert [p.name for p in out.iterdir()] == ["manifest.json"]


def test_another_calibrations_folder_names_the_setting(
    scenario: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "c"
    calibration.start(scenario, out, 6)
    assert calibrate(scenario, out, "--samples", "3") == 2
    line = one_line(capsys)
    assert line == (
        f"volsim calibrate: error: {out / 'manifest.json'}: samples: 6 there, 3 now: "
        "another calibration's folder: choose a new --out"
    )
