"""make bench / make soak: start what the benchmarks need, run the chosen ones, stop what was started.

    python -m ticketflow_local.bench [NAME ...] [--orders N] [--emails N] [--minutes M] [--rate R]

Without names: the whole-flow benchmark, then the per-service ones. ``soak`` is
run only when named (``make soak``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from .. import infra
from ..stack import SERVICES, ServiceStack

# Each benchmark by name: its command and the services it runs beside; issuance is
# measured once with the pipeline consuming its events, then alone (its own target),
# and order creation and online scans with and without the consumers of their events beside them.
BENCHMARKS = {
    "wholeflow": (["ticketflow_local.bench.wholeflow"], SERVICES),
    "orders": (["ticketflow_local.bench.orders"], SERVICES),
    "checkin": (["ticketflow_local.bench.checkin"], SERVICES),
    "checkin-alone": (["ticketflow_local.bench.checkin", "--downstream", "stopped"], ("checkin",)),
    # Each email renders its ticket PDF: 2,000 keep the run short; --emails 10000 for the full burst.
    "notifications": (["ticketflow_local.bench.notifications", "--emails", "2000"], SERVICES),
    "issuance-with-pipeline": (["ticketflow_local.bench.issuance", "--downstream", "running"], SERVICES),
    "issuance": (["ticketflow_local.bench.issuance", "--downstream", "stopped"], ("issuance",)),
    "orders-alone": (["ticketflow_local.bench.orders", "--downstream", "stopped"], ("orders",)),
    "soak": (["ticketflow_local.bench.soak"], SERVICES),
}
ON_REQUEST = {"soak"}


def commands(args: argparse.Namespace) -> list[tuple[list[str], tuple[str, ...]]]:
    names = args.names or [name for name in BENCHMARKS if name not in ON_REQUEST]
    chosen = []
    for name in names:
        command, services = BENCHMARKS[name]
        extra = {"wholeflow": ["--orders", args.orders] if args.orders else [],
                 "notifications": ["--emails", args.emails] if args.emails else [],
                 "soak": [*(["--minutes", args.minutes] if args.minutes else []),
                          *(["--rate", args.rate] if args.rate else [])]}.get(name, [])
        chosen.append(([*command, *map(str, extra)], services))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all but soak)")
    parser.add_argument("--orders", type=int, help="orders in the whole-flow benchmark's pass at the maximum rate")
    parser.add_argument("--emails", type=int, help="emails in the notifications burst (default 2,000)")
    parser.add_argument("--minutes", type=float, help="how long the soak runs")
    parser.add_argument("--rate", type=float, help="the soak's orders per second (default: half the measured maximum)")
    args = parser.parse_args()
    if unknown := [name for name in args.names if name not in BENCHMARKS]:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    chosen = commands(args)
    started = infra.up()
    stack = ServiceStack(extra_env={"PUBLIC_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING"})
    code = 0
    try:
        for command, services in chosen:
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
