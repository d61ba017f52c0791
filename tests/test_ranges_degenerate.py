"""A ranges table a sensitivity design cannot use is refused by `volsim ranges` in one line
naming the file and the key, with exit status 2, no traceback and nothing printed or written:
a degenerate range (low == high: Sobol and Morris indices of a constant are meaningless), low
above high, a bound that is not a finite number or that the schema refuses, a number listed
under [fixed] (a way around the range), and a dotted key left unquoted (fuzzing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_cli

from sim import ranges

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
P = "acceptance.base_probability"


def row(key: str, low: str, high: str) -> str:
    return f'[range."{key}"]\nlow = {low}\nhigh = {high}\nwhy = "a source"\n'


REFUSED = {
    "degenerate float": (
        row(P, "0.5", "0.5"),
        f'range."{P}"',
        "low (0.5) equals high (0.5): a range must have low < high "
        "(to fix the value, set it in the scenario instead)",
    ),
    "degenerate integer": (
        row("dispatch.broadcast.k", "3", "3"),
        'range."dispatch.broadcast.k"',
        "low (3) equals high (3): a range must have low < high",
    ),
    "degenerate signed zeros": (
        row(P, "0.0", "-0.0"),
        f'range."{P}"',
        "equals high",
    ),
    "degenerate at the schema's edge": (
        row(P, "1.0", "1.0"),
        f'range."{P}"',
        "low (1) equals high (1)",
    ),
    "low above high": (row(P, "0.6", "0.1"), f'range."{P}"', "low (0.6) is greater than high"),
    "nan low": (row(P, "nan", "0.5"), f'range."{P}".low', "must be a finite number (got nan)"),
    "nan both": (row(P, "nan", "nan"), f'range."{P}".low', "must be a finite number (got nan)"),
    "inf high": (row(P, "0.1", "inf"), f'range."{P}".high', "must be a finite number (got inf)"),
    "-inf low": (row(P, "-inf", "0.5"), f'range."{P}".low', "must be a finite number (got -inf)"),
    "inf both": (row(P, "inf", "inf"), f'range."{P}".low', "must be a finite number (got inf)"),
    "below the schema": (row(P, "-0.1", "0.5"), f'range."{P}".low', "outside the schema"),
    "above the schema": (row(P, "0.2", "1.5"), f'range."{P}".high', "outside the schema"),
    "integer key above the schema": (
        row("community.floors_per_building", "3", "41"),
        'range."community.floors_per_building".high',
        "outside the schema",
    ),
    "text bound": (row(P, '"0.1"', "0.5"), f'range."{P}".low', "must be a finite number"),
    "boolean bound": (row(P, "true", "0.5"), f'range."{P}".low', "must be a finite number"),
    "one number under [fixed]": (
        f'[fixed."{P}"]\nwhy = "a source"\n',
        f'fixed."{P}"',
        "one number: give it a [range] with low < high",
    ),
    "dotted key unquoted": (
        '[range.acceptance.base_probability]\nlow = 0.2\nhigh = 0.5\nwhy = "a source"\n',
        'range."acceptance"',
        f'a section, not a key: quote the dotted key, e.g. [range."{P}"]',
    ),
    "a section as the key": (
        row("dispatch.broadcast", "1", "5"),
        'range."dispatch.broadcast"',
        "a section, not a key",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_range_no_design_can_sample_is_one_line_with_status_2(case, capsys, tmp_path) -> None:
    text, key, message = REFUSED[case]
    path = tmp_path / "ranges.toml"
    path.write_text(text, encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    status, out, err = run_cli(capsys, "ranges", str(SCENARIO), "--ranges", str(path), "--json")
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{path}: {key}: " in lines[0], lines[0]
    assert message in lines[0], lines[0]
    assert sorted(tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [
        (P, "0.0", "1.0"),  # the schema's whole interval
        (P, "0.3", "0.30000000000000004"),  # narrow, but a range
        ("dispatch.broadcast.k", "1", "2"),  # two whole numbers
    ],
)
def test_a_range_with_low_below_high_is_listed(key, low, high, capsys, tmp_path) -> None:
    path = tmp_path / "ranges.toml"
    path.write_text(row(key, low, high), encoding="utf-8")
    status, out, err = run_cli(capsys, "ranges", str(SCENARIO), "--ranges", str(path), "--json")
    assert status == 0, err
    assert key in out


def test_the_shipped_table_has_no_degenerate_range_and_numbers_only_under_range() -> None:
    table = ranges.load(ROOT / "scenarios" / "ranges" / "assumed.toml")
    assert table.ranged
    assert all(item.low < item.high for item in table.ranged.values())
