"""What holds across the assumptions: the rule for "holds" (with the seeds' noise), the sentence
that states a planted PRIM box as a condition, a summary that states no non-robust comparison as
a finding, the report section in zh and en for a tiny Morris design (two assumptions, four days),
``--robustness`` on an ordinary report, and the Sobol follow-up's top-k by Morris mu*."""

from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import discover
from sim.cli import main
from sim.experiment.design import load_experiment
from sim.experiment.runner import RunOptions, run_experiment
from sim.report import fonts, write_report
from sim.report import robustness as R
from sim.report.data import Results

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
DELAY = "channels.app.answer_delay_mean_min"
OTHER = "acceptance.off_duty_multiplier"
P90 = "urgent_response_time_p90_min"
TINY = f"""
[experiment]
name = "holds-test"
description = "a tiny robustness design"
scenario = "{SCENARIO.as_posix()}"
days = 4
seeds = 2
baseline_policy = "nearest"
metrics = ["{P90}", "urgent_within_window_share", "urgent_unmet_share", "requests", "unmet"]

[overrides]
"population.residents" = 500
"population.households" = 240
"community.buildings" = 10
"community.stairwells" = 40
"community.grids" = 3
"community.service_points" = 24
"community.width_m" = 200.0
"community.height_m" = 200.0
"demand.type_shares.urgent" = 1.0

[design]
kind = "morris"
samples = 2
levels = 6
sample_seed = 0

[variables]
policy = ["nearest", "broadcast"]
"{DELAY}" = {{ min = 1.0, max = 10.0 }}
"acceptance.base_probability" = {{ min = 0.17, max = 0.47 }}
"""
SECTION = {
    "zh": "哪些结论站得住，哪些取决于假设",
    "en": "What holds, and what depends on assumptions",
}


def _row(**values) -> dict:
    """A discovery row: A beats B at 94% of the points, no box, unless told otherwise."""
    row = {
        "scenario": "../scenarios/chaoyangli.toml",
        "metric": P90,
        "a": "broadcast",
        "b": "nearest",
        "points": 100,
        "blocks": 100,
        "share_a_better": 0.94,
        "share_b_better": 0.06,
        "share_a_clearly_better": 0.8,
        "share_b_clearly_better": 0.0,
        "holds": "",
        "box_holds": "",
        "conditions": "",
        "limits": "[]",
        "coverage": np.nan,
        "density": np.nan,
        "density_held_out": np.nan,
        "confirmed": False,
    }
    return row | values


def _robustness(rows: list[dict]) -> R.Robustness:
    return R.Robustness("synthetic", Path("."), "morris", pd.DataFrame(rows), None, {})


# --- the rule --------------------------------------------------------------------------------


def test_holds_needs_ninety_percent_and_no_losses_beyond_the_noise() -> None:
    assert discover.verdict(0.94, 0.06, 0.80, 0.00) == "a"
    assert discover.verdict(0.94, 0.06, 0.80, 0.06) == ""  # B clearly better at 6%: noise rule
    assert discover.verdict(0.85, 0.15, 0.80, 0.00) == ""  # not at 90% of the points
    assert discover.verdict(0.02, 0.97, 0.01, 0.90) == "b"
    assert discover.verdict(0.0, 0.0, 0.0, 0.0) == "equal"  # equal everywhere: no winner
    assert discover.verdict(0.55, 0.45, 0.04, 0.03) == "equal"  # apart at 7% only: the noise
    assert discover.verdict(0.55, 0.45, 0.06, 0.03) == ""  # A clearly better at 6%: not noise


def test_seed_noise_is_pooled_over_the_points() -> None:
    """Points whose gain is within two pooled standard errors are not clearly better."""
    rng = np.random.default_rng(5)
    rows = []
    for point, gain in enumerate([0.05] * 50 + [5.0] * 50):
        for seed in range(2):
            rows.append({"x": float(point), "seed": seed, "gain": gain + rng.normal(0, 1)})
    points = discover.point_gains(pd.DataFrame(rows), ["x"])
    assert 0.5 < points["se"].iloc[0] < 1.0  # sd about 1, two seeds: se about 0.7
    clear = points["gain"] > discover.NOISE_SE * points["se"]
    assert clear[50:].mean() > 0.9 and clear[:50].mean() < 0.15


