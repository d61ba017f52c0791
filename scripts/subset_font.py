"""Make the report's bundled Chinese font, sim/report/fontdata/VolsimNotoSansSC-Regular.otf.

Source: Noto Sans CJK SC Regular, version 1.004 (Adobe and Google, SIL Open Font License 1.1),
the static Simplified Chinese .otf shipped in the PyPI wheel ``mplfonts==0.0.11``
(``mplfonts/fonts/NotoSansCJKsc-Regular.otf``, 16.4 MB, sha256 below). Only that one file is
used; the wheel's other fonts (SimHei among them) are not.

The cut keeps every character of GB 2312 (the 6,763 hanzi and 682 symbols of everyday
Simplified Chinese), ASCII and Latin-1, general, CJK and full-width punctuation, and every
character written in the report's sources, scenarios and experiments (labels, policy names,
scenario descriptions). It keeps every name record, so the font carries its copyright,
trademark and licence, and renames the family to "Volsim Noto Sans SC" so that matplotlib and
browsers never take it for a system Noto Sans CJK SC (the OFL's Reserved Font Name is "Source",
which it does not use). Run it again after adding characters to the labels::

    python scripts/subset_font.py                 # downloads the mplfonts wheel with pip
    python scripts/subset_font.py --source X.otf  # or NotoSansCJKsc-Regular.otf you have
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "sim" / "report" / "fontdata" / "VolsimNotoSansSC-Regular.otf"
WHEEL = "mplfonts==0.0.11"
MEMBER = "mplfonts/fonts/NotoSansCJKsc-Regular.otf"
SOURCE_SHA256 = "1652500938055a232cfbfa321de6ebaadfc5635dd9f75e369bc991d14a6512dd"
FAMILY = "Volsim Noto Sans SC"
POSTSCRIPT = "VolsimNotoSansSC-Regular"
#: text files whose characters the report may show (labels, policy and scenario names)
TEXT_SOURCES = ("sim/report/*.py", "sim/scenario.py", "scenarios/*.toml", "experiments/*.toml")
NOT_USED = {"locl", "vert", "vrt2", "vkrn", "vpal", "vhal", "valt", "vchw", "vjmo"}
RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1
    (0x2010, 0x205E),  # general punctuation
    (0x2212, 0x2212),  # minus sign
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # full-width forms
    (0xFFE0, 0xFFE6),
)


def gb2312() -> set[str]:
    """Every character of GB 2312 (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    found = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def wanted() -> set[str]:
    """The characters to keep (before dropping those the source font lacks)."""
    chars = gb2312()
    for low, high in RANGES:
        chars |= {chr(c) for c in range(low, high + 1)}
    for pattern in TEXT_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) >= 0x20}
    return chars


def source_font(given: Path | None) -> bytes:
    """The source .otf's bytes: a given file, or taken from the mplfonts wheel pip downloads."""
    if given is not None:
        data = given.read_bytes()
    else:
        with tempfile.TemporaryDirectory() as folder:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder]
            subprocess.run([*pip, WHEEL], check=True)
            (wheel,) = Path(folder).glob("mplfonts-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"subset_font: the source font's sha256 is {digest}, expected {SOURCE_SHA256}")
    return data


def rename(font: TTFont) -> None:
    """Give the cut its own family name; keep copyright, trademark, licence and credits."""
    names = font["name"]
    version = names.getDebugName(5)
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 6, 16, 17, 10):
            names.removeNames(nameID=record.nameID)
    description = (
        f"Subset of Noto Sans CJK SC Regular {version.split(';')[0].removeprefix('Version ')} "
        "(GB 2312 and the characters of volsim's report), made by volsim's "
        "scripts/subset_font.py. Licensed under the SIL Open Font License 1.1."
    )
    for name_id, text in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{POSTSCRIPT};volsim subset of NotoSansCJKsc-Regular"),
        (4, f"{FAMILY} Regular"),
        (6, POSTSCRIPT),
        (10, description),
    ):
        names.setName(text, name_id, 3, 1, 0x409)
    cff = font["CFF "].cff
    cff.fontNames = [POSTSCRIPT]
    top = cff.topDictIndex[0]
    top.FamilyName, top.FullName = FAMILY, f"{FAMILY} Regular"


def make(source: bytes, chars: set[str]) -> bytes:
    """The renamed cut of ``source`` to ``chars``, as .otf bytes (the same bytes every time)."""
    font = TTFont(io.BytesIO(source), recalcTimestamp=False)
    cmap = font.getBestCmap()
    options = subset.Options(name_IDs=["*"], name_languages=["*"], notdef_outline=True)
    # the report sets Simplified Chinese horizontally: no vertical forms, and no 'locl' (it
    # would bring the Japanese, Korean and Traditional forms, 6,000 glyphs, back in)
    options.layout_features = [f for f in options.layout_features if f not in NOT_USED]
    options.drop_tables += ["vhea", "vmtx", "VORG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars if ord(c) in cmap))
    subsetter.subset(font)
    rename(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help="NotoSansCJKsc-Regular.otf (1.004)")
    args = parser.parse_args()
    data = make(source_font(args.source), wanted())
    TARGET.write_bytes(data)
    glyphs = len(TTFont(io.BytesIO(data)).getBestCmap())
    print(f"wrote {TARGET.relative_to(ROOT)}: {len(data) / 1e6:.2f} MB, {glyphs} characters")


if __name__ == "__main__":
    main()
