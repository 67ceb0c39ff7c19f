"""Redelivery of every consumed event changes nothing, in any service."""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from e2e_helpers import qr_of
from support.kafka import bootstrap
from ticketflow_local.config import stack_env
from ticketflow_local.flow import Flow, header, inline_images, read_topics, wait_for_mail
from ticketflow_runtime.consumers import consumer_group
from ticketflow_schemas.events import EVENT_TYPES
from ticketflow_schemas.topics import SERVICES

TOPICS = sorted({model.topic for model in EVENT_TYPES.values()})
BOOKKEEPING = {"inbox", "outbox", "alembic_version"}


def active_groups() -> list[str]:
    """The consumer groups of the services' current subscriptions (old, unused groups are left out)."""
    groups = []
    for service in SERVICES:
        for subscription in importlib.import_module(f"{service}.handlers").subscriptions.items:
            groups.append(consumer_group(service, subscription.topic))
    return groups


async def caught_up(timeout: float = 60) -> None:
    """Every service's consumer groups are at the end of their topics and every outbox is drained."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap())
    await admin.start()
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            groups = active_groups()
            behind = 0
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                ends = await consumer.end_offsets(list(committed))
                behind += sum(ends[tp] - meta.offset for tp, meta in committed.items() if meta.offset >= 0)
            if behind == 0 and not any([await pending_outbox(s) for s in SERVICES]):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers still {behind} records behind")
            await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
        await admin.close()


async def connect(service: str) -> asyncpg.Connection:
    return await asyncpg.connect(stack_env()[f"{service.upper()}_DATABASE_URL"].replace("+asyncpg", ""))


async def pending_outbox(service: str) -> int:
    connection = await connect(service)
    try:
        return await connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    finally:
        await connection.close()


async def expire_holds_due_soon(timeout: float = 30) -> None:
    """Card holds left by earlier runs that would expire while the snapshots are compared: expire them now.

    The hold sweeper would release them between the two snapshots, a change that is
    not the redelivery's; after this, nothing changes the databases but the replay.
    """
    connection = await connect("orders")
    try:
        await connection.execute(
            "UPDATE orders SET hold_expires_at = now() - interval '1 second' "
            "WHERE hold_expires_at < now() + interval '10 minutes' AND status IN ('requested', 'payment_pending')")
        deadline = time.monotonic() + timeout
        while await connection.fetchval(
                "SELECT count(*) FROM orders WHERE hold_expires_at < now() + interval '10 minutes' "
                "AND status IN ('requested', 'payment_pending')"):
            if time.monotonic() > deadline:
                raise TimeoutError("the hold sweeper did not release the expired holds")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def snapshot() -> dict[str, str]:
    """A fingerprint of every table (but the inbox and outbox) of every service."""
    prints = {}
    for service in SERVICES:
        connection = await connect(service)
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            for (table,) in tables:
                if table in BOOKKEEPING:
                    continue
                prints[f"{service}.{table}"] = await connection.fetchval(
                    f'SELECT count(*) || \':\' || coalesce(md5(string_agg(t::text, \'|\' ORDER BY t::text)), \'\') '
                    f'FROM "{table}" t')
        finally:
            await connection.close()
    return prints


async def redeliver(records: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()


def test_redelivering_every_event_of_a_full_flow_changes_nothing(flow: Flow, event: dict) -> None:
    since = int(time.time() * 1000) - 1000
    order = flow.place_free_order(event["id"], 2)
    tickets = flow.assignable_tickets(order["id"], 2)
    first, second = (f"{who}.{uuid.uuid4().hex[:6]}@example.com" for who in ("r1", "r2"))
    flow.assign(tickets[0]["id"], "Rita One", first)
    wait_for_mail(first)
    flow.assign(tickets[0]["id"], "Rolf Two", second)
    code = qr_of(inline_images(wait_for_mail(second))[0])
    assert flow.scan_when_known(code)["result"] == "admitted"
    assert flow.admit_offline(event["id"], code)["conflict"]
    flow.offer_claim(tickets[1]["id"], f"redelivery.claim.{uuid.uuid4().hex[:8]}@example.com")
    invoiced = flow.place_order(event["id"], 1, payment_method="invoice")
    flow.order_action(invoiced["id"], "invoice")
    cancelled = flow.place_free_order(event["id"], 1)
    flow.assignable_tickets(cancelled["id"], 1)
    flow.order_action(cancelled["id"], "cancel", reason="redelivery test", refund=True)

    records = asyncio.run(read_topics(TOPICS, since_ms=since, timeout=20,
                                      until=lambda rs: {r.topic for r in rs} >= set(TOPICS)))
    assert {r.topic for r in records} >= set(TOPICS), "the flow produced every event type"
    asyncio.run(expire_holds_due_soon())
    asyncio.run(caught_up())
    before = asyncio.run(snapshot())

    asyncio.run(redeliver([r for r in records if header(r, "ce_id")]))
    asyncio.run(caught_up())
    after = asyncio.run(snapshot())
    changed = {table for table in before if before[table] != after.get(table)}
    assert not changed, f"redelivery changed {sorted(changed)}"
