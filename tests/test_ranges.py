"""The ranges table of the assumed parameters: it covers every assumed key, the shipped values lie
in their ranges, bad tables are one line naming file and key, and `volsim ranges` lists them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_support import run_cli

from sim import ranges
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "scenarios" / "ranges" / "assumed.toml"
#: the scenarios the robustness experiment samples around
SCENARIOS = [ROOT / "scenarios" / "chaoyangli.toml", ROOT / "scenarios" / "chaoyangli-stress.toml"]


def _odd_assumed_keys() -> set[str]:
    """Keys whose row in ODD §7.12 gives "assumed" as (part of) the source."""
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    start = text.index("### 7.12")
    section = text[start : text.index("\n### ", start + 1)]
    rows = re.findall(r"^\| `([^`]+)` \|[^|]*\|[^|]*\| (.*) \|$", section, re.M)
    known = set(ranges._leaf_keys())
    return {key for key, source in rows if "assumed" in source and key in known}


def test_every_assumed_key_has_a_range_or_a_fixed_row() -> None:
    table = ranges.load(TABLE)
    assumed = ranges.assumed_keys(*SCENARIOS) | _odd_assumed_keys()
    missing = sorted(assumed - table.all_keys())
    assert not missing, f"assumed keys without a row in {TABLE.name}: {missing}"
    assert len(assumed) >= 60  # the issue counts 60 assumed keys; the reader must find them


def test_a_newly_assumed_key_is_found_wherever_the_comment_says_so(tmp_path) -> None:
    text = "\n".join(
        [
            '# "assumed" in the opening comment marks nothing',
            "[scenario]",
            'name = "x"',
            "[rating]",
            "base_stars = 4.8",
            "late_penalty_per_min = 0.03   # stars per minute (assumed)",
            "familiar_bonus_stars = 0.2    # a familiar face rates higher",
            "                              # (assumed, continued)",
            "# the spread of ratings (assumed)",
            "noise_sd_stars = 0.3",
            "[service.mean_min_by_type]    # minutes (assumed)",
            "urgent = 30.0",
        ]
    )
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    assert ranges.comment_assumed_keys(path) == {
        "rating.late_penalty_per_min",
        "rating.familiar_bonus_stars",
        "rating.noise_sd_stars",
        "service.mean_min_by_type.urgent",
    }


def test_the_coverage_check_fails_when_a_row_is_removed(tmp_path) -> None:
    text = TABLE.read_text(encoding="utf-8")
    row = '[range."acceptance.off_duty_multiplier"]\nlow = 0.1\nhigh = 0.6\n'
    assert row in text
    trimmed = tmp_path / "ranges.toml"
    start = text.index(row)
    end = text.index("\n\n", start)
    trimmed.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    table = ranges.load(trimmed)
    assert ranges.assumed_keys(*SCENARIOS) - table.all_keys() == {"acceptance.off_duty_multiplier"}


def test_the_baseline_values_lie_in_their_ranges() -> None:
    table = ranges.load(TABLE)
    rows = ranges.rows(Scenario(), table)
    outside = [(r["key"], r["value"]) for r in rows if r["inside"] is False]
    assert not outside
    assert len(rows) == len(table.ranged) + len(table.fixed)
    assert all(r["why"].strip() for r in rows)


def test_volsim_ranges_json_lists_every_row_and_flags_the_stress_case(capsys) -> None:
    status, out, err = run_cli(capsys, "ranges", str(SCENARIOS[1]), "--json")
    assert status == 0, err
    data = json.loads(out)
    rows = {row["key"]: row for row in data["rows"]}
    table = ranges.load(TABLE)
    assert set(rows) == table.all_keys()
    share = rows["volunteers.active_share_of_registered"]
    assert (share["value"], share["low"], share["high"], share["inside"]) == (0.05, 0.1, 0.4, False)
    assert rows["demand.type_shares.urgent"]["value"] == 0.15
    assert rows["volunteers.retiree_hours"]["low"] is None


def test_volsim_ranges_prints_a_table(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    status, out, err = run_cli(capsys, "ranges", str(SCENARIOS[0]))
    assert status == 0, err
    assert "channels.app.answer_delay_mean_min" in out
    assert "Khalemsky" in out
    assert "[first day, days, ×]" in out  # reasons are text, not rich markup


BAD_TABLES = [
    ('[range."nope.x"]\nlow = 1\nhigh = 2\nwhy = "a"\n', 'range."nope.x"', "unknown scenario key"),
    (
        '[range."acceptance.off_duty_multiplier"]\nlow = 0.6\nhigh = 0.1\nwhy = "a"\n',
        'range."acceptance.off_duty_multiplier"',
        "low (0.6) is greater than high (0.1)",
    ),
    (
        '[range."acceptance.base_probability"]\nlow = 0.2\nhigh = 1.5\nwhy = "a"\n',
        'range."acceptance.base_probability".high',
        "outside the schema",
    ),
    (
        '[range."volunteers.retiree_hours"]\nlow = 6\nhigh = 10\nwhy = "a"\n',
        'range."volunteers.retiree_hours"',
        "not one number",
    ),
    (
        '[range."dispatch.broadcast.k"]\nlow = 1.5\nhigh = 5\nwhy = "a"\n',
        'range."dispatch.broadcast.k".low',
        "whole number",
    ),
    (
        '[range."rating.base_stars"]\nlow = 4.0\nhigh = 5.0\nwhy = " "\n',
        'range."rating.base_stars".why',
        "source or reasoning",
    ),
    (
        '[range."rating.base_stars"]\nlow = 4.0\nwhy = "a"\n',
        'range."rating.base_stars".high',
        "missing",
    ),
    (
        '[range."rating.base_stars"]\nlow = 4.0\nhigh = 5.0\nwhy = "a"\nsource = "b"\n',
        'range."rating.base_stars".source',
        "unknown field",
    ),
    (
        '[range."rating.base_stars"]\nlow = 4.0\nhigh = 5.0\nwhy = "a"\n'
        '[fixed."rating.base_stars"]\nwhy = "b"\n',
        'fixed."rating.base_stars"',
        "both",
    ),
    ('[ranges."rating.base_stars"]\nwhy = "b"\n', "ranges", "unknown table"),
    ("[range\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD_TABLES)
def test_a_bad_table_is_one_line_naming_file_and_key_with_status_2(
    text: str, key: str, message: str, capsys, tmp_path
) -> None:
    path = tmp_path / "bad-ranges.toml"
    path.write_text(text, encoding="utf-8")
    status, out, err = run_cli(capsys, "ranges", str(SCENARIOS[0]), "--ranges", str(path))
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and key in lines[0] and message in lines[0]
    assert "Traceback" not in err


def test_a_missing_table_is_one_line_with_status_2(capsys, tmp_path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[scenario]\nname = "s"\n', encoding="utf-8")
    status, _, err = run_cli(capsys, "ranges", str(scenario))
    assert status == 2
    assert str(tmp_path / "ranges" / "assumed.toml") in err and "no such file" in err


#: the keys the stress scenario sets to define its strain: sampling them would undo it
STRESS_KEYS = {
    "volunteers.active_share_of_registered",
    "volunteers.daily_availability_share",
    "demand.type_shares.urgent",
}


@pytest.mark.parametrize(
    "name", ["robustness.toml", "robustness-quick.toml", "robustness-discovery.toml"]
)
def test_the_robustness_designs_sample_every_ranged_key_over_its_range(name: str) -> None:
    from sim.experiment.design import load_experiment

    experiment = load_experiment(ROOT / "experiments" / name, seeds=1)
    table = ranges.load(TABLE)
    problem = experiment.problem
    bounds = dict(zip(problem["names"], problem["bounds"], strict=True))
    assert set(bounds) == set(table.ranged) - STRESS_KEYS
    for key, (low, high) in bounds.items():
        assert (low, high) == (table.ranged[key].low, table.ranged[key].high), key
    assert experiment.spec.design.kind == ("lhs" if "discovery" in name else "morris")
    assert set(experiment.scenarios) == {
        "../scenarios/chaoyangli.toml",
        "../scenarios/chaoyangli-stress.toml",
    }
    policies = {point.values["policy"] for point in experiment.points}
    assert {"nearest", "broadcast"} <= policies
