"""The headless Chromium the browser tests drive: Debian's package, installed when missing.

Playwright cannot download its own browsers here, so it is pointed at ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ensure_chromium() -> bool:
    """Installs Debian's chromium when it is missing (as root, e.g. in CI); True when it is there."""
    if CHROMIUM.exists():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{CHROMIUM} is missing: install it with `apt-get install chromium` (the browser tests skip)")
        return False
    print("installing chromium for the browser tests (apt-get)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"`{' '.join(command)}` failed: the browser tests skip")
            return False
    return CHROMIUM.exists()
