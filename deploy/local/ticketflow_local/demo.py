"""make demo: one order through the running stack, with a timeline of each hop.

Times come from the events themselves: ``ce_time`` (when a service committed
the change) and the Kafka record timestamp (when the outbox relay published
it), plus the message log's delivery time for the email.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime

from ticketflow_schemas import topics

from .config import PATHS
from .flow import Flow, header, read_topics, wait_for_mail, wait_until

FLOW_TOPICS = [topics.ORDER_SETTLED, topics.TICKET_ISSUED, topics.TICKET_ASSIGNED, topics.TICKET_REISSUED,
               topics.TICKET_CHECKED_IN]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Timeline:
    def __init__(self, start: datetime) -> None:
        self.start = start
        self.rows: list[tuple[datetime, str, str]] = []

    def add(self, at: datetime, what: str, who: str) -> None:
        self.rows.append((at, what, who))

    def print(self) -> None:
        print(f"\n{'at (ms)':>9}  {'step':<58} service")
        for at, what, who in sorted(self.rows):
            print(f"{(at - self.start).total_seconds() * 1000:>9.1f}  {what:<58} {who}")


def main() -> None:
    flow = Flow()
    event_file = PATHS.run / "demo-event.json"
    event = json.loads(event_file.read_text()) if event_file.exists() else flow.create_event(name="Demo event")
    since_ms = int(time.time() * 1000) - 1000
    holder = f"alex.attendee+{uuid.uuid4().hex[:6]}@example.com"

    records: list = []
    done = threading.Event()
    reading = threading.Event()

    def capture() -> None:
        asyncio.run(read_topics(
            FLOW_TOPICS, since_ms=since_ms, timeout=60, records=records, positioned=reading.set,
            until=lambda rs: done.is_set() and any(r.topic == topics.TICKET_CHECKED_IN for r in rs),
        ))

    reader = threading.Thread(target=capture, daemon=True)
    reader.start()
    reading.wait(timeout=30)

    print(f"Event: {event['name']}\nPlacing a free order of 3 tickets for Acme AB...")
    t0 = datetime.now(UTC)
    order = flow.place_free_order(event["id"], 3)
    print(f"  order {order['number']} is {order['status']}")
    tickets = flow.assignable_tickets(order["id"], 3)
    t_tickets = datetime.now(UTC)
    print(f"  tickets: {', '.join(t['number'] for t in tickets)}")

    print(f"Assigning {tickets[0]['number']} to {holder}...")
    t_assign = datetime.now(UTC)
    flow.assign(tickets[0]["id"], "Alex Attendee", holder, company="Acme AB")
    mail = wait_for_mail(holder)
    print(f"  email received: {mail['Subject']!r}")

    # The QR payload reissued for the holder (the email carries the same one as an image).
    payload = wait_until(lambda: next((json.loads(r.value)["qr_payload"] for r in list(records)
                                       if r.topic == topics.TICKET_REISSUED
                                       and header(r, "ce_subject") == tickets[0]["id"]), None),
                         timeout=10, what="the reissued ticket's QR payload")
    print("Scanning at the North gate...")
    t_scan = datetime.now(UTC)
    first = flow.scan_when_known(payload)
    second = flow.scan(payload)
    forged = flow.scan(payload[:-4] + ("AAAA" if not payload.endswith("AAAA") else "BBBB"))
    print(f"  first scan:  {first['result']} - {first['message']}")
    print(f"  second scan: {second['result']} - {second['message']}")
    print(f"  forged QR:   {forged['result']} - {forged['message']}")
    done.set()
    reader.join(timeout=30)

    timeline = Timeline(t0)
    timeline.add(t0, "POST /v1/orders (free, 3 tickets)", "demo")
    timeline.add(_parse(order["created_at"]), "order placed and settled (committed)", "orders")
    mine = [r for r in records if _belongs(r, order["id"], {t["id"] for t in tickets})]
    for record in mine:
        when = _parse(header(record, "ce_time"))
        published = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        subject = header(record, "ce_subject")[:8]
        timeline.add(when, f"{record.topic} committed ({subject})", header(record, "ce_source").rsplit("/", 1)[1])
        timeline.add(published, f"{record.topic} published to Kafka ({subject})", "outbox relay")
    timeline.add(t_tickets, "all 3 tickets assignable (GET /v1/orders/{id}/tickets)", "demo")
    timeline.add(t_assign, "PUT /v1/tickets/{id}/holder", "demo")
    message = next(iter(flow.messages(recipient=holder)), None)
    if message and message["sent_at"]:
        timeline.add(_parse(message["sent_at"]), "email with QR accepted by the SMTP server", "notifications")
    timeline.add(t_scan, "POST /v1/scans", "demo")
    timeline.print()

    settled = _first(mine, topics.ORDER_SETTLED)
    issued_records = [r for r in mine if r.topic == topics.TICKET_ISSUED]
    assigned = _first(mine, topics.TICKET_ASSIGNED)
    checked_in = _first(mine, topics.TICKET_CHECKED_IN)
    print("\nHops (from the events' own timestamps):")
    if settled and issued_records:
        hop = max(_parse(header(r, "ce_time")) for r in issued_records) - datetime.fromtimestamp(settled.timestamp / 1000, UTC)
        print(f"  order.settled published -> 3 tickets issued      {hop.total_seconds() * 1000:8.1f} ms")
    reissued = _first(mine, topics.TICKET_REISSUED)
    if assigned and reissued:
        hop = _parse(header(reissued, "ce_time")) - datetime.fromtimestamp(assigned.timestamp / 1000, UTC)
        print(f"  ticket.assigned published -> reissued (new QR)   {hop.total_seconds() * 1000:8.1f} ms")
    if assigned and message and message["sent_at"]:
        hop = _parse(message["sent_at"]) - _parse(header(assigned, "ce_time"))
        print(f"  ticket.assigned -> email with the new QR         {hop.total_seconds() * 1000:8.1f} ms")
    if checked_in:
        hop = _parse(header(checked_in, "ce_time")) - t_scan
        print(f"  scan request -> ticket.checked_in committed      {hop.total_seconds() * 1000:8.1f} ms")
        total = _parse(header(checked_in, "ce_time")) - t0
        system = total - (t_assign - t_tickets) - (t_scan - t_assign)
        print(f"  end to end, order -> check-in                   {total.total_seconds() * 1000:8.1f} ms"
              f"  (of which the system: {max(system.total_seconds(), 0) * 1000:.1f} ms, the rest is the demo"
              " waiting for the email before scanning)")
    flow.close()


def _belongs(record, order_id: str, ticket_ids: set[str]) -> bool:
    subject = header(record, "ce_subject")
    return subject == order_id or subject in ticket_ids


def _first(records, topic: str):
    return next((r for r in records if r.topic == topic), None)


if __name__ == "__main__":
    main()
