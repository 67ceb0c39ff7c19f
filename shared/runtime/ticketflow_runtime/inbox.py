"""Inbox: the ids of events a consumer has applied, recorded with their effect.

A record is needed only while its event can still be delivered again: while
the topic keeps it (Kafka's retention, seven days by default). Older records
are deleted by the `InboxPruner`, so the table does not grow with every event
the service has ever consumed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope

from .worker import DrainingWorker

if TYPE_CHECKING:
    from .database import Database

log = logging.getLogger(__name__)

INBOX_PRUNED = Counter("ticketflow_inbox_pruned_total", "Inbox records deleted after their retention", ["service"])

_CLAIM = text(
    "INSERT INTO inbox (consumer, event_id, event_type, subject) "
    "SELECT :consumer, event_id, event_type, subject "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:subjects AS text[])) "
    "AS claimed (event_id, event_type, subject) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


async def claim_all(session: AsyncSession, consumer: str, envelopes: list[Envelope]) -> set[uuid.UUID]:
    """Record a batch of events as applied by ``consumer``; returns the ids that were not yet.

    Runs in the handlers' transaction: if they fail, the claims roll back with
    them and the redelivery is processed again.
    """
    if not envelopes:
        return set()
    result = await session.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "ids": [envelope.id for envelope in envelopes],
            "types": [envelope.type for envelope in envelopes],
            "subjects": [envelope.subject for envelope in envelopes],
        },
    )
    return set(result.scalars())


# Oldest first, by the received_at index. SKIP LOCKED: replicas pruning at once
# take different rows instead of waiting on each other's.
_PRUNE = (
    "DELETE FROM inbox WHERE (consumer, event_id) IN ("
    "SELECT consumer, event_id FROM inbox WHERE received_at < $1 "
    "ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)


class InboxPruner(DrainingWorker):
    """Deletes inbox records older than the retention, in short batches, at every poll."""

    def __init__(self, database: Database, *, retention: timedelta, batch_size: int = 5_000,
                 poll_seconds: float = 600.0) -> None:
        super().__init__(database=database, channel=None, batch_size=batch_size, poll_seconds=poll_seconds,
                         max_backoff=poll_seconds)
        self.name = f"inbox-pruner-{database.service}"
        self.retention = retention

    async def work_once(self) -> int:
        async with self.database.driver_connection() as connection:
            status = await connection.execute(_PRUNE, datetime.now(UTC) - self.retention, self.batch_size)
        pruned = int(status.rsplit(" ", 1)[1])
        if pruned:
            INBOX_PRUNED.labels(self.database.service).inc(pruned)
            log.info("%s deleted %d inbox records older than %s", self.name, pruned, self.retention)
        return pruned
