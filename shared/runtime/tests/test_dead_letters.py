"""The retry and dead-letter middleware inside FastStream's real consume pipeline.

FastStream's in-memory TestKafkaBroker is enough here: this is one middleware's
behaviour, not delivery (the end-to-end tests cover that on the real broker).
"""

from __future__ import annotations

import asyncpg.exceptions
import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from pydantic import BaseModel

from ticketflow_runtime.consumers import DeadLetterPolicy, PermanentError


class Ping(BaseModel):
    n: int


def broker_with_policy(max_attempts: int = 3) -> tuple[KafkaBroker, DeadLetterPolicy, list]:
    policy = DeadLetterPolicy("svc", max_attempts=max_attempts, backoff=0.001, backoff_max=0.001)
    broker = KafkaBroker(middlewares=(policy,))
    policy.broker = broker
    dead: list = []

    @broker.subscriber("dlq.svc")
    async def park(message: KafkaMessage) -> None:
        dead.append(message)

    return broker, policy, dead


async def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    broker, _, dead = broker_with_policy()
    calls: list[int] = []

    @broker.subscriber("in")
    async def flaky(body: Ping) -> None:
        calls.append(body.n)
        if len(calls) < 3:
            raise RuntimeError("a lock timed out")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 1}, "in")
    assert calls == [1, 1, 1]
    assert dead == []


async def test_a_failure_that_persists_is_dead_lettered_after_the_last_attempt() -> None:
    broker, _, dead = broker_with_policy(max_attempts=3)
    calls: list[int] = []

    @broker.subscriber("in")
    async def broken(body: Ping) -> None:
        calls.append(body.n)
        raise RuntimeError("still down")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 7}, "in", key=b"k", headers={"ce_id": "abc"})
    assert calls == [7, 7, 7]
    assert len(dead) == 1
    headers = dead[0].headers
    assert headers["x-dlq-reason"] == "exhausted"
    assert headers["x-dlq-attempts"] == "3"
    assert "still down" in headers["x-dlq-error"]
    assert headers["ce_id"] == "abc", "the original headers travel with the message"


async def test_a_database_outage_costs_the_message_no_attempts() -> None:
    broker, _, dead = broker_with_policy(max_attempts=2)
    calls: list[int] = []

    @broker.subscriber("in")
    async def during_a_restart(body: Ping) -> None:
        calls.append(body.n)
        if len(calls) < 6:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 3}, "in")
    assert calls == [3] * 6, "waited the outage out, far past max_attempts"
    assert dead == []


@pytest.mark.parametrize("body", [{"n": "not a number"}, b"{broken json"])
async def test_a_message_that_can_never_succeed_is_dead_lettered_at_once(body) -> None:
    broker, _, dead = broker_with_policy()
    calls: list = []

    @broker.subscriber("in")
    async def strict(event: Ping) -> None:
        calls.append(event)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, "in")
    assert calls == []
    assert [m.headers["x-dlq-reason"] for m in dead] == ["invalid"]


async def test_a_permanent_error_raised_by_a_handler_is_not_retried() -> None:
    broker, _, dead = broker_with_policy()
    calls: list = []

    @broker.subscriber("in")
    async def refuses(event: Ping) -> None:
        calls.append(event)
        raise PermanentError("unknown event type")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 1}, "in")
    assert len(calls) == 1
    assert len(dead) == 1


class RecordByRecord:
    """Stands in for the chassis' Consumer: applies one record in its own transaction."""

    def __init__(self, applied: list[int]) -> None:
        self.applied = applied

    async def apply_record(self, record) -> None:
        event = Ping.model_validate_json(record.value)
        if event.n == 2:
            raise PermanentError("this record can never be applied")
        self.applied.append(event.n)


async def test_a_failed_batch_is_applied_record_by_record_and_only_the_bad_record_is_dead_lettered() -> None:
    broker, policy, dead = broker_with_policy()
    applied: list[int] = []
    policy.consumers["in"] = RecordByRecord(applied)

    @broker.subscriber("in", batch=True)
    async def whole_batch(events: list[Ping]) -> None:
        if any(event.n == 2 for event in events):
            raise ConnectionError("one bad record fails the batch's transaction")
        applied.extend(event.n for event in events)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish_batch({"n": 1}, {"n": 2}, {"n": 3}, topic="in")
    assert applied == [1, 3]
    assert [m.headers["x-dlq-reason"] for m in dead] == ["invalid"]


async def test_a_batch_that_applies_is_applied_once() -> None:
    broker, policy, dead = broker_with_policy()
    applied: list[int] = []
    policy.consumers["in"] = RecordByRecord(applied)

    @broker.subscriber("in", batch=True)
    async def whole_batch(events: list[Ping]) -> None:
        applied.extend(event.n for event in events)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish_batch({"n": 1}, {"n": 3}, topic="in")
    assert applied == [1, 3]
    assert dead == []
