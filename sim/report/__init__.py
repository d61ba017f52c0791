"""``volsim report DIR``: a self-contained HTML report of an experiment's results folder.

:func:`write_report` writes ``DIR/report/index.html`` (inline CSS, figures embedded as PNG data
URIs, no script and no network) and every figure beside it as ``fig-*.png`` and ``fig-*.svg``.
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
from sim.report import data, figures, fonts, html, labels, mapfig, summary_text
from sim.storage import _atomic_write

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


def _save(plot: figures.Plot, folder: Path) -> tuple[bytes, tuple[int, int]]:
    """Write a figure as PNG and SVG; return the PNG bytes and size in pixels."""
    figure = plot.figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    (folder / f"{plot.stem}.png").write_bytes(png)
    figure.savefig(folder / f"{plot.stem}.svg", format="svg")
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    return png, (width, height)


def write_report(results_dir: Path, lang: str = "zh", baseline: str | None = None) -> Path:
    """Write the report of a results folder into ``results_dir/report``; return index.html.

    Raises:
        InputError: for an unknown ``lang``, a folder that is not a finished results folder,
            a ``baseline`` policy the experiment did not run, or ``zh`` without a Chinese font.
    """
    if lang not in labels.LANGS:
        raise InputError("--lang", None, f"unknown language {lang!r} (choose zh or en)")
    results = data.load(Path(results_dir), baseline)
    rc = fonts.rc_params(lang)
    folder = results.path / REPORT_DIR
    folder.mkdir(exist_ok=True)
    for old in [*folder.glob("fig-*.png"), *folder.glob("fig-*.svg")]:
        old.unlink()
    images = {}
    with matplotlib.rc_context(rc), fonts.glyphs_checked():
        plots = plots_for(results, lang)
        for plot in plots:
            if plot.figure is not None:
                images[plot.stem] = _save(plot, folder)
    sentences = summary_text.sentences(results, lang)
    text = html.page(results, lang, sentences, plots, images)
    text = fonts.embed_page_font(text, lang)  # the page's own text in the bundled face
    index = folder / "index.html"
    _atomic_write(index, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    index.chmod(0o644)  # readable by all, like the figures beside it (mkstemp makes 0600)
    return index


__all__ = ["REPORT_DIR", "write_report"]
