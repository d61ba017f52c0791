"""Tests for ``volsim report``: files, self-containment, both languages, numbers, escaping, errors.

One tiny experiment (a shrunken community, 3 policies x 2 active shares, 2 seeds, 4 days) is run
once per session (the first xdist worker builds it, the others wait) and reported in Chinese and in
English, each into its own copy of the folder.
Its manifest carries ``<script>`` in the experiment name and description, as a user might type.
A second small experiment of two years (two policies, 2 seeds) checks the yearly figure and the
final-year sentence against ``yearly.parquet``.
"""

from __future__ import annotations

import base64
import html as html_module
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.errors import InputError, OutputError
from sim.experiment.design import DEFAULT_SERIES, load_experiment
from sim.experiment.runner import RunOptions, run_experiment
from sim.report import data, figures, fonts, labels, summary_text, write_report
from sim.report.data import HEADLINE
from sim.scenario import POLICY_NAMES

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chaoyangli.toml"
REPORT_SOURCES = sorted((ROOT / "sim" / "report").glob("*.py"))
HOSTILE = '<script>alert("x")</script>'
BASELINE = "nearest"
POLICIES = ["nearest", "broadcast", "pairing+broadcast"]
EXPERIMENT = f"""
[experiment]
name = "report-test"
description = "tiny"
scenario = "{SCENARIO.as_posix()}"
days = 4
seeds = 2
baseline_policy = "{BASELINE}"

[overrides]
"population.residents" = 500
"population.households" = 240
"community.buildings" = 10
"community.stairwells" = 40
"community.grids" = 3
"community.service_points" = 24
"community.width_m" = 200.0
"community.height_m" = 200.0
"demand.type_shares.urgent" = 1.0  # about half the orders urgent: the headline has data

[variables]
policy = {json.dumps(POLICIES)}
"volunteers.active_share_of_registered" = [0.25, 0.4]
"""
YEARLY_POLICIES = ["nearest", "pairing+nearest"]
YEARLY_EXPERIMENT = f"""
[experiment]
name = "yearly-test"
description = "two years"
scenario = "{SCENARIO.as_posix()}"
days = 730
seeds = 2
baseline_policy = "nearest"

[overrides]
"population.residents" = 600
"population.households" = 280
"community.stairwells" = 40
"community.buildings" = 10
"community.grids" = 3
"community.service_points" = 20

[variables]
policy = {json.dumps(YEARLY_POLICIES)}
"""
YEARLY_STEM = "fig-8-yearly"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


@dataclass(frozen=True)
class Report:
    """A results folder and the report written from it."""

    folder: Path
    index: Path
    html: str
    warnings: list[str]


def run_tiny_experiment(root: Path) -> Path:
    """Run the tiny experiment into ``root/results`` and put ``<script>`` in its manifest."""
    path = root / "experiment.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    folder = root / "results"
    run_experiment(load_experiment(path), folder, RunOptions(workers=1))
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["experiment"] = f"report-test {HOSTILE}"
    manifest["resolved"]["experiment"]["experiment"]["description"] = f"tiny {HOSTILE}"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def write_checked(folder: Path, lang: str, **options) -> Report:
    """Write a report, recording every warning raised while writing it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = write_report(folder, lang=lang, **options)
    messages = [str(w.message) for w in caught]
    return Report(folder, index, index.read_text(encoding="utf-8"), messages)


def no_font() -> None:
    """Skip a Chinese test without a Chinese font; under CI=true (which installs one), fail."""
    message = "no Chinese font: apt-get install fonts-noto-cjk"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def once(step: Path, build: Callable[[Path], object], timeout_s: float = 600.0) -> Path:
    """Run ``build(step)`` in the first process to get here; the others wait for it.

    xdist workers share the session's temporary folder, so the experiment and each language's
    report are made once per test session, and the two reports can be made side by side.
    """
    try:
        step.mkdir(parents=True)
    except FileExistsError:
        deadline = time.monotonic() + timeout_s
        while not (step / "DONE").exists():
            if (step / "FAILED").exists():
                pytest.fail(
                    f"{step.name} failed in another worker: {(step / 'FAILED').read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for another worker to make {step.name}")
            time.sleep(0.2)
        return step
    try:
        build(step)
    except BaseException as error:
        (step / "FAILED").write_text(repr(error), encoding="utf-8")
        raise
    (step / "DONE").touch()
    return step


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    return base / "report-fixture"


@pytest.fixture(scope="session")
def results_folder(shared_root) -> Path:
    """The tiny experiment's results folder (tests only read it: reports go to copies)."""
    return once(shared_root / "experiment", run_tiny_experiment) / "results"


