"""Retention of the chassis' own tables: rows past their time are deleted, oldest first, in batches.

- **Inbox**: a consumer's record of an applied event is needed only while the event
  can be delivered again, that is while its topic keeps it (Kafka's default: seven
  days). `INBOX_RETENTION_HOURS`, 720 by default, leaves ample margin.
- **Outbox**: a published event is kept a while for inspection and replay,
  `OUTBOX_RETENTION_HOURS` (168). Events not yet published are never deleted.

Each table has an index on its time column, so a batch reads only the rows it
deletes. Batches are short transactions, and SKIP LOCKED lets replicas pruning at
once take different rows instead of waiting on each other's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import Counter

from .worker import DrainingWorker

if TYPE_CHECKING:
    from .database import Database

log = logging.getLogger(__name__)

DELETED = Counter("ticketflow_retention_deleted_total", "Rows deleted after their retention", ["service", "table"])


@dataclass(frozen=True)
class Retained:
    """A table whose rows are deleted once ``time_column`` is older than the retention."""

    table: str
    key: str
    time_column: str

    def delete_batch(self) -> str:
        # NULL (an event not yet published) is never older than the cutoff.
        return (f"DELETE FROM {self.table} WHERE ({self.key}) IN ("
                f"SELECT {self.key} FROM {self.table} WHERE {self.time_column} < $1 "
                f"ORDER BY {self.time_column} LIMIT $2 FOR UPDATE SKIP LOCKED)")


INBOX = Retained("inbox", key="consumer, event_id", time_column="received_at")
OUTBOX = Retained("outbox", key="id", time_column="published_at")


class RetentionPruner(DrainingWorker):
    """Deletes a table's rows past the retention at every poll, a batch at a time until none is left."""

    def __init__(self, database: Database, retained: Retained, *, retention: timedelta, batch_size: int = 5_000,
                 poll_seconds: float = 600.0) -> None:
        super().__init__(database=database, channel=None, batch_size=batch_size, poll_seconds=poll_seconds,
                         max_backoff=poll_seconds)
        self.name = f"{retained.table}-pruner-{database.service}"
        self.retained = retained
        self.retention = retention
        self._statement = retained.delete_batch()

    async def work_once(self) -> int:
        async with self.database.driver_connection() as connection:
            status = await connection.execute(self._statement, datetime.now(UTC) - self.retention, self.batch_size)
        deleted = int(status.rsplit(" ", 1)[1])
        if deleted:
            DELETED.labels(self.database.service, self.retained.table).inc(deleted)
            log.info("%s deleted %d rows older than %s", self.name, deleted, self.retention)
        return deleted
