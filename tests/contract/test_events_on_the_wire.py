"""What the producers really publish, read off the real broker after one full flow.

(b) every record validates against the published JSON Schema of its ce_type and
    against what each consuming service's handler expects;
(c) every record reads as a CloudEvent with the official ``cloudevents`` SDK.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
import uuid
from pathlib import Path

import jsonschema
import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from ticketflow_local.flow import Flow, header, inline_images, read_topics, wait_for_mail
from ticketflow_schemas.events import EVENT_TYPES
from ticketflow_schemas.jsonschema import SCHEMA_DIR
from ticketflow_schemas.topics import SERVICES

WIRE_TOPICS = sorted({model.topic for model in EVENT_TYPES.values()})


def consumer_expectations() -> dict[str, list[tuple[str, type]]]:
    """topic -> the (service, model) pairs that consume it, from the services' own handlers."""
    expected: dict[str, list[tuple[str, type]]] = {}
    for service in SERVICES:
        handlers = importlib.import_module(f"{service}.handlers")
        for subscription in handlers.subscriptions.items:
            expected.setdefault(subscription.topic, []).append((service, subscription.model))
    return expected


@pytest.fixture(scope="module")
def records(stack, event: dict) -> list:
    """The records of three orders that cause every event type: one checked in (online, then again
    offline: a conflict) with its other ticket offered by a claim link, one invoiced, one cancelled."""
    flow = Flow()
    since = int(time.time() * 1000) - 1000
    order = flow.place_free_order(event["id"], 2)
    tickets = flow.assignable_tickets(order["id"], 2)
    holder = f"wire.{uuid.uuid4().hex[:8]}@example.com"
    flow.assign(tickets[0]["id"], "Wanda Wire", holder)
    flow.offer_claim(tickets[1]["id"], f"wire.claim.{uuid.uuid4().hex[:8]}@example.com")
    from e2e_helpers import qr_of

    code = qr_of(inline_images(wait_for_mail(holder))[0])
    assert flow.scan_when_known(code)["result"] == "admitted"
    assert flow.admit_offline(event["id"], code)["conflict"], "an offline admission meets the online one"
    invoiced = flow.place_order(event["id"], 1, payment_method="invoice")
    flow.order_action(invoiced["id"], "invoice")
    flow.order_action(invoiced["id"], "mark-paid", payment_reference="BANK-1")
    paid = flow.assignable_tickets(invoiced["id"], 1)
    cancelled = flow.place_free_order(event["id"], 1)
    voided = flow.assignable_tickets(cancelled["id"], 1)
    flow.order_action(cancelled["id"], "cancel", reason="contract test", refund=True)
    subjects = {order["id"], invoiced["id"], cancelled["id"], *(t["id"] for t in tickets + paid + voided)}

    def complete(rs: list) -> bool:
        mine = [r for r in rs if header(r, "ce_subject") in subjects]
        return {r.topic for r in mine} >= set(WIRE_TOPICS) and len([r for r in mine if r.topic == "ticket.issued"]) >= 4

    found = asyncio.run(read_topics(WIRE_TOPICS, since_ms=since, until=complete))
    flow.close()
    return [r for r in found if header(r, "ce_subject") in subjects]


def test_every_record_validates_against_its_published_json_schema(records: list) -> None:
    assert records
    for record in records:
        ce_type = header(record, "ce_type")
        schema = json.loads((Path(SCHEMA_DIR) / f"{ce_type}.json").read_text())
        assert schema["x-topic"] == record.topic
        jsonschema.validate(json.loads(record.value), schema, format_checker=jsonschema.FormatChecker())


def test_every_record_meets_what_its_consumers_expect(records: list) -> None:
    expectations = consumer_expectations()
    assert set(expectations) <= set(WIRE_TOPICS), "a service consumes a topic without a contract"
    for record in records:
        for service, model in expectations.get(record.topic, []):
            assert header(record, "ce_type") == model.ce_type, f"{service} expects {model.ce_type}"
            model.model_validate_json(record.value)


def test_every_record_reads_with_the_official_cloudevents_sdk(records: list) -> None:
    for record in records:
        message = ce_kafka.KafkaMessage(headers={k: v for k, v in record.headers}, key=record.key, value=record.value)
        event = ce_kafka.from_binary_event(message)
        assert event.get_specversion() == "1.0"
        assert event.get_type() == header(record, "ce_type") and event.get_type().startswith("ticketflow.")
        assert event.get_source().startswith("/ticketflow/")
        assert str(uuid.UUID(event.get_id())) == event.get_id()
        assert event.get_subject() == record.key.decode()
        assert event.get_time() is not None and event.get_time().utcoffset().total_seconds() == 0
        assert event.get_datacontenttype() == "application/json"
        assert event.get_data() == json.loads(record.value)
        assert header(record, "traceparent"), "trace context travels with every event"
