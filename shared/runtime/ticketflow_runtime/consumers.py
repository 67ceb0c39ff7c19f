"""Kafka consumers: idempotent handlers, bounded retries and a dead-letter topic.

A handler is registered with ``Subscriptions.on(EventModel)`` and receives the
validated event and a ``UnitOfWork`` (or, with ``on_batch``, every new event
of a batch). Records are consumed in batches: whatever has arrived is applied
in one transaction, exactly once per CloudEvents id (the inbox claims commit
with the handlers' effect), and the Kafka offsets are committed only after
that transaction has committed.

Failures: a failed batch is applied again record by record. A message that
can never succeed (not JSON, not the contract, not a CloudEvent) goes straight
to ``dlq.<service>``; any other error is retried with exponential backoff, and
after the last attempt the message goes to the dead-letter topic too. The
consumer then moves on. If even the dead-letter publish fails (Kafka down),
the offsets are not committed and the batch comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import types
from itertools import chain
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import asyncpg.exceptions
from faststream import BaseMiddleware
from faststream.kafka import KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from pydantic import ValidationError

from ticketflow_schemas.envelope import Envelope, EnvelopeError
from ticketflow_schemas.events import Event
from ticketflow_schemas.topics import dead_letter_topic

from . import inbox
from .errors import find_cause
from .telemetry import continue_trace

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord
    from faststream.kafka import KafkaBroker

    from .database import Database, UnitOfWork

log = logging.getLogger(__name__)

HANDLED = Counter("ticketflow_events_handled_total", "Events applied by a handler", ["consumer"])
DUPLICATES = Counter("ticketflow_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
RETRIES = Counter("ticketflow_handler_retries_total", "Handler attempts that failed and were retried", ["consumer"])
DEAD_LETTERS = Counter("ticketflow_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "reason"])


class PermanentError(Exception):
    """The message can never be processed: retrying would not help."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError,
    EnvelopeError,
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)

# Errors that say the database cannot be reached now, whatever the message.
OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused or reset while connecting to it
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
)

EventT = TypeVar("EventT", bound=Event)


@dataclass(frozen=True)
class Delivery(Generic[EventT]):
    """One consumed event, with its CloudEvents envelope and the trace it travels in."""

    event: EventT
    envelope: Envelope
    traceparent: str | None

    def handling(self, name: str) -> AbstractContextManager[Any]:
        """A span for work on this event, in the trace the event came from."""
        return continue_trace(self.traceparent, name, **{"messaging.message.id": str(self.envelope.id)})


