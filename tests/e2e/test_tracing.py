"""One order's path, creation to check-in, is one trace across the five services."""

from __future__ import annotations

import asyncio
import time
import uuid

from e2e_helpers import qr_of
from support.otlp import OtlpCollector
from ticketflow_local.flow import Flow, header, inline_images, read_topics, wait_for_mail, wait_until
from ticketflow_schemas import topics
from ticketflow_schemas.topics import SERVICES


def test_one_order_is_one_trace_from_creation_to_check_in(flow: Flow, event: dict, otlp: OtlpCollector) -> None:
    since = int(time.time() * 1000) - 1000
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    holder = f"tracy.{uuid.uuid4().hex[:8]}@example.com"
    flow.assign(ticket["id"], "Tracy Trace", holder)
    wait_for_mail(holder)
    settled = asyncio.run(read_topics(
        [topics.ORDER_SETTLED], since_ms=since,
        until=lambda rs: any(header(r, "ce_subject") == order["id"] for r in rs),
    ))
    traceparent = next(header(r, "traceparent") for r in settled if header(r, "ce_subject") == order["id"])
    trace_id = traceparent.split("-")[1]

    issued = flow.issued_tickets(order["id"])
    assert issued
    payload = qr_of(inline_images(wait_for_mail(holder))[0])
    assert flow.scan_when_known(payload)["result"] == "admitted"

    def complete() -> dict | None:
        services = otlp.services_in(trace_id)
        if set(SERVICES) <= set(services) and "check in ticket" in services.get("checkin", []):
            return services
        return None

    try:
        services = wait_until(complete, timeout=30, what=f"spans of all five services in trace {trace_id}")
    except TimeoutError:
        raise AssertionError(f"trace {trace_id} has only {otlp.services_in(trace_id)}; received {[(s.service, s.name) for s in otlp.spans][:40]}") from None
    spans = otlp.trace(trace_id)
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 1 and roots[0].service == "orders" and "POST /v1/orders" in roots[0].name, roots
    assert "send email" in services["notifications"]
    assert "assign ticket" in services["assignment"]
    assert any("ticket.issued" in name for name in services["issuance"])
    known = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_span_id and s.parent_span_id not in known]
    assert not orphans, f"spans whose parent is missing from the trace: {orphans}"
