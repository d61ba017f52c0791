"""Debian's chromium through playwright for the browser tests (never a downloaded browser).

Without chromium or playwright a browser test skips, saying how to enable it; under CI=true it
fails instead (.ci/run installs chromium).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest

#: no sandbox as root, no GPU, and none of the background connections a closed network refuses
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(reason: str, enable: str) -> None:
    """Skip (or, under CI=true, fail) a test that lacks what it needs."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} ({enable})")
    pytest.skip(f"{reason}: {enable}")


@contextlib.contextmanager
def chromium(enable: str) -> Iterator:
    """A headless Debian chromium, launched through playwright."""
    executable = shutil.which("chromium")
    if executable is None:
        missing("no chromium on PATH", enable)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed", enable)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
