"""Benchmark of the orders service: order creation over HTTP, and the Ticket Orders view at 100,000 orders.

    python -m ticketflow_local.bench.orders [--orders 5000] [--concurrency 32] [--view-orders 100000]
                                            [--downstream running|stopped]

Runs against the orders service started by the local stack (or by this
script), reports to bench-results/orders.md; with ``--downstream stopped``
(the orders service alone, creation only) to bench-results/orders-alone.md. A report, not a test: it prints
the figures next to the targets and does not fail on them.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import httpx

from ..config import REPO_ROOT, plain_database_url, service_url
from ..flow import Flow
from .cleanup import tidy_up, with_the_others
from .report import Report, percentile, rss_sampler
from .resources import ResourceSampler, cpu_per_unit

ORDERS = service_url("orders")
BUYER_EMAIL_PREFIX = "orders-bench-buyer-"
WARM_UP_ORDERS = 1_500


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)

    def line(self) -> str:
        ms = [s * 1000 for s in self.samples]
        return (f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
                f"p99 {percentile(ms, 99):.1f} ms (n={len(ms)})")


def _event(flow: Flow, name: str, capacity: int) -> dict:
    response = flow.http.post(f"{ORDERS}/v1/events", json={
        "name": name, "starts_at": "2027-09-01T08:00:00Z", "ends_at": "2027-09-02T17:00:00Z",
        "capacity": capacity, "ticket_types": [{"name": "Pass", "net_price": 490000},
                                               {"name": "Workshop", "net_price": 190000}]})
    response.raise_for_status()
    return response.json()


async def create_orders(event_id: str, count: int, concurrency: int, headers: dict) -> tuple[float, Latencies, int]:
    latencies = Latencies()
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    methods = ["invoice", "card", "sponsored", "free"]

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal failures
        while True:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            async with client.post(f"{ORDERS}/v1/orders", json={
                "event_id": event_id, "payment_method": methods[n % 4], "lines": [{"quantity": 1 + n % 3}],
                "buyer": {"name": f"Bench Buyer {n}", "email": f"{BUYER_EMAIL_PREFIX}{n}@example.com", "company": f"Company {n % 97}"},
            }) as response:
                await response.read()
            latencies.samples.append(time.perf_counter() - started)
            failures += response.status != 201

    # aiohttp, not httpx: at these rates httpx's own cost per request (about 2 ms
    # of CPU here) would make the load generator the bottleneck on a shared machine.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, failures


async def seed_view_orders(event_id: str, count: int) -> float:
    """Bulk-load ``count`` orders (COPY) so the view is measured at its target size."""
    url = plain_database_url("orders")
    connection = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        type_id = await connection.fetchval("SELECT id FROM ticket_types WHERE event_id = $1 ORDER BY position", 
                                            uuid.UUID(event_id))
        statuses = ["requested", "invoice_sent", "settled", "settled", "cancelled", "payment_pending"]
        methods = ["invoice", "card", "sponsored", "free"]
        base = datetime.now(UTC) - timedelta(days=90)
        prefix = uuid.uuid4().hex[:4].upper()
        orders, lines = [], []
        for n in range(count):
            order_id = uuid.uuid4()
            quantity = 1 + n % 4
            method = methods[n % 4]
            net = 0 if method in ("sponsored", "free") else 490000 * quantity
            vat = net // 4
            status = statuses[n % 6] if method != "card" else ["payment_pending", "settled", "cancelled"][n % 3]
            created = base + timedelta(seconds=n * 77)
            issued = quantity if status == "settled" else 0
            orders.append((order_id, f"TB-{prefix}-{n:07d}", uuid.UUID(event_id), f"Contact {n}", f"contact{n}@example.com",
                           f"Company {n % 997}, \"Dept\" {n % 7}", None, "en", method, status, None, "SEK",
                           quantity, net, vat, net + vat, issued, 0, "organizer", "bench", created, created))
            lines.append((order_id, 1, type_id, "Pass", quantity, net // quantity if quantity else 0, net, vat,
                          net + vat))
        await connection.copy_records_to_table("orders", records=orders, columns=[
            "id", "number", "event_id", "buyer_name", "buyer_email", "buyer_company", "buyer_phone", "language",
            "payment_method", "status", "note", "currency", "quantity", "net", "vat", "gross", "issued_count",
            "voided_count", "channel", "created_by", "created_at", "updated_at"])
        await connection.copy_records_to_table("order_lines", records=lines, columns=[
            "order_id", "line_no", "ticket_type_id", "ticket_type_name", "quantity", "unit_net", "net", "vat",
            "gross"])
        # Vacuumed as well as analysed, as tables of that age would be: an autovacuum of the
        # fresh rows would otherwise run during the measurement, and no index-only scan would.
        await connection.execute("VACUUM (ANALYZE) orders, order_lines")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def time_requests(client: httpx.AsyncClient, url: str, params: list, runs: int) -> Latencies:
    latencies = Latencies()
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(url, params=params)
        response.raise_for_status()
        latencies.samples.append(time.perf_counter() - started)
    return latencies


async def measure_view(event_id: str, headers: dict, runs: int) -> dict[str, Latencies]:
    cases = {
        "summary, whole event": (f"{ORDERS}/v1/orders/summary", [("event_id", event_id)]),
        "summary, settled card+invoice, date range": (f"{ORDERS}/v1/orders/summary", [
            ("event_id", event_id), ("status", "settled"), ("payment_method", "card"),
            ("payment_method", "invoice"), ("from", (datetime.now(UTC) - timedelta(days=60)).date().isoformat())]),
        "summary, search 'company 12'": (f"{ORDERS}/v1/orders/summary", [("event_id", event_id),
                                                                         ("search", "company 12")]),
        "list, first page of 50": (f"{ORDERS}/v1/orders", [("event_id", event_id)]),
        "list, page 100, sorted by amount": (f"{ORDERS}/v1/orders", [("event_id", event_id), ("sort", "-gross"),
                                                                     ("offset", "5000")]),
        "list, search 'contact12'": (f"{ORDERS}/v1/orders", [("event_id", event_id), ("search", "contact12")]),
    }
    results = {}
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        for name, (url, params) in cases.items():
            await time_requests(client, url, params, 2)  # warm
            results[name] = await time_requests(client, url, params, runs)
    return results


async def measure_export(event_id: str, headers: dict, pid: int | None) -> tuple[float, int, float, float]:
    """Export the event's orders; returns seconds, rows, the service's RSS before and its peak during (MiB)."""
    sampler = rss_sampler(pid)
    before = sampler.current()
    rows = 0
    async with httpx.AsyncClient(timeout=600, headers=headers) as client:
        started = time.perf_counter()
        sampler.start()
        async with client.stream("GET", f"{ORDERS}/v1/orders/export.csv", params={"event_id": event_id}) as response:
            async for chunk in response.aiter_bytes():
                rows += chunk.count(b"\n")  # a record ends in CRLF, which a chunk may split
        elapsed = time.perf_counter() - started
        peak = sampler.stop()
    return elapsed, rows - 1, before, peak


def orders_pid() -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().split(b"\0")[:3][-1:] == [b"orders"]:
                    return int(proc.name)
            except OSError:
                continue
    return None


async def run(args: argparse.Namespace, report: Report) -> None:
    flow = Flow()
    headers = dict(flow.http.headers)
    pid = orders_pid()
    report.section("Orders: creation over HTTP")
    event = _event(flow, f"Bench creation {uuid.uuid4().hex[:6]}", capacity=10_000_000)
    # Warm up connections, caches and the broker's JIT-compiled paths: a few seconds at full rate.
    await create_orders(event["id"], WARM_UP_ORDERS, args.concurrency, headers)
    sampler = ResourceSampler().start()
    elapsed, latencies, failures = await create_orders(event["id"], args.orders, args.concurrency, headers)
    usage = sampler.stop()
    rate = args.orders / elapsed
    report.row("orders created", f"{args.orders} at concurrency {args.concurrency} in {elapsed:.1f} s")
    report.row("throughput", f"**{rate:.0f} orders/s** (target 500)", ok=rate >= 500)
    report.row("latency", latencies.line())
    report.row("failures", str(failures), ok=failures == 0)
    # The load generator is Python too; the other services consume order.placed meanwhile.
    report.row("CPU per order", cpu_per_unit(sampler, usage, args.orders))
    if args.downstream == "stopped":
        report.row("beside it", "nothing: the consumers of order.placed are stopped, its events wait in Kafka")
        flow.close()
        # Their confirmations are sent and removed, so that no later run sends them.
        await with_the_others("orders", lambda: tidy_up(BUYER_EMAIL_PREFIX, timeout=600))
        return
    # The view is measured on its own, not beside the confirmations of those orders being sent;
    # and they leave the sink, which the end-to-end tests search message by message.
    await tidy_up(BUYER_EMAIL_PREFIX, timeout=300)

    report.section(f"Ticket Orders view at {args.view_orders:,} orders")
    view_event = _event(flow, f"Bench view {uuid.uuid4().hex[:6]}", capacity=10_000_000)
    seeded = await seed_view_orders(view_event["id"], args.view_orders)
    report.row("seeded", f"{args.view_orders:,} orders with COPY in {seeded:.1f} s")
    for name, result in (await measure_view(view_event["id"], headers, args.view_runs)).items():
        target = name.startswith("summary")
        report.row(name, result.line() + (" (target p99 < 100 ms)" if target else ""),
                   ok=percentile(result.samples, 99) < 0.1 if target else None)
    elapsed, rows, before, peak = await measure_export(view_event["id"], headers, pid)
    report.row("CSV export", f"{rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")
    if pid:
        report.row("export memory", f"orders service RSS {before:.0f} MiB before, peak {peak:.0f} MiB during "
                   f"(+{peak - before:.0f} MiB: flat means independent of the row count)",
                   ok=peak - before < 64)
    flow.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.orders")
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--view-orders", type=int, default=100_000)
    parser.add_argument("--view-runs", type=int, default=30)
    parser.add_argument("--downstream", choices=["running", "stopped"], default="running",
                        help="stopped: the orders service alone (order creation only), as a replica of it would "
                             "run on a machine of its own")
    args = parser.parse_args()
    report = Report("orders" if args.downstream == "running" else "orders-alone", REPO_ROOT / "bench-results")
    asyncio.run(run(args, report))
    print(report.write())


if __name__ == "__main__":
    main()
