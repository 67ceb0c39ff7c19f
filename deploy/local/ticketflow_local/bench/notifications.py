"""Benchmark of notifications: a burst of ticket assignments to emails delivered into the SMTP sink.

    python -m ticketflow_local.bench.notifications [--emails 10000]

Tickets are issued first (order.settled, as the orders service sends it, with
the event's details so each email carries the QR code and the ticket PDF).
Then a ticket.assigned per ticket is published at once: issuance reissues each
ticket for its holder and notifications mails it. Timed from each assignment's
Kafka timestamp to the moment the SMTP sink accepted the message (the message
log's sent_at).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import psutil
from aiokafka import AIOKafkaProducer

from ticketflow_schemas import events
from ticketflow_schemas.envelope import Envelope

from ..config import REPO_ROOT, plain_database_url, stack_env
from ..flow import read_topics
from .cleanup import tidy_up
from .delivery import delivery_floor, render_cpu_ms, ticket_email
from .report import Report, percentile
from .resources import ResourceSampler, cpu_per_unit

TICKETS_PER_ORDER = 3
TARGET_EMAILS_PER_SECOND = 500
FLOOR_EMAILS = 2_000


async def publish(records: list[events.Event], source: str) -> dict[str, int]:
    """Publish events as ``source``'s relay would; returns each record's Kafka timestamp by key."""
    producer = AIOKafkaProducer(bootstrap_servers=stack_env()["KAFKA_BOOTSTRAP_SERVERS"], acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        pending = {}
        for event in records:
            envelope = Envelope.for_service(source, type=event.ce_type, subject=event.kafka_key())
            headers = [(k, v.encode()) for k, v in envelope.to_headers().items()]
            pending[event.kafka_key()] = await producer.send(event.topic, event.model_dump_json().encode(),
                                                             key=event.kafka_key().encode(), headers=headers)
        return {key: (await future).timestamp for key, future in pending.items()}
    finally:
        await producer.stop()


async def issue(count: int, tag: str) -> list[dict]:
    """``count`` tickets issued by the issuance service for this run."""
    event_id, type_id = uuid.uuid4(), uuid.uuid4()
    orders = [events.OrderSettled(
        order_id=uuid.uuid4(), order_number=f"MB-{tag}-{n:05d}", event_id=event_id, event_name="Mail benchmark",
        buyer=events.Buyer(name=f"Buyer {n}", email=f"mailbench-buyer-{tag}-{n}@example.com"), payment_method="free",
        lines=[events.OrderLine(line_no=1, ticket_type_id=type_id, ticket_type_name="Conference pass",
                                quantity=TICKETS_PER_ORDER, unit_net=0)],
        quantity=TICKETS_PER_ORDER, amount=events.Amount(currency="SEK", net=0, vat=0, gross=0),
        settled_at=datetime.now(UTC), event_starts_at=datetime.now(UTC) + timedelta(days=30),
        event_venue="Stockholm") for n in range(-(-count // TICKETS_PER_ORDER))]
    since = int(time.time() * 1000) - 1000
    await publish(orders, "orders")
    wanted = {str(o.order_id) for o in orders}
    records = await read_topics(
        ["ticket.issued"], since_ms=since, timeout=600,
        until=lambda rs: sum(json.loads(r.value)["order_id"] in wanted for r in rs) >= len(wanted) * TICKETS_PER_ORDER)
    issued = [json.loads(r.value) for r in records if json.loads(r.value)["order_id"] in wanted]
    return issued[:count]


def assignment(ticket: dict, tag: str, n: int) -> events.TicketAssigned:
    return events.TicketAssigned(
        ticket_id=ticket["ticket_id"], ticket_number=ticket["ticket_number"], order_id=ticket["order_id"],
        event_id=ticket["event_id"], ticket_type_name=ticket["ticket_type_name"],
        holder=events.Holder(person_id=uuid.uuid4(), name=f"Attendee {n}", email=f"mailbench-{tag}-{n}@example.com",
                             company="Benchmark AB"),
        qr_payload=ticket["qr_payload"], secret_version=ticket["secret_version"], assigned_at=datetime.now(UTC),
        assigned_by="benchmark")


async def sent_times(ticket_ids: list[str], timeout: float) -> dict[str, datetime]:
    """When each ticket's "your ticket" email was accepted by the SMTP server, once all were (or at the timeout)."""
    connection = await asyncpg.connect(plain_database_url("notifications"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            # By subject (indexed): the log holds every run's messages, and a scan of it would load the database.
            rows = await connection.fetch(
                "SELECT subject_id, sent_at FROM messages WHERE subject_id = ANY($1::text[]) "
                "AND template = 'your_ticket' AND status = 'sent'", ticket_ids)
            if len(rows) >= len(ticket_ids) or time.monotonic() > deadline:
                return {row["subject_id"]: row["sent_at"] for row in rows}
            await asyncio.sleep(1)
    finally:
        await connection.close()


async def run(args: argparse.Namespace, report: Report) -> None:
    tag = uuid.uuid4().hex[:6]
    report.section(f"Notifications: a burst of {args.emails:,} ticket assignments to emails in the SMTP sink")
    tickets = await issue(args.emails, tag)
    sampler = ResourceSampler().start()
    published = await publish([assignment(t, tag, n) for n, t in enumerate(tickets)], "assignment")
    started = min(published.values()) / 1000
    sent = await sent_times([str(t["ticket_id"]) for t in tickets], timeout=args.timeout)
    usage = sampler.stop()
    report.row("emails delivered", f"{len(sent):,} of {len(tickets):,} (QR inline and the ticket PDF attached)",
               ok=len(sent) == len(tickets))
    if sent:
        span = max(at.timestamp() for at in sent.values()) - started
        rate = len(sent) / span
        latencies = [(sent[key].timestamp() - published[key] / 1000) * 1000 for key in sent if key in published]
        report.row("throughput", f"**{rate:,.0f} emails/s** (target {TARGET_EMAILS_PER_SECOND})",
                   ok=rate >= TARGET_EMAILS_PER_SECOND)
        report.row("ticket.assigned -> accepted by the SMTP server",
                   f"p50 {percentile(latencies, 50):,.0f} ms, p99 {percentile(latencies, 99):,.0f} ms "
                   "(a burst: later emails queue behind earlier ones)")
        # Where the cores went: the renderer processes count with notifications, the SMTP sink with "other".
        report.row("CPU per email", cpu_per_unit(sampler, usage, len(sent)))
    await report_floor(report, tag)
    # Thousands of ticket emails left in the sink would slow down the end-to-end tests' mail searches.
    await tidy_up("mailbench-")


async def report_floor(report: Report, tag: str) -> None:
    """What rendering and delivering one such email cost at the least, against the CPU the target leaves."""
    report.section("Notifications: the floor of this machine, the same kind of email with nothing else to do")
    render_ms = render_cpu_ms()
    report.row("rendering, in one process", f"{render_ms:.1f} ms CPU per email (QR code inline, ticket PDF attached)")
    floor = await delivery_floor(ticket_email(f"mailbench-floor-{tag}@example.com"), FLOOR_EMAILS)
    report.row("delivery alone", floor.describe())
    cores = psutil.cpu_count()
    budget = cores / TARGET_EMAILS_PER_SECOND * 1000
    least = render_ms + floor.cpu_ms
    report.row("CPU the target leaves", f"{cores} cores / {TARGET_EMAILS_PER_SECOND} emails/s = {budget:.1f} ms per "
               f"email for everything; rendering and delivery alone take {least:.1f} ms", ok=least <= budget)


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.notifications")
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    report = Report("notifications", REPO_ROOT / "bench-results")
    asyncio.run(run(args, report))
    print(report.write())


if __name__ == "__main__":
    main()
