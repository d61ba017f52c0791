"""The page in a real headless Chromium, served by ``volsim app``: Step and Play move the time on,
a plot changes, and nothing is fetched from outside 127.0.0.1.

Uses Debian's ``chromium`` driven by playwright (never a downloaded browser). Without them, or
without the app extra, these tests skip and say how to enable them, except under CI=true, where
they fail. A screenshot is saved in the test's tmp_path.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chromium_support import chromium, missing

ROOT = Path(__file__).resolve().parent.parent
ENABLE = "to run the browser tests: apt-get install chromium and pip install -e '.[test,app]'"
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")


def _missing(reason: str) -> None:
    missing(reason, ENABLE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    """``volsim app`` on a free port; its address and the lines it printed."""
    try:
        import solara  # noqa: F401
    except ImportError:
        _missing("solara is not installed")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        first_line = process.stdout.readline()
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"volsim app did not serve {url}: {first_line}")
                time.sleep(0.5)
        yield url, first_line
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    with chromium(ENABLE) as launched:
        yield launched


def _clock(page) -> str:
    return page.locator(".volsim-clock").inner_text()


def _plots(page) -> list[str]:
    """The plots as images (vega draws on canvases: the map's first, then the four plots)."""
    return page.evaluate("() => [...document.querySelectorAll('canvas')].map(c => c.toDataURL())")


def _plots_changed(page, before: list[str], timeout_s: float = 45.0) -> list[str]:
    """The plots once the map and the other plots both differ from ``before``, or as they are
    after ``timeout_s`` (a loaded machine redraws late; the caller's asserts then fail)."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = _plots(page)
        if (now[0] != before[0] and now[1:] != before[1:]) or time.monotonic() > deadline:
            return now
        page.wait_for_timeout(500)


def test_cli_prints_its_local_address(served) -> None:
    url, first_line = served
    assert url in first_line


def test_page_steps_and_plays_offline(served, browser, tmp_path) -> None:
    url, _ = served
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    outside, errors = [], []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    page.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else outside.append(ws.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    step = page.get_by_role("button", name="Step", exact=True)
    step.wait_for(timeout=60_000)
    assert _clock(page) == "day 1, 00:00"
    page.wait_for_function("() => document.querySelectorAll('canvas').length >= 5", timeout=60_000)
    page.wait_for_timeout(1500)
    plots_before = _plots(page)

    for _ in range(5):  # 6 hours a step: into day 2, so day 1's figures are plotted
        step.click()
        page.wait_for_timeout(400)
    page.wait_for_function(
        "() => document.querySelector('.volsim-clock').innerText === 'day 2, 06:00'",
        timeout=30_000,
    )
    plots_after = _plots_changed(page, plots_before)  # they redraw after a short debounce
    assert plots_after[0] != plots_before[0]  # the map moved on
    assert plots_after[1:] != plots_before[1:]  # day 1 is plotted

    before_play = _clock(page)
    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        f"() => document.querySelector('.volsim-clock').innerText !== '{before_play}'",
        timeout=30_000,
    )
    page.get_by_role("button", name=re.compile("❚❚")).click()
    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert errors == []
    assert outside == []
    page.close()