def report_for(results_folder: Path, lang: str) -> Report:
    """The report of the tiny experiment in ``lang``, made once per session."""
    if lang == "zh" and fonts.chinese_font() is None:
        no_font()

    def build(step: Path) -> None:
        shutil.copytree(results_folder, step / "results")
        report = write_checked(step / "results", lang)
        (step / "warnings.json").write_text(json.dumps(report.warnings), encoding="utf-8")

    step = once(results_folder.parents[1] / f"report-{lang}", build)
    index = step / "results" / "report" / "index.html"
    found = json.loads((step / "warnings.json").read_text(encoding="utf-8"))
    return Report(step / "results", index, index.read_text(encoding="utf-8"), found)


@pytest.fixture(scope="session")
def report_zh(results_folder) -> Report:
    return report_for(results_folder, "zh")


@pytest.fixture(scope="session")
def report_en(results_folder) -> Report:
    return report_for(results_folder, "en")


@pytest.fixture(params=["zh", "en"])
def report(request) -> Report:
    return request.getfixturevalue(f"report_{request.param}")


def summary_items(html: str) -> dict[str | None, list[str]]:
    """The summary's sentences by the policy they are about (None: general)."""
    found: dict[str | None, list[str]] = {}
    block = re.search(r'<ul class="summary">(.*?)</ul>', html, re.S).group(1)
    for policy, text in re.findall(r'<li(?: data-policy="([^"]*)")?>(.*?)</li>', block, re.S):
        found.setdefault(policy or None, []).append(text)
    return found


def shown(value: float, digits: int = 1) -> str:
    """A number as the report writes it, computed here independently of the labels module."""
    text = f"{value:,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


# --- files and self-containment ---------------------------------------------------------------


def drawn_figures(html: str) -> set[str]:
    """The stems of the figures drawn on a page (a figure that does not apply has a note)."""
    return set(re.findall(r'<a href="(fig-[^"]+)\.png">PNG</a>', html))


def test_report_files_exist(report):
    folder = report.index.parent
    assert report.index == report.folder / "report" / "index.html"
    stems = drawn_figures(report.html)
    expected = {
        "fig-1-comparison",
        "fig-2-distribution",
        "fig-3-map",
        "fig-4-series",
        "fig-5-workload",
        "fig-6-sweep-volunteers-active-share-of-registered",
    }
    assert expected <= stems
    for stem in stems:
        png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), stem
        assert "<svg" in svg.read_text(encoding="utf-8")[:2000], stem


def test_report_is_self_contained(report):
    html = report.html
    assert not re.search(r"https?://", html)
    # the one url() allowed is the embedded font's data URI (see fonts.embed_page_font)
    assert not re.search(
        r"<script|<link|<iframe|<object|<embed|@import|url\((?!data:font/)", html, re.I
    )
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 6
    for source in images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG")
    # the only other references are the figure files beside the page and anchors on it
    for target in re.findall(r'href="([^"]+)"', html):
        assert target.startswith("#") or (report.index.parent / target).exists(), target


def test_no_missing_glyphs_and_no_warnings(report):
    glyphs = [m for m in report.warnings if "Glyph" in m or "missing from" in m]
    assert glyphs == []
    assert report.warnings == []


# --- languages --------------------------------------------------------------------------------


def test_zh_page_has_chinese_labels(report_zh):
    html = report_zh.html
    assert '<html lang="zh-CN">' in html
    for key in ("section.summary", "section.comparison", "section.map", "table.policy"):
        assert labels.t("zh", key) in html
    for policy in POLICIES:
        assert labels.policy_name("zh", policy) in html
    assert "花甲助耄耋结对 + 志愿和平App广播" in html
    assert labels.t("en", "section.summary") not in html


def test_en_page_has_no_chinese(report_en):
    html = report_en.html
    zh_only = {v for v in labels.LABELS["zh"].values() if CJK.search(v)}
    assert [v for v in zh_only if v in html] == []
    assert CJK.findall(html) == []
    assert labels.t("en", "section.summary") in html


