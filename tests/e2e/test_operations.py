"""What the platform team relies on: probes, metrics, graceful shutdown and restart without loss."""

from __future__ import annotations

import signal
import uuid

import httpx

from ticketflow_local.config import service_url
from ticketflow_local.flow import Flow, wait_for_mail
from ticketflow_local.stack import ServiceStack
from ticketflow_schemas.topics import SERVICES


def test_every_service_is_live_ready_and_exports_metrics(stack: ServiceStack) -> None:
    for service in SERVICES:
        base = service_url(service)
        assert httpx.get(f"{base}/livez").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz").json()
        assert ready == {"status": "ok", "checks": {"started": "ok", "database": "ok", "kafka": "ok"}}, service
        metrics = httpx.get(f"{base}/metrics").text
        assert "ticketflow_http_request_duration_seconds" in metrics, service
        assert "ticketflow_outbox_pending" in metrics, service


def test_sigterm_drains_and_exits_cleanly_and_nothing_is_lost_while_down(stack: ServiceStack, flow: Flow,
                                                                         event: dict) -> None:
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]

    process = stack.processes["notifications"]
    stack.stop(("notifications",))
    # uvicorn drains, runs the shutdown, then re-raises SIGTERM so supervisors see the signal.
    assert process.returncode in (0, -signal.SIGTERM)
    log = stack.log_path("notifications").read_text().splitlines()
    stopping = max(i for i, line in enumerate(log) if "service stopping" in line)
    assert any('"message": "service stopped"' in line for line in log[stopping:]), "shutdown ran to the end"

    holder = f"late.{uuid.uuid4().hex[:8]}@example.com"
    flow.assign(ticket["id"], "Lee Late", holder)  # ticket.assigned waits in Kafka meanwhile
    stack.start(("notifications",))
    mail = wait_for_mail(holder)
    assert ticket["number"] in mail["Subject"]
