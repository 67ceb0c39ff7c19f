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
import logging
import zlib
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry.propagate import extract, inject
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope
from ticketflow_schemas.events import Event

from .tables import outbox_table

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from .database import Database

log = logging.getLogger(__name__)

OUTBOX_PENDING = Gauge("ticketflow_outbox_pending", "Outbox events not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("ticketflow_outbox_published_total", "Outbox events published", ["service", "topic"])
OUTBOX_FAILURES = Counter("ticketflow_outbox_publish_failures_total", "Outbox publish batches that failed", ["service"])


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
        await self.session.execute(
            text(
                "INSERT INTO outbox (event_id, topic, key, headers, payload, created_at) "
                "VALUES (:event_id, :topic, :key, CAST(:headers AS jsonb), CAST(:payload AS jsonb), :created_at)"
            ),
            {
                "event_id": envelope.id,
                "topic": event.topic,
                "key": key,
                "headers": json.dumps(headers),
                "payload": event.model_dump_json(),
                "created_at": envelope.time,
            },
        )
        if not self._notified:
            # Delivered at commit only, so the relay never wakes for a rolled-back event.
            await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": notify_channel(self.service)})
            self._notified = True
        return envelope


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        database: Database,
        broker: KafkaBroker,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 30.0,
    ) -> None:
        from sqlalchemy import MetaData

        self.service = service
        self.database = database
        self.broker = broker
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.table = outbox_table(MetaData())
        self._lock_key = zlib.crc32(f"ticketflow-outbox-{service}".encode())
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener = None
        self.healthy = True

    # -- lifecycle

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        """Let the batch in flight finish, then stop."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._listener is not None:
            try:
                await self._listener.close(timeout=5)
            except Exception:  # the database may already be gone at shutdown
                pass

    async def _listen(self) -> None:
        import asyncpg

        url = self.database.engine.url.set(drivername="postgresql")
        try:
            self._listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await self._listener.add_listener(notify_channel(self.service), lambda *_: self._wakeup.set())
        except Exception as error:  # polling still works without notifications
            log.warning("outbox relay listens without NOTIFY: %r", error)
            self._listener = None

    async def _run(self) -> None:
        backoff = self.poll_seconds
        while not self._stopping.is_set():
            try:
                published = await self.publish_pending()
                self.healthy = True
                backoff = self.poll_seconds
            except Exception as error:
                OUTBOX_FAILURES.labels(self.service).inc()
                self.healthy = False
                log.warning("outbox publish failed, retrying in %.1fs: %r", backoff, error)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
                continue
            if published < self.batch_size:
                await self._sleep(self.poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wakeup.clear()

    # -- publishing

    async def publish_pending(self) -> int:
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
                return 0
            pending = [await self._send(row) for row in rows]
            await asyncio.wait_for(asyncio.gather(*pending), timeout=self.publish_timeout)
            await session.execute(
                update(t).where(t.c.id.in_([row.id for row in rows])).values(published_at=func.now())
            )
        for row in rows:
            OUTBOX_PUBLISHED.labels(self.service, row.topic).inc()
        remaining = await self._count_pending()
        OUTBOX_PENDING.labels(self.service).set(remaining)
        return len(rows)

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

    async def _count_pending(self) -> int:
        async with self.database.sessions() as session:
            return await session.scalar(
                select(func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
            )
