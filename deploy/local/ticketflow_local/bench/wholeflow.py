"""Whole-flow benchmark: orders from HTTP creation to check-in, against the machine's ceiling in the same run.

    python -m ticketflow_local.bench.wholeflow [--orders 2000] [--concurrency 200] [--paced-seconds 120]

Runs against a running stack (``make bench`` starts one). Two passes:
  1. as fast as it goes: ``--orders`` orders (card, invoice, sponsored, free in
     turn; 3 tickets each) with ``--concurrency`` orders in flight;
  2. paced at half the rate pass 1 measured, for the latency at that load.
Then the ceiling: pass 1's records through bare aiokafka and its row count
through bare asyncpg; beside it, as many "your ticket" emails as pass 1 sent,
through the service's SMTP client into the sink. Reports to
bench-results/wholeflow.md and .png; a report, not a test: it prints the
figures next to the targets and fails only when orders fail.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from tqdm import tqdm

from . import ceiling
from .chart import Panel, draw
from .cleanup import mail_dispatched, tidy_up
from .delivery import DeliveryFloor, delivery_floor, emails_sent, ticket_email
from .flowload import MAIL_PREFIX, TICKETS_PER_ORDER, FlowDriver, FlowSession, SentRecord, drive
from .flowstats import (END_TO_END, HOPS, Ceiling, OrderTimes, Spread, hop_ms, rate, rate_series,
                        windowed_percentile)
from .report import RESULTS, Report, run_and_write
from .resources import ResourceSampler, Usage

TARGET_ORDERS_PER_SECOND = 500
TARGET_CEILING_RATIO = 0.5
TARGET_ISSUE_P99_MS = 250
ISSUE_HOP = ("settled", "issued")
HOP_NOTES = {
    ("placed", "settled"): "the buyer paying or the organizer approving, then the webhook or action",
    ("issued", "assigned"): "includes the buyer noticing the tickets and uploading the CSV",
    ("assigned", "emailed"): "reissue with the holder's secret, then the email with QR and PDF",
    ("emailed", "checked_in"): "includes the attendee scanning once mailed",
}


@dataclass
class PassResult:
    label: str
    orders: list[OrderTimes]
    failures: list[str]
    usage: dict[str, Usage]
    wall_seconds: float
    rows: int = 0
    records: list[SentRecord] = field(default_factory=list)
    machine: Usage | None = None
    retries: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> list[OrderTimes]:
        return [o for o in self.orders if o.complete]

    @property
    def span_seconds(self) -> float:
        """From the first order placed to the last ticket checked in, by the events' own clocks."""
        done = self.complete
        if not done:
            return 0.0
        return (max(o.when("checked_in") for o in done) - min(o.when("placed") for o in done)).total_seconds()

    @property
    def orders_per_second(self) -> float:
        return rate(len(self.complete), self.span_seconds)

    def spread(self, hop: tuple[str, str]) -> Spread:
        return Spread.of(hop_ms(self.complete, *hop))


