"""Fonts for the report: volsim's own Chinese face, used first on every machine.

volsim ships ``fontdata/VolsimNotoSansSC-Regular.otf``: Noto Sans CJK SC Regular (Adobe and
Google, SIL Open Font License 1.1, text in ``fontdata/OFL.txt``), the Simplified Chinese face, cut
by ``scripts/subset_font.py`` to GB 2312 and every character the report writes (1.9 MB). Its
family is renamed "Volsim Noto Sans SC", so matplotlib never takes a system Noto Sans CJK SC for
it: Chinese figures need no system font and look the same on every machine.

A character outside the cut (a rare one in a variable's name, say) is drawn from a system Chinese
font when there is one (Noto Sans CJK SC, WenQuanYi Micro Hei; never SimHei), else DejaVu Sans;
one that no font here has is named in one :class:`MissingGlyphWarning` instead of being drawn
silently as a box. The HTML page embeds a cut of the bundled face holding just the characters
it shows (:func:`embed_page_font`), so its text needs no system font either.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from fontTools import subset
from fontTools.ttLib import TTFont
from matplotlib import font_manager

from sim.errors import InputError

#: volsim's own Chinese face (see the module docstring)
BUNDLED_FILE = Path(__file__).with_name("fontdata") / "VolsimNotoSansSC-Regular.otf"
BUNDLED_FAMILY = "Volsim Noto Sans SC"
#: system Chinese families used only as fallbacks, in order (both redistributable; never SimHei)
SYSTEM_FAMILIES = ("Noto Sans CJK SC", "WenQuanYi Micro Hei")
CHINESE_FAMILIES = (BUNDLED_FAMILY, *SYSTEM_FAMILIES)
#: file names (lower case, without suffix) that hold the system families
_CANDIDATE_FILES = ("notosanscjk-regular", "notosanscjksc-regular", "wqy-microhei")
LATIN_FAMILY = "DejaVu Sans"
INSTALL_HINT = (
    f"no Chinese font for --lang zh: volsim's own {BUNDLED_FILE.name} is missing or unreadable; "
    "reinstall volsim (pip install -e .), install fonts-noto-cjk, or use --lang en"
)
#: English pages embed the bundled face only for characters from here on (CJK and later)
CJK_FROM = 0x2E80
_GLYPH = re.compile(r"^Glyph (\d+) .*missing from font")


class MissingGlyphWarning(UserWarning):
    """Characters that no font here can draw (named, with their code points)."""


def _families() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


@cache
def _register_bundled() -> bool:
    """Add the bundled face to matplotlib's font list (once); False if it cannot be read."""
    if BUNDLED_FAMILY in _families():
        return True
    try:
        font_manager.fontManager.addfont(BUNDLED_FILE)
    except (OSError, RuntimeError, ValueError):
        return False
    return BUNDLED_FAMILY in _families()


@cache
def _scan_system() -> None:
    """Add system Chinese fonts installed after matplotlib cached its font list (once)."""
    if any(family in _families() for family in SYSTEM_FAMILIES):
        return
    for path in font_manager.findSystemFonts():
        stem = Path(path).name.lower().rsplit(".", 1)[0]
        if stem in _CANDIDATE_FILES:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue


def chinese_families() -> list[str]:
    """The Chinese families found, bundled first, then system fallbacks (see CHINESE_FAMILIES)."""
    _register_bundled()
    _scan_system()
    names = _families()
    return [family for family in CHINESE_FAMILIES if family in names]


def chinese_font() -> str | None:
    """The Chinese family the figures use first (the bundled one, unless it is damaged), or None."""
    return next(iter(chinese_families()), None)


def rc_params(lang: str) -> dict[str, Any]:
    """Matplotlib settings for a report in ``lang`` (raises InputError without a Chinese font).

    For ``zh`` the bundled Chinese face comes first, then system Chinese fonts and DejaVu Sans
    as fallbacks for characters it lacks; for ``en`` DejaVu Sans comes first and the Chinese
    faces follow (so a Chinese variable name still renders).
    """
    family = chinese_font()
    if lang == "zh" and family is None:
        raise InputError("--lang", "zh", INSTALL_HINT)
    chinese = chinese_families() if family else []
    families = [*chinese, LATIN_FAMILY] if lang == "zh" else [LATIN_FAMILY, *chinese]
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


