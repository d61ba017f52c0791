"""The report page: one self-contained HTML file (inline CSS, images as data URIs, no script).

Every piece of text that reaches the page goes through :func:`html.escape`, whether it comes
from the labels or from the user (experiment and scenario names, descriptions, variable names),
so a ``<script>`` in a description is shown as text and never run. The page loads nothing from
the network; the figure files beside it are linked by relative names.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

import pandas as pd

from sim.report import labels as L
from sim.report.data import POLICY, Results
from sim.report.figures import Plot
from sim.report.summary_text import Sentence

CSS = """
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans", sans-serif;
  margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1a1a1a; line-height: 1.55; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 0.3rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem;
  margin-top: 2.2rem; }
.subtitle { color: #555; margin-top: 0; }
.summary li { margin-bottom: 0.45rem; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .caption { color: #444; font-size: 0.92rem; margin-top: 0.4rem; }
.note { color: #666; font-style: italic; }
.files { font-size: 0.85rem; color: #666; }
table { border-collapse: collapse; font-size: 0.85rem; margin-top: 0.5rem; }
.scroll { overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: right; }
td { white-space: nowrap; }
th { background: #f4f4f4; }
td.name, th.name { text-align: left; }
nav ol { columns: 2; font-size: 0.92rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_section(plot: Plot, png: bytes | None, size: tuple[int, int] | None) -> str:
    title = escape(plot.title)
    parts = [f'<section id="{escape(plot.stem)}">', f"<h2>{title}</h2>"]
    if png is None:
        parts.append(f'<p class="note">{escape(plot.note or "")}</p>')
    else:
        width, height = size or (0, 0)
        parts += [
            "<figure>",
            f'<img src="{data_uri(png)}" alt="{title}" width="{width}" height="{height}">',
            f"<figcaption>{escape(plot.caption)}</figcaption>",
            "</figure>",
            f'<p class="files"><a href="{escape(plot.stem)}.png">PNG</a> · '
            f'<a href="{escape(plot.stem)}.svg">SVG</a></p>',
        ]
    parts.append("</section>")
    return "\n".join(parts)


def _cell(metric: str, row: pd.Series | None) -> str:
    if row is None or pd.isna(row["mean"]):
        return "–"
    mean = L.metric_number(metric, float(row["mean"]))
    low, high = (L.metric_number(metric, float(row[c])) for c in ("ci_low", "ci_high"))
    return f"{mean} [{low}, {high}]"


def summary_table(results: Results, lang: str) -> str:
    """Mean [95% CI] of the key metrics, one row per policy (and level of the other variables)."""
    summary = results.summary
    groups = [c for c in results.others if c in summary.columns and not results.pooled]
    metrics = results.key_metrics
    head = [escape(L.variable_name(lang, g)) for g in groups] + [escape(L.t(lang, "table.policy"))]
    head += [escape(L.axis_label(lang, m)) for m in metrics]
    rows = []
    keys = summary[[*groups, POLICY]].drop_duplicates()
    keys = keys.assign(_order=keys[POLICY].map({p: i for i, p in enumerate(results.policies)}))
    for _, key in keys.sort_values([*groups, "_order"]).iterrows():
        mask = summary[POLICY] == key[POLICY]
        for g in groups:
            mask &= summary[g] == key[g]
        part = summary[mask].set_index("metric")
        cells = [escape(L.level(lang, g, key[g])) for g in groups]
        cells.append(escape(L.policy_name(lang, key[POLICY])))
        values = [escape(_cell(m, part.loc[m] if m in part.index else None)) for m in metrics]
        rows.append(
            "<tr>"
            + "".join(f'<td class="name">{c}</td>' for c in cells)
            + "".join(f"<td>{v}</td>" for v in values)
            + "</tr>"
        )
    names = len(groups) + 1
    header = "".join(
        f'<th class="name">{h}</th>' if i < names else f"<th>{h}</th>" for i, h in enumerate(head)
    )
    return (
        f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + ("\n</tbody>\n</table>")
    )


def _about(results: Results, lang: str) -> str:
    spec = results.spec.get("experiment", {})
    scenario = results.scenario.get("scenario", {})
    session = (results.manifest.get("sessions") or [{}])[-1]
    revision = (session.get("git") or {}).get("revision") or "–"
    items: list[tuple[str, Any]] = [
        ("about.experiment", results.name),
        ("about.description", spec.get("description", "")),
        ("about.scenario", f"{scenario.get('name', '')}: {scenario.get('description', '')}"),
        ("about.design", results.kind),
        (
            "about.runs",
            L.t(
                lang,
                "about.runs_value",
                runs=len(results.runs) + results.failed,
                points=results.points,
                seeds=len(results.seeds) or results.runs["seed"].nunique(),
                days=results.days_text(whole=True),
            ),
        ),
        ("about.failed", results.failed),
        ("about.baseline", L.policy_name(lang, results.baseline)),
        ("about.created", results.manifest.get("created", "")),
        ("about.version", (session.get("packages") or {}).get("volsim", "–")),
        ("about.revision", revision),
    ]
    rows = "\n".join(
        f"<dt>{escape(L.t(lang, key))}</dt><dd>{escape(str(value))}</dd>" for key, value in items
    )
    return f"<dl>\n{rows}\n</dl>"


def page(
    results: Results,
    lang: str,
    sentences: list[Sentence],
    plots: list[Plot],
    images: dict[str, tuple[bytes, tuple[int, int]]],
    sections: list[tuple[str, str, str]] = (),
) -> str:
    """The whole page as a string; ``sections`` (anchor, title, HTML body) follow the summary."""
    title = escape(L.t(lang, "page.title", name=results.name))
    description = escape(str(results.spec.get("experiment", {}).get("description", "")))
    summary = "\n".join(
        f'<li data-policy="{escape(s.policy)}">{escape(s.text)}</li>'
        if s.policy
        else f"<li>{escape(s.text)}</li>"
        for s in sentences
    )
    toc = [("summary", L.t(lang, "section.summary"))] + [(a, t) for a, t, _ in sections]
    toc += [(p.stem, p.title) for p in plots]
    toc += [("table", L.t(lang, "section.table")), ("about", L.t(lang, "section.about"))]
    nav = "".join(f'<li><a href="#{escape(a)}">{escape(t)}</a></li>' for a, t in toc)
    figures = "\n".join(_figure_section(p, *(images.get(p.stem) or (None, None))) for p in plots)
    extra = "\n".join(
        f'<section id="{escape(a)}">\n<h2>{escape(t)}</h2>\n{body}\n</section>'
        for a, t, body in sections
    )
    return document(
        lang,
        title,
        f"""<header>
<h1>{title}</h1>
<p class="subtitle">{escape(L.t(lang, "page.subtitle"))}</p>
<p>{description}</p>
</header>
<nav><ol>{nav}</ol></nav>
<section id="summary">
<h2>{escape(L.t(lang, "section.summary"))}</h2>
<ul class="summary">
{summary}
</ul>
</section>
{extra}
{figures}
<section id="table">
<h2>{escape(L.t(lang, "section.table"))}</h2>
{summary_table(results, lang)}
<p class="caption">{escape(L.t(lang, "caption.table"))}</p>
</section>
<section id="about">
<h2>{escape(L.t(lang, "section.about"))}</h2>
{_about(results, lang)}
</section>""",
    )


def document(lang: str, title: str, body: str) -> str:
    """A whole HTML page of the report's style: ``title`` (escaped) and ``body`` (HTML)."""
    language = "zh-CN" if lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""
