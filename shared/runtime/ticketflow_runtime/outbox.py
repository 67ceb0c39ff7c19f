"""Transactional outbox: events are written with the state change, published later.

``Outbox.add`` runs inside the caller's transaction. ``OutboxRelay`` publishes
unpublished rows in id order (idempotent producer, ``acks=all``) and marks them
sent. One relay per service publishes at a time (a session advisory lock, held by
the relay's own connection), so events
with the same key keep their order across replicas. A crash between publish
and mark republishes the same ``ce_id``; consumers' inboxes absorb it.
Published events leave the outbox after their retention (`retention`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope
from ticketflow_schemas.events import Event
from ticketflow_schemas.topics import MAX_MESSAGE_BYTES

from .worker import DrainingWorker

if TYPE_CHECKING:
    import asyncpg

    from .database import Database, OwnConnection

_TRACER = trace.get_tracer("ticketflow.outbox")

OUTBOX_PENDING = Gauge("ticketflow_outbox_pending", "Outbox events not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("ticketflow_outbox_published_total", "Outbox events published", ["service", "topic"])
OUTBOX_FAILURES = Counter("ticketflow_outbox_publish_failures_total", "Outbox publish batches that failed", ["service"])


# Rows go in as arrays, in order: one statement for any number of events. No
# NOTIFY here: PostgreSQL serialises the commits of notifying transactions
# (a global lock held through the commit's WAL flush), which would cap every
# service at one commit per disk flush. The service wakes its relay itself.
_INSERT = text(
    "INSERT INTO outbox (event_id, topic, key, headers, payload, created_at)"
    " SELECT event_id, topic, key, CAST(headers AS jsonb), CAST(payload AS jsonb), created_at"
    " FROM unnest(CAST(:event_ids AS uuid[]), CAST(:topics AS text[]), CAST(:keys AS text[]),"
    "             CAST(:headers AS text[]), CAST(:payloads AS text[]), CAST(:created AS timestamptz[]))"
    " WITH ORDINALITY AS staged (event_id, topic, key, headers, payload, created_at, position)"
    " ORDER BY position"
)


# For a statement that writes an event together with its own change (a CTE of it):
# one round trip less than `Outbox.add`. Its parameters come from `Outbox.inline`.
INLINE_INSERT = (
    "INSERT INTO outbox (event_id, topic, key, headers, payload, created_at)"
    " VALUES (:outbox_event_id, :outbox_topic, :outbox_key, CAST(:outbox_headers AS jsonb),"
    " CAST(:outbox_payload AS jsonb), :outbox_created_at)"
)


# The relay's round: a batch in id order (headers and payload as stored, no JSON decoding on the
# way), then the batch marked published (one array parameter: one prepared statement for any size).
_UNPUBLISHED = ("SELECT id, topic, key, headers::text AS headers, payload::text AS payload FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1")
_MARK_PUBLISHED = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"


# The relay's session plans each round for the outbox as it is now. A plan kept from when the
# outbox looked empty (a new database, or one whose published events were all purged) scans the
# whole table, which grows with every event the service publishes, until autoanalyze replans it.
RELAY_SESSION = {"plan_cache_mode": "force_custom_plan"}

# Like a producer's linger: a few milliseconds more per event, a batch per relay round instead of an event.
RELAY_GATHER_SECONDS = 0.005


def notify_channel(service: str) -> str:
    return f"outbox_{service}"


# Every producer of a service: never lose an acknowledged event (all in-sync replicas,
# no duplicates on retry), and send any record as large as a topic takes.
PRODUCER_GUARANTEES: dict[str, Any] = {"acks": "all", "enable_idempotence": True,
                                       "max_request_size": MAX_MESSAGE_BYTES}


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox row as it is written: headers and payload as JSON text."""

    event_id: uuid.UUID
    created_at: datetime
    topic: str
    key: str
    headers: str
    payload: str


def outbox_record(service: str, event: Event) -> tuple[OutboxRecord, Envelope]:
    """The row that publishes ``event`` as ``service``, with the trace context current now."""
    key = event.kafka_key()
    envelope = Envelope.for_service(service, type=event.ce_type, subject=key)
    return _record(event.topic, key, envelope.to_headers(), event.model_dump_json(), envelope.id,
                   envelope.time), envelope


def _record(topic: str, key: str, headers: dict[str, str], payload: str, record_id: uuid.UUID | None,
            created_at: datetime | None) -> OutboxRecord:
    # The current trace context travels with the record, so the relay can
    # publish it as part of the trace that caused it.
    inject(headers)
    return OutboxRecord(record_id or uuid.uuid4(), created_at or datetime.now(UTC), topic, key, json.dumps(headers),
                        payload)


