"""Rows of the chassis' tables past their retention are deleted, on every service's real database;
younger ones are kept, and so is every event not yet published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ticketflow_local.config import stack_env
from ticketflow_runtime.database import Database
from ticketflow_runtime.retention import INBOX, OUTBOX, RetentionPruner

SERVICES = ["orders", "issuance", "assignment", "checkin", "notifications"]
RETENTION = timedelta(hours=720)
AGES_KEPT = (timedelta(0), timedelta(days=8), RETENTION - timedelta(hours=1))
AGE_DELETED = RETENTION + timedelta(days=3)


@pytest.fixture(params=SERVICES)
async def database(request, stack) -> AsyncIterator[Database]:
    # One connection: a temporary table made on it is the one its pruner sees.
    service = request.param
    database = Database(stack_env()[f"{service.upper()}_DATABASE_URL"], service=service, pool_size=1)
    yield database
    await database.dispose()


async def _drain(pruner: RetentionPruner) -> list[int]:
    """The pruner's rounds of one poll: batches until one comes out short."""
    batches = [await pruner.work_once()]
    while batches[-1] == pruner.batch_size:
        batches.append(await pruner.work_once())
    return batches


async def test_inbox_records_past_the_retention_are_deleted_in_batches(database: Database) -> None:
    consumer = f"retention-test-{uuid.uuid4().hex[:8]}"

    async def record(age: timedelta) -> uuid.UUID:
        event_id = uuid.uuid4()
        async with database.driver_connection() as connection:
            await connection.execute(
                "INSERT INTO inbox (consumer, event_id, event_type, subject, received_at) "
                "VALUES ($1, $2, 'ticketflow.test.retention', 'retention', $3)",
                consumer, event_id, datetime.now(UTC) - age)
        return event_id

    for _ in range(5):
        await record(AGE_DELETED)
    kept = {await record(age) for age in AGES_KEPT}

    batches = await _drain(RetentionPruner(database, INBOX, retention=RETENTION, batch_size=2))

    async with database.driver_connection() as connection:
        left = {row["event_id"] for row in await connection.fetch(
            "SELECT event_id FROM inbox WHERE consumer = $1", consumer)}
    assert left == kept
    # Other consumers' old records may go in the same batches: at least ours went, two at a time.
    assert sum(batches) >= 5 and max(batches) <= 2


async def test_published_events_past_the_retention_leave_the_outbox_and_unpublished_ones_stay(
        database: Database) -> None:
    async def run(sql: str, *arguments):
        async with database.driver_connection() as connection:  # the pool's one connection, each time
            return await connection.fetch(sql, *arguments)

    async def event(*, created: timedelta, published: timedelta | None) -> int:
        now = datetime.now(UTC)
        rows = await run("INSERT INTO outbox (event_id, topic, key, headers, payload, created_at, published_at) "
                         "VALUES (gen_random_uuid(), 'ticket.issued', 'k', '{}', '{}', $1, $2) RETURNING id",
                         now - created, None if published is None else now - published)
        return rows[0]["id"]

    # A temporary outbox shadows the service's own on this connection: the service's relay
    # must not see the unpublished events made up here.
    await run("CREATE TEMP TABLE outbox (LIKE public.outbox INCLUDING ALL)")
    try:
        for _ in range(3):
            await event(created=AGE_DELETED, published=AGE_DELETED)
        kept = {await event(created=AGE_DELETED, published=None),  # never published: never deleted
                *[await event(created=AGE_DELETED, published=age) for age in AGES_KEPT]}

        batches = await _drain(RetentionPruner(database, OUTBOX, retention=RETENTION, batch_size=2))

        left = {row["id"] for row in await run("SELECT id FROM outbox")}
    finally:
        await run("DROP TABLE pg_temp.outbox")
    assert left == kept
    assert batches == [2, 1]


async def test_the_migrations_index_both_tables_by_time(database: Database) -> None:
    async with database.driver_connection() as connection:
        indexes = {row["indexname"]: row["indexdef"] for row in await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname IN ('ix_inbox_received_at', 'ix_outbox_published_at')")}
    assert "(received_at)" in indexes["ix_inbox_received_at"]
    assert "(published_at) WHERE (published_at IS NOT NULL)" in indexes["ix_outbox_published_at"]
