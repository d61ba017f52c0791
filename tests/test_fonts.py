"""Tests for the bundled Chinese font: what it is, that it comes first, and that nothing needs more.

The font is a cut of Noto Sans CJK SC Regular (sim/report/fontdata, made by
scripts/subset_font.py). Two tests write a report in each language, and open it in Chromium, in a
process that sees no system font but one DejaVu Sans: ``unshare -m`` with a folder holding only
matplotlib's DejaVu Sans bind-mounted over /usr/share/fonts, empty folders over the other font
folders and fontconfig caches, and an empty matplotlib cache (MPLCONFIGDIR). (With no font at
all, Chromium fails to load web fonts about half the time; Debian cannot get there anyway, as
fontconfig depends on a font package.) Without root or unshare they skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib import pyplot as plt
from test_report import results_folder, shared_root  # noqa: F401 (fixtures)

from sim.report import fonts, labels

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
#: characters no font here has: CJK Extension B's first, and a private-use one
NOWHERE = "\U00020000\ue000"
#: a rare character outside the cut (GB 2312) that full CJK fonts have
RARE = "\u9f98"  # 龘
HOME = Path.home()
#: the system's font folders and caches: the first gets DejaVu Sans alone, the others nothing
FONT_DIRS = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/var/cache/fontconfig",
    f"{HOME}/.fonts",
    f"{HOME}/.local/share/fonts",
    f"{HOME}/.cache/fontconfig",
]


def _subset_script():
    """scripts/subset_font.py, which owns the list of characters the cut keeps."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "subset_font.py"
    spec = importlib.util.spec_from_file_location("subset_font", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gb2312 = _subset_script().gb2312


# --- the font itself ---------------------------------------------------------------------------


def test_the_bundled_font_is_simplified_chinese_regular_and_ofl():
    with TTFont(fonts.BUNDLED_FILE) as font:
        names = font["name"]
        assert names.getDebugName(1) == fonts.BUNDLED_FAMILY
        assert "SimHei" not in names.getDebugName(4)
        assert "Noto Sans CJK SC" in names.getDebugName(10)  # the Simplified Chinese face
        assert "Open Font License" in names.getDebugName(13)
        assert "Adobe" in names.getDebugName(0)
        assert "Source" not in names.getDebugName(1)  # the OFL's Reserved Font Name
        assert font["OS/2"].usWeightClass == 400  # Regular, not Thin
        assert font["OS/2"].ulCodePageRange1 & (1 << 18)  # code page 936, Simplified Chinese
        features = {r.FeatureTag for r in font["GSUB"].table.FeatureList.FeatureRecord}
        assert "locl" not in features  # no Japanese, Korean or Traditional forms to switch to
    assert "SIL OPEN FONT LICENSE Version 1.1" in (fonts.BUNDLED_FILE.parent / "OFL.txt").read_text(
        encoding="utf-8"
    )
    assert fonts.BUNDLED_FILE.stat().st_size < 3_000_000


def test_the_font_and_its_licence_are_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    data = re.search(r'\[tool\.setuptools\.package-data\]\n(?:#.*\n)*"sim\.report" = (.*)', text)
    assert data is not None
    patterns = json.loads(data.group(1))
    folder = ROOT / "sim" / "report"
    for name in (fonts.BUNDLED_FILE.name, "OFL.txt"):
        assert any((folder / "fontdata" / name).match(p) for p in patterns), name


def test_every_character_the_report_writes_is_in_the_bundled_font():
    have = fonts.bundled_characters()
    assert gb2312() <= have
    written = set()
    for lang in labels.LANGS:
        for text in labels.LABELS[lang].values():
            written |= set(text)
    for pattern in ("sim/**/*.py", "scenarios/*.toml", "experiments/*.toml"):
        for path in ROOT.glob(pattern):
            written |= set(re.findall(r"[\u2e80-\u9fff\uff00-\uffef]", path.read_text("utf-8")))
    missing = sorted(c for c in written if c not in have and c.isprintable() and c != " ")
    assert missing == [], f"run scripts/subset_font.py to add {missing}"


# --- matplotlib -------------------------------------------------------------------------------


def test_the_bundled_face_comes_first():
    assert fonts.chinese_font() == fonts.BUNDLED_FAMILY
    zh = fonts.rc_params("zh")["font.sans-serif"]
    en = fonts.rc_params("en")["font.sans-serif"]
    assert zh[0] == fonts.BUNDLED_FAMILY and zh[-1] == fonts.LATIN_FAMILY
    assert en[:2] == [fonts.LATIN_FAMILY, fonts.BUNDLED_FAMILY]
    assert set(zh) <= {*fonts.CHINESE_FAMILIES, fonts.LATIN_FAMILY}
    found = font_manager.findfont(font_manager.FontProperties(family=zh), fallback_to_default=False)
    assert Path(found).resolve() == fonts.BUNDLED_FILE.resolve()


def draw(text: str) -> list[warnings.WarningMessage]:
    """Draw ``text`` in a Chinese figure; return the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with matplotlib.rc_context(fonts.rc_params("zh")), fonts.glyphs_checked():
            figure, ax = plt.subplots()
            ax.set_title(text)
            warnings.warn("an unrelated warning", UserWarning, stacklevel=1)
            figure.savefig(os.devnull, format="png")
            figure.savefig(os.devnull, format="svg")
            plt.close(figure)
    return caught


def covered_by_fallbacks(char: str) -> bool:
    """Whether a font in the zh fallback list has ``char``."""
    for family in fonts.rc_params("zh")["font.sans-serif"]:
        path = font_manager.findfont(family, fallback_to_default=False)
        if ord(char) in matplotlib.ft2font.FT2Font(path).get_charmap():
            return True
    return False


def test_a_character_no_font_has_is_named_in_one_warning():
    caught = draw(f"实验 {RARE} {NOWHERE} 名")
    missing = [w for w in caught if issubclass(w.category, fonts.MissingGlyphWarning)]
    assert len(missing) == 1
    message = str(missing[0].message)
    assert "\n" not in message
    for char in NOWHERE:
        assert f"{char} (U+{ord(char):04X})" in message
    # 龘 is outside the cut: drawn from a system CJK font when there is one, else named too
    assert (RARE in message) != covered_by_fallbacks(RARE)
    assert "实" not in message and "名" not in message
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    assert "an unrelated warning" in [str(w.message) for w in caught]


def test_text_the_bundled_font_has_draws_without_warnings():
    caught = draw("花甲助耄耋结对 + 志愿和平App广播 −1.5")
    assert [str(w.message) for w in caught] == ["an unrelated warning"]


# --- the page ---------------------------------------------------------------------------------


PAGE = (
    '<html><head><style>p {{}}</style></head><body><h1>{}</h1><img alt="图" src="data:x">'
    "</body></html>"
)


def embedded(page: str) -> dict[tuple[str, str], set[str]]:
    """The characters of each font a page embeds, by family and weight."""
    found = {}
    rule = r'font-family: "([^"]+)"; font-weight: (\w+); src: url\(data:font/\w+;base64,([^)]+)\)'
    for family, weight, data in re.findall(rule, page):
        with TTFont(io.BytesIO(base64.b64decode(data))) as font:
            assert "Font License" in font["name"].getDebugName(13) or family == "DejaVu Sans"
            found[family, weight] = {chr(c) for c in font.getBestCmap()}
    return found


def test_a_chinese_page_embeds_just_the_characters_it_shows():
    page = fonts.embed_page_font(PAGE.format("志愿服务 report"), "zh")
    assert page.index("@font-face") < page.index("</head>")
    assert f'body {{ font-family: "{fonts.BUNDLED_FAMILY}", "{fonts.LATIN_FAMILY}"' in page
    faces = embedded(page)
    assert list(faces) == [(fonts.BUNDLED_FAMILY, "normal")]  # Latin too, as in the figures
    have = faces[fonts.BUNDLED_FAMILY, "normal"]
    assert set("志愿服务report") <= have
    assert not {"图", "结", "对"} & have  # in an attribute, or not on the page
    assert len(page) < len(PAGE) + 15_000  # 8 letters and 4 hanzi: 7 kB


def test_an_english_page_reads_in_dejavu_sans_and_chinese_in_the_bundled_face():
    plain = fonts.embed_page_font(PAGE.format("Report – policy − 1·5 café"), "en")
    faces = embedded(plain)
    assert list(faces) == [(fonts.LATIN_FAMILY, "normal"), (fonts.LATIN_FAMILY, "bold")]
    assert faces[fonts.LATIN_FAMILY, "normal"] >= set("Report–policy−1·5café")
    assert f'body {{ font-family: "{fonts.LATIN_FAMILY}", "{fonts.BUNDLED_FAMILY}"' in plain
    mixed = embedded(fonts.embed_page_font(PAGE.format("Report of 朝阳里"), "en"))
    assert mixed[fonts.BUNDLED_FAMILY, "normal"] == set("朝阳里")


def test_a_page_character_outside_the_cut_is_named():
    with pytest.warns(fonts.MissingGlyphWarning) as caught:
        page = fonts.embed_page_font(PAGE.format(f"实验{RARE}"), "zh")
    (message,) = [str(w.message) for w in caught]
    assert f"{RARE} (U+9F98)" in message and "实" not in message
    assert "@font-face" in page


# --- no system fonts at all -------------------------------------------------------------------

HIDDEN_SCRIPT = r"""
import json, shutil, sys, time, warnings
from pathlib import Path
from sim.report import fonts, write_report

source, base = Path(sys.argv[1]), Path(sys.argv[2])
out = {"families": fonts.chinese_families()}
executable = shutil.which("chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    executable = None
for lang in ("zh", "en"):
    folder = base / lang
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("report"))
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = write_report(folder, lang=lang)
    out[lang] = {"seconds": time.perf_counter() - started, "index": str(index)}  # for -s runs
    out[lang]["warnings"] = [str(w.message) for w in caught]
    if executable is None:
        continue
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        page = browser.new_page()
        page.goto(index.resolve().as_uri(), wait_until="load")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        used = {}
        for selector in ("h1", "h2", ".summary li", "th", "dt", "dd"):
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
            used[selector] = cdp.send("CSS.getPlatformFontsForNode", node)["fonts"]
        out[lang]["browser"] = used
        out[lang]["h1"] = page.locator("h1").inner_text()
        browser.close()
print(json.dumps(out))
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def without_system_fonts(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python args`` where the only system font is DejaVu Sans (root and unshare needed)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        _unavailable("hiding the system fonts needs root and unshare (util-linux)")
    empty, latin = tmp_path / "empty", tmp_path / "latin"
    empty.mkdir()
    latin.mkdir()
    shutil.copy(fonts.LATIN_FILES["normal"], latin)
    folders = [latin] + [empty] * (len(FONT_DIRS) - 1)
    hide = " && ".join(
        f"mount --bind '{folder}' '{d}'"
        for folder, d in zip(folders, FONT_DIRS, strict=True)
        if Path(d).is_dir()
    )
    env = {
        **os.environ,
        "MPLCONFIGDIR": str(tmp_path / "mplconfig"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    script = f'{hide or "true"} && exec "$@"'
    command = [unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    probe = subprocess.run([*command, "true"], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        _unavailable(f"cannot hide the system fonts: {probe.stderr.strip()}")
    return subprocess.run(
        [*command, sys.executable, *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def hidden_report(results_folder, tmp_path_factory) -> dict:  # noqa: F811 (fixture)
    """A Chinese report written, and opened in Chromium, with no system font visible."""
    tmp_path = tmp_path_factory.mktemp("hidden-fonts")
    code = tmp_path / "hidden.py"
    code.write_text(HIDDEN_SCRIPT, encoding="utf-8")
    done = without_system_fonts(tmp_path, str(code), str(results_folder), str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_report_needs_no_system_font(hidden_report, lang):
    assert hidden_report["families"] == [fonts.BUNDLED_FAMILY]  # no system Chinese font seen
    report = hidden_report[lang]
    assert report["warnings"] == []  # no glyph missing, nothing else
    assert Path(report["index"]).exists()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_reads_in_its_embedded_fonts_without_system_fonts(hidden_report, lang):
    report = hidden_report[lang]
    if "browser" not in report:
        _unavailable("the browser check needs chromium on PATH and playwright")
    assert report["h1"].startswith("report-test")
    expected = {fonts.BUNDLED_FAMILY} if lang == "zh" else {fonts.LATIN_FAMILY}
    for selector, faces in report["browser"].items():
        assert faces, selector
        assert all(f["isCustomFont"] for f in faces), (selector, faces)  # nothing from the system
        assert expected <= {f["familyName"].removesuffix(" Bold") for f in faces}, (selector, faces)