class Outbox:
    """Writes events into the outbox, in the session's current transaction.

    ``add`` writes at once. ``stage`` only prepares the row, with the trace
    context current at that moment, and ``flush`` writes everything staged in
    one statement: for handlers that emit many events. The unit of work flushes
    what is left before it commits; rows written add the relay's channel to
    ``wake``, which the unit of work wakes after its commit.
    """

    def __init__(self, session: AsyncSession, service: str, *, wake: set[str]) -> None:
        self.session = session
        self.service = service
        self._staged: list[OutboxRecord] = []
        self._wake = wake

    @property
    def staged(self) -> bool:
        """Whether events wait for `flush`."""
        return bool(self._staged)

    async def add(self, event: Event) -> Envelope:
        envelope = self.stage(event)
        await self.flush()
        return envelope

    def stage(self, event: Event) -> Envelope:
        record, envelope = outbox_record(self.service, event)
        self._staged.append(record)
        return envelope

    def inline(self, event: Event) -> dict[str, Any]:
        """The parameters of `INLINE_INSERT` for ``event``, which the caller's statement writes;
        the relay is woken after the commit, as for `add`."""
        record, _ = outbox_record(self.service, event)
        self._wake.add(notify_channel(self.service))
        return {"outbox_event_id": record.event_id, "outbox_topic": record.topic, "outbox_key": record.key,
                "outbox_headers": record.headers, "outbox_payload": record.payload,
                "outbox_created_at": record.created_at}

    def stage_record(self, topic: str, key: str, headers: dict[str, str], payload: str, *,
                     record_id: uuid.UUID | None = None, created_at: datetime | None = None) -> None:
        """Any record, also one that is not a contract's event (a dead letter, say), published like one."""
        self._staged.append(_record(topic, key, headers, payload, record_id, created_at))

    async def flush(self) -> None:
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        await self.session.execute(
            _INSERT,
            {
                "event_ids": [row.event_id for row in staged],
                "topics": [row.topic for row in staged],
                "keys": [row.key for row in staged],
                "headers": [row.headers for row in staged],
                "payloads": [row.payload for row in staged],
                "created": [row.created_at for row in staged],
            },
        )
        self._wake.add(notify_channel(self.service))


class OutboxRelay(DrainingWorker):
    def __init__(
        self,
        *,
        service: str,
        database: Database,
        bootstrap_servers: str,
        request_timeout_ms: int = 30_000,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 30.0,
    ) -> None:
        super().__init__(database=database, channel=notify_channel(service), batch_size=batch_size,
                         poll_seconds=poll_seconds, gather_seconds=RELAY_GATHER_SECONDS)
        self.name = f"outbox-relay-{service}"
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self.request_timeout_ms = request_timeout_ms
        self.producer: AIOKafkaProducer | None = None
        self.publish_timeout = publish_timeout
        self._lock_key = zlib.crc32(f"ticketflow-outbox-{service}".encode())
        self._written_here = False
        self._own: OwnConnection | None = None  # holding the relay lock when _leading
        self._leading = False

    def wake(self) -> None:
        self._written_here = True
        super().wake()

    def failed(self, error: Exception) -> None:
        OUTBOX_FAILURES.labels(self.service).inc()

    async def stop(self) -> None:
        await super().stop()
        if self._own is not None:
            await self._own.close()  # and with it the relay lock, for another replica
            self._own = None
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def _connected_producer(self) -> AIOKafkaProducer:
        """The relay's own producer, connected on first use and after Kafka was unreachable at start."""
        if self.producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=f"ticketflow-{self.service}-relay",
                **PRODUCER_GUARANTEES,
                request_timeout_ms=self.request_timeout_ms,
                linger_ms=2,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self.producer = producer
        return self.producer

    # -- publishing

    async def work_once(self) -> int:
        """Publish one batch of unpublished events; returns how many."""
        connection = await self._leading_connection()
        if connection is None:
            if self._written_here:
                # Another replica relays: it learns of the events written here by NOTIFY,
                # sent here, outside the writers' transactions.
                self._written_here = False
                async with self.database.driver_connection() as pooled:
                    await pooled.execute("SELECT pg_notify($1, '')", self.channel)
            return 0
        # Each statement is its own transaction: the lock, held by the connection, keeps other relays out.
        rows = await connection.fetch(_UNPUBLISHED, self.batch_size)
        if not rows:
            OUTBOX_PENDING.labels(self.service).set(0)
            return 0
        producer = await self._connected_producer()
        pending = [await self._send(producer, row) for row in rows]
        # The producer fails a send only once it has expired (request timeout),
        # so a retry of the batch never races an earlier send still in flight.
        await asyncio.wait_for(asyncio.gather(*pending), timeout=self.publish_timeout)
        await connection.execute(_MARK_PUBLISHED, [row["id"] for row in rows])
        for row in rows:
            OUTBOX_PUBLISHED.labels(self.service, row["topic"]).inc()
        if len(rows) < self.batch_size:
            OUTBOX_PENDING.labels(self.service).set(0)  # drained (a full batch means another follows at once)
        return len(rows)

    async def _leading_connection(self) -> asyncpg.Connection | None:
        """The relay's own connection while it holds the service's relay lock, else None.

        The lock is a session lock: taken once, it is held for as long as the connection
        lives, so a round is two statements (read a batch, mark it published) and no
        transaction. A lost connection releases it, and another replica's relay takes
        over; this one connects again at its next round and tries the lock again.
        """
        if self._own is None or self._own.closed:
            self._own = await self.database.own_connection(**RELAY_SESSION)
            self._leading = False
        if not self._leading:
            self._leading = await self._own.connection.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key)
        return self._own.connection if self._leading else None

    async def _send(self, producer: AIOKafkaProducer, row) -> asyncio.Future:
        """Queue one event; its span continues the trace that caused the event."""
        headers = json.loads(row["headers"])
        with _TRACER.start_as_current_span(
            f"{row['topic']} publish", context=extract(headers), kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": row["topic"],
                        "messaging.message.id": headers.get("ce_id", "")},
        ):
            inject(headers)  # consumers continue from this span
            return await producer.send(
                row["topic"],
                row["payload"].encode(),
                key=row["key"].encode(),
                headers=[(name, value.encode()) for name, value in headers.items()],
            )
