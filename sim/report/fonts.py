"""Fonts for the report: volsim's own Chinese face, used first on every machine.

volsim ships ``fontdata/VolsimNotoSansSC-Regular.otf``: Noto Sans CJK SC Regular (Adobe and
Google, SIL Open Font License 1.1, text in ``fontdata/OFL.txt``), the Simplified Chinese face, cut
by ``scripts/subset_font.py`` to GB 2312 and every character the report writes (1.9 MB). Its
family is renamed "Volsim Noto Sans SC", so matplotlib never takes a system Noto Sans CJK SC for
it: Chinese figures need no system font and look the same on every machine.

A character outside the cut (a rare one in a variable's name, say) is drawn from a system Chinese
font when there is one (Noto Sans CJK SC, WenQuanYi Micro Hei; never SimHei), else DejaVu Sans;
one that no font here has is named in one :class:`MissingGlyphWarning` instead of being drawn
silently as a box. The HTML page embeds cuts of the same faces holding just the characters it
shows (:func:`embed_page_font`), so its text needs no system font either.
"""

from __future__ import annotations

import base64
import html
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib
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


#: matplotlib's own DejaVu Sans (the Latin face of the figures), regular and bold
LATIN_FILES = {
    "normal": Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf",
    "bold": Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf",
}


@cache
def characters(path: Path) -> frozenset[str]:
    """The characters a font file has."""
    with TTFont(path, lazy=True) as font:
        return frozenset(chr(code) for code in font.getBestCmap())


def bundled_characters() -> frozenset[str]:
    """The characters the bundled face has."""
    return characters(BUNDLED_FILE)


def page_font(path: Path, chars: set[str]) -> bytes:
    """A cut of a font file to ``chars`` (those it has), as font bytes, name records kept."""
    options = subset.Options(name_IDs=["*"], notdef_outline=True, hinting=False)
    options.layout_features = ["kern", "liga", "ccmp", "mark", "mkmk"]
    options.drop_tables += ["FFTM"]  # FontForge's time stamp (DejaVu): dropped, silently
    with TTFont(path, recalcTimestamp=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(chars & characters(path))))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def _page_text(page: str) -> set[str]:
    """The characters a page shows, roughly: its text outside tags (and so outside URIs)."""
    text = html.unescape(re.sub(r"<style>.*?</style>|<[^>]*>", " ", page, flags=re.S))
    return {c for c in text if c.isprintable() and c != "\ufeff"} | {" "}


def _face(family: str, path: Path, chars: set[str], weight: str = "normal") -> str:
    data = base64.b64encode(page_font(path, chars)).decode("ascii")
    kind = "font/otf" if path.suffix == ".otf" else "font/ttf"
    style = "opentype" if path.suffix == ".otf" else "truetype"
    return (
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
        f'src: url(data:{kind};base64,{data}) format("{style}"); }}'
    )


def embed_page_font(page: str, lang: str) -> str:
    """``page`` with cuts of its fonts, just the characters it shows, as @font-face rules.

    A Chinese page reads in the bundled face, as its figures do; an English page in DejaVu
    Sans (regular and bold), as its figures do, with the bundled face for Chinese characters
    (a Chinese name, say). So the page reads the same on every machine and needs no system
    font. Characters in neither are named in one MissingGlyphWarning: the page shows them in
    the reader's own fonts, if any.
    """
    chars = _page_text(page)
    chinese = chars & bundled_characters()
    latin = chars & characters(LATIN_FILES["normal"])
    if lang == "zh":
        latin -= chinese
        stack = [BUNDLED_FAMILY, LATIN_FAMILY]
    else:
        chinese -= latin
        stack = [LATIN_FAMILY, BUNDLED_FAMILY]
    lacking = chars - chinese - latin
    if lacking:
        warnings.warn(
            f"no font of the report has {_named(lacking)}: the page shows them in the "
            "reader's own fonts, if any",
            MissingGlyphWarning,
            stacklevel=2,
        )
    faces = [_face(BUNDLED_FAMILY, BUNDLED_FILE, chinese)] if chinese - {" "} else []
    if latin - {" "}:
        faces += [_face(LATIN_FAMILY, path, latin, weight) for weight, path in LATIN_FILES.items()]
    families = ", ".join(f'"{family}"' for family in [*stack, *SYSTEM_FAMILIES])
    style = "<style>\n{}\nbody {{ font-family: {}, sans-serif; }}\n</style>\n"
    head = page.index("</head>")
    return page[:head] + style.format("\n".join(faces), families) + page[head:]