def test_both_languages_have_the_same_keys_and_fields():
    zh, en = labels.LABELS["zh"], labels.LABELS["en"]
    assert set(zh) == set(en)
    for key in zh:
        fields = set(re.findall(r"{(\w+)}", zh[key]))
        assert fields == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_key_used_in_the_code_has_both_labels():
    used = set()
    quoted = r"\"((?:legend|axis|caption|figure|note|section)\.[a-z_A-Z0-9]+)\""
    for path in REPORT_SOURCES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*lang,\s*\"([a-z_]+\.[A-Za-z0-9_.]+)\"", text))
        if path.name != "fonts.py":  # matplotlib settings such as "legend.fontsize"
            used |= set(re.findall(quoted, text))
    assert len(used) > 40
    for lang in labels.LANGS:
        assert used - set(labels.LABELS[lang]) == set(), lang
    dynamic = [f"policy.{p}" for p in POLICY_NAMES] + [f"series.{s}" for s in DEFAULT_SERIES]
    dynamic += [f"metric.{m}" for m in labels.FORMATS] + ["index.ST", "index.mu_star"]
    for lang in labels.LANGS:
        assert [k for k in dynamic if k not in labels.LABELS[lang]] == [], lang


def test_policy_chains_are_joined():
    assert labels.policy_name("zh", "pairing+broadcast") == "花甲助耄耋结对 + 志愿和平App广播"
    assert labels.policy_name("zh", "station") == "站点服务"
    assert labels.policy_name("en", "grid+random") == "Grid dispatch + Random dispatch"


# --- the summary in words ---------------------------------------------------------------------


def test_summary_numbers_match_the_tables(report):
    folder, lang = report.folder, "zh" if 'lang="zh-CN"' in report.html else "en"
    differences = pd.read_parquet(folder / "differences.parquet")
    summary = pd.read_parquet(folder / "summary.parquet")
    share = "volunteers.active_share_of_registered"
    reference = 0.25  # the scenario's own active share, one of the levels run
    differences = differences[(differences[share] - reference).abs() < 1e-9]
    summary = summary[(summary[share] - reference).abs() < 1e-9]
    metric = HEADLINE

    def mean(policy: str, name: str) -> float:
        rows = summary[(summary["policy"] == policy) & (summary["metric"] == name)]
        return float(rows["mean"].iloc[0])

    items = summary_items(report.html)
    for policy in POLICIES[1:]:
        row = differences[(differences["policy"] == policy) & (differences["metric"] == metric)]
        row = row.iloc[0]
        (sentence,) = items[policy]
        for value in (mean(BASELINE, metric), mean(policy, metric)):
            assert shown(value) in sentence
        for column in ("mean_difference", "ci_low", "ci_high"):
            assert shown(float(row[column])) in sentence, column
        unmet = mean(policy, "unmet") / mean(policy, "requests") * 100
        assert f"{shown(unmet)}%" in sentence
        p = float(row["p_holm"])
        assert ("< 0.001" if p < 0.001 else f"= {p:.3f}") in sentence
        negative = {"zh": "不显著", "en": "not significant"}[lang]
        assert (negative in sentence) != bool(row["significant"])
        if lang == "en" and shown(mean(BASELINE, metric)) != shown(mean(policy, metric)):
            verb = "cut" if row["mean_difference"] < 0 else "raised"
            assert verb in sentence


def test_a_significant_and_a_non_significant_difference_are_told_apart(results_folder):
    results = data.load(results_folder)
    metric = "response_time_p90_min"
    for significant, p in ((True, 0.0004), (False, 0.31)):
        table = results.differences.copy()
        chosen = (table["policy"] == "broadcast") & (table["metric"] == metric)
        table.loc[chosen, ["significant", "p_holm"]] = [significant, p]
        changed = replace(results, differences=table)
        text = summary_text.policy_sentence(changed, "en", "broadcast", metric).text
        if significant:
            assert "significant after Holm correction, p < 0.001" in text
            assert "not significant" not in text
        else:
            assert "not significant after Holm correction, p = 0.310" in text
        zh = summary_text.policy_sentence(changed, "zh", "broadcast", metric).text
        assert ("不显著" in zh) != significant


def test_another_baseline_recomputes_the_differences(results_folder):
    results = data.load(results_folder, baseline="broadcast")
    assert results.baseline == "broadcast"
    assert set(results.differences["policy"]) == {"nearest", "pairing+broadcast"}
    sentences = summary_text.sentences(results, "en")
    assert any(s.policy == "nearest" for s in sentences)
    assert "App broadcast" in sentences[0].text


def test_user_text_is_escaped(report):
    assert "<script" not in report.html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in report.html


