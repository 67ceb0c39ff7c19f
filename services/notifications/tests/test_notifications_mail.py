import io
from datetime import timedelta

import zxingcpp
from PIL import Image

from notifications.domain import MessageStatus, dedup_key, retry_delay, smtp_outcome
from notifications.mail import compose

CONTEXT = {"name": "Ines", "language": "en", "ticket_number": "TF-AAAA-BBBB", "ticket_type": "Pass",
           "qr_payload": "AQ-test-payload_123", "event_id": "e"}


def test_your_ticket_email_has_text_html_and_the_qr_inline() -> None:
    message = compose("your_ticket", CONTEXT, sender="t@example.com", recipient="ines@example.com",
                      message_id="<1@ticketflow>")
    assert message["Subject"] == "Your ticket TF-AAAA-BBBB (Pass)"
    kinds = [part.get_content_type() for part in message.walk()]
    assert {"text/plain", "text/html", "image/png"} <= set(kinds)
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert f"cid:{image['Content-ID'][1:-1]}" in html
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert decoded[0].text == CONTEXT["qr_payload"]


def test_html_escapes_what_people_typed() -> None:
    message = compose("your_ticket", {**CONTEXT, "name": "<script>x</script>"}, sender="t@example.com",
                      recipient="ines@example.com", message_id="<2@ticketflow>")
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_smtp_5xx_is_permanent_and_4xx_is_retried() -> None:
    assert smtp_outcome(550, "mailbox unavailable").status is MessageStatus.FAILED
    assert smtp_outcome(451, "try later").status is MessageStatus.PENDING
    assert smtp_outcome(None, "connection refused").status is MessageStatus.PENDING


def test_retry_backoff_grows_and_is_capped() -> None:
    assert retry_delay(1) == timedelta(seconds=5)
    assert retry_delay(2) == timedelta(seconds=10)
    assert retry_delay(30) == timedelta(seconds=900)


def test_one_message_per_event_recipient_and_template() -> None:
    assert dedup_key("e1", "Ines@Example.com ", "your_ticket") == dedup_key("e1", "ines@example.com", "your_ticket")
    assert dedup_key("e1", "a@example.com", "your_ticket") != dedup_key("e2", "a@example.com", "your_ticket")
