"""Benchmark of ticket issuance: a burst of settled orders to issued tickets, and QR verification speed.

    python -m ticketflow_local.bench.issuance [--orders 10000]

The burst is published straight to order.settled (as the orders service's relay
would) and timed with the records' own Kafka timestamps: from each order.settled
to the last ticket.issued of that order.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ticketflow_schemas import events, qr
from ticketflow_schemas.envelope import Envelope

from ..config import REPO_ROOT, stack_env
from .report import Report, percentile

TICKETS_PER_ORDER = 3


def settled(event_id: uuid.UUID, type_id: uuid.UUID, n: int) -> events.OrderSettled:
    return events.OrderSettled(
        order_id=uuid.uuid4(), order_number=f"TB-{n:07d}", event_id=event_id, event_name="Issuance benchmark",
        buyer=events.Buyer(name=f"Buyer {n}", email=f"buyer{n}@example.com"), payment_method="free",
        lines=[events.OrderLine(line_no=1, ticket_type_id=type_id, ticket_type_name="Pass",
                                quantity=TICKETS_PER_ORDER, unit_net=0)],
        quantity=TICKETS_PER_ORDER, amount=events.Amount(currency="SEK", net=0, vat=0, gross=0),
        settled_at=datetime.now(UTC),
    )


async def burst(count: int) -> tuple[dict[uuid.UUID, int], int]:
    """Publish ``count`` order.settled events; returns each order's record timestamp and the start."""
    bootstrap = stack_env()["KAFKA_BOOTSTRAP_SERVERS"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    event_id, type_id = uuid.uuid4(), uuid.uuid4()
    sent: dict[uuid.UUID, asyncio.Future] = {}
    started = int(time.time() * 1000)
    try:
        for n in range(count):
            order = settled(event_id, type_id, n)
            envelope = Envelope.for_service("orders", type=order.ce_type, subject=str(order.order_id))
            headers = [(k, v.encode()) for k, v in envelope.to_headers().items()]
            sent[order.order_id] = await producer.send(order.topic, order.model_dump_json().encode(),
                                                       key=str(order.order_id).encode(), headers=headers)
        published = {order_id: (await future).timestamp for order_id, future in sent.items()}
    finally:
        await producer.stop()
    return published, started


async def issued_tickets(orders: dict[uuid.UUID, int], since_ms: int, timeout: float) -> dict[uuid.UUID, list[int]]:
    """The Kafka timestamps of the ticket.issued records of ``orders``."""
    import json

    bootstrap = stack_env()["KAFKA_BOOTSTRAP_SERVERS"]
    consumer = AIOKafkaConsumer("ticket.issued", bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: dict[uuid.UUID, list[int]] = {}
    wanted = len(orders) * TICKETS_PER_ORDER
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        offsets = await consumer.offsets_for_times({tp: since_ms for tp in consumer.assignment()})
        for tp, found_offset in offsets.items():
            if found_offset is not None:
                consumer.seek(tp, found_offset.offset)
        deadline = time.monotonic() + timeout
        seen = 0
        while seen < wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    order_id = uuid.UUID(json.loads(record.value)["order_id"])
                    if order_id in orders:
                        found.setdefault(order_id, []).append(record.timestamp)
                        seen += 1
    finally:
        await consumer.stop()
    return found


def verification_rate(seconds: float = 3.0) -> float:
    """QR payloads decoded and verified per second on one core, as the gate does it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.generate()
    public_key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    payloads = []
    for n in range(1000):
        body = qr.QrBody(uuid.uuid4(), 1 + n % 5, 7)
        payloads.append(qr.encode(body, private.sign(body.signing_input())))
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for payload in payloads:
            body, signature = qr.decode(payload)
            if not qr.signature_valid(body, signature, public_key):
                raise AssertionError("a genuine payload failed verification")
        done += len(payloads)
    return done / (time.perf_counter() - started)


async def run(args: argparse.Namespace, report: Report) -> None:
    alone = args.downstream == "stopped"
    setting = ("issuance alone: the services consuming ticket.issued are stopped" if alone
               else "the whole pipeline running: orders, assignment and checkin consume every ticket.issued")
    report.section(f"Issuance: a burst of {args.orders:,} settled orders of {TICKETS_PER_ORDER} tickets ({setting})")
    published, started = await burst(args.orders)
    tickets = await issued_tickets(published, started - 1000, timeout=args.timeout)
    complete = {o: ts for o, ts in tickets.items() if len(ts) == TICKETS_PER_ORDER}
    count = sum(len(ts) for ts in tickets.values())
    report.row("tickets issued", f"{count:,} of {args.orders * TICKETS_PER_ORDER:,}",
               ok=count == args.orders * TICKETS_PER_ORDER)
    if complete:
        span = (max(max(ts) for ts in complete.values()) - min(published.values())) / 1000
        rate = count / span
        latencies = [max(ts) - published[o] for o, ts in complete.items()]
        if alone:
            report.row("throughput", f"**{rate:,.0f} tickets/s** ({rate / TICKETS_PER_ORDER:,.0f} orders/s) "
                       "(target 3,000 tickets/s)", ok=rate >= 3000)
        else:
            report.row("throughput", f"{rate:,.0f} tickets/s ({rate / TICKETS_PER_ORDER:,.0f} orders/s), "
                       "sharing 2 cores with the consumers downstream")
        report.row("order.settled -> last ticket.issued", f"p50 {percentile(latencies, 50):,.0f} ms, "
                   f"p99 {percentile(latencies, 99):,.0f} ms (a burst: later orders queue behind earlier ones)")
    if not alone:
        return
    report.section("QR verification")
    rate = verification_rate()
    report.row("decode + Ed25519 verify, one core", f"**{rate:,.0f} verifications/s** (target 10,000)",
               ok=rate >= 10_000)


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.issuance")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--downstream", choices=["stopped", "running"], default="stopped",
                        help="whether the services consuming ticket.issued run (the caller starts or stops them)")
    args = parser.parse_args()
    name = "issuance" if args.downstream == "stopped" else "issuance-with-pipeline"
    report = Report(name, REPO_ROOT / "bench-results")
    asyncio.run(run(args, report))
    print(report.write())


if __name__ == "__main__":
    main()
