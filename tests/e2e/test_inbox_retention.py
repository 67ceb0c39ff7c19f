"""Inbox records past their retention are deleted, on every service's real database; younger
ones, which still guard against a redelivery, are kept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ticketflow_local.config import stack_env
from ticketflow_runtime.database import Database
from ticketflow_runtime.inbox import InboxPruner

SERVICES = ["orders", "issuance", "assignment", "checkin", "notifications"]
RETENTION = timedelta(hours=720)


@pytest.fixture(params=SERVICES)
async def database(request, stack) -> AsyncIterator[Database]:
    service = request.param
    database = Database(stack_env()[f"{service.upper()}_DATABASE_URL"], service=service, pool_size=2)
    yield database
    await database.dispose()


async def _record(database: Database, consumer: str, age: timedelta) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with database.driver_connection() as connection:
        await connection.execute(
            "INSERT INTO inbox (consumer, event_id, event_type, subject, received_at) "
            "VALUES ($1, $2, 'ticketflow.test.retention', 'retention', $3)",
            consumer, event_id, datetime.now(UTC) - age)
    return event_id


async def _kept(database: Database, consumer: str) -> set[uuid.UUID]:
    async with database.driver_connection() as connection:
        rows = await connection.fetch("SELECT event_id FROM inbox WHERE consumer = $1", consumer)
    return {row["event_id"] for row in rows}


async def test_records_past_the_retention_are_deleted_in_batches_and_younger_ones_kept(database: Database) -> None:
    consumer = f"retention-test-{uuid.uuid4().hex[:8]}"
    for _ in range(5):
        await _record(database, consumer, RETENTION + timedelta(days=3))
    younger = {await _record(database, consumer, age)
               for age in (timedelta(0), timedelta(days=8), RETENTION - timedelta(hours=1))}
    pruner = InboxPruner(database, retention=RETENTION, batch_size=2)

    batches = []
    while not batches or batches[-1] == pruner.batch_size:
        batches.append(await pruner.work_once())

    assert await _kept(database, consumer) == younger
    # Other consumers' old records may go in the same batches: at least ours went, two at a time.
    assert sum(batches) >= 5 and max(batches) <= 2


async def test_the_migrations_index_the_inbox_by_arrival(database: Database) -> None:
    async with database.driver_connection() as connection:
        definition = await connection.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'inbox' AND indexname = 'ix_inbox_received_at'")
    assert definition is not None and "(received_at)" in definition
