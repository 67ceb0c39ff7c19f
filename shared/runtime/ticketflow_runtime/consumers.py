"""Kafka consumers: idempotent handlers, bounded retries and a dead-letter topic.

A handler is registered with ``Subscriptions.on(EventModel)`` and receives the
validated event and a ``UnitOfWork``. The chassis runs it exactly once per
CloudEvents id (the inbox claim commits with the handler's effect) and commits
the Kafka offset only after that transaction has committed.

Failures: a message that can never succeed (not JSON, not the contract, not a
CloudEvent) goes straight to ``dlq.<service>``; any other error is retried
with exponential backoff, and after the last attempt the message goes to the
dead-letter topic too. The consumer then moves on. If even the dead-letter
publish fails (Kafka down), the offset is not committed and the message comes
back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from pydantic import ValidationError

from ticketflow_schemas.envelope import Envelope, EnvelopeError
from ticketflow_schemas.events import Event
from ticketflow_schemas.topics import dead_letter_topic

from . import inbox

if TYPE_CHECKING:
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

Handler = Callable[[Any, "UnitOfWork"], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    model: type[Event]
    handler: Handler

    @property
    def topic(self) -> str:
        return self.model.topic


class Subscriptions:
    """The events a service consumes, declared next to their handlers."""

    def __init__(self) -> None:
        self.items: list[Subscription] = []

    def on(self, model: type[Event]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(Subscription(model, handler))
            return handler

        return register


def consumer_group(service: str, topic: str) -> str:
    """One consumer group per service and topic: a rebalance on one topic leaves the others alone."""
    return f"{service}.{topic}"


def register_subscriptions(
    broker: KafkaBroker, database: Database, service: str, subscriptions: Subscriptions
) -> None:
    for subscription in subscriptions.items:
        _register(broker, database, service, subscription)


def _register(broker: KafkaBroker, database: Database, service: str, subscription: Subscription) -> None:
    model = subscription.model
    group = consumer_group(service, subscription.topic)
    handler = subscription.handler

    async def consume(event: model, message: KafkaMessage) -> None:  # type: ignore[valid-type]
        envelope = Envelope.from_headers(message.raw_message.headers)
        if envelope.type != model.ce_type:
            raise PermanentError(f"{subscription.topic} carries {model.ce_type}, got {envelope.type}")
        async with database.unit_of_work(envelope) as uow:
            if not await inbox.claim(uow.session, group, envelope):
                DUPLICATES.labels(group).inc()
                return
            await handler(event, uow)
        HANDLED.labels(group).inc()

    # Set explicitly: FastStream reads the annotations to validate the body
    # and to document the payload in AsyncAPI.
    consume.__annotations__ = {"event": model, "message": KafkaMessage, "return": None}
    consume.__name__ = handler.__name__
    consume.__doc__ = handler.__doc__
    broker.subscriber(
        subscription.topic,
        group_id=group,
        auto_offset_reset="earliest",
        # Offsets are committed after the handler's transaction; errors it
        # cannot absorb (dead-letter publish failing) rewind to the message.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{service}:{subscription.topic}",
        description=handler.__doc__,
    )(consume)


class DeadLetterPolicy:
    """Broker middleware factory: retries, then parks the message on ``dlq.<service>``."""

    def __init__(self, service: str, *, max_attempts: int, backoff: float, backoff_max: float) -> None:
        self.service = service
        self.topic = dead_letter_topic(service)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.broker: KafkaBroker | None = None

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _DeadLetterScope(msg, context=context, policy=self)

    def delay(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), self.backoff_max)
        return base * random.uniform(0.8, 1.2)

    async def dead_letter(self, msg: KafkaMessage, error: BaseException, reason: str, attempts: int) -> None:
        record = msg.raw_message
        headers = {name: value.decode("utf-8", errors="replace") for name, value in (record.headers or ())}
        headers.update(
            {
                "x-dlq-reason": reason,
                "x-dlq-error": f"{type(error).__name__}: {error}"[:4000],
                "x-dlq-consumer": self.service,
                "x-dlq-topic": record.topic,
                "x-dlq-partition": str(record.partition),
                "x-dlq-offset": str(record.offset),
                "x-dlq-attempts": str(attempts),
                "x-dlq-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        assert self.broker is not None, "the service sets the broker before consuming"
        await self.broker.publish(record.value or b"", topic=self.topic, key=record.key, headers=headers)
        DEAD_LETTERS.labels(self.service, reason).inc()
        log.error(
            "message dead-lettered",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset,
                   "reason": reason, "error": repr(error)},
        )


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: KafkaMessage) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call_next(msg)
            except asyncio.CancelledError:
                raise
            except PERMANENT_ERRORS as error:
                await self.policy.dead_letter(msg, error, "invalid", attempt)
                return None
            except Exception as error:
                if attempt >= self.policy.max_attempts:
                    await self.policy.dead_letter(msg, error, "exhausted", attempt)
                    return None
                RETRIES.labels(self.policy.service).inc()
                log.warning("handler failed, retrying", extra={"attempt": attempt, "error": repr(error)})
                await asyncio.sleep(self.policy.delay(attempt))
