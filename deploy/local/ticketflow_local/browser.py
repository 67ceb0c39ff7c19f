"""The headless Chromium the browser tests drive: Debian's package, installed when missing.

Playwright cannot download its own browsers here, so it is pointed at ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .debian import ensure_package

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ensure_chromium() -> bool:
    """Installs Debian's chromium when it is missing (as root, e.g. in CI); True when it is there."""
    return ensure_package(CHROMIUM, "chromium", "without it the browser tests skip")
