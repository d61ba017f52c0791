"""`volsim optimise` refuses bad input in one line with exit status 2 before it makes a folder
(a root seed optuna cannot take, levers the scenario cannot hold, an objective no candidate
defines); a re-check on one seed says it has no interval; `volsim status` and `volsim report`
notice an optimise folder's damaged tables and study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_optimise import TINY

from sim.cli import main

#: a tiny search: two trials of two days on one seed, the best re-checked on one fresh seed
QUICK = ["--days", "2", "--trials", "2", "--seeds", "1", "--recheck-seeds", "1"]
QUICK += ["--recheck-top", "1"]
LEVER = ["--lever", "broadcast.k=1..3"]
OBJECTIVE = ["--objective", "response_time_p90_min:min"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny community of test_optimise as a scenario file."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _refused(capsys, out: Path, *where: str) -> str:
    """The one error line of a refusal naming ``where``; nothing was left at ``out``."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("volsim "), err
    assert "Traceback" not in err
    for text in where:
        assert text in err, err
    assert not out.exists()
    return err


@pytest.mark.parametrize(
    ("flags", "where"),
    [
        (["--root-seed", "-1"], "--root-seed"),
        (["--root-seed", str(2**32)], "--root-seed"),
        (["--seeds", str(10**12)], "--seeds"),  # seeds_for: MemoryError
    ],
)
def test_a_value_the_search_would_fail_on_is_refused_before_the_folder(
    tiny, tmp_path, capsys, flags, where
) -> None:
    out = tmp_path / "opt"
    argv = ["optimise", str(tiny), *QUICK, *LEVER, *OBJECTIVE, "--out", str(out), *flags]
    assert main(argv) == 2
    _refused(capsys, out, where)


@pytest.mark.parametrize(
    ("lever", "where"),
    [
        ("points=31", "more than the 30 stairwells"),
        ("points=5", "more than the 4 service points"),
        ("points=3@1,2", "more than the 2 stairwells"),
        ("points=2@3,3", "3 is listed twice"),
        ("recruit=stairwell:5/999", "more than the 30 stairwells"),
        ("recruit=stairwell:2/3", "2 recruits cannot be shared over 3 stairwells"),
        ("recruit=grid:100000", "more than the 400 residents"),
        ("policy=nearest,nearest", "nearest is listed twice"),
        ("broadcast.k=2,2", "2 is listed twice"),
        ("broadcast.k=0,2", "dispatch.broadcast.k"),
        ("pairing.max_distance_m=0..300", "dispatch.pairing.max_distance_m"),
    ],
)
def test_an_impossible_lever_is_one_line(tiny, tmp_path, capsys, lever, where) -> None:
    out = tmp_path / "opt"
    argv = ["optimise", str(tiny), *QUICK, *OBJECTIVE, "--lever", lever, "--out", str(out)]
    assert main(argv) == 2
    _refused(capsys, out, "--lever", lever, where)


def test_a_pairing_objective_needs_a_policy_with_pairing(tiny, tmp_path, capsys) -> None:
    """The tiny community dispatches by broadcast: no run would define the paired share."""
    out = tmp_path / "opt"
    argv = ["optimise", str(tiny), *QUICK, *LEVER, "--out", str(out)]
    for metric in ("paired_elders_share", "eligible_served_by_pair_share"):  # (0 in every run)
        assert main([*argv, "--objective", f"{metric}:max"]) == 2
        _refused(capsys, out, "--objective", metric, "'broadcast' has none")
    chains = ["--lever", "policy=pairing+broadcast,pairing"]  # a chain is policy + fallback
    argv = ["optimise", str(tiny), *QUICK, *chains, "--out", str(out)]
    assert main([*argv, "--objective", "paired_elders_share:max"]) == 0
    trials = pd.read_csv(out / "trials.csv")
    assert (trials["state"] == "COMPLETE").all()
    for overrides in map(json.loads, trials["overrides"]):
        assert overrides["dispatch.policy"] == "pairing"
        assert overrides["dispatch.fallback"] in (["broadcast"], [])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny optimise folder (copy it before damaging it)."""
    root = tmp_path_factory.mktemp("optimise")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = root / "opt"
    argv = ["optimise", str(scenario), *QUICK, *LEVER, *OBJECTIVE, "--out", str(out)]
    assert main(argv) == 0
    return out


def test_one_recheck_seed_says_there_is_no_interval(finished, tmp_path) -> None:
    best = json.loads((finished / "manifest.json").read_text())["best"]
    assert best["n"] == 1 and best["interval"] == "one seed: no interval"
    folder = tmp_path / "opt"
    shutil.copytree(finished, folder)
    assert main(["report", str(folder), "--lang", "en"]) == 0
    page = (folder / "report" / "index.html").read_text(encoding="utf-8")
    assert "one seed: no interval" in page


def test_the_summary_line_says_one_seed_has_no_interval(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "opt"
    assert main(["optimise", str(tiny), *QUICK, *LEVER, *OBJECTIVE, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "one seed: no interval" in printed and "nan" not in printed


@pytest.mark.parametrize("content", [b"", b"not a table"])
@pytest.mark.parametrize("name", ["trials.parquet", "recheck.parquet", "study.db"])
def test_a_damaged_table_is_noticed(finished, tmp_path, capsys, name, content) -> None:
    folder = tmp_path / "opt"
    shutil.copytree(finished, folder)
    assert main(["status", str(folder)]) == 0  # sound before the damage
    (folder / name).write_bytes(content)
    capsys.readouterr()
    assert main(["status", str(folder)]) == 1
    assert f"damaged: {folder / name}: " in capsys.readouterr().out
    if name.endswith(".parquet"):  # the report reads it: refused, no report folder left
        assert main(["report", str(folder)]) == 2
        _refused(capsys, folder / "report", str(folder / name))
    else:  # the search resumes from it: refused before the folder is touched
        before = sorted(p.name for p in folder.iterdir())
        scenario = finished.parent / "tiny.toml"  # the search's own: the same hash
        argv = ["optimise", str(scenario), *QUICK, *LEVER, *OBJECTIVE]
        assert main([*argv, "--out", str(folder)]) == 2
        _refused(capsys, tmp_path / "absent", str(folder / name))
        assert sorted(p.name for p in folder.iterdir()) == before
        assert (folder / name).read_bytes() == content
