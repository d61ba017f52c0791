"""Fonts for the figures: a Chinese font whose licence allows redistribution, found on this system.

Chinese figures use Noto Sans CJK SC (Debian ``fonts-noto-cjk``, SIL Open Font License; the
Simplified Chinese face of the collection) or else WenQuanYi Micro Hei (``fonts-wqy-microhei``,
Apache 2.0). Fonts installed after matplotlib cached its font list are found by scanning the
system font folders and adding the candidate files. Without either font, a Chinese report is an
:class:`~sim.errors.InputError` naming the package to install, rather than figures of boxes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib import font_manager

from sim.errors import InputError

#: Chinese families in order of preference (both redistributable; never SimHei)
CHINESE_FAMILIES = ("Noto Sans CJK SC", "WenQuanYi Micro Hei")
#: file names (lower case, without suffix) that hold those families
_CANDIDATE_FILES = ("notosanscjk-regular", "notosanscjksc-regular", "wqy-microhei")
LATIN_FAMILY = "DejaVu Sans"
INSTALL_HINT = (
    "no Chinese font found for --lang zh: install fonts-noto-cjk "
    "(apt-get install fonts-noto-cjk) or fonts-wqy-microhei, or use --lang en"
)


def _known_family() -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CHINESE_FAMILIES if family in names), None)


def chinese_font() -> str | None:
    """The family name of an installed Chinese font (see CHINESE_FAMILIES), or None."""
    family = _known_family()
    if family is not None:
        return family
    for path in font_manager.findSystemFonts():
        stem = Path(path).name.lower().rsplit(".", 1)[0]
        if stem in _CANDIDATE_FILES:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return _known_family()


def rc_params(lang: str) -> dict[str, Any]:
    """Matplotlib settings for a report in ``lang`` (raises InputError without a Chinese font).

    Latin text uses DejaVu Sans; a Chinese font comes first for ``zh`` and is kept as a fallback
    for ``en`` (so a Chinese scenario key still renders), when one is installed.
    """
    family = chinese_font()
    if lang == "zh" and family is None:
        raise InputError("--lang", "zh", INSTALL_HINT)
    fallback = [family] if family else []
    families = [*fallback, LATIN_FAMILY] if lang == "zh" else [LATIN_FAMILY, *fallback]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": True,
        "svg.fonttype": "path",
        "figure.dpi": 100,
        "savefig.dpi": 130,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
        "axes.titlesize": 11,
        "legend.fontsize": 9,
        "legend.frameon": False,
    }