async def settle(driver: FlowDriver, timeout: float = 60) -> None:
    """Wait for the last events (the check-ins' relays publish after the scans are answered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        times = driver.watcher.orders
        if all(o in times and times[o].complete for o in driver.placed):
            return
        await asyncio.sleep(0.2)


async def measure_pass(label: str, count: int, *, concurrency: int, per_second: float | None = None,
                       keep_records: bool = False, sample_every: float = 1.0,
                       alongside: Callable[[], Awaitable[None]] | None = None) -> PassResult:
    """Walk ``count`` orders through the flow, sampling the processes and counting the rows written.

    ``alongside`` runs while the orders are driven (the soak samples consumer lag with it).
    """
    rows_before = await ceiling.rows_written()
    sampler = ResourceSampler(sample_every).start()
    watching = asyncio.create_task(alongside()) if alongside else None
    try:
        async with FlowSession(keep_records=keep_records) as driver:
            with tqdm(total=count, desc=label, unit="order", file=sys.stdout, mininterval=1) as bar:
                result = await drive(driver, count, concurrency=concurrency, per_second=per_second,
                                     done=lambda: bar.update())
            await settle(driver)
            orders = [driver.watcher.orders[o] for o in driver.placed if o in driver.watcher.orders]
            records, retries = driver.watcher.records, dict(driver.retries)
    finally:
        if watching:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        usage = sampler.stop()
    rows = await ceiling.settled_rows_written() - rows_before
    return PassResult(label, orders, result.failures, usage, result.seconds, rows, records, sampler.machine, retries)


def report_pass(report: Report, result: PassResult, count: int, how: str, *, at_full_speed: bool = True) -> None:
    """Throughput (against its target when the pass ran as fast as it could) and the latency of every hop."""
    report.section(f"{result.label}: {count:,} orders of {TICKETS_PER_ORDER} tickets, {how}")
    report.row("orders through to check-in", f"{len(result.complete):,} of {count:,}",
               ok=len(result.complete) == count)
    for failure in result.failures[:5]:
        report.row("failure", failure.replace("|", "/"))
    report.row("sent again (the service had not learnt the tickets yet)",
               ", ".join(f"{count:,} {kind}" for kind, count in result.retries.items()) or "nothing")
    throughput = result.orders_per_second
    measured = f"**{throughput:,.1f} orders/s**, {throughput * TICKETS_PER_ORDER:,.1f} tickets/s over " \
               f"{result.span_seconds:,.1f} s"
    if at_full_speed:
        report.row("throughput", f"{measured} (target {TARGET_ORDERS_PER_SECOND} orders/s)",
                   ok=throughput >= TARGET_ORDERS_PER_SECOND)
    else:
        report.row("throughput", f"{measured} (paced)")
    for hop in HOPS:
        note = f" ({HOP_NOTES[hop]})" if hop in HOP_NOTES else ""
        report.row(f"{hop[0]} -> {hop[1]}", result.spread(hop).line() + note)
    report.row("end to end: placed -> checked in", f"**{result.spread(END_TO_END).line()}**")


def report_resources(report: Report, result: PassResult) -> None:
    report.section(f"{result.label}: CPU and memory per process ({result.wall_seconds:,.1f} s of wall time)")
    for name, usage in sorted(result.usage.items(), key=lambda item: -item[1].cpu_seconds):
        report.row(name, f"{usage.cpu_seconds:,.1f} CPU s ({usage.cpu_seconds / result.wall_seconds:.2f} cores), "
                   f"peak RSS {usage.peak_rss:,.0f} MiB")
    busiest, usage = max(result.usage.items(), key=lambda item: item[1].cpu_seconds)
    report.row("busiest", f"{busiest} at {usage.cpu_seconds / result.wall_seconds:.2f} cores (a service's event "
               "loop is one thread: near 1.0 it is the bottleneck)")
    total = sum(u.cpu_seconds for u in result.usage.values())
    report.row("all of them", f"{total:,.1f} CPU s ({total / result.wall_seconds:.2f} of the machine's cores); "
               "memory is RSS, for PostgreSQL the PSS of its processes summed (shared buffers counted once)")
    if result.machine is not None:
        others = max(result.machine.cpu_seconds - total, 0.0)
        report.row("other work on the machine", f"{others:,.1f} CPU s ({others / result.wall_seconds:.2f} cores) "
                   "by processes outside the run, competing for the same cores")


async def measure_ceiling(result: PassResult, emails: int) -> tuple[Ceiling, DeliveryFloor | None]:
    print("\nceiling: the same records through bare aiokafka, the same row count through bare asyncpg, "
          "the same number of emails through bare SMTP", flush=True)
    message_seconds = await ceiling.kafka_seconds(result.records)
    row_seconds = await ceiling.postgres_seconds(result.rows)
    delivery = await delivery_floor(ticket_email(f"{MAIL_PREFIX}floor@example.com"), emails) if emails else None
    return Ceiling(len(result.records), message_seconds, result.rows, row_seconds, len(result.complete)), delivery


def report_ceiling(report: Report, result: PassResult, found: Ceiling, delivery: DeliveryFloor | None) -> None:
    report.section("Ceiling: the pipeline's volume through bare clients, in the same run")
    size = sum(len(r.value) for r in result.records) / max(len(result.records), 1)
    orders = max(found.orders, 1)
    report.row("Kafka, one producer and one consumer",
               f"{found.messages:,} records ({found.messages / orders:.1f} per order, {size:,.0f} bytes each on "
               f"average) in {found.message_seconds:.2f} s: {rate(found.messages, found.message_seconds):,.0f} "
               f"records/s = {found.kafka_orders_per_second:,.0f} orders/s")
    report.row("PostgreSQL, COPY in batches of 10,000",
               f"{found.rows:,} rows ({found.rows / orders:.1f} per order) in {found.row_seconds:.2f} s: "
               f"{rate(found.rows, found.row_seconds):,.0f} rows/s = {found.postgres_orders_per_second:,.0f} orders/s")
    report.row("ceiling (the slower of the two)", f"{found.orders_per_second:,.0f} orders/s")
    ratio = found.ratio(result.orders_per_second)
    report.row("pipeline / ceiling", f"**{ratio:.1%}** (target at least {TARGET_CEILING_RATIO:.0%})",
               ok=ratio >= TARGET_CEILING_RATIO)
    if delivery:
        # Not in the ceiling the ratio is taken to (Kafka and PostgreSQL): the bound email puts on the flow.
        orders_per_second = rate(orders, delivery.seconds)
        report.row("email, beside the ceiling",
                   f"{delivery.emails:,} emails ({delivery.emails / orders:.1f} per order), sent as \"your ticket\" "
                   f"emails: {delivery.describe()} = {orders_per_second:,.0f} orders/s "
                   f"(target {TARGET_ORDERS_PER_SECOND})", ok=orders_per_second >= TARGET_ORDERS_PER_SECOND)


def chart(results: list[PassResult]) -> None:
    throughput = Panel("orders through to check-in, per second (5 s windows)", "orders/s")
    latency = Panel("latency by completion time (5 s windows)", "ms", log_scale=True)
    for result in results:
        done = result.complete
        if not done:
            continue
        start = min(o.when("placed") for o in done).timestamp()
        throughput.series[result.label] = rate_series((o.when("checked_in").timestamp() for o in done), start, 5)
        for name, hop, p in (("end to end p50", END_TO_END, 50), ("end to end p99", END_TO_END, 99),
                             ("settled -> issued p99", ISSUE_HOP, 99)):
            points = [(o.when(hop[1]).timestamp(), ms) for o, ms in zip(done, hop_ms(done, *hop), strict=True)]
            latency.series[f"{result.label}: {name}"] = windowed_percentile(points, start, 5, p)
    path = draw(RESULTS / "wholeflow.png", "Whole flow: throughput and latency over time", [throughput, latency])
    print(f"chart: {path}", flush=True)


async def run(args: argparse.Namespace, report: Report) -> int:
    emails_before = await emails_sent()
    fastest = await measure_pass("maximum rate", args.orders, concurrency=args.concurrency, keep_records=True)
    await mail_dispatched(timeout=30)  # the buyers' emails, sent beside the flow, are counted too
    emails = await emails_sent() - emails_before
    report_pass(report, fastest, args.orders, f"{args.concurrency} in flight")
    report_resources(report, fastest)
    report_ceiling(report, fastest, *await measure_ceiling(fastest, emails))
    fastest.records.clear()
    results = [fastest]
    half = fastest.orders_per_second / 2
    paced_orders = round(half * args.paced_seconds)
    if paced_orders:
        paced = await measure_pass("half the maximum rate", paced_orders, concurrency=args.concurrency * 4,
                                   per_second=half)
        report_pass(report, paced, paced_orders, f"started at {half:,.1f} orders/s for {args.paced_seconds:g} s",
                    at_full_speed=False)
        p99 = paced.spread(ISSUE_HOP).p99
        report.row("order.settled -> ticket.issued at half the maximum rate",
                   f"**p99 {p99:,.0f} ms** (target < {TARGET_ISSUE_P99_MS} ms)", ok=p99 < TARGET_ISSUE_P99_MS)
        report_resources(report, paced)
        results.append(paced)
    chart(results)
    await tidy_up(MAIL_PREFIX)
    report.lines += ["", "![throughput and latency over time](wholeflow.png)", "",
                     f"Latencies from the events' own timestamps (ce_time: when each service committed; the "
                     f"message log's sent_at for the email). Run at {datetime.now():%H:%M} with "
                     "`python -m ticketflow_local.bench.wholeflow "
                     f"--orders {args.orders} --concurrency {args.concurrency} --paced-seconds {args.paced_seconds:g}`."]
    return 1 if any(r.failures for r in results) else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.wholeflow")
    parser.add_argument("--orders", type=int, default=2000, help="orders in the pass at the maximum rate")
    parser.add_argument("--concurrency", type=int, default=200, help="orders in flight in that pass")
    parser.add_argument("--paced-seconds", type=float, default=120,
                        help="how long orders are started in the pass at half the maximum rate (0 skips it)")
    args = parser.parse_args()
    return run_and_write("wholeflow", run, args)


if __name__ == "__main__":
    sys.exit(main())
