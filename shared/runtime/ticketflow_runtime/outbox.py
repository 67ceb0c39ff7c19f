"""Transactional outbox: events are written with the state change, published later.

``Outbox.add`` runs inside the caller's transaction. ``OutboxRelay`` publishes
unpublished rows in id order (idempotent producer, ``acks=all``) and marks them
sent. One relay per service publishes at a time (an advisory lock), so events
with the same key keep their order across replicas. A crash between publish
and mark republishes the same ``ce_id``; consumers' inboxes absorb it.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry.propagate import extract, inject
from prometheus_client import Counter, Gauge
from sqlalchemy import MetaData, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope
from ticketflow_schemas.events import Event

from .tables import outbox_table
from .worker import DrainingWorker

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from .database import Database

OUTBOX_PENDING = Gauge("ticketflow_outbox_pending", "Outbox events not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("ticketflow_outbox_published_total", "Outbox events published", ["service", "topic"])
OUTBOX_FAILURES = Counter("ticketflow_outbox_publish_failures_total", "Outbox publish batches that failed", ["service"])


# The outbox's columns, for statements; each service's own MetaData holds the table for migrations.
OUTBOX = outbox_table(MetaData())


_INSERT_SQL = (
    "INSERT INTO outbox (event_id, topic, key, headers, payload, created_at) "
    "VALUES (:event_id, :topic, :key, CAST(:headers AS jsonb), CAST(:payload AS jsonb), :created_at)"
)
_INSERT = text(_INSERT_SQL)
# Insert and notify in one round trip.
_INSERT_AND_NOTIFY = text(f"WITH added AS ({_INSERT_SQL} RETURNING id) SELECT pg_notify(:channel, '') FROM added")


def notify_channel(service: str) -> str:
    return f"outbox_{service}"


class Outbox:
    """Writes events into the outbox, in the session's current transaction."""

    def __init__(self, session: AsyncSession, service: str) -> None:
        self.session = session
        self.service = service
        self._notified = False

    async def add(self, event: Event) -> Envelope:
        key = event.kafka_key()
        envelope = Envelope.for_service(self.service, type=event.ce_type, subject=key)
        headers = envelope.to_headers()
        # The current trace context travels with the event, so the relay can
        # publish it as part of the trace that caused it.
        inject(headers)
        values = {
            "event_id": envelope.id, "topic": event.topic, "key": key, "headers": json.dumps(headers),
            "payload": event.model_dump_json(), "created_at": envelope.time,
        }
        if self._notified:
            await self.session.execute(_INSERT, values)
        else:
            # The notification is delivered at commit only, so the relay never
            # wakes for a rolled-back event; one per transaction is enough.
            await self.session.execute(_INSERT_AND_NOTIFY, {**values, "channel": notify_channel(self.service)})
            self._notified = True
        return envelope


class OutboxRelay(DrainingWorker):
    def __init__(
        self,
        *,
        service: str,
        database: Database,
        broker: KafkaBroker,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 30.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        super().__init__(database=database, channel=notify_channel(service), batch_size=batch_size,
                         poll_seconds=poll_seconds)
        self.name = f"outbox-relay-{service}"
        self.service = service
        self.broker = broker
        self.publish_timeout = publish_timeout
        self.table = OUTBOX
        self.retention = retention
        self._next_purge = 0.0
        self._lock_key = zlib.crc32(f"ticketflow-outbox-{service}".encode())

    def failed(self, error: Exception) -> None:
        OUTBOX_FAILURES.labels(self.service).inc()

    # -- publishing

    async def work_once(self) -> int:
        """Publish one batch of unpublished events; returns how many."""
        t = self.table
        async with self.database.sessions() as session, session.begin():
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key))):
                return 0  # another replica is relaying
            rows = (
                await session.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.headers, t.c.payload)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                OUTBOX_PENDING.labels(self.service).set(0)
                await self._purge_published(session)
                return 0
            pending = [await self._send(row) for row in rows]
            # The producer fails a send only once it has expired (request timeout),
            # so a retry of the batch never races an earlier send still in flight.
            await asyncio.wait_for(asyncio.gather(*pending), timeout=self.publish_timeout)
            await session.execute(
                update(t).where(t.c.id.in_([row.id for row in rows])).values(published_at=func.now())
            )
        for row in rows:
            OUTBOX_PUBLISHED.labels(self.service, row.topic).inc()
        if len(rows) < self.batch_size:
            OUTBOX_PENDING.labels(self.service).set(0)  # drained (a full batch means another follows at once)
        return len(rows)

    async def _purge_published(self, session) -> None:
        """Published events are kept a while for inspection and replay, then deleted (when idle)."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + 300
        cutoff = datetime.now(UTC) - self.retention
        await session.execute(delete(self.table).where(self.table.c.published_at < cutoff))

    async def _send(self, row) -> asyncio.Future:
        headers = dict(row.headers)
        token = otel_context.attach(extract(headers))
        try:
            return await self.broker.publish(
                json.dumps(row.payload, separators=(",", ":")).encode(),
                topic=row.topic,
                key=row.key.encode(),
                headers=headers,
                no_confirm=True,
            )
        finally:
            otel_context.detach(token)
