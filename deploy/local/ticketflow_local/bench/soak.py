"""Soak: the whole flow at half the maximum rate for a long while; memory and consumer lag must stay flat.

    python -m ticketflow_local.bench.soak [--minutes 10] [--rate R] [--warmup-minutes 2]

Runs against a running stack (``make soak`` starts one). Without ``--rate``, a
short pass at the maximum rate measures it first. Every service's RSS and every
consumer group's lag are sampled throughout. After the warm-up, each service's
RSS may grow less than 10% (median of the first minute against the last), and
the lag must stay bounded: no higher at the end than twice its level after the
warm-up (or 100 records), and drained once the load stops. Exits 1 on a
violation; reports to bench-results/soak.md and .png.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from ..lag import consumer_lag, total_lag
from .cleanup import caught_up, tidy_up
from ..stack import SERVICES
from .chart import Panel, draw
from .flowload import MAIL_PREFIX
from .flowstats import growth, lag_bounded
from .report import RESULTS, Report, run_and_write
from .wholeflow import measure_pass, report_pass

MAX_RSS_GROWTH = 0.10
LAG_FLOOR = 100  # records: below this, lag is noise between two polls, not a backlog
DRAIN_SECONDS = 60


class LagSampler:
    """Total consumer lag over time, polled from the broker."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (seconds since the start, records)
        self.started = time.monotonic()

    async def run(self) -> None:
        self.started = time.monotonic()
        while True:
            self.samples.append((time.monotonic() - self.started, total_lag(await consumer_lag())))
            await asyncio.sleep(self.interval)


async def run(args: argparse.Namespace, report: Report) -> int:
    per_second = args.rate
    if per_second is None:
        probe = await measure_pass("probe at the maximum rate", args.probe_orders, concurrency=args.concurrency)
        per_second = probe.orders_per_second / 2
        report_pass(report, probe, args.probe_orders, f"{args.concurrency} in flight")
        report.row("the soak's rate", f"half of that: {per_second:,.1f} orders/s")
    count = max(1, round(per_second * args.minutes * 60))
    lags = LagSampler(args.interval)
    soak = await measure_pass(f"soak, {args.minutes:g} minutes", count, concurrency=args.concurrency * 4,
                              per_second=per_second, sample_every=args.interval, alongside=lags.run)
    report_pass(report, soak, count, f"started at {per_second:,.1f} orders/s", at_full_speed=False)

    warmup, window = args.warmup_minutes * 60, args.window
    report.section(f"Memory after a {args.warmup_minutes:g}-minute warm-up (median of the first {window:g} s "
                   f"against the last {window:g} s)")
    ok = not soak.failures
    for service in SERVICES:
        usage = soak.usage.get(service)
        if usage is None:
            report.row(service, "not running", ok=False)
            ok = False
            continue
        grew = growth(usage.rss, warmup, window)
        report.row(service, f"RSS {grew:+.1%} (peak {usage.peak_rss:,.0f} MiB; limit +{MAX_RSS_GROWTH:.0%})",
                   ok=grew < MAX_RSS_GROWTH)
        ok &= grew < MAX_RSS_GROWTH

    report.section("Consumer lag (all groups, all topics)")
    bounded, first, last = lag_bounded(lags.samples, warmup, window, LAG_FLOOR)
    peak = max((v for t, v in lags.samples if t >= warmup), default=0)
    report.row("after the warm-up", f"median {first:,.0f} records in the first window, {last:,.0f} in the last, "
               f"peak {peak:,.0f}", ok=bounded)
    caught_up_after, left = await caught_up(DRAIN_SECONDS)
    report.row("after the load stops", f"caught up within {DRAIN_SECONDS} s" if caught_up_after
               else f"{left:,} records still behind after {DRAIN_SECONDS} s", ok=caught_up_after)
    ok &= bounded and caught_up_after
    await tidy_up(MAIL_PREFIX)

    memory = Panel("resident memory per service", "MiB",
                   {name: soak.usage[name].rss for name in SERVICES if name in soak.usage})
    lag = Panel("consumer lag, all groups", "records", {"total lag": lags.samples})
    path = draw(RESULTS / "soak.png", f"Soak at {per_second:,.1f} orders/s", [memory, lag])
    report.lines += ["", "![memory and lag over time](soak.png)", "",
                     f"`python -m ticketflow_local.bench.soak --minutes {args.minutes:g} --rate {per_second:.1f}`: "
                     f"{'no violation' if ok else '**violations above**'}."]
    print(f"chart: {path}", flush=True)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.soak")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, help="orders per second (default: half the maximum, measured first)")
    parser.add_argument("--probe-orders", type=int, default=300, help="orders in the pass measuring the maximum")
    parser.add_argument("--concurrency", type=int, default=200, help="orders in flight when measuring the maximum")
    parser.add_argument("--warmup-minutes", type=float, help="default: 2, or a fifth of a shorter run")
    parser.add_argument("--window", type=float,
                        help="seconds compared at each end after the warm-up (default: 60, or a third of what is left)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between samples")
    args = parser.parse_args()
    if args.warmup_minutes is None:
        args.warmup_minutes = min(2.0, args.minutes / 5)
    if args.window is None:
        args.window = min(60.0, (args.minutes - args.warmup_minutes) * 60 / 3)
    return run_and_write("soak", run, args)


if __name__ == "__main__":
    sys.exit(main())
