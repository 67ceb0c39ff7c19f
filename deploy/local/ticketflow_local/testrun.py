"""make test: start what the tests need, run every suite, stop what was started.

Phases, in order, each a pytest run (the first failure does not hide the rest):
  1. unit, contract, deployment and API-document tests (no infrastructure);
  2. end-to-end tests, the contract tests of what producers really publish, the
     bad-input, poison and access sweeps, and the console's pages driven in
     headless Chromium (installed from Debian's packages when missing): the
     five services as real processes on the real Kafka, PostgreSQL and SMTP sink;
  3. outage tests: the outbox across a Kafka stop and start (services down).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from . import infra
from .browser import ensure_chromium
from .config import PATHS, REPO_ROOT

PHASES = [
    ("unit, contract and static checks",
     ["-m", "not stack", "services", "shared", "deploy/local/tests", "tests/contract", "tests/deploy",
      "tests/docs", "tests/sweeps"]),
    # The browser tests come last: Playwright's synchronous API keeps an event loop
    # running in the main thread until the session ends, which asyncio tests refuse.
    ("end to end, contracts, sweeps, browser",
     ["-m", "stack", "tests/e2e", "tests/contract", "tests/sweeps", "tests/browser"]),
    ("outage", ["tests/outage"]),
]


def main() -> int:
    started = time.monotonic()
    os.chdir(REPO_ROOT)
    ensure_chromium()
    started_infra = infra.up()
    results: list[tuple[str, int, float]] = []
    try:
        for name, paths in PHASES:
            print(f"\n=== {name} ===", flush=True)
            phase_started = time.monotonic()
            code = subprocess.call([sys.executable, "-m", "pytest", "-q", *sys.argv[1:], *paths])
            results.append((name, code, time.monotonic() - phase_started))
    finally:
        infra.down(started_infra)
    print("\n=== summary ===")
    for name, code, seconds in results:
        print(f"  {'ok  ' if code == 0 else 'FAIL'}  {name:<34} {seconds:6.1f}s")
    print(f"  total wall time {time.monotonic() - started:.1f}s (service logs in {PATHS.logs})")
    return max((code for _, code, _ in results), default=1)


if __name__ == "__main__":
    sys.exit(main())