def _named(chars: set[str]) -> str:
    return ", ".join(f"{c} (U+{ord(c):04X})" for c in sorted(chars))


@contextmanager
def glyphs_checked() -> Iterator[set[str]]:
    """Within, matplotlib's "Glyph ... missing" warnings become one MissingGlyphWarning.

    The warning, raised on leaving, names every character that no font in ``font.sans-serif``
    had, so the figures drew it as a box; the yielded set holds those characters. Other
    warnings pass through unchanged.
    """
    missing: set[str] = set()
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        found = _GLYPH.match(str(message))
        if found:
            missing.add(chr(int(found.group(1))))
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        # seen again in every report, not once per process as the default filter would
        warnings.filterwarnings("always", message=r"Glyph \d+", category=UserWarning)
        warnings.showwarning = show
        yield missing
    if missing:
        warnings.warn(
            f"no font here has {_named(missing)}: the figures draw them as boxes "
            "(install fonts-noto-cjk, or avoid these characters)",
            MissingGlyphWarning,
            stacklevel=3,
        )


@cache
def bundled_characters() -> frozenset[str]:
    """The characters the bundled face has."""
    with TTFont(BUNDLED_FILE, lazy=True) as font:
        return frozenset(chr(code) for code in font.getBestCmap())


def page_font(chars: set[str]) -> bytes:
    """A cut of the bundled face to ``chars`` (those it has), as .otf bytes, licence kept."""
    options = subset.Options(name_IDs=["*"], notdef_outline=True, hinting=False)
    options.layout_features = ["kern", "liga", "ccmp", "mark", "mkmk"]
    with TTFont(BUNDLED_FILE, recalcTimestamp=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(chars & bundled_characters())))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def _page_text(page: str) -> set[str]:
    """The characters a page shows (beyond ASCII), roughly: its text outside tags and URIs."""
    text = re.sub(r"<style>.*?</style>|<[^>]*>", " ", page, flags=re.S)
    return {c for c in text if ord(c) > 0x7E and not c.isspace()}


def embed_page_font(page: str, lang: str) -> str:
    """``page`` with a cut of the bundled face, the characters it shows, as an @font-face.

    Chinese pages use it first, so they read the same on every machine; English pages only for
    CJK characters (a Chinese name, say), or not at all. Characters the bundled face
    lacks are named in one MissingGlyphWarning: the page shows them in the reader's own fonts.
    """
    chars = _page_text(page)
    if lang != "zh":  # the reader's Latin fonts do, but not for CJK (from U+2E80 on)
        chars = {c for c in chars if ord(c) >= CJK_FROM}
    if not chars:
        return page
    lacking = chars - bundled_characters() - {"\ufeff"}
    if lacking:
        warnings.warn(
            f"the bundled Chinese font lacks {_named(lacking)}: the page shows them in the "
            "reader's own fonts, if any",
            MissingGlyphWarning,
            stacklevel=2,
        )
    if lang == "zh":
        chars |= {chr(c) for c in range(0x20, 0x7F)}  # Latin on a Chinese page, the same face
    uri = base64.b64encode(page_font(chars)).decode("ascii")
    stack = [BUNDLED_FAMILY, *SYSTEM_FAMILIES, LATIN_FAMILY]
    if lang != "zh":
        stack = [LATIN_FAMILY, BUNDLED_FAMILY, *SYSTEM_FAMILIES]
    families = ", ".join(f'"{family}"' for family in stack)
    style = (
        f'<style>@font-face {{ font-family: "{BUNDLED_FAMILY}"; '
        f'src: url(data:font/otf;base64,{uri}) format("opentype"); }}\n'
        f"body {{ font-family: {families}, sans-serif; }}</style>\n"
    )
    head = page.index("</head>")
    return page[:head] + style + page[head:]
