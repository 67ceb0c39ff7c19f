"""The transactional outbox on the real database and broker, including a broker outage.

Runs after the end-to-end tests, with the services stopped: it stops Kafka.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from support.kafka import bootstrap
from ticketflow_local import infra
from ticketflow_local.config import kafka_is_external, stack_env
from ticketflow_local.flow import header, read_topics
from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import OutboxRelay
from ticketflow_runtime.tables import service_metadata
from ticketflow_schemas.events import Event

TOPIC = "test.outbox"
DATABASE = "outbox_test"


class Probe(Event):
    """A test-only event on a test-only topic."""

    ce_type: ClassVar[str] = "ticketflow.test.probe.v1"
    topic: ClassVar[str] = TOPIC
    probe_id: uuid.UUID

    def kafka_key(self) -> str:
        return str(self.probe_id)


class Rollback(Exception):
    pass


def database_url() -> str:
    base = stack_env()["ORDERS_DATABASE_URL"]
    return base.rsplit("/", 1)[0] + f"/{DATABASE}"


@pytest.fixture(scope="module")
async def database() -> Database:
    admin_url = database_url().replace("+asyncpg", "").rsplit("/", 1)[0] + "/postgres"
    connection = await asyncpg.connect(admin_url)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    db = Database(database_url(), service="outboxtest")
    metadata, _, _ = service_metadata()
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("TRUNCATE outbox"))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap())
    await admin.start()
    if TOPIC not in await admin.list_topics():
        await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    await admin.close()
    yield db
    await db.dispose()


@pytest.fixture
async def relay(database: Database) -> OutboxRelay:
    worker = OutboxRelay(service="outboxtest", database=database, bootstrap_servers=bootstrap(),
                         request_timeout_ms=5000, poll_seconds=0.2, publish_timeout=15)
    await worker.start()
    yield worker
    await worker.stop()


async def add(database: Database, event: Event, *, rollback: bool = False) -> str:
    try:
        async with database.unit_of_work() as uow:
            envelope = await uow.outbox.add(event)
            if rollback:
                raise Rollback
    except Rollback:
        pass
    return str(envelope.id)


async def unpublished(database: Database) -> int:
    async with database.sessions() as session:
        return await session.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def records_with_ids(since_ms: int, wanted: set[str]) -> list:
    return await read_topics([TOPIC], since_ms=since_ms,
                             until=lambda rs: wanted <= {header(r, "ce_id") for r in rs}, timeout=60)


def now_ms() -> int:
    import time

    return int(time.time() * 1000) - 1000


async def test_an_event_in_a_rolled_back_transaction_is_never_published(database: Database, relay: OutboxRelay) -> None:
    since = now_ms()
    rolled_back = await add(database, Probe(probe_id=uuid.uuid4()), rollback=True)
    committed = await add(database, Probe(probe_id=uuid.uuid4()))
    later = await add(database, Probe(probe_id=uuid.uuid4()))
    records = await records_with_ids(since, {committed, later})
    ids = [header(r, "ce_id") for r in records]
    assert rolled_back not in ids
    assert ids.count(committed) == 1 and ids.count(later) == 1


@pytest.mark.skipif(kafka_is_external(), reason="stops the local Kafka broker")
async def test_an_event_committed_while_kafka_is_down_is_published_once_it_is_back(
    database: Database, relay: OutboxRelay
) -> None:
    since = now_ms()
    await asyncio.to_thread(infra.kafka_down)
    try:
        during_outage = await add(database, Probe(probe_id=uuid.uuid4()))
        await asyncio.sleep(3)
        assert await unpublished(database) >= 1, "nothing can be published while Kafka is down"
    finally:
        await asyncio.to_thread(infra.kafka_up)
    records = await records_with_ids(since, {during_outage})
    assert [header(r, "ce_id") for r in records].count(during_outage) == 1
    for _ in range(100):
        if await unpublished(database) == 0:
            break
        await asyncio.sleep(0.2)
    assert await unpublished(database) == 0


async def test_one_relay_of_a_service_publishes_and_another_takes_over_when_it_stops(
    database: Database, relay: OutboxRelay
) -> None:
    """Replicas of a service each run a relay; the one holding the relay lock publishes, in id order."""
    since = now_ms()
    first = await add(database, Probe(probe_id=uuid.uuid4()))
    await records_with_ids(since, {first})
    replica = OutboxRelay(service="outboxtest", database=database, bootstrap_servers=bootstrap(),
                          request_timeout_ms=5000, poll_seconds=0.2, publish_timeout=15)
    try:  # its rounds run here, one by one, rather than in its loop
        second = await add(database, Probe(probe_id=uuid.uuid4()))
        assert await replica.work_once() == 0, "the first relay holds the lock: the replica publishes nothing"
        await records_with_ids(since, {second})  # published by the first
        await relay.stop()
        third = await add(database, Probe(probe_id=uuid.uuid4()))
        assert await replica.work_once() == 1, "the lock was let go: the replica's relay took over"
        records = await records_with_ids(since, {first, second, third})
        assert [header(r, "ce_id") for r in records].count(third) == 1
        assert [header(r, "ce_id") for r in records].count(second) == 1
    finally:
        await replica.stop()
