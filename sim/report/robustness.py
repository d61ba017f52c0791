"""What holds across the assumptions: the report's section "What holds, and what depends on
assumptions" and the summary's findings, from a robustness design's discovery table
(:mod:`sim.discover`) and its Morris or Sobol indices.

A results folder is a *robustness design* when it samples ranged parameters (an LHS, Morris or
Sobol design) and runs two or more policies, or when it holds discovery results. Its report runs
discovery itself when ``discovery.parquet`` is missing or older than ``runs.parquet`` (and
writes it, as ``volsim discover`` would). The summary of such a report states as findings only
the comparisons that hold (:data:`sim.discover.HOLDS_SHARE` of the points or more, worse beyond
the seeds' noise at fewer than :data:`sim.discover.NOISE_SHARE`); every other comparison with
the baseline is stated with the condition under which it flips (the PRIM box).

The report of an ordinary experiment says that its comparisons are at the scenario's assumed
values; with ``--robustness DIR`` (a robustness results folder) it also says, for each
comparison with the baseline, whether it holds there and which assumptions flip it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from sim import discover
from sim.errors import InputError
from sim.report import labels as L
from sim.report.data import SAMPLED, Results
from sim.storage import check_writable, read_parquet, writing

#: the parameters a ranking table shows
TOP = 8
#: the parameters the summary names as mattering most
TOP_SUMMARY = 3


@dataclass(frozen=True)
class Robustness:
    """A robustness design's results as the report uses them."""

    name: str
    path: Path
    kind: str
    discovery: pd.DataFrame  # sim.discover's table ("holds" empty, not NaN, where none)
    sensitivity: pd.DataFrame | None  # Morris (mu_star, sigma) or Sobol (S1, ST) indices
    bounds: dict[str, tuple[float, float]]  # each sampled parameter's min and max

    @property
    def context(self) -> list[str]:
        """The discovery table's columns that name a scenario (the listed variables)."""
        return [c for c in self.discovery.columns if c not in discover.FIELDS]

    def groups(self) -> list[tuple[dict[str, Any], pd.DataFrame]]:
        """The discovery rows per scenario (setting of the listed variables), in order."""
        if not self.context:
            return [({}, self.discovery)]
        found = []
        for key, rows in self.discovery.groupby(self.context, sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            found.append((dict(zip(self.context, key, strict=True)), rows))
        return found


def _variables(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest.get("resolved", {}).get("experiment", {}).get("variables", {}) or {}


def is_design(results: Results) -> bool:
    """Whether a results folder is a robustness design (see the module docstring)."""
    if len(results.policies) < 2 or "policy" not in results.variables:
        return False
    if (results.path / "discovery.parquet").is_file():
        return True
    sampled = any(isinstance(v, dict) for v in _variables(results.manifest).values())
    return results.kind in SAMPLED and sampled


def _fresh(folder: Path) -> pd.DataFrame | None:
    """The folder's discovery table if it is newer than its runs and sound (else None: it is
    found again from the runs, as it is only derived from them)."""
    table_path, runs = folder / "discovery.parquet", folder / "runs.parquet"
    if not table_path.is_file():
        return None
    if runs.is_file() and runs.stat().st_mtime > table_path.stat().st_mtime:
        return None
    try:
        table = read_parquet(table_path)
    except InputError:
        return None
    return table if _sound(table) else None


#: the discovery table's number columns
_NUMBERS = ("points", "blocks", "coverage", "density", "density_held_out")


def _sound(table: pd.DataFrame) -> bool:
    """Whether a stored discovery table has every field, with values of the right kinds."""
    if not set(discover.FIELDS) <= set(table.columns):
        return False
    shares = [c for c in discover.FIELDS if c.startswith("share_")]
    if not all(pd.api.types.is_numeric_dtype(table[c]) for c in (*_NUMBERS, *shares)):
        return False
    if not set(table["holds"].fillna("").astype(str)) <= {"a", "b", "equal", ""}:
        return False
    if not pd.api.types.is_bool_dtype(table["confirmed"]):
        return False
    try:
        for text in table["limits"].fillna(""):
            limits = json.loads(text) if text else []
            if not all(isinstance(box, list) and len(box) == 3 for box in limits):
                return False
    except (TypeError, ValueError):
        return False
    return True


def load(folder: Path, write: bool = True, option: str | None = None) -> Robustness:
    """A robustness results folder's discovery table (run now if missing or stale, and written
    into the folder when ``write``) and sensitivity indices.

    Raises:
        InputError: if the folder is not a results folder of a design that samples ranges
            with policy as a variable (named after ``option``, e.g. ``--robustness``).
    """
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise InputError(option or str(folder), None, f"{folder}: not a results folder")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        table = _fresh(folder)
        if table is None:
            if write:  # a folder that cannot take the table: refused before discovery runs
                check_writable(folder, "DIR")
            table = discover.discover(folder)
            if write and not table.empty:
                with writing("the discovery table", folder):  # a full disk: exit 1
                    discover.write(folder, table)
    except InputError as error:
        if option is None:
            raise
        raise InputError(option, None, f"{folder}: {error.message}") from None
    except (OSError, ValueError) as error:
        raise InputError(option or str(folder), None, f"{folder}: {error}") from None
    table = table.copy()
    if "holds" in table:
        table["holds"] = table["holds"].fillna("").astype(str)
    sensitivity_path = folder / discover.SENSITIVITY
    sensitivity = read_parquet(sensitivity_path) if sensitivity_path.is_file() else None
    spec = manifest.get("resolved", {}).get("experiment", {})
    bounds = {
        name: (float(v["min"]), float(v["max"]))
        for name, v in _variables(manifest).items()
        if isinstance(v, dict)
    }
    return Robustness(
        name=str(manifest.get("experiment", folder.name)),
        path=folder,
        kind=str(spec.get("design", {}).get("kind", "")),
        discovery=table,
        sensitivity=sensitivity,
        bounds=bounds,
    )


# --- words ---------------------------------------------------------------------------------


def percent(share: float) -> str:
    """A share of points as a whole percentage, rounded down: 89.9% is "89%", never "90%",
    so a share shown at the 90% rule's threshold has met it."""
    return f"{math.floor(share * 100 + 1e-9):.0f}%"


def _capital(lang: str, text: str) -> str:
    return text[:1].upper() + text[1:] if lang == "en" else text


def _metric(lang: str, metric: str) -> str:
    name = L.metric_name(lang, metric)
    if lang == "en" and len(name) > 1 and name[1].islower():
        name = name[0].lower() + name[1:]
    return name


def context_words(lang: str, context: dict[str, Any]) -> str:
    """A scenario (setting of the listed variables) in words: 平常年份, an ordinary year."""
    return L.t(lang, "text.comma").join(
        L.level(lang, name, value) if name == "scenario" else L.variable_value(lang, name, value)
        for name, value in context.items()
    )


def condition_words(lang: str, limits: list[list[Any]]) -> str:
    """A PRIM box in plain words, each threshold in its parameter's unit."""
    parts = []
    for key, low, high in limits:
        name = L.parameter_name(lang, key)
        if low is not None and high is not None:
            low_text, high_text = (L.parameter_value(lang, key, v) for v in (low, high))
            parts.append(
                L.t(lang, "holds.condition.between", name=name, low=low_text, high=high_text)
            )
        elif low is not None:
            value = L.parameter_value(lang, key, low)
            parts.append(L.t(lang, "holds.condition.above", name=name, value=value))
        else:
            value = L.parameter_value(lang, key, high)
            parts.append(L.t(lang, "holds.condition.below", name=name, value=value))
    return L.t(lang, "holds.condition.and").join(parts)


def _limits(row: dict[str, Any]) -> list[list[Any]]:
    """The row's PRIM box if it held on held-out points (:data:`sim.discover.CONFIRM_DENSITY`),
    else none: an unconfirmed box is left in discovery.csv, not stated."""
    text = row.get("limits")
    if not row.get("confirmed") or not isinstance(text, str) or not text:
        return []
    return json.loads(text)


def within_noise(row: dict[str, Any]) -> bool:
    """Whether neither policy beats the other beyond the seeds' noise almost anywhere."""
    return row.get("holds") == "equal"


def _noise_free_share(row: dict[str, Any]) -> float:
    """The share of points where neither policy is better beyond the noise."""
    return 1.0 - float(row["share_a_clearly_better"]) - float(row["share_b_clearly_better"])


def oriented(row: dict[str, Any]) -> tuple[str, str, float]:
    """(usual winner, other, the winner's share of points where it is better)."""
    if row["share_b_better"] > row["share_a_better"]:
        return row["b"], row["a"], float(row["share_b_better"])
    return row["a"], row["b"], float(row["share_a_better"])


def holds_winner(row: dict[str, Any]) -> str | None:
    """The policy whose advantage holds across the space, or None."""
    return {"a": row["a"], "b": row["b"]}.get(row.get("holds") or "")


def comparison_sentence(lang: str, row: dict[str, Any], where: str) -> str:
    """One comparison in plain words: it holds, or A beats B in x% of the space and loses
    where the PRIM box says (``where``: the scenario in words, may be empty)."""
    metric = _metric(lang, row["metric"])
    winner, other, share = oriented(row)
    words = {"a": L.policy_name(lang, winner), "b": L.policy_name(lang, other), "metric": metric}
    words |= {"share": percent(share)}
    if holds_winner(row):
        text = L.t(lang, "sentence.robust_holds", **words)
    elif row["share_a_better"] == 0 and row["share_b_better"] == 0:
        text = L.t(lang, "sentence.no_difference", **words)
    elif within_noise(row):
        text = L.t(
            lang, "sentence.within_noise", **words | {"share": percent(_noise_free_share(row))}
        )
    elif _limits(row):
        text = L.t(lang, "sentence.depends", condition=condition_words(lang, _limits(row)), **words)
    else:
        text = L.t(lang, "sentence.depends_nobox", **words)
    return _capital(lang, lead(lang, where) + text)


def lead(lang: str, where: str) -> str:
    """``In an ordinary year, `` before a sentence about one scenario (empty without one)."""
    return L.t(lang, "holds.lead", scenario=where) if where else ""


def verdict_words(lang: str, row: dict[str, Any]) -> str:
    winner = holds_winner(row)
    if winner:
        return L.t(lang, "holds.verdict.holds", winner=L.policy_name(lang, winner))
    if row["share_a_better"] == 0 and row["share_b_better"] == 0:
        return L.t(lang, "holds.verdict.equal")
    if within_noise(row):
        return L.t(lang, "holds.verdict.within_noise")
    return L.t(lang, "holds.verdict.depends")


def where_words(lang: str, row: dict[str, Any]) -> str:
    if _limits(row):
        return condition_words(lang, _limits(row))
    if row.get("conditions") == "everywhere sampled":
        return L.t(lang, "holds.everywhere")
    return L.t(lang, "holds.no_box")


# --- the Morris ranking and the Sobol indices -------------------------------------------------


def _in_context(table: pd.DataFrame, context: dict[str, Any]) -> pd.DataFrame:
    for name, value in context.items():
        if name in table.columns:
            table = table[table[name] == value]
    return table


def morris_ranking(rob: Robustness, context: dict[str, Any], metric: str) -> pd.DataFrame:
    """Per parameter, mu* and sigma averaged over the policies in one scenario, highest first."""
    table = rob.sensitivity
    if table is None or "mu_star" not in table.columns:
        return pd.DataFrame(columns=["parameter", "mu_star", "sigma"])
    rows = _in_context(table[table["metric"] == metric], context)
    ranking = rows.groupby("parameter", sort=False)[["mu_star", "sigma"]].mean()
    ranking = ranking[ranking["mu_star"] > 0]  # NaN or no effect: nothing to rank
    return ranking.sort_values("mu_star", ascending=False, kind="stable").reset_index()


def matters(rob: Robustness, context: dict[str, Any], metric: str, lang: str) -> str | None:
    """The sentence naming the assumptions with the largest mu* for a metric in a scenario."""
    ranking = morris_ranking(rob, context, metric).head(TOP_SUMMARY)
    if ranking.empty:
        return None
    names = L.t(lang, "text.comma").join(L.parameter_name(lang, p) for p in ranking["parameter"])
    scenario = context_words(lang, context) or rob.name
    words = {"metric": _metric(lang, metric), "scenario": scenario, "parameters": names}
    return _capital(lang, L.t(lang, "sentence.matters", **words))


# --- the summary's findings ---------------------------------------------------------------


def _share_text(value: float) -> str:
    return percent(value) if value is not None and math.isfinite(value) else "–"


def findings(rob: Robustness, lang: str, baseline: str) -> list[str]:
    """The summary of a robustness design: the rule, per scenario and metric the comparisons
    that hold (the only findings), every comparison with ``baseline`` that does not hold with
    its condition, and the assumptions that matter most for each metric."""
    words = {"holds": percent(discover.HOLDS_SHARE), "noise": percent(discover.NOISE_SHARE)}
    found = [L.t(lang, "sentence.holds_rule", **words)]
    for context, rows in rob.groups():
        where = context_words(lang, context)
        for metric in discover.HEADLINE_METRICS:
            part = rows[rows["metric"] == metric].to_dict("records")
            if not part:
                continue
            holding = [r for r in part if holds_winner(r)]
            pairs = []
            for row in holding:
                winner, other, share = oriented(row)
                pairs.append(
                    L.t(
                        lang,
                        "sentence.holds_pair",
                        a=L.policy_name(lang, winner),
                        b=L.policy_name(lang, other),
                        share=percent(share),
                    )
                )
            key = "sentence.holds_found" if pairs else "sentence.holds_none"
            joined = L.t(lang, "text.semicolon").join(pairs)
            text = L.t(lang, key, metric=_metric(lang, metric), pairs=joined)
            found.append(_capital(lang, lead(lang, where) + text))
            for row in part:
                if baseline in (row["a"], row["b"]) and not holds_winner(row):
                    found.append(comparison_sentence(lang, row, where))
        for metric in discover.HEADLINE_METRICS:
            sentence = matters(rob, context, metric, lang)
            if sentence:
                found.append(sentence)
    return found


def _stem(value: Any) -> str:
    return Path(str(value)).stem


def checked(results: Results, rob: Robustness, lang: str) -> list[str]:
    """For an ordinary experiment: whether each comparison with its baseline holds in the
    robustness results (same scenario), with the condition where it does not."""
    scenario = results.reference.get("scenario") or results.scenario.get("scenario", {}).get(
        "name", ""
    )
    prefix = L.t(lang, "sentence.robust_prefix", name=rob.name)
    matches = [
        (context, rows)
        for context, rows in rob.groups()
        if "scenario" not in context or _stem(context["scenario"]) == _stem(scenario)
    ]
    if not matches:
        return [L.t(lang, "sentence.robust_missing", name=rob.name)]
    found = []
    for context, rows in matches[:1]:
        for metric in discover.HEADLINE_METRICS:
            for policy in results.compared:
                pair = {policy, results.baseline}
                part = [
                    r
                    for r in rows[rows["metric"] == metric].to_dict("records")
                    if {r["a"], r["b"]} == pair
                ]
                if part:
                    text = comparison_sentence(lang, part[0], "")
                    found.append(prefix + text)
        sentence = matters(rob, context, next(iter(discover.HEADLINE_METRICS)), lang)
        if sentence:
            found.append(sentence)
    return found


# --- the section ---------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[str]], names: int = 1) -> str:
    header = "".join(
        f'<th class="name">{escape(h)}</th>' if i < names else f"<th>{escape(h)}</th>"
        for i, h in enumerate(head)
    )
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="name">{escape(c)}</td>' if i < names else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    return f'<div class="scroll">{table}</div>'


def _titled(title: str, table: str, caption: str) -> str:
    return f'<h4>{escape(title)}</h4>\n{table}\n<p class="caption">{escape(caption)}</p>'


def _pair_table(lang: str, part: list[dict[str, Any]]) -> str:
    head = [
        L.t(lang, key)
        for key in (
            "holds.col.pair",
            "holds.col.a_better",
            "holds.col.b_better",
            "holds.col.noise",
            "holds.col.verdict",
            "holds.col.where",
            "holds.col.coverage",
            "holds.col.density",
            "holds.col.held_out",
        )
    ]
    rows = []
    for row in part:
        pair = L.t(
            lang, "holds.pair", a=L.policy_name(lang, row["a"]), b=L.policy_name(lang, row["b"])
        )
        clear = (_share_text(row[f"share_{x}_clearly_better"]) for x in "ba")
        noise = " / ".join(clear)
        rows.append(
            [
                pair,
                _share_text(row["share_a_better"]),
                _share_text(row["share_b_better"]),
                noise,
                verdict_words(lang, row),
                where_words(lang, row),
                _share_text(row["coverage"] if _limits(row) else math.nan),
                _share_text(row["density"] if _limits(row) else math.nan),
                _share_text(row.get("density_held_out", math.nan)),
            ]
        )
    return _table(head, rows)


def _range_text(lang: str, rob: Robustness, parameter: str) -> str:
    if parameter not in rob.bounds:
        return "–"
    low, high = rob.bounds[parameter]
    return f"{L.parameter_value(lang, parameter, low)} – {L.parameter_value(lang, parameter, high)}"


def _ranking_table(lang: str, rob: Robustness, context: dict[str, Any], metric: str) -> str:
    ranking = morris_ranking(rob, context, metric).head(TOP)
    if ranking.empty:
        return ""
    head = [L.t(lang, k) for k in ("holds.col.rank", "holds.col.parameter", "holds.col.range")]
    head += [L.t(lang, "holds.col.mu_star"), L.t(lang, "holds.col.sigma")]
    rows = [
        [
            str(i + 1),
            L.parameter_name(lang, row.parameter),
            _range_text(lang, rob, row.parameter),
            L.amount(lang, metric, float(row.mu_star), difference=True),
            L.amount(lang, metric, float(row.sigma), difference=True)
            if math.isfinite(float(row.sigma))
            else "–",
        ]
        for i, row in enumerate(ranking.itertuples(index=False))
    ]
    title = L.t(lang, "holds.ranking", metric=L.metric_name(lang, metric))
    caption = L.t(lang, "holds.ranking_caption", top=TOP)
    return _titled(title, _table(head, rows, names=2), caption)


def sobol_table(lang: str, rob: Robustness, context: dict[str, Any], metric: str) -> str:
    """S1 and ST with their 95% half-widths per parameter (rows, by mean ST) and policy."""
    table = rob.sensitivity
    if table is None or "ST" not in table.columns:
        return ""
    rows = _in_context(table[table["metric"] == metric], context)
    if rows.empty or rows["ST"].isna().all():
        return ""
    order = rows.groupby("parameter")["ST"].mean().sort_values(ascending=False).head(TOP).index
    policies = list(dict.fromkeys(rows["policy"])) if "policy" in rows.columns else [None]
    head = [L.t(lang, "holds.col.parameter"), L.t(lang, "holds.col.range")]
    head += [L.policy_name(lang, p) if p else "" for p in policies]
    body = []
    for parameter in order:
        cells = [L.parameter_name(lang, parameter), _range_text(lang, rob, parameter)]
        for policy in policies:
            part = rows[rows["parameter"] == parameter]
            if policy is not None:
                part = part[part["policy"] == policy]
            if part.empty:
                cells.append("–")
                continue
            r = part.iloc[0]
            cells.append(
                L.t(
                    lang,
                    "holds.sobol_cell",
                    s1=L.number(float(r["S1"]), 2),
                    s1c=L.number(float(r["S1_conf"]), 2),
                    st=L.number(float(r["ST"]), 2),
                    stc=L.number(float(r["ST_conf"]), 2),
                )
            )
        body.append(cells)
    title = L.t(lang, "holds.sobol", metric=L.metric_name(lang, metric))
    caption = L.t(lang, "holds.sobol_caption", top=TOP)
    return _titled(title, _table(head, body, names=2), caption)


def section(rob: Robustness, lang: str) -> str:
    """The section's HTML body (without its heading): per scenario and headline metric, the
    table of every pair of policies and its sentences; then the Morris ranking or Sobol
    indices per metric."""
    intro = L.t(
        lang,
        "holds.intro",
        holds=percent(discover.HOLDS_SHARE),
        noise=percent(discover.NOISE_SHARE),
        noise_se=L.number(discover.NOISE_SE, 0),
        confirm=percent(discover.CONFIRM_DENSITY),
        lift=L.number(discover.CONFIRM_LIFT, 1),
        blocks=discover.MIN_HELD_OUT_BLOCKS,
        sampled=len(rob.bounds),
    )
    parts = [f'<p class="caption">{escape(intro)}</p>']
    clear = rob.discovery[["share_a_clearly_better", "share_b_clearly_better"]]
    if len(clear) and clear.isna().all(axis=None):
        parts.append(f'<p class="caption">{escape(L.t(lang, "holds.one_seed"))}</p>')
    blocks, points = int(rob.discovery["blocks"].max()), int(rob.discovery["points"].max())
    if blocks < points:
        clustered = L.t(lang, "holds.clustered", points=points, blocks=blocks)
        parts.append(f'<p class="caption">{escape(clustered)}</p>')
    for context, rows in rob.groups():
        where = context_words(lang, context)
        if where:
            parts.append(f"<h3>{escape(L.t(lang, 'holds.scenario', scenario=where))}</h3>")
        for metric in discover.HEADLINE_METRICS:
            part = rows[rows["metric"] == metric].to_dict("records")
            if not part:
                continue
            parts.append(f"<h4>{escape(L.metric_name(lang, metric))}</h4>")
            parts.append(_pair_table(lang, part))
            sentences = [comparison_sentence(lang, row, where) for row in part]
            parts.append(
                '<ul class="summary">'
                + "".join(f"<li>{escape(s)}</li>" for s in sentences)
                + "</ul>"
            )
        for metric in discover.HEADLINE_METRICS:
            parts.append(_ranking_table(lang, rob, context, metric))
            parts.append(sobol_table(lang, rob, context, metric))
    return "\n".join(p for p in parts if p)