# --- the sentences ---------------------------------------------------------------------------


def _planted(n_points: int = 300) -> pd.DataFrame:
    """Runs where broadcast's urgent p90 beats nearest's unless the app answers in more than
    6 minutes (another assumption does nothing), two seeds each."""
    rng = np.random.default_rng(8)
    rows = []
    for delay, other in rng.uniform([1, 0.1], [10, 0.6], size=(n_points, 2)):
        for seed in (1, 2):
            noise = rng.normal(0, 0.2, 2)
            p90 = {"nearest": 20.0, "broadcast": 12.0 if delay <= 6 else 28.0}
            for i, policy in enumerate(p90):
                rows.append(
                    {"status": "done", "seed": seed, "policy": policy, DELAY: delay, OTHER: other}
                    | {P90: p90[policy] + noise[i]}
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_sentence_states_the_condition_of_a_planted_box(lang) -> None:
    rows = discover.compare(_planted(), [DELAY, OTHER], ["policy"])
    (row,) = [r for r in rows if r["metric"] == P90]
    assert row["holds"] == ""  # broadcast loses in a third of the space
    text = R.comparison_sentence(lang, row, "")
    share = R.percent(row["share_a_better"])  # rounded down
    assert 50 <= int(share[:-1]) <= 60 and share in text
    if lang == "en":
        match = re.search(
            r"loses where the volunteers' mean time to answer an app alert is "
            r"above ([\d.]+) min",
            text,
        )
    else:
        match = re.search(r"当志愿者应答App推送的平均时间高于([\d.]+)分钟时不如中心派单", text)
    assert match, text
    assert 5.5 <= float(match.group(1)) <= 6.5
    assert "off duty" not in text and "非值班" not in text


def test_a_comparison_that_holds_is_a_finding_and_one_that_does_not_is_a_condition() -> None:
    box = json.dumps([[DELAY, 6.0, None]])
    rows = [
        _row(holds="a", conditions="everywhere sampled"),  # broadcast vs nearest: holds
        _row(
            a="grid",
            b="nearest",
            share_a_better=0.8,
            share_b_better=0.2,
            limits=box,
            confirmed=True,
        ),
        _row(a="broadcast", b="grid", share_a_better=0.95, share_b_clearly_better=0.1),
    ]
    found = R.findings(_robustness(rows), "en", "nearest")
    finding = [s for s in found if "across the plausible space," in s]
    assert len(finding) == 1
    assert "App broadcast beats Centre dispatch (94% of the points)" in finding[0]
    assert "Grid dispatch" not in finding[0]  # 80%: not a finding
    assert "App broadcast beats Grid dispatch" not in finding[0]  # 95% but losses beyond noise
    conditional = [s for s in found if s.startswith("In an ordinary year, Grid dispatch beats")]
    assert len(conditional) == 1
    assert "in 80% of the plausible space; it loses where" in conditional[0]
    assert "answer an app alert is above 6 min" in conditional[0]


# --- the report ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("holds")
    (root / "tiny.toml").write_text(TINY, encoding="utf-8")
    folder = root / "results"
    run_experiment(load_experiment(root / "tiny.toml"), folder, RunOptions(workers=1))
    return folder


def _summary(page: str) -> list[str]:
    start = page.index('<section id="summary">')
    part = page[start : page.index("</section>", start)]
    return [html.unescape(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", part)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_section_appears_in_both_languages_and_discovery_runs_itself(tiny, lang) -> None:
    if lang == "zh" and fonts.chinese_font() is None:
        pytest.skip("no Chinese font: apt-get install fonts-noto-cjk")
    page = write_report(tiny, lang=lang).read_text(encoding="utf-8")
    assert (tiny / "discovery.csv").is_file()  # run by the report, as `volsim discover` would
    assert f"<h2>{html.escape(SECTION[lang])}</h2>" in page
    start = page.index('<section id="holds">')
    section = html.unescape(page[start : page.index("</section>", start)])
    metric = {"zh": "紧急需求第90百分位响应时间", "en": "90th-percentile urgent response time"}
    assert metric[lang] in section and section.count("<table>") >= 3
    clustered = {"zh": "个相互独立的块", "en": "independent blocks"}[lang]
    assert clustered in section  # a Morris design's points are trajectories: said so
    ranking = {"zh": "哪些假设最重要", "en": "Which assumptions matter most"}[lang]
    assert ranking in section and "μ*" in section
    summary = _summary(page)
    rule = {"zh": "只有在整个合理假设空间内都站得住", "en": "Only comparisons that hold"}[lang]
    assert any(rule in s for s in summary)
    if lang == "en":
        assert not re.search(r"[\u3400-\u9fff]", section)
    findings = [
        s for s in summary if ("站得住的是" if lang == "zh" else "across the plausible") in s
    ]
    table = pd.read_csv(tiny / "discovery.csv").fillna({"holds": ""})
    for row in table.to_dict("records"):
        winner, other, _ = R.oriented(row)
        pair = R.L.t(
            lang,
            "sentence.holds_pair",
            a=R.L.policy_name(lang, winner),
            b=R.L.policy_name(lang, other),
            share=R.percent(max(row["share_a_better"], row["share_b_better"])),
        )
        metric_findings = [
            s
            for s in findings
            if R._metric(lang, row["metric"]) in s.lower() or R._metric(lang, row["metric"]) in s
        ]
        assert any(pair in s for s in metric_findings) == bool(R.holds_winner(row)), pair


def test_an_ordinary_report_says_its_comparisons_are_at_assumed_values(tiny, tmp_path, capsys):
    text = TINY.replace('name = "holds-test"', 'name = "ordinary"').split("[design]")[0]
    text += '[variables]\npolicy = ["nearest", "broadcast"]\n'
    (tmp_path / "ordinary.toml").write_text(text, encoding="utf-8")
    folder = tmp_path / "ordinary"
    run_experiment(load_experiment(tmp_path / "ordinary.toml"), folder, RunOptions(workers=1))
    page = write_report(folder, lang="en").read_text(encoding="utf-8")
    assert any("at the scenario's assumed values" in s for s in _summary(page))
    status = main(["report", str(folder), "--lang", "en", "--robustness", str(tiny)])
    assert status == 0
    summary = _summary((folder / "report" / "index.html").read_text(encoding="utf-8"))
    checked = [s for s in summary if s.startswith("Across the plausible ranges")]
    assert len(checked) == 3  # one per headline metric: broadcast against nearest
    assert all("App broadcast" in s and "Centre dispatch" in s for s in checked)
    capsys.readouterr()
    status = main(["report", str(folder), "--lang", "en", "--robustness", str(tmp_path)])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and "--robustness" in err


def test_with_robustness_every_scenario_of_a_report_is_checked(tiny, tmp_path) -> None:
    """An experiment over the ordinary year and the stress month: the stress month's part of the
    summary is checked against the robustness results too (it used to be the first only)."""
    stress = (ROOT / "scenarios" / "chaoyangli-stress.toml").as_posix()
    text = TINY.replace('name = "holds-test"', 'name = "two"').split("[design]")[0]
    scenarios = f'["{SCENARIO.as_posix()}", "{stress}"]'
    text += f'[variables]\npolicy = ["nearest", "broadcast"]\nscenario = {scenarios}\n'
    (tmp_path / "two.toml").write_text(text, encoding="utf-8")
    folder = tmp_path / "two"
    run_experiment(load_experiment(tmp_path / "two.toml"), folder, RunOptions(workers=1))
    page = write_report(folder, lang="en", robustness=tiny).read_text(encoding="utf-8")
    summary = _summary(page)
    stress_at = next(i for i, s in enumerate(summary) if s.startswith("In a winter month"))
    checked = [s for s in summary if s.startswith("Across the plausible ranges")]
    later = [s for s in summary[stress_at:] if s.startswith("Across the plausible ranges")]
    assert len(later) == 3 and len(checked) == 6  # three headline metrics in each scenario


# --- the Sobol follow-up -----------------------------------------------------------------------


def _morris_folder(path: Path) -> list[str]:
    """A finished Morris folder's manifest, runs and planted mu* (four parameters)."""
    keys = ["k.a", "k.b", "k.c", "k.d"]
    variables = {"policy": ["nearest", "broadcast"]}
    variables |= {k: {"min": 1.0, "max": 2.0 + i, "steps": None} for i, k in enumerate(keys)}
    experiment = {
        "name": "screen",
        "scenario": SCENARIO.as_posix(),
        "seeds": 2,
        "root_seed": 7,
        "baseline_policy": "nearest",
        "metrics": list(discover.HEADLINE_METRICS),
    }
    manifest = {
        "experiment": "screen",
        "resolved": {
            "experiment": {"experiment": experiment, "variables": variables, "overrides": {}}
        },
    }
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runs = pd.DataFrame(
        [
            {"run_id": p, "status": "done", "policy": p, "seed": 1, "wall_seconds": 2.0}
            | dict.fromkeys(keys, 1.5)
            | dict.fromkeys(discover.HEADLINE_METRICS, 1.0)
            for p in variables["policy"]
        ]
    )
    runs.to_parquet(path / "runs.parquet")
    manifest["runs"] = [{"run_id": p} for p in variables["policy"]]
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # k.c matters most on every metric, then k.a; k.d is large on one metric only; k.b is small
    planted = {
        "k.a": [5.0, 0.5, 0.05],
        "k.b": [1.0, 0.05, 0.01],
        "k.c": [9.0, 0.9, 0.09],
        "k.d": [0.5, 0.8, 0.0],
    }
    rows = [
        {
            "policy": p,
            "metric": m,
            "parameter": k,
            "mu_star": v[i] * (1 + (p == "broadcast")),
            "mu_star_conf": 0.1,
            "sigma": 0.1,
        }
        for p in variables["policy"]
        for i, m in enumerate(discover.HEADLINE_METRICS)
        for k, v in planted.items()
    ]
    pd.DataFrame(rows).to_parquet(path / discover.SENSITIVITY)
    return keys


def test_the_sobol_design_takes_the_top_k_by_mu_star(tmp_path) -> None:
    _morris_folder(tmp_path)
    ranking = discover.parameter_ranking(pd.read_parquet(tmp_path / discover.SENSITIVITY))
    assert ranking["parameter"].tolist() == ["k.c", "k.a", "k.d", "k.b"]
    out = tmp_path / "sobol.toml"
    assert main(["discover", str(tmp_path), "--sobol-design", str(out), "--top", "2"]) in (0, None)
    spec = tomllib.loads(out.read_text(encoding="utf-8"))
    assert spec["design"] == {
        "kind": "sobol",
        "samples": 32,
        "second_order": False,
        "sample_seed": 0,
    }
    assert list(spec["variables"]) == ["policy", "k.c", "k.a"]
    assert spec["variables"]["k.c"] == {"min": 1.0, "max": 4.0}
    assert spec["experiment"]["root_seed"] == 7 and spec["experiment"]["seeds"] == 2
    assert "32 × (2 + 2) = 128 sample rows × 2" in out.read_text(encoding="utf-8")


def _relative_scenario(folder: Path, experiment_file: str) -> None:
    """Make the Morris folder's experiment name its scenario relative to its experiment file."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["experiment_file"] = experiment_file
    manifest["resolved"]["experiment"]["experiment"]["scenario"] = "../scenarios/chaoyangli.toml"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_the_sobol_designs_scenario_is_rewritten_from_the_recorded_experiment_file(
    tmp_path, monkeypatch
) -> None:
    """Fuzzing found the design's scenario left relative to the experiment's folder when
    discover ran elsewhere: the design then named a file that does not exist."""
    results = tmp_path / "results"
    results.mkdir()
    _morris_folder(results)
    _relative_scenario(results, str(ROOT / "experiments" / "robustness.toml"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    out = tmp_path / "designs" / "sobol.toml"
    out.parent.mkdir()
    assert main(["discover", str(results), "--sobol-design", str(out), "--top", "1"]) in (0, None)
    scenario = tomllib.loads(out.read_text(encoding="utf-8"))["experiment"]["scenario"]
    assert (out.parent / scenario).resolve() == SCENARIO.resolve()


def test_a_relative_experiment_file_not_found_from_here_is_one_line(
    tmp_path, monkeypatch, capsys
) -> None:
    _morris_folder(tmp_path)
    _relative_scenario(tmp_path, "experiments/screen.toml")  # as written before it was absolute
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sobol.toml"
    status = main(["discover", str(tmp_path), "--sobol-design", str(out)])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1, err
    assert "manifest.json: experiment_file:" in err and "run discover from the folder" in err
    assert not out.exists()


def test_a_sobol_design_larger_than_an_experiment_may_plan_is_one_line(tmp_path, capsys) -> None:
    """Fuzzing found ``--seeds 100000`` with many samples wrote a design that volsim experiment
    then refused."""
    _morris_folder(tmp_path)
    out = tmp_path / "sobol.toml"
    argv = ["discover", str(tmp_path), "--sobol-design", str(out), "--samples", "65536"]
    status = main([*argv, "--seeds", "100000"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and "more than an experiment may plan" in err
    assert not out.exists()


def test_a_sobol_design_from_a_folder_without_indices_is_one_line(tmp_path, capsys) -> None:
    _morris_folder(tmp_path)
    (tmp_path / discover.SENSITIVITY).unlink()
    out = tmp_path / "sobol.toml"
    status = main(["discover", str(tmp_path), "--sobol-design", str(out)])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and "sensitivity.parquet" in err
    assert not out.exists()


def test_a_box_is_stated_only_if_it_held_on_held_out_points() -> None:
    box = json.dumps([[DELAY, 6.0, None]])
    values = {"share_a_better": 0.8, "share_b_better": 0.2, "limits": box, "density": 0.9}
    stated = R.comparison_sentence("en", _row(**values, confirmed=True), "")
    assert "it loses where the volunteers' mean time to answer an app alert is above 6" in stated
    unconfirmed = R.comparison_sentence("en", _row(**values, confirmed=False), "")
    assert "app alert" not in unconfirmed and "no few assumptions single out" in unconfirmed
    cells = re.findall(r"<td>(.*?)</td>", R._pair_table("en", [_row(**values, confirmed=False)]))
    assert "90%" not in cells  # an unconfirmed box's density is not shown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_two_policies_within_the_noise_are_said_to_be_so(lang) -> None:
    row = _row(share_a_better=0.55, share_b_better=0.45, holds="equal")
    row |= {"share_a_clearly_better": 0.03, "share_b_clearly_better": 0.01}
    text = R.comparison_sentence(lang, row, "")
    expected = {"en": "beyond the seeds' noise at 96% of the sampled points", "zh": "96%的样本点"}
    assert expected[lang] in text and "55%" not in text
    assert R.verdict_words(lang, row) == R.L.t(lang, "holds.verdict.within_noise")


def _days_results(reference: dict) -> Results:
    """A report's view of runs of an ordinary year (365 days) and a stress month (28 days)."""
    scenarios = {"a.toml": {"simulation": {"days": 365}}, "b.toml": {"simulation": {"days": 28}}}
    manifest = {"resolved": {"scenario": scenarios["a.toml"], "scenarios": scenarios}}
    empty = pd.DataFrame()
    return Results(
        Path("."), manifest, scenarios["a.toml"], "lhs", 365, [1], ["policy", "scenario"], [],
        empty, 0, 2, 0, empty, empty, empty, empty, None, "nearest", ["nearest"], ["scenario"],
        reference,
    )  # fmt: skip


def test_runs_pooled_over_scenarios_of_different_lengths_say_both_lengths() -> None:
    assert _days_results({}).days_text() == "28–365"  # was "365 days each" for the month too
    assert _days_results({"scenario": "b.toml"}).days_text() == "28"
    assert _days_results({"scenario": "b.toml"}).days_text(whole=True) == "28–365"
    assert _days_results({}).days_text("b.toml") == "28"
