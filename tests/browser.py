"""Debian's Chromium for the browser tests (reports and dashboards), shared by both test files.

``make test`` installs it with apt when it is missing. Without it the browser tests are skipped
with a message, except in CI (the environment variable ``CI`` is set), where they fail: a green
CI run must have read the reports and dashboards in a browser. Never run ``playwright install``:
the system Chromium is used (``CTC_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CTC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def require_browser() -> None:
    """Skip (or, in CI, fail) the calling test when Chromium or playwright is missing."""
    problem = ""
    if not Path(CHROMIUM).is_file():
        problem = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem and os.environ.get("CI"):
        pytest.fail(f"Browser tests must run in CI: {problem}.")
    if problem:
        pytest.skip(f"Browser tests skipped: {problem}.")
