"""``volsim report DIR``: a self-contained HTML report of an experiment's results folder.

:func:`write_report` writes ``DIR/report/index.html`` (inline CSS, figures embedded as PNG data
URIs, no script and no network) and every figure beside it as ``fig-*.png`` and ``fig-*.svg``.
Every figure is drawn in memory first and the files are written all or none (see
:func:`sim.storage.write_files`): a full disk or Ctrl-C leaves the previous report as it was.
Modules: :mod:`.data` loads and aggregates, :mod:`.figures` and :mod:`.mapfig` draw,
:mod:`.summary_text` writes the sentences, :mod:`.html` assembles the page, :mod:`.labels` holds
every word in Chinese and English and :mod:`.fonts` brings the bundled Chinese font.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import matplotlib

from sim.errors import InputError
from sim.report import data, figures, fonts, html, labels, mapfig, optimise, summary_text
from sim.storage import Writer, check_writable, write_files, writing

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
    plots += [figures.sweep(results, lang, variable) for variable in results.numeric]
    if results.sensitivity is not None:
        plots.append(figures.sensitivity(results, lang))
    return plots


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


def write_report(results_dir: Path, lang: str = "zh", baseline: str | None = None) -> Path:
    """Write the report of a results folder into ``results_dir/report``; return index.html.

    Raises:
        InputError: for an unknown ``lang``, a folder that is not a finished results folder,
            a ``baseline`` policy the experiment did not run, ``zh`` without a Chinese font, or
            a report folder that cannot be written (checked before any figure is drawn).
        OutputError: if the files cannot be written after all (a full disk); the previous
            report, if any, is then left as it was.
    """
    if lang not in labels.LANGS:
        raise InputError("--lang", None, f"unknown language {lang!r} (choose zh or en)")
    if optimise.is_optimise(Path(results_dir)):  # a `volsim optimise` folder: its own page
        folder = Path(results_dir) / REPORT_DIR
        check_writable(folder, str(results_dir))
        with writing("the report", folder):
            return optimise.write(Path(results_dir), lang, folder, _render)
    results = data.load(Path(results_dir), baseline)
    rc = fonts.rc_params(lang)
    folder = results.path / REPORT_DIR
    check_writable(folder, str(results.path))
    images, writers = {}, {}
    with matplotlib.rc_context(rc), fonts.glyphs_checked():
        plots = plots_for(results, lang)
        for plot in plots:
            if plot.figure is not None:
                png, svg, size = _render(plot)
                images[plot.stem] = (png, size)
                writers[folder / f"{plot.stem}.png"] = _bytes_writer(png)
                writers[folder / f"{plot.stem}.svg"] = _bytes_writer(svg)
    sentences = summary_text.sentences(results, lang)
    text = html.page(results, lang, sentences, plots, images)
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
