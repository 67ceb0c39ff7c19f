"""The floor benchmarks' own parts: the email they send stands for the service's, and the figures add up."""

from __future__ import annotations

from email import message_from_bytes, policy

from ticketflow_local.bench.delivery import DeliveryFloor, ticket_email


def test_the_floor_sends_a_ticket_email_as_the_service_renders_it() -> None:
    sent = ticket_email("floor@example.com", 7)
    message = message_from_bytes(sent.data, policy=policy.default)
    assert sent.recipients == ("floor@example.com",) and not sent.smtputf8
    assert message["X-Ticketflow-Template"] == "your_ticket"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert {"text/plain", "text/html", "image/png", "application/pdf"} <= parts.keys()
    assert parts["application/pdf"].get_filename() == "ticket-TF-BNCH-0007.pdf"
    assert parts["application/pdf"].get_content().startswith(b"%PDF")
    assert sent.data.isascii()  # 7-bit clean, as the service sends it


def test_the_floor_is_reported_per_email() -> None:
    floor = DeliveryFloor(emails=2000, size=51_200, seconds=5.0, client_cpu=3.0, sink_cpu=4.0)
    assert floor.per_second == 400
    line = floor.describe()
    assert line.startswith("400 emails/s: one 50 KiB message sent 2,000 times")
    assert "client 1.50 ms, sink 2.00 ms" in line
