"""``volsim status`` on a results folder damaged after the experiment finished: ``runs/``
replaced by a file or gone, a run file or table replaced by a folder (or a pipe), a table or
run file the manifest says was written deleted. Each problem is one line naming the path and
what is wrong, exit status 1, never a traceback; a table the experiment never wrote is not
reported missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_support import TINY_EXPERIMENT as EXPERIMENT
from cli_support import finished_tiny_experiment
from cli_support import run_cli as volsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny experiment's folder (copy it before damaging it)."""
    return finished_tiny_experiment(tmp_path_factory.mktemp("status"))


@pytest.fixture
def out(finished, tmp_path) -> Path:
    """A copy of the finished folder to damage."""
    return Path(shutil.copytree(finished, tmp_path / "out"))


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet"))


def status(capsys, out: Path) -> tuple[int, list[str]]:
    """Exit status and printed lines of ``volsim status OUT``; nothing on stderr."""
    code, stdout, err = volsim(capsys, "status", out)
    assert err == "" and "Traceback" not in stdout
    return code, stdout.strip().splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip().startswith(("damaged:", "missing:"))]


def test_a_sound_folder_has_no_problems(out, capsys):
    code, lines = status(capsys, out)
    assert code == 0
    assert lines == ["tiny: 4 runs: 4 done, 0 failed, 0 missing"]
    manifest = manifest_of(out)
    assert manifest["tables_written"] is True
    assert "runs.parquet" in manifest["tables"] and "summary.csv" in manifest["tables"]
    assert all((out / name).is_file() for name in manifest["tables"])


def test_runs_replaced_by_a_file(out, capsys):
    shutil.rmtree(out / "runs")
    (out / "runs").write_text("not a folder")
    code, lines = status(capsys, out)
    assert code == 1
    assert lines[0] == "tiny: 4 runs: 0 done, 0 failed, 4 missing, 1 damaged files"
    assert problems(lines) == [f"damaged: {out / 'runs'}: is a file, not a folder"]


def test_runs_deleted(out, capsys):
    shutil.rmtree(out / "runs")
    code, lines = status(capsys, out)
    assert code == 1
    assert lines[0] == "tiny: 4 runs: 0 done, 0 failed, 4 missing, 1 missing files"
    assert problems(lines) == [f"missing: {out / 'runs'}: the manifest lists 4 runs"]


@pytest.mark.parametrize(
    "name",
    ["runs.parquet", "series.parquet", "summary.csv", "differences.parquet", "layout.parquet"],
)
def test_a_table_deleted(out, capsys, name):
    (out / name).unlink()
    code, lines = status(capsys, out)
    assert code == 1
    assert lines[0] == "tiny: 4 runs: 4 done, 0 failed, 0 missing, 1 missing files"
    assert problems(lines) == [f"missing: {out / name}: the manifest says it was written"]


@pytest.mark.parametrize("name", ["summary.parquet", "summary.csv"])
def test_a_table_replaced_by_a_folder(out, capsys, name):
    (out / name).unlink()
    (out / name).mkdir()
    code, lines = status(capsys, out)
    assert code == 1
    assert problems(lines) == [f"damaged: {out / name}: is a folder, not a file"]


def test_a_run_file_replaced_by_a_folder(out, capsys):
    path = run_files(out)[1]
    path.unlink()
    path.mkdir()
    code, lines = status(capsys, out)
    assert code == 1
    assert lines[0] == "tiny: 4 runs: 3 done, 0 failed, 1 missing, 1 damaged files"
    assert problems(lines) == [f"damaged: {path}: is a folder, not a file"]


def test_a_run_file_replaced_by_a_pipe_does_not_hang(out, capsys, time_limit):
    path = run_files(out)[0]
    path.unlink()
    os.mkfifo(path)
    with time_limit(20):
        code, lines = status(capsys, out)
    assert code == 1
    assert problems(lines) == [f"damaged: {path}: is neither a file nor a folder"]


def test_run_files_deleted_from_a_finished_experiment(out, capsys):
    files = run_files(out)
    for path in files[:2]:
        path.unlink()
    code, lines = status(capsys, out)
    assert code == 1
    assert lines[0] == "tiny: 4 runs: 2 done, 0 failed, 2 missing, 1 missing files"
    (line,) = problems(lines)
    assert line.startswith(f"missing: {out / 'runs'}: 2 of the 4 run files (e.g. ")
    assert any(f"(e.g. {path.name})" in line for path in files[:2]) and "finished" in line


def test_an_unfinished_experiment_is_not_damaged_by_what_it_has_not_written(out, capsys):
    manifest = manifest_of(out)
    del manifest["tables_written"]  # as an experiment cut short writes it before its runs
    (out / "manifest.json").write_text(json.dumps(manifest))
    for name in manifest["tables"]:
        (out / name).unlink()
    run_files(out)[0].unlink()
    code, lines = status(capsys, out)
    assert code == 0
    assert lines == ["tiny: 4 runs: 3 done, 0 failed, 1 missing"]


def test_a_manifest_without_the_tables_list_expects_what_every_experiment_writes(out, capsys):
    manifest = manifest_of(out)
    del manifest["tables"]  # a folder written before the list was recorded
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "layout.parquet").unlink()  # written for a fixed layout only: not guessed
    assert status(capsys, out)[0] == 0
    (out / "differences.csv").unlink()
    code, lines = status(capsys, out)
    assert code == 1
    missing = out / "differences.csv"
    assert problems(lines) == [f"missing: {missing}: the manifest says it was written"]


@pytest.mark.parametrize("tables", ["runs.parquet", ["../runs.parquet"], [3]])
def test_a_damaged_tables_list_is_one_line(out, capsys, tables):
    manifest = manifest_of(out)
    manifest["tables"] = tables
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, stdout, err = volsim(capsys, "status", out)
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(out / "manifest.json") in err and "tables" in err and "damaged" in err


def test_a_manifest_replaced_by_a_folder_is_one_line(out, capsys):
    (out / "manifest.json").unlink()
    (out / "manifest.json").mkdir()
    code, stdout, err = volsim(capsys, "status", out)
    assert code == 2 and stdout == ""
    assert err.strip() == f"volsim status: error: {out / 'manifest.json'}: is a folder, not a file"


def test_a_rerun_rewrites_a_deleted_table(out, capsys):
    (out / "summary.csv").unlink()
    (out / "runs.parquet").unlink()
    assert status(capsys, out)[0] == 1
    experiment = out.parent / "tiny.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    code, _, err = volsim(capsys, "experiment", experiment, "--out", out, "--workers", "1")
    assert code == 0, err
    assert status(capsys, out) == (0, ["tiny: 4 runs: 4 done, 0 failed, 0 missing"])
