"""Raw Kafka access for tests: publish crafted records, read topics, watch consumer groups."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ticketflow_local.config import stack_env
from ticketflow_schemas.topics import MAX_MESSAGE_BYTES


def bootstrap() -> str:
    return stack_env()["KAFKA_BOOTSTRAP_SERVERS"]


def cloudevent_headers(ce_type: str, subject: str, *, ce_id: str | None = None, source: str = "/ticketflow/orders") -> list[tuple[str, bytes]]:
    values = {
        "ce_specversion": "1.0",
        "ce_id": ce_id or str(uuid.uuid4()),
        "ce_source": source,
        "ce_type": ce_type,
        "ce_time": datetime.now(UTC).isoformat(),
        "ce_subject": subject,
        "content-type": "application/json",
    }
    return [(k, v.encode()) for k, v in values.items()]


async def publish(topic: str, value: bytes, *, key: str, headers: list[tuple[str, bytes]]):
    return (await publish_together(topic, [(value, headers)], key=key))[0]


async def publish_together(topic: str, records: list[tuple[bytes, list[tuple[str, bytes]]]], *, key: str):
    """Publish records under one key in a single produce request: a consumer fetches them as one batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(), acks="all", enable_idempotence=True, linger_ms=100,
                                max_request_size=MAX_MESSAGE_BYTES)
    await producer.start()
    try:
        pending = [await producer.send(topic, value, key=key.encode(), headers=headers) for value, headers in records]
        return [await future for future in pending]
    finally:
        await producer.stop()


async def wait_consumed(group: str, topic: str, partition: int, offset: int, timeout: float = 30) -> None:
    """Wait until ``group`` has committed past ``offset``: the record was handled."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap())
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            offsets = await admin.list_consumer_group_offsets(group)
            committed = offsets.get(TopicPartition(topic, partition))
            if committed is not None and committed.offset > offset:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} did not consume {topic}[{partition}]@{offset}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
