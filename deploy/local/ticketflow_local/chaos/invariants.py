"""What must hold after any crash, restart or redelivery, read from every service's own database.

Each check returns a row of the invariant table: what is checked, how many
objects it covered, how many violate it, and an example of a violation.
"""

from __future__ import annotations

import asyncio
import mailbox
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from ..config import PATHS, plain_database_url
from ..lag import consumer_lag
from ticketflow_schemas.topics import SERVICES


@dataclass
class Check:
    name: str
    checked: int
    violations: int
    example: str = ""
    allowed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.violations <= self.allowed


async def _connect(service: str) -> asyncpg.Connection:
    return await asyncpg.connect(plain_database_url(service))


async def _rows(service: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await _connect(service)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def check_all(event_id: uuid.UUID, recipients_domain: str, assigned: set[uuid.UUID],
                    poison_keys: set[bytes], since_ms: int) -> list[Check]:
    orders = {r["id"]: r for r in await _rows(
        "orders", "SELECT id, status, quantity, issued_count FROM orders WHERE event_id = $1", event_id)}
    tickets = await _rows("issuance", "SELECT id, order_id, line_no, seq, status FROM tickets WHERE event_id = $1",
                          event_id)
    by_order: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for ticket in tickets:
        by_order.setdefault(ticket["order_id"], []).append(ticket)
    checks = [
        _settled_orders_have_their_tickets(orders, by_order),
        _no_ticket_twice(tickets),
        _cancelled_orders_tickets_voided(orders, by_order),
        _issued_counts_agree(orders, by_order),
        await _assigned_holders_have_their_email(assigned, recipients_domain),
        await _one_admission_per_list(event_id),
        await _outboxes_drained(),
        await _consumers_caught_up(),
        await _dead_letters_only_injected(poison_keys, since_ms),
    ]
    return checks


def _settled_orders_have_their_tickets(orders: dict, by_order: dict) -> Check:
    settled = [o for o in orders.values() if o["status"] == "settled"]
    wrong = [o for o in settled if len(by_order.get(o["id"], [])) != o["quantity"]]
    return Check("every settled order has exactly its quantity of tickets", len(settled), len(wrong),
                 _example(wrong, lambda o: f"{o['id']}: {len(by_order.get(o['id'], []))} of {o['quantity']}"))


def _no_ticket_twice(tickets: list) -> Check:
    seats = Counter((t["order_id"], t["line_no"], t["seq"]) for t in tickets)
    twice = [seat for seat, count in seats.items() if count > 1]
    return Check("no ticket is duplicated (order, line, seat)", len(tickets), len(twice), _example(twice, str))


def _cancelled_orders_tickets_voided(orders: dict, by_order: dict) -> Check:
    cancelled = [o for o in orders.values() if o["status"] == "cancelled"]
    wrong = [o for o in cancelled if any(t["status"] != "voided" for t in by_order.get(o["id"], []))]
    return Check("every cancelled order's tickets are voided", len(cancelled), len(wrong),
                 _example(wrong, lambda o: str(o["id"])))


def _issued_counts_agree(orders: dict, by_order: dict) -> Check:
    wrong = [o for o in orders.values() if o["issued_count"] != len(by_order.get(o["id"], []))]
    return Check("orders' issued counts equal issuance's tickets", len(orders), len(wrong),
                 _example(wrong, lambda o: f"{o['id']}: {o['issued_count']} vs {len(by_order.get(o['id'], []))}"))


async def _assigned_holders_have_their_email(assigned: set[uuid.UUID], domain: str) -> Check:
    logged = await _rows(
        "notifications", "SELECT subject_id, status, interrupted_attempts FROM messages "
                         "WHERE template = 'your_ticket' AND recipient LIKE $1", f"%@{domain}")
    sent = {uuid.UUID(r["subject_id"]) for r in logged if r["status"] == "sent"}
    # A copy is repeated only by a crash between sending and recording, which the log counts
    # as an interrupted attempt: a repeat beyond those would be one nobody knows of.
    interrupted = sum(r["interrupted_attempts"] for r in logged)
    missing = sorted(assigned - sent)
    delivered = Counter()
    for message in await asyncio.to_thread(lambda: list(mailbox.Maildir(PATHS.maildir, create=False))):
        if message.get("X-Ticketflow-Template") == "your_ticket" and str(message.get("To", "")).endswith(domain):
            delivered[str(message["To"])] += 1
    repeats = sum(count - 1 for count in delivered.values())
    check = Check("every assigned holder has their \"your ticket\" email, repeated only by a logged crash",
                  len(assigned), len(missing), _example(missing, str))
    check.notes.append(f"{sum(delivered.values())} delivered to {len(delivered)} holders, {repeats} repeated; "
                       f"{interrupted} attempts interrupted by a crash in the message log")
    if repeats > interrupted:
        check.violations += repeats - interrupted
    return check


async def _one_admission_per_list(event_id: uuid.UUID) -> Check:
    rows = await _rows("checkin", """
        SELECT c.ticket_id, c.list_id, count(*) AS admissions FROM check_ins c
        JOIN tickets t ON t.id = c.ticket_id
        WHERE t.event_id = $1 AND c.reverted_at IS NULL GROUP BY c.ticket_id, c.list_id""", event_id)
    twice = [r for r in rows if r["admissions"] > 1]
    return Check("at most one admission per ticket per check-in list", len(rows), len(twice),
                 _example(twice, lambda r: f"{r['ticket_id']}: {r['admissions']}"))


async def _outboxes_drained() -> Check:
    pending = {}
    for service in SERVICES:
        rows = await _rows(service, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        pending[service] = rows[0]["n"]
    left = {s: n for s, n in pending.items() if n}
    return Check("every outbox is drained", len(SERVICES), sum(left.values()), str(left) if left else "")


async def _consumers_caught_up() -> Check:
    lags = [lag for lag in await consumer_lag() if lag.group.split(".", 1)[0] in SERVICES]
    behind = [lag for lag in lags if lag.lag]
    return Check("every consumer group has caught up", len(lags), sum(lag.lag for lag in behind),
                 _example(behind, lambda lag: f"{lag.group} on {lag.topic}: {lag.lag}"))


async def _dead_letters_only_injected(poison_keys: set[bytes], since_ms: int) -> Check:
    from ..flow import read_topics

    topics = [f"dlq.{service}" for service in SERVICES]
    found: list = []
    # Everything parked since the run began: the injected poison must be there, nothing else.
    try:
        await read_topics(topics, since_ms=since_ms, records=found, timeout=15,
                          until=lambda records: {r.key for r in records} >= poison_keys)
    except TimeoutError:
        pass  # counted below as poison not parked
    others = [r for r in found if r.key not in poison_keys]
    not_parked = poison_keys - {r.key for r in found}
    check = Check("dead-letter topics hold only the injected poison", len(found), len(others) + len(not_parked),
                  _example(others, lambda r: f"{r.topic}@{r.offset} key {r.key!r}"))
    check.notes.append(f"{len(poison_keys) - len(not_parked)} of {len(poison_keys)} injected poison messages parked")
    return check


def _example(items: list, describe) -> str:
    return describe(items[0]) if items else ""


def table(checks: list[Check]) -> str:
    lines = ["| invariant | checked | violations | result | example / notes |", "| --- | --- | --- | --- | --- |"]
    for check in checks:
        detail = "; ".join(filter(None, [check.example, *check.notes]))
        lines.append(f"| {check.name} | {check.checked} | {check.violations} | "
                     f"{'ok' if check.ok else '**VIOLATED**'} | {detail} |")
    return "\n".join(lines)
