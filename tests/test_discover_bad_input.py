"""Discovery and its report on folders that cannot answer: damaged or tampered tables, one
policy, no headline metric, an unfinished experiment, one seed per point, options that make no
sense. Each is one line naming the file (or option) and key, exit status 2, and the folder left
as it was; a damaged discovery table (derived data) is found again from the runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import discover
from sim.cli import main
from sim.report import labels as L
from sim.report import robustness as R

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["acceptance.base_probability", "demand.max_wait_min"]


def folder(path: Path, policies=("nearest", "broadcast"), seeds=(1, 2), points=12) -> Path:
    """A finished LHS results folder as `volsim experiment` writes it (manifest and runs),
    broadcast better on urgent p90 wherever the first key is below 0.3."""
    rng = np.random.default_rng(5)
    variables = {"policy": list(policies)} | {k: {"min": 0.0, "max": 1.0} for k in KEYS}
    rows = []
    for sample, values in enumerate(rng.uniform(0, 1, size=(points, len(KEYS)))):
        for seed in seeds:
            for policy in policies:
                better = policy == "broadcast" and values[0] < 0.3
                rows.append(
                    {"run_id": f"r{len(rows)}", "status": "done", "seed": seed}
                    | {"policy": policy, "sample": sample}
                    | dict(zip(KEYS, values, strict=True))
                    | {
                        "urgent_response_time_p90_min": 10.0 - 3 * better + rng.normal(0, 0.1),
                        "urgent_within_window_share": 0.9,
                        "urgent_unmet_share": 0.0,
                    }
                )
    runs = pd.DataFrame(rows)
    runs.to_parquet(path / "runs.parquet", index=False)
    design = {"kind": "lhs", "samples": points}
    manifest = {
        "experiment": "tiny",
        "resolved": {"experiment": {"variables": variables, "design": design}},
        "runs": [{"run_id": r} for r in runs["run_id"]],
    }
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().err


def edit_runs(path: Path, change) -> None:
    runs = pd.read_parquet(path / "runs.parquet")
    change(runs).to_parquet(path / "runs.parquet", index=False)


TAMPERED = {
    "empty file": (None, "runs.parquet: unreadable"),
    "sampled column dropped": (lambda r: r.drop(columns=[KEYS[0]]), f"{KEYS[0]}: missing column"),
    "policy column dropped": (lambda r: r.drop(columns=["policy"]), "policy: missing column"),
    "metric as text": (
        lambda r: r.assign(urgent_unmet_share=r["urgent_unmet_share"].astype(str)),
        "urgent_unmet_share: not numbers",
    ),
    "sampled value NaN": (
        lambda r: r.assign(**{KEYS[1]: r[KEYS[1]].where(r.index > 0)}),
        f"{KEYS[1]}: not a finite number",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_run_table_is_one_line_and_writes_nothing(tmp_path, capsys, case) -> None:
    change, message = TAMPERED[case]
    folder(tmp_path)
    if change is None:
        (tmp_path / "runs.parquet").write_bytes(b"")
    else:
        edit_runs(tmp_path, change)
    status, err = run(capsys, "discover", str(tmp_path))
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "discovery.csv").exists()


def test_one_policy_or_no_headline_metric_is_nothing_to_compare(tmp_path, capsys) -> None:
    one = tmp_path / "one"
    one.mkdir()
    folder(one, policies=("nearest",))
    status, err = run(capsys, "discover", str(one))
    assert status == 2 and "variables.policy" in err and "nothing to compare" in err, err
    none = tmp_path / "none"
    none.mkdir()
    folder(none)
    edit_runs(none, lambda r: r.drop(columns=list(discover.HEADLINE_METRICS)))
    status, err = run(capsys, "discover", str(none))
    assert status == 2 and "experiment.metrics" in err and "nothing to compare" in err, err
    assert not (one / "discovery.csv").exists() and not (none / "discovery.csv").exists()


def test_an_unfinished_experiment_is_refused_not_analysed_in_part(tmp_path, capsys) -> None:
    folder(tmp_path)
    edit_runs(tmp_path, lambda r: r.iloc[:-5])
    status, err = run(capsys, "discover", str(tmp_path))
    assert status == 2 and "5 of 48 planned runs have not run" in err, err


def test_with_one_seed_nothing_is_clearly_better_and_nothing_holds(tmp_path) -> None:
    """One seed per point measures no noise: the clear shares are unknown (NaN), not equal to
    the plain shares, and no comparison is said to hold or to be within the noise."""
    folder(tmp_path, seeds=(1,), points=40)
    table = discover.discover(tmp_path)
    assert table["share_a_clearly_better"].isna().all()
    assert table["share_b_clearly_better"].isna().all()
    assert (table["holds"] == "").all()
    p90 = table[table["metric"] == "urgent_response_time_p90_min"].iloc[0]
    assert 0 < p90["share_a_better"] < 1  # the plain shares are still there
    with_two = discover.discover(folder(tmp_path, points=40))  # two seeds: measured
    assert with_two["share_a_clearly_better"].notna().all()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_says_how_many_assumptions_were_sampled_and_when_noise_is_unmeasured(
    tmp_path, lang
) -> None:
    folder(tmp_path, seeds=(1,), points=40)
    html = R.section(R.load(tmp_path), lang)
    one_seed = L.t(lang, "holds.one_seed")[:12]
    assert one_seed in html
    assert ("samples 2 assumed" if lang == "en" else "抽样2个假设参数") in html
    two = tmp_path / "two"
    two.mkdir()
    assert one_seed not in R.section(R.load(folder(two)), lang)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.assign(share_a_better="x"),
        lambda t: t.assign(holds="maybe"),
        lambda t: t.assign(limits="not json"),
        lambda t: t.assign(confirmed="yes"),
    ],
)
def test_a_tampered_discovery_table_is_found_again_from_the_runs(tmp_path, tamper) -> None:
    folder(tmp_path)
    true_table = discover.discover(tmp_path)
    discover.write(tmp_path, true_table)
    stored = pd.read_parquet(tmp_path / "discovery.parquet")
    tamper(stored).to_parquet(tmp_path / "discovery.parquet", index=False)
    loaded = R.load(tmp_path).discovery
    assert loaded["share_a_better"].tolist() == true_table["share_a_better"].tolist()
    assert set(loaded["holds"]) <= {"a", "b", "equal", ""}


def test_an_unreadable_discovery_table_is_found_again(tmp_path) -> None:
    folder(tmp_path)
    discover.write(tmp_path, discover.discover(tmp_path))
    (tmp_path / "discovery.parquet").write_bytes(b"PAR1 truncated")
    os.utime(tmp_path / "discovery.parquet")  # newer than the runs: not stale, only damaged
    assert set(discover.FIELDS) <= set(R.load(tmp_path).discovery.columns)


OPTIONS = {
    "--top alone": (["--top", "3"], "--top: only with --sobol-design"),
    "--seeds alone": (["--seeds", "2"], "--seeds: only with --sobol-design"),
    "empty design name": (["--sobol-design", ""], "--sobol-design"),
    "design is a folder": (["--sobol-design", "{tmp}"], "give a file name"),
    "no such folder": (["--sobol-design", "{tmp}/no/such.toml"], "no such folder"),
    "samples not a power of two": (
        ["--sobol-design", "{tmp}/s.toml", "--samples", "3"],
        "--samples: must be a power of two",
    ),
    "the folder's manifest": (["--sobol-design", "{tmp}/manifest.json"], "give a .toml file"),
    "the folder's runs": (["--sobol-design", "{tmp}/runs.parquet"], "give a .toml file"),
    "seeds zero": (["--sobol-design", "{tmp}/s.toml", "--seeds", "0"], "--seeds: must be f"),
    "seeds negative": (["--sobol-design", "{tmp}/s.toml", "--seeds", "-3"], "--seeds: must be f"),
    "seeds too many": (
        ["--sobol-design", "{tmp}/s.toml", "--seeds", "100000000"],
        "--seeds: must be from 1 to 100,000",
    ),
}


@pytest.mark.parametrize("case", OPTIONS)
def test_discover_options_are_checked_before_anything_is_written(tmp_path, capsys, case) -> None:
    options, message = OPTIONS[case]
    folder(tmp_path)
    argv = [o.replace("{tmp}", str(tmp_path)) for o in options]
    status, err = run(capsys, "discover", str(tmp_path), *argv)
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "discovery.csv").exists() and not (tmp_path / "s.toml").exists()
    json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))  # left as it was


def test_a_sobol_experiment_needs_a_power_of_two(tmp_path, capsys) -> None:
    path = tmp_path / "sobol.toml"
    scenario = json.dumps(str(ROOT / "scenarios" / "chaoyangli.toml"))
    path.write_text(
        f'[experiment]\nname = "s"\nscenario = {scenario}\ndays = 2\nseeds = 1\n\n'
        '[design]\nkind = "sobol"\nsamples = 3\n\n'
        '[variables]\n"acceptance.base_probability" = { min = 0.2, max = 0.4 }\n',
        encoding="utf-8",
    )
    status, err = run(capsys, "experiment", str(path), "--out", str(tmp_path / "out"))
    assert status == 2 and "design.samples" in err and "power of two" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("delay_s", [0.2, 0.5])
def test_ctrl_c_while_the_libraries_load_is_one_line(tmp_path, delay_s) -> None:
    """A Ctrl-C that comes before the command line has even loaded (numpy, pandas, Mesa) ends
    like one that comes later: exit status 130 and one line, no traceback."""
    command = [sys.executable, "-c", "from sim.__main__ import console; console()", "status", "x"]
    process = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    time.sleep(delay_s)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    if process.returncode == 2:  # it had finished loading and refused "x": no Ctrl-C to see
        pytest.skip("the command finished before the signal")
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted"), err