# --- bad input --------------------------------------------------------------------------------


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as error:
        write_report(tmp_path / "nowhere", lang="en")
    assert error.value.source == str(tmp_path / "nowhere")


def test_a_folder_without_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as error:
        write_report(tmp_path, lang="en")
    assert (error.value.source, error.value.key) == (str(tmp_path), "manifest.json")


TAMPERED = {
    "sessions": (lambda m: m.__setitem__("sessions", [1, 2]), "sessions"),
    "days": (lambda m: m["resolved"].__setitem__("days", "x"), "resolved.days"),
    "no metrics": (
        lambda m: m["resolved"]["experiment"]["experiment"].__setitem__("metrics", []),
        "resolved.experiment.experiment.metrics",
    ),
    "metrics as text": (
        lambda m: m["resolved"]["experiment"]["experiment"].__setitem__("metrics", "abc"),
        "resolved.experiment.experiment.metrics",
    ),
    "variables as a list": (
        lambda m: m["resolved"]["experiment"].__setitem__("variables", ["policy"]),
        "resolved.experiment.variables",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_a_hand_edited_manifest_is_one_line_naming_the_key(results_folder, tmp_path, case):
    """Fuzzing found these gave tracebacks deep in the report (AttributeError,
    ZeroDivisionError, ValueError)."""
    edit, key = TAMPERED[case]
    copy = tmp_path / "results"
    shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report"))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError) as error:
        write_report(copy, lang="en")
    assert (error.value.source, error.value.key) == (str(copy / "manifest.json"), key)
    assert not (copy / "report").exists()


@pytest.mark.parametrize("table", ["runs", "series", "summary", "differences"])
def test_a_missing_table_is_an_input_error(results_folder, tmp_path, table):
    copy = tmp_path / "results"
    shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report", "runs"))
    (copy / f"{table}.parquet").unlink()
    with pytest.raises(InputError) as error:
        write_report(copy, lang="en")
    assert error.value.source == str(copy / f"{table}.parquet")
    assert not (copy / "report" / "index.html").exists()


def test_an_unknown_language_is_an_input_error(results_folder):
    with pytest.raises(InputError) as error:
        write_report(results_folder, lang="fr")
    assert error.value.source == "--lang"
    assert "zh" in str(error.value) and "en" in str(error.value)


def test_a_baseline_outside_the_experiment_is_an_input_error(results_folder):
    with pytest.raises(InputError) as error:
        write_report(results_folder, lang="en", baseline="station")
    assert error.value.source == "--baseline"
    assert "station" in error.value.message and "nearest" in error.value.message


def test_no_chinese_font_is_one_clear_line(results_folder, monkeypatch):
    monkeypatch.setattr(fonts, "chinese_font", lambda: None)
    with pytest.raises(InputError) as error:
        write_report(results_folder, lang="zh")
    message = str(error.value)
    assert "\n" not in message
    assert "fonts-noto-cjk" in message
    assert error.value.source == "--lang"
    assert fonts.rc_params("en")["font.sans-serif"] == [fonts.LATIN_FAMILY]


def test_the_chinese_font_is_a_redistributable_one():
    family = fonts.chinese_font()
    if family is None:
        no_font()
    assert family in fonts.CHINESE_FAMILIES
    assert "SimHei" not in fonts.CHINESE_FAMILIES
    assert fonts.rc_params("zh")["font.sans-serif"][0] == family


# --- the yearly figure and the final-year sentence ---------------------------------------------


def run_yearly_experiment(root: Path) -> Path:
    path = root / "experiment.toml"
    path.write_text(YEARLY_EXPERIMENT, encoding="utf-8")
    run_experiment(load_experiment(path), root / "results", RunOptions(workers=1))
    return root / "results"


@pytest.fixture(scope="session")
def yearly_folder(shared_root) -> Path:
    """The two-year experiment's results folder (tests only read it: reports go to copies)."""
    return once(shared_root / "yearly-experiment", run_yearly_experiment) / "results"


def yearly_report_for(yearly_folder: Path, lang: str) -> Report:
    if lang == "zh" and fonts.chinese_font() is None:
        no_font()

    def build(step: Path) -> None:
        shutil.copytree(yearly_folder, step / "results")
        report = write_checked(step / "results", lang)
        (step / "warnings.json").write_text(json.dumps(report.warnings), encoding="utf-8")

    step = once(yearly_folder.parents[1] / f"yearly-report-{lang}", build)
    index = step / "results" / "report" / "index.html"
    found = json.loads((step / "warnings.json").read_text(encoding="utf-8"))
    return Report(step / "results", index, index.read_text(encoding="utf-8"), found)


@pytest.fixture(params=["zh", "en"])
def yearly_report(request, yearly_folder) -> tuple[str, Report]:
    return request.param, yearly_report_for(yearly_folder, request.param)


def test_yearly_figure_is_drawn_in_both_languages(yearly_report):
    lang, report = yearly_report
    folder = report.index.parent
    assert YEARLY_STEM in drawn_figures(report.html)
    assert (folder / f"{YEARLY_STEM}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in (folder / f"{YEARLY_STEM}.svg").read_text(encoding="utf-8")[:2000]
    section = re.search(rf'<section id="{YEARLY_STEM}">(.*?)</section>', report.html, re.S)
    for key in ("section.yearly", "caption.yearly"):
        assert html_module.escape(labels.t(lang, key)) in section.group(1), key
    other = "en" if lang == "zh" else "zh"
    assert labels.t(other, "section.yearly") not in report.html
    glyphs = [m for m in report.warnings if "Glyph" in m or "missing from" in m]
    assert glyphs == []
    assert report.warnings == []


def test_yearly_panels_have_labels_in_both_languages():
    for lang in labels.LANGS:
        missing = [n for n in figures.YEARLY if f"yearly.{n}" not in labels.LABELS[lang]]
        assert missing == [], lang


def test_final_year_sentence_matches_yearly_parquet(yearly_report):
    lang, report = yearly_report
    yearly = pd.read_parquet(report.folder / "yearly.parquet")
    runs = pd.read_parquet(report.folder / "runs.parquet")
    point = int(runs.loc[runs["policy"] == "pairing+nearest", "point"].iloc[0])
    paired = yearly[yearly["point"] == point]
    first, last = int(yearly["year"].min()), int(yearly["year"].max())
    assert last > first
    final = paired.loc[paired["year"] == last, "paired_elders_share"].to_numpy(dtype=float)
    start = paired.loc[paired["year"] == first, "paired_elders_share"].mean()
    n = len(final)
    assert n == 2
    half = stats.t.ppf(0.975, n - 1) * final.std(ddof=1) / np.sqrt(n)
    low, high = np.clip([final.mean() - half, final.mean() + half], 0.0, 1.0)
    name = labels.policy_name(lang, "pairing+nearest")
    general = summary_items(report.html)[None]
    found = [s for s in general if str(first) in s and str(last) in s and name in s]
    assert len(found) == 1, general
    (sentence,) = found
    assert sentence.index(str(last)) < sentence.index(str(first))
    assert f"{shown(final.mean() * 100)}%" in sentence
    assert f"{shown(start * 100)}%" in sentence
    assert f"{shown(low * 100)}" in sentence and f"{shown(high * 100)}" in sentence
    # the baseline does not pair: it has no share, and no clause
    assert yearly.loc[yearly["point"] != point, "paired_elders_share"].isna().all()
    assert sentence.count("95%") == 1  # one clause: one pairing policy


def test_no_pairing_policy_means_no_final_year_sentence(yearly_folder):
    results = data.load(yearly_folder)
    assert summary_text.yearly_sentence(results, "en") is not None
    only_nearest = replace(results, policies=["nearest"])
    assert summary_text.yearly_sentence(only_nearest, "en") is None


def test_one_year_of_data_omits_the_yearly_figure(yearly_folder):
    results = data.load(yearly_folder)
    one_year = results.yearly[results.yearly["year"] == results.yearly["year"].min()]
    for lang in labels.LANGS:
        plot = figures.yearly_series(replace(results, yearly=one_year), lang)
        assert plot.figure is None and plot.note == labels.t(lang, "note.no_yearly")
    assert summary_text.yearly_sentence(replace(results, yearly=one_year), "en") is None


def test_short_runs_have_a_note_instead_of_the_yearly_figure(report):
    lang = "zh" if 'lang="zh-CN"' in report.html else "en"
    assert not (report.folder / "yearly.parquet").exists()
    assert YEARLY_STEM not in drawn_figures(report.html)
    assert not (report.index.parent / f"{YEARLY_STEM}.png").exists()
    section = re.search(rf'<section id="{YEARLY_STEM}">(.*?)</section>', report.html, re.S)
    assert html_module.escape(labels.t(lang, "note.no_yearly")) in section.group(1)


# --- design points whose runs failed ------------------------------------------------------------


def test_points_whose_runs_all_failed_are_counted_and_named(results_folder, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report", "runs"))
    runs = pd.read_parquet(copy / "runs.parquet")
    points, seeds = runs["point"].nunique(), runs["seed"].nunique()
    last = runs["point"].max()  # not a baseline point: the baseline, nearest, is listed first
    runs.loc[runs["point"] == last, "status"] = "failed"
    runs.to_parquet(copy / "runs.parquet", index=False)
    results = data.load(copy)
    assert (results.points, results.failed, results.failed_points) == (points, seeds, 1)
    sentences = [s.text for s in summary_text.sentences(results, "en")]
    assert (
        f"{points * seeds} simulation runs ({points} design points × {seeds} seeds"
        in (sentences[0])
    )
    assert f"{seeds} runs did not finish (in 1 design points)" in sentences[-1]


def test_a_baseline_that_did_not_run_is_refused_in_an_old_folder(results_folder, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report", "runs"))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["resolved"]["experiment"]["experiment"]["baseline_policy"] = "grid"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError) as error:
        data.load(copy)
    assert error.value.key == "experiment.baseline_policy"
    assert "--baseline" in error.value.message


# --- writing the report: checked first, all files or none ----------------------------------------


def report_copy(results_folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "results"
    shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report", "runs"))
    return copy


def test_a_failure_while_writing_keeps_the_previous_report(results_folder, tmp_path, monkeypatch):
    copy = report_copy(results_folder, tmp_path)
    write_report(copy, lang="en")
    folder = copy / "report"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    import sim.report as report_module

    real, calls = report_module._bytes_writer, {"n": 0}

    def failing(content: bytes):
        def write(tmp: str) -> None:
            calls["n"] += 1
            if calls["n"] == 5:
                Path(tmp).write_bytes(content[:100])  # half a figure, then the disk is full
                raise OSError(28, "No space left on device")
            real(content)(tmp)

        return write

    monkeypatch.setattr(report_module, "_bytes_writer", failing)
    with pytest.raises(OutputError) as error:
        write_report(copy, lang="en", baseline="broadcast")
    assert "No space left on device" in str(error.value)
    assert "\n" not in str(error.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_an_unwritable_report_folder_is_refused_before_drawing(
    results_folder, tmp_path, monkeypatch
):
    copy = report_copy(results_folder, tmp_path)
    (copy / "report").write_text("a file where the report folder goes\n", encoding="utf-8")
    import sim.report as report_module

    def no_drawing(*args):
        raise AssertionError("figures drawn before the folder was checked")

    monkeypatch.setattr(report_module, "plots_for", no_drawing)
    with pytest.raises(InputError) as error:
        write_report(copy, lang="en")
    assert "is a file" in str(error.value)


def test_report_command_on_a_full_disk_is_one_line_and_leaves_no_file(results_folder, tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    used = sum(p.stat().st_size for p in results_folder.rglob("*") if p.is_file())
    size = f"{used // 1024 + 96}k"  # the results fit; the figures do not
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        copy = disk / "results"
        shutil.copytree(results_folder, copy, ignore=shutil.ignore_patterns("report", "runs"))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "sim", "report", str(copy), "--lang", "en"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        report_left = (copy / "report").exists()
    finally:
        subprocess.run(["umount", str(disk)], check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "No space left on device" in result.stderr
    assert not report_left, "a report cut short left its folder"


def test_the_sustainability_finding_follows_the_threshold(yearly_folder):
    """The pairing-ratio sentence names the first year the mean falls below the threshold, and
    says so when it never does; the default threshold is what the pairing rule implies."""
    results = data.load(yearly_folder)
    assert results.threshold == pytest.approx(1 / 3)  # three elders per helper at most
    yearly = results.yearly
    ratio = yearly[yearly["policy"] == "pairing+nearest"].groupby("year")[
        "helpers_60_69_per_eligible_elder"
    ]
    means = ratio.mean()
    never = summary_text.threshold_sentence(replace(results, threshold=means.min() / 2), "en")
    assert f"never below it through {int(means.index.max())}" in never.text
    crossing = means.iloc[-1] + 1e-9  # the last year is below this, the earlier years not all
    first_below = int(means.index[means < crossing][0])
    found = summary_text.threshold_sentence(replace(results, threshold=crossing), "en")
    assert f"below it from {first_below}" in found.text
    assert summary_text.threshold_sentence(replace(results, threshold=None), "en") is None