Handler = Callable[[Any, "UnitOfWork"], Awaitable[None]]
BatchHandler = Callable[[list[Delivery[Any]], "UnitOfWork"], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    model: type[Event]
    handler: Handler | BatchHandler
    batch: bool = False
    linger_ms: int = 0
    """How long the broker may hold a fetch for more events; 0 answers as soon as one arrives."""

    @property
    def topic(self) -> str:
        return self.model.topic


class Subscriptions:
    """The events a service consumes, declared next to their handlers.

    ``on`` handlers take one event; ``on_batch`` handlers take every new event of
    a consumed batch at once, for services that gain from set-based statements.
    Either way one batch is one transaction.
    """

    def __init__(self) -> None:
        self.items: list[Subscription] = []

    def on(self, model: type[Event]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(Subscription(model, handler))
            return handler

        return register

    def on_batch(self, model: type[EventT], *, linger_ms: int = 0) -> Callable[[BatchHandler], BatchHandler]:
        """``linger_ms``: for events nobody waits on by the millisecond. Under load each fetch,
        batch, transaction and offset commit then carries many events instead of a few, at the
        price of applying them up to that much later."""
        def register(handler: BatchHandler) -> BatchHandler:
            self.items.append(Subscription(model, handler, batch=True, linger_ms=linger_ms))
            return handler

        return register


def consumer_group(service: str, topic: str) -> str:
    """One consumer group per service and topic: a rebalance on one topic leaves the others alone."""
    return f"{service}.{topic}"


class Consumer:
    """Applies consumed records of one subscription: a whole batch in one transaction.

    The inbox claim of every event commits with the handler's effect, so a
    redelivered event (also twice in one batch) is applied once.
    """

    def __init__(self, database: Database, service: str, subscription: Subscription) -> None:
        self.database = database
        self.subscription = subscription
        self.model = subscription.model
        self.group = consumer_group(service, subscription.topic)
        self.span_name = f"{subscription.topic} apply"

    def delivery(self, event: Event, record: ConsumerRecord) -> Delivery[Any]:
        envelope = Envelope.from_headers(record.headers)
        if envelope.type != self.model.ce_type:
            raise PermanentError(f"{self.subscription.topic} carries {self.model.ce_type}, got {envelope.type}")
        traceparent = next((v.decode() for k, v in record.headers or () if k == "traceparent"), None)
        return Delivery(event, envelope, traceparent)

    async def apply_batch(self, events: list[Event], records: tuple[ConsumerRecord, ...]) -> None:
        await self.apply([self.delivery(event, record) for event, record in zip(events, records, strict=True)])

    async def apply_record(self, record: ConsumerRecord) -> None:
        """One record on its own: how a failed batch is retried, record by record."""
        await self.apply([self.delivery(self.model.model_validate_json(record.value or b""), record)])

    async def apply(self, deliveries: list[Delivery[Any]]) -> None:
        async with self.database.unit_of_work() as uow:
            unclaimed = await inbox.claim_all(uow.session, self.group, [d.envelope for d in deliveries])
            fresh = []
            for delivery in deliveries:
                if delivery.envelope.id in unclaimed:
                    unclaimed.discard(delivery.envelope.id)
                    fresh.append(delivery)
            if self.subscription.batch:
                if fresh:
                    await self.subscription.handler(fresh, uow)
            else:
                for delivery in fresh:
                    uow.envelope = delivery.envelope
                    with delivery.handling(self.span_name):
                        await self.subscription.handler(delivery.event, uow)
        HANDLED.labels(self.group).inc(len(fresh))
        if len(fresh) < len(deliveries):
            DUPLICATES.labels(self.group).inc(len(deliveries) - len(fresh))


def register_subscriptions(
    broker: KafkaBroker, database: Database, service: str, subscriptions: Subscriptions,
    policy: DeadLetterPolicy, *, batch_size: int, poll_ms: int,
) -> None:
    for subscription in subscriptions.items:
        consumer = Consumer(database, service, subscription)
        policy.consumers[subscription.topic] = consumer
        _register(broker, consumer, service, batch_size, poll_ms)


def _register(broker: KafkaBroker, consumer: Consumer, service: str, batch_size: int, poll_ms: int) -> None:
    subscription = consumer.subscription
    model = subscription.model

    async def consume(events: list[model], message: KafkaMessage) -> None:  # type: ignore[valid-type]
        await consumer.apply_batch(events, message.raw_message)

    # Set explicitly: FastStream reads the annotations to validate the body
    # and to document the payload in AsyncAPI.
    consume.__annotations__ = {"events": list[model], "message": KafkaMessage, "return": None}
    consume.__name__ = subscription.handler.__name__
    consume.__doc__ = subscription.handler.__doc__
    subscriber = broker.subscriber(
        subscription.topic,
        group_id=consumer.group,
        auto_offset_reset="earliest",
        # Whatever has arrived, up to batch_size, is applied in one transaction:
        # one commit and one offset commit per batch, not per event.
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=poll_ms,
        # Offsets are committed after the batch's transaction; errors it
        # cannot absorb (dead-letter publish failing) rewind to the batch.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{service}:{subscription.topic}",
        description=subscription.handler.__doc__,
        **_fetch_options(subscription.linger_ms),
    )
    subscriber(consume)
    subscriber.get_msg = types.MethodType(_next_batch, subscriber)


# For events whose effect people see on a page or a phone: 50 ms later goes unnoticed there.
DISPLAY_LINGER_MS = 50

# A lingering fetch returns once this much has gathered, or after the linger.
LINGER_FETCH_BYTES = 256 * 1024


def _fetch_options(linger_ms: int) -> dict[str, int]:
    if not linger_ms:
        return {}
    return {"fetch_min_bytes": LINGER_FETCH_BYTES, "fetch_max_wait_ms": linger_ms}


async def _next_batch(subscriber: Any, consumer: Any) -> tuple[ConsumerRecord, ...]:
    """Whatever has arrived, up to the batch size, waiting at most the poll time for the first record.

    Replaces FastStream's batch fetch, which after an empty poll pauses as long
    again: an event arriving then would wait for it (up to the poll time) although
    the poll itself already waits and returns the moment a record arrives.
    """
    records = await consumer.getmany(timeout_ms=subscriber.batch_timeout_ms, max_records=subscriber.max_records)
    return tuple(chain.from_iterable(records.values()))


class DeadLetterPolicy:
    """Broker middleware factory: retries, then parks the message on ``dlq.<service>``.

    A failed batch is applied again record by record, each with its own retries,
    so one bad message costs its neighbours nothing but a second transaction.
    """

    def __init__(self, service: str, *, max_attempts: int, backoff: float, backoff_max: float) -> None:
        self.service = service
        self.topic = dead_letter_topic(service)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.broker: KafkaBroker | None = None
        self.consumers: dict[str, Consumer] = {}

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _DeadLetterScope(msg, context=context, policy=self)

    def delay(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), self.backoff_max)
        return base * random.uniform(0.8, 1.2)

    async def run(self, record: ConsumerRecord, attempt_once: Callable[[], Awaitable[Any]]) -> Any:
        """Attempt until success, a permanent error or the last attempt; then dead-letter the record."""
        attempt = outage_waits = 0
        while True:
            attempt += 1
            try:
                return await attempt_once()
            except asyncio.CancelledError:
                raise
            except PERMANENT_ERRORS as error:
                await self.dead_letter(record, error, "invalid", attempt)
                return None
            except Exception as error:
                if find_cause(error, OUTAGES):
                    # The database is away (restarting, failing over): not the message's fault, so
                    # it costs no attempt; the consumer waits here, and so holds its place, until it is back.
                    attempt -= 1
                    outage_waits += 1
                    log.warning("database unavailable, waiting", extra={"waits": outage_waits, "error": repr(error)})
                    await asyncio.sleep(self.delay(min(outage_waits, 8)))
                    continue
                if attempt >= self.max_attempts:
                    await self.dead_letter(record, error, "exhausted", attempt)
                    return None
                RETRIES.labels(self.service).inc()
                log.warning("handler failed, retrying", extra={"attempt": attempt, "error": repr(error)})
                await asyncio.sleep(self.delay(attempt))

    async def dead_letter(self, record: ConsumerRecord, error: BaseException, reason: str, attempts: int) -> None:
        headers = {name: value.decode("utf-8", errors="replace") for name, value in (record.headers or ())}
        headers.update(dead_letter_headers(
            service=self.service, reason=reason, error=f"{type(error).__name__}: {error}", attempts=attempts,
            **{"x-dlq-topic": record.topic, "x-dlq-partition": str(record.partition),
               "x-dlq-offset": str(record.offset)}))
        assert self.broker is not None, "the service sets the broker before consuming"
        await self.broker.publish(record.value or b"", topic=self.topic, key=record.key, headers=headers)
        DEAD_LETTERS.labels(self.service, reason).inc()
        log.error(
            "message dead-lettered",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset,
                   "reason": reason, "error": repr(error)},
        )


def dead_letter_headers(*, service: str, reason: str, error: str | None, attempts: int,
                        **more: str) -> dict[str, str]:
    """What every dead letter says about itself: why, the error, who gave up, after how many attempts, when."""
    return {
        "x-dlq-reason": reason,
        "x-dlq-error": (error or "")[:4000],
        "x-dlq-consumer": service,
        "x-dlq-attempts": str(attempts),
        "x-dlq-failed-at": datetime.now(UTC).isoformat(),
        **more,
    }


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: KafkaMessage) -> Any:
        if not isinstance(msg.raw_message, tuple | list):  # a single record, not a batch
            return await self.policy.run(msg.raw_message, lambda: call_next(msg))
        try:
            return await call_next(msg)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("batch failed, applying its records one by one",
                        extra={"records": len(msg.raw_message), "error": repr(error)})
        for record in msg.raw_message:
            consumer = self.policy.consumers[record.topic]
            await self.policy.run(record, lambda record=record: consumer.apply_record(record))
        return None
