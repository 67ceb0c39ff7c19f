"""Consumer lag: how far each consumer group's committed offsets trail the topics' ends.

Used by the chaos run's invariant checker ("every consumer group has caught up")
and by the soak run ("consumer lag stays bounded").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .config import stack_env


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    lag: int
    """Records past the group's committed offsets, summed over the topic's partitions."""


async def consumer_lag(bootstrap_servers: str | None = None) -> list[GroupLag]:
    """The lag of every consumer group on every topic it has committed offsets for."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = bootstrap_servers or stack_env()["KAFKA_BOOTSTRAP_SERVERS"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        groups = sorted(group for group, _ in await admin.list_consumer_groups())
        committed = await asyncio.gather(*(admin.list_consumer_group_offsets(group) for group in groups))
        partitions = {tp for offsets in committed for tp in offsets}
        ends = await consumer.end_offsets(list(partitions)) if partitions else {}
        totals: dict[tuple[str, str], int] = {}
        for group, offsets in zip(groups, committed, strict=True):
            for tp, meta in offsets.items():
                behind = max(ends.get(tp, 0) - max(meta.offset, 0), 0)
                totals[(group, tp.topic)] = totals.get((group, tp.topic), 0) + behind
        return [GroupLag(group, topic, lag) for (group, topic), lag in sorted(totals.items())]
    finally:
        await consumer.stop()
        await admin.close()


def total_lag(lags: list[GroupLag]) -> int:
    return sum(item.lag for item in lags)
