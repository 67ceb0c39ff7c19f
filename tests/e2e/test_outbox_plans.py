"""The relay's two statements read the outbox by its indexes, also when the table grew after its
statistics said it was empty (a new database, or every published event purged)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ticketflow_local.config import stack_env
from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import _MARK_PUBLISHED, _UNPUBLISHED, RELAY_SESSION


@pytest.fixture
async def database(stack) -> AsyncIterator[Database]:
    database = Database(stack_env()["CHECKIN_DATABASE_URL"], service="checkin", pool_size=1)
    yield database
    await database.dispose()


async def _plans_after_the_outbox_grew(database: Database, settings: dict[str, str]) -> list[str]:
    own = await database.own_connection(**settings)
    connection = own.connection
    try:
        # A temporary outbox, shadowing the service's own in this session only.
        await connection.execute("CREATE TEMP TABLE outbox (LIKE public.outbox INCLUDING ALL)")
        await connection.execute("ANALYZE outbox")  # the statistics of an empty outbox
        await connection.execute(f"PREPARE next_batch(int) AS {_UNPUBLISHED}")
        await connection.execute(f"PREPARE mark(bigint[]) AS {_MARK_PUBLISHED}")
        for _ in range(6):  # past the rounds after which PostgreSQL may keep one generic plan
            await connection.execute("EXECUTE next_batch(500)")
            await connection.execute("EXECUTE mark('{1,2,3}')")
        await connection.execute(
            "INSERT INTO outbox (event_id, topic, key, headers, payload, published_at) "
            "SELECT gen_random_uuid(), 'ticket.checked_in', 'k', '{}', '{}', "
            "CASE WHEN n > 19900 THEN NULL ELSE now() END FROM generate_series(1, 20000) AS n")
        return ["\n".join(row[0] for row in await connection.fetch(f"EXPLAIN EXECUTE {statement}"))
                for statement in ("next_batch(500)", "mark('{19901,19902}')")]
    finally:
        await own.close()


async def test_the_relay_reads_a_grown_outbox_by_its_indexes(database: Database) -> None:
    plans = await _plans_after_the_outbox_grew(database, RELAY_SESSION)

    assert all("Index Scan" in plan and "Seq Scan" not in plan for plan in plans), plans


async def test_a_plan_kept_from_an_empty_outbox_would_scan_it_whole(database: Database) -> None:
    # What the relay's session settings prevent, shown on a session with PostgreSQL's defaults.
    plans = await _plans_after_the_outbox_grew(database, {})

    assert any("Seq Scan" in plan for plan in plans), plans
