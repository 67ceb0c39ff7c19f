"""Tools from Debian's packages that the tests and benchmarks use, installed with apt-get when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def ensure_package(program: Path, package: str, purpose: str) -> bool:
    """Installs ``package`` when ``program`` is missing (as root, e.g. in CI); True when it is there."""
    if program.exists():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{program} is missing: install it with `apt-get install {package}` ({purpose})")
        return False
    print(f"installing {package} (apt-get)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
        if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"`{' '.join(command)}` failed ({purpose})")
            return False
    return program.exists()
