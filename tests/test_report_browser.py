"""The report in a real headless Chromium: it renders, every image loads, nothing else is fetched.

Uses Debian's ``chromium`` driven by playwright from PyPI (never a downloaded browser). Without
them these tests skip and say how to enable them, except under CI=true, where they fail.
A full-page screenshot of each language is saved in the test's tmp_path.
"""

from __future__ import annotations

import pytest
from chromium_support import chromium, missing
from test_report import (  # noqa: F401 (fixtures)
    HOSTILE,
    Report,
    report_en,
    report_zh,
    results_folder,
    shared_root,
)

from sim.report import labels

ENABLE = (
    "to run the browser tests: apt-get install chromium "
    "and pip install playwright (or pip install -e '.[test]')"
)


def _missing(reason: str) -> None:
    missing(reason, ENABLE)


@pytest.fixture(scope="session")
def browser():
    with chromium(ENABLE) as launched:
        yield launched


@pytest.fixture(params=labels.LANGS)
def report(request) -> Report:
    """Each language's report (made before the browser is asked for)."""
    return request.getfixturevalue(f"report_{request.param}")


def test_report_renders_in_chromium(report, browser, tmp_path):
    lang = "zh" if '<html lang="zh-CN">' in report.html else "en"
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, fetched = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            fetched.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(report.index.resolve().as_uri(), wait_until="load")
    page.evaluate("() => document.fonts.ready.then(() => true)")  # the page's embedded fonts

    # the name's <script> is shown as text, not run
    assert page.title() == labels.t(lang, "page.title", name=f"report-test {HOSTILE}")
    assert page.locator("h1").inner_text() == page.title()
    headings = page.locator("h2").all_inner_texts()
    for key in ("section.summary", "section.comparison", "section.map", "section.table"):
        assert labels.t(lang, key) in headings
    images = page.evaluate(
        """() => Array.from(document.images).map(i => ({
            complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
            shown: i.getBoundingClientRect().width }))"""
    )
    assert len(images) >= 6
    for image in images:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
        assert image["shown"] > 300, image
    assert page.evaluate("() => document.querySelectorAll('script').length") == 0
    assert errors == []
    assert fetched == []
    shot = tmp_path / f"report-{lang}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    top = tmp_path / f"report-{lang}-top.png"
    page.screenshot(path=str(top))
    page.close()
