"""``volsim report DIR``: a self-contained HTML report of an experiment's results folder.

:func:`write_report` writes ``DIR/report/index.html`` (inline CSS, figures embedded as PNG data
URIs, no script and no network) and every figure beside it as ``fig-*.png`` and ``fig-*.svg``.
Every figure is drawn in memory first and the files are written all or none (see
:func:`sim.storage.write_files`): a full disk or Ctrl-C leaves the previous report as it was,
and no report folder where there was none.
Modules: :mod:`.data` loads and aggregates, :mod:`.figures` and :mod:`.mapfig` draw,
:mod:`.summary_text` writes the sentences, :mod:`.html` assembles the page, :mod:`.labels` holds
every word in Chinese and English and :mod:`.fonts` brings the bundled Chinese font.
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import matplotlib

from sim.errors import InputError
from sim.report import data, figures, fonts, html, labels, mapfig, optimise, summary_text
from sim.report import robustness as robustness_module
from sim.storage import Writer, check_writable, remove_created, write_files, writing

REPORT_DIR = "report"


def plots_for(results: data.Results, lang: str) -> list[figures.Plot]:
    """Every figure of the report, in page order (sweeps and sensitivity when they apply)."""
    plots = [
        figures.comparison(results, lang),
        figures.distribution(results, lang),
        mapfig.community_map(results, lang),
        figures.daily_series(results, lang),
        figures.yearly_series(results, lang),
        figures.workload(results, lang),
    ]
    plots += [figures.sweep(results, lang, variable) for variable in swept(results)]
    if results.sensitivity is not None:
        plots.append(figures.sensitivity(results, lang))
    return plots


#: a design sampling more variables than this draws sweeps of only the top ones
MAX_SWEEPS = 6


def swept(results: data.Results) -> list[str]:
    """The numeric variables drawn as sweeps: all of them, or in a screening of many (the
    robustness designs) the ``MAX_SWEEPS`` with the largest sensitivity indices."""
    numeric = results.numeric
    table = results.sensitivity
    if len(numeric) <= MAX_SWEEPS or table is None or table.empty:
        return numeric[:MAX_SWEEPS] if len(numeric) > MAX_SWEEPS else numeric
    index = "ST" if "ST" in table.columns else "mu_star"
    ranking = figures.sensitivity_ranking(table[table[index].notna()], index)
    return [p for p in ranking.index if p in numeric][:MAX_SWEEPS]


def _render(plot: figures.Plot) -> tuple[bytes, bytes, tuple[int, int]]:
    """A figure as PNG and SVG bytes, and the PNG's size in pixels."""
    files = {}
    for kind in ("png", "svg"):
        buffer = io.BytesIO()
        plot.figure.savefig(buffer, format=kind)
        files[kind] = buffer.getvalue()
    width, height = struct.unpack(">II", files["png"][16:24])  # the PNG header's IHDR chunk
    return files["png"], files["svg"], (width, height)


def _bytes_writer(content: bytes) -> Writer:
    return lambda tmp: Path(tmp).write_bytes(content)


def write_report(
    results_dir: Path,
    lang: str = "zh",
    baseline: str | None = None,
    robustness: Path | None = None,
) -> Path:
    """Write the report of a results folder into ``results_dir/report``; return index.html.

    A robustness design (:func:`sim.report.robustness.is_design`) gets the section "What holds,
    and what depends on assumptions" (discovery is run and written into the folder if missing)
    and a summary of what holds; an ordinary experiment's summary is checked against the
    robustness results folder ``robustness`` when given (``volsim report --robustness``).

    Raises:
        InputError: for an unknown ``lang``, a folder that is not a finished results folder,
            a ``baseline`` policy the experiment did not run, ``zh`` without a Chinese font, or
            a report folder that cannot be written (checked before any figure is drawn).
        OutputError: if the files cannot be written after all (a full disk); the previous
            report, if any, is then left as it was, and a report folder this made is removed
            (on Ctrl-C too).
    """
    if lang not in labels.LANGS:
        raise InputError("--lang", None, f"unknown language {lang!r} (choose zh or en)")
    if optimise.is_optimise(Path(results_dir)):  # a `volsim optimise` folder: its own page
        folder = Path(results_dir) / REPORT_DIR
        created = check_writable(folder, str(results_dir))
        with _removed_on_failure(created), writing("the report", folder):
            return optimise.write(Path(results_dir), lang, folder, _render)
    results = data.load(Path(results_dir), baseline)
    rc = fonts.rc_params(lang)
    design = robustness_module.is_design(results)
    if robustness is not None and design:
        raise InputError(
            "--robustness",
            str(robustness),
            "this results folder is a robustness design: its own report says what holds",
        )
    folder = results.path / REPORT_DIR
    created = check_writable(folder, str(results.path))  # before discovery and the figures
    with _removed_on_failure(created):
        own = robustness_module.load(results.path) if design else None
        other = None
        if robustness is not None:
            other = robustness_module.load(Path(robustness), write=False, option="--robustness")
        return _write(results, lang, rc, folder, own, other)


@contextlib.contextmanager
def _removed_on_failure(created: Path | None) -> Iterator[None]:
    """Remove the report folder this report made (``created``, from check_writable) if the
    body fails in any way: refused (no Chinese glyph, say), a full disk, Ctrl-C. A report
    folder there before is left (with the previous report, as it was)."""
    try:
        yield
    except BaseException:
        remove_created(created)
        raise


def _write(results, lang: str, rc: dict, folder: Path, own, other) -> Path:
    """The report's figures and page written into ``folder``, all or none."""
    sections = []
    if own is not None:
        title = labels.t(lang, "section.holds")
        sections.append(("holds", title, robustness_module.section(own, lang)))
    images, writers = {}, {}
    with matplotlib.rc_context(rc), fonts.glyphs_checked():
        plots = plots_for(results, lang)
        for plot in plots:
            if plot.figure is not None:
                png, svg, size = _render(plot)
                images[plot.stem] = (png, size)
                writers[folder / f"{plot.stem}.png"] = _bytes_writer(png)
                writers[folder / f"{plot.stem}.svg"] = _bytes_writer(svg)
    sentences = summary_text.sentences(results, lang, own, other)
    text = html.page(results, lang, sentences, plots, images, sections)
    text = fonts.embed_page_font(text, lang)  # the page's own text in the bundled face
    index = folder / "index.html"
    writers[index] = _bytes_writer(text.encode("utf-8"))
    with writing("the report", folder):
        write_files(writers)
        for old in [*folder.glob("fig-*.png"), *folder.glob("fig-*.svg")]:
            if old not in writers:
                old.unlink()  # a figure of an earlier report that this one does not have
    return index


__all__ = ["REPORT_DIR", "write_report"]
