"""Poison sweep: every topic every service consumes, listed from its AsyncAPI document.

Four poison messages go onto each topic in one produce request: not JSON, the
wrong schema under the right event type, an unknown event type, and a 5 MB
payload. Each consumer must park all four, byte for byte, on its dead-letter
topic and commit past them: it keeps going.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from support.kafka import cloudevent_headers, publish_together, wait_consumed
from ticketflow_local.config import REPO_ROOT
from ticketflow_local.flow import header, read_topics
from ticketflow_runtime.consumers import consumer_group
from ticketflow_schemas import events
from ticketflow_schemas.topics import SERVICES, dead_letter_topic

FIVE_MB = 5 * 1024 * 1024


def consumed_topics() -> list[tuple[str, str]]:
    pairs = []
    for service in SERVICES:
        document = json.loads((REPO_ROOT / "docs" / "api" / f"{service}.asyncapi.json").read_text())
        for operation in document["operations"].values():
            if operation["action"] == "receive":
                channel = operation["channel"]["$ref"].rsplit("/", 1)[-1]
                pairs.append((service, document["channels"][channel]["address"]))
    return pairs


def poison(topic: str, marker: str) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    ce_type = next(model.ce_type for model in events.EVENT_TYPES.values() if model.topic == topic)
    right_type = cloudevent_headers(ce_type, marker)
    return [
        (b"\xff{not json", right_type),
        (json.dumps({"unexpected": marker}).encode(), right_type),
        (json.dumps({"marker": marker}).encode(), cloudevent_headers("com.example.unknown.v1", marker)),
        (b'{"padding": "' + b"x" * FIVE_MB + b'"}', right_type),
    ]


@pytest.mark.parametrize(("service", "topic"), consumed_topics())
async def test_poison_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(stack, service: str,
                                                                             topic: str) -> None:
    since = int(datetime.now(UTC).timestamp() * 1000) - 1000
    marker = str(uuid.uuid4())
    sent = poison(topic, marker)
    records = await publish_together(topic, sent, key=marker)
    last = records[-1]
    await wait_consumed(consumer_group(service, topic), last.topic, last.partition, last.offset, timeout=60)

    dead = await read_topics([dead_letter_topic(service)], since_ms=since, timeout=60,
                             until=lambda rs: len([r for r in rs if r.key == marker.encode()]) >= len(sent))
    parked = sorted((r for r in dead if r.key == marker.encode()), key=lambda r: int(header(r, "x-dlq-offset")))
    assert [r.value for r in parked] == [value for value, _ in sent]
    assert [int(header(r, "x-dlq-offset")) for r in parked] == [r.offset for r in records]
    for record in parked:
        assert header(record, "x-dlq-topic") == topic
        assert header(record, "x-dlq-reason") == "invalid"
        assert header(record, "x-dlq-error")
