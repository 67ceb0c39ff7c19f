"""make bench: start what the benchmarks need, run each, stop what was started."""

from __future__ import annotations

import subprocess
import sys

from .. import infra
from ..stack import ServiceStack

BENCHMARKS = ["ticketflow_local.bench.orders", "ticketflow_local.bench.issuance"]


def main() -> int:
    started = infra.up()
    stack = ServiceStack(extra_env={"PUBLIC_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING"})
    code = 0
    try:
        stack.start()
        for module in BENCHMARKS:
            code |= subprocess.call([sys.executable, "-m", module])
    finally:
        stack.stop()
        infra.down(started)
    return code


if __name__ == "__main__":
    sys.exit(main())
