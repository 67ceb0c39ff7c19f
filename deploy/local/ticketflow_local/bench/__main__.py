"""make bench: start what the benchmarks need, run each, stop what was started."""

from __future__ import annotations

import subprocess
import sys

from .. import infra
from ..stack import SERVICES, ServiceStack

# Each benchmark with the services it runs beside; issuance is measured once with
# the pipeline consuming its events, then alone (its own target).
BENCHMARKS = [
    (["ticketflow_local.bench.orders"], SERVICES),
    (["ticketflow_local.bench.checkin"], SERVICES),
    # Each email renders its ticket PDF: 2,000 keep the run short; --emails 10000 for the full burst.
    (["ticketflow_local.bench.notifications", "--emails", "2000"], SERVICES),
    (["ticketflow_local.bench.issuance", "--downstream", "running"], SERVICES),
    (["ticketflow_local.bench.issuance", "--downstream", "stopped"], ("issuance",)),
]


def main() -> int:
    started = infra.up()
    stack = ServiceStack(extra_env={"PUBLIC_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING"})
    code = 0
    try:
        for command, services in BENCHMARKS:
            if surplus := tuple(name for name in stack.processes if name not in services):
                stack.stop(surplus)
            if missing := tuple(name for name in services if name not in stack.processes):
                stack.start(missing)
            code |= subprocess.call([sys.executable, "-m", *command])
    finally:
        stack.stop()
        infra.down(started)
    return code


if __name__ == "__main__":
    sys.exit(main())
