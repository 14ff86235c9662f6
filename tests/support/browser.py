"""Headless Chromium from the operating system, driven by Playwright.

The suite uses Debian's `chromium` package (`make chromium` installs it), never a
browser build that Playwright downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("OZ_TEST_CHROMIUM", "/usr/bin/chromium"))
# Screenshots are test artifacts, kept out of git: see docs/web.md.
ARTIFACTS_DIR = Path(
    os.environ.get("OZ_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
