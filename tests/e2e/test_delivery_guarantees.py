"""Redelivery and bad messages on the real broker: exactly-once effects, dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

from support.kafka import cloudevent_headers, publish, publish_together, wait_consumed
from ticketflow_local.flow import Flow, header, read_topics, wait_until
from ticketflow_runtime.consumers import consumer_group
from ticketflow_schemas import events, topics

ISSUANCE_GROUP = consumer_group("issuance", topics.ORDER_SETTLED)


def order_settled(event_id: str, quantity: int = 3) -> events.OrderSettled:
    return events.OrderSettled(
        order_id=uuid.uuid4(), order_number="TO-TEST", event_id=uuid.UUID(event_id), event_name="Test",
        buyer=events.Buyer(name="Rita Redelivery", email="rita@example.com"), payment_method="free",
        lines=[events.OrderLine(line_no=1, ticket_type_id=uuid.uuid4(), ticket_type_name="Pass",
                                quantity=quantity, unit_net=0)],
        quantity=quantity, amount=events.Amount(currency="SEK", net=0, vat=0, gross=0),
        settled_at=datetime.now(UTC),
    )


async def deliver(event: events.Event, *, ce_id: str | None = None):
    record = await publish(event.topic, event.model_dump_json().encode(), key=event.kafka_key(),
                           headers=cloudevent_headers(event.ce_type, event.kafka_key(), ce_id=ce_id))
    return record


async def deliver_and_wait(event: events.Event, *, ce_id: str | None = None) -> None:
    record = await deliver(event, ce_id=ce_id)
    await wait_consumed(ISSUANCE_GROUP, record.topic, record.partition, record.offset)


async def test_the_same_order_settled_twice_yields_three_tickets(flow: Flow, event: dict) -> None:
    settled = order_settled(event["id"])
    ce_id = str(uuid.uuid4())
    await deliver_and_wait(settled, ce_id=ce_id)
    await deliver_and_wait(settled, ce_id=ce_id)
    assert len(flow.issued_tickets(str(settled.order_id))) == 3


async def test_a_second_different_order_settled_for_the_same_order_yields_no_more(flow: Flow, event: dict) -> None:
    settled = order_settled(event["id"])
    await deliver_and_wait(settled)
    first = {t["id"] for t in flow.issued_tickets(str(settled.order_id))}
    await deliver_and_wait(settled)  # a new ce_id: passes the inbox, stopped by the natural key
    assert {t["id"] for t in flow.issued_tickets(str(settled.order_id))} == first
    assert len(first) == 3


async def test_malformed_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(flow: Flow, event: dict) -> None:
    since = int(datetime.now(UTC).timestamp() * 1000) - 1000
    marker = str(uuid.uuid4())
    settled = order_settled(event["id"])
    bad = [
        (b"{not json", cloudevent_headers(events.OrderSettled.ce_type, marker)),
        (json.dumps({"order_id": marker}).encode(), cloudevent_headers(events.OrderSettled.ce_type, marker)),
        (settled.model_dump_json().encode(), [("content-type", b"application/json"), ("ce_subject", marker.encode())]),
    ]
    for value, headers in bad:
        await publish(topics.ORDER_SETTLED, value, key=marker, headers=headers)
    # A good message after the bad ones is still processed.
    await deliver_and_wait(settled)
    assert len(flow.issued_tickets(str(settled.order_id))) == 3

    dead = await read_topics(
        ["dlq.issuance"], since_ms=since,
        until=lambda rs: len([r for r in rs if r.key == marker.encode()]) >= 3,
    )
    parked = [r for r in dead if r.key == marker.encode()]
    assert sorted(r.value for r in parked) == sorted(v for v, _ in bad)
    for record in parked:
        assert header(record, "x-dlq-reason") == "invalid"
        assert header(record, "x-dlq-topic") == topics.ORDER_SETTLED
        assert header(record, "x-dlq-error")
        assert header(record, "ce_subject") == marker, "the original headers are kept"


async def test_a_bad_message_inside_a_batch_costs_its_neighbours_nothing(flow: Flow, event: dict) -> None:
    """The batch's transaction fails; its records are applied one by one and only the bad one is parked."""
    since = int(datetime.now(UTC).timestamp() * 1000) - 1000
    marker = str(uuid.uuid4())
    before, after = order_settled(event["id"]), order_settled(event["id"])
    good_headers = cloudevent_headers(events.OrderSettled.ce_type, marker)
    records = await publish_together(topics.ORDER_SETTLED, [
        (before.model_dump_json().encode(), good_headers),
        (json.dumps({"order_id": marker}).encode(), cloudevent_headers(events.OrderSettled.ce_type, marker)),
        (after.model_dump_json().encode(), cloudevent_headers(events.OrderSettled.ce_type, marker)),
    ], key=marker)
    assert len({(r.partition, r.offset) for r in records}) == 3
    await wait_consumed(ISSUANCE_GROUP, records[-1].topic, records[-1].partition, records[-1].offset)
    assert len(flow.issued_tickets(str(before.order_id))) == 3
    assert len(flow.issued_tickets(str(after.order_id))) == 3
    dead = await read_topics(["dlq.issuance"], since_ms=since,
                             until=lambda rs: any(r.key == marker.encode() for r in rs))
    assert [header(r, "x-dlq-offset") for r in dead if r.key == marker.encode()] == [str(records[1].offset)]


def test_nothing_is_left_in_the_outboxes(flow: Flow) -> None:
    """After the flows above, every service's outbox drains."""
    import asyncpg

    from ticketflow_local.config import stack_env
    from ticketflow_schemas.topics import SERVICES

    async def pending(service: str) -> int:
        url = stack_env()[f"{service.upper()}_DATABASE_URL"].replace("+asyncpg", "")
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        finally:
            await connection.close()

    for service in SERVICES:
        wait_until(lambda: asyncio.run(pending(service)) == 0, timeout=30, what=f"{service}'s outbox to drain")
