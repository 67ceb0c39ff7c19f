"""The machine's ceiling in the same run: the pipeline's volume through bare aiokafka and bare asyncpg.

Kafka: the very records the pipeline published (same count, keys, values and
headers) produced by one producer (acks=all, idempotent, as the outbox relays
publish) and read back by one consumer, on a scratch topic.
PostgreSQL: as many rows as the services wrote (inserted, updated or deleted,
from pg_stat_database) written with COPY into a scratch table, committed in
batches, durably (synchronous_commit as the services run).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ticketflow_schemas.topics import PARTITIONS, SERVICES

from ..config import plain_database_url, stack_env
from .flowload import SentRecord

COPY_BATCH = 10_000



async def rows_written() -> int:
    """Rows inserted, updated and deleted so far in the five services' databases."""
    total = 0
    for service in SERVICES:
        connection = await asyncpg.connect(plain_database_url(service))
        try:
            total += await connection.fetchval(
                "SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()")
        finally:
            await connection.close()
    return total


async def settled_rows_written(pause: float = 1.5) -> int:
    """``rows_written`` once the backends have flushed their statistics (they do so within a second)."""
    await asyncio.sleep(pause)
    return await rows_written()


async def kafka_seconds(records: list[SentRecord]) -> float:
    """Seconds to produce ``records`` to a scratch topic and consume them all back."""
    bootstrap = stack_env()["KAFKA_BOOTSTRAP_SERVERS"]
    topic = f"bench.ceiling.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await producer.start()
        await consumer.start()
        try:
            while not consumer.assignment():
                await asyncio.sleep(0.05)
            started = time.perf_counter()

            async def produce() -> None:
                pending = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
                await asyncio.gather(*pending)

            async def consume() -> None:
                seen = 0
                while seen < len(records):
                    for batch in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                        seen += len(batch)

            await asyncio.gather(produce(), consume())
            return time.perf_counter() - started
        finally:
            await consumer.stop()
            await producer.stop()
    finally:
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def postgres_seconds(rows: int, width: int = 200) -> float:
    """Seconds to write ``rows`` rows (an id, ``width`` characters, a timestamp) with COPY, in committed batches."""
    table = f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(plain_database_url("orders"))
    try:
        await connection.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, body text NOT NULL, "
                                 "created_at timestamptz NOT NULL)")
        body, now = "x" * width, datetime.now(UTC)
        # Built first: the timing is of PostgreSQL and the driver, not of making up rows.
        batches = [[(uuid.uuid4(), body, now) for _ in range(min(COPY_BATCH, rows - first))]
                   for first in range(0, rows, COPY_BATCH)]
        started = time.perf_counter()
        for batch in batches:
            await connection.copy_records_to_table(table, records=batch)
        return time.perf_counter() - started
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()
