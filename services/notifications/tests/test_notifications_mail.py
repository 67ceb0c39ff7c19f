import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from notifications.domain import MessageStatus, dedup_key, retry_delay, smtp_outcome
from notifications.mail import compose, day, money

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


ORDER = {"name": "Bo Buyer", "order_number": "TO-000123", "event_name": "Nordic Summit", "payment_method": "invoice",
         "currency": "SEK", "amount": {"net": 980000, "vat": 245000, "gross": 1225000},
         "lines": [{"ticket_type_name": "Pass", "quantity": 2, "unit_net": 490000}]}
TICKET = {"name": "Åsa Öberg", "company": "Bricka AB", "ticket_number": "TF-AAAA-BBBB", "ticket_type": "Pass",
          "event_id": "e", "event_name": "Nordic Summit", "event_starts_at": "2027-05-01T09:00:00+02:00",
          "event_venue": "Stockholm", "qr_payload": "AQ-test-payload_123"}
CONTEXTS = {
    "order_placed": ORDER,
    "invoice_sent": {**ORDER, "invoice_number": "2027-0001", "due_on": "2027-03-31", "payment_reference": "4711",
                     "pdf_filename": "invoice-2027-0001.pdf", "pdf_base64": "JVBERi0xLjQKJcOkw7w="},
    "tickets_ready": {**ORDER, "quantity": 2, "manage_url": "https://tickets.example.com/orders/1?access_token=t"},
    "your_ticket": {**TICKET, "attach_ticket_pdf": True},
    "ticket_updated": TICKET,
    "ticket_voided": {**TICKET, "reason": "order cancelled"},
    "order_cancelled": {**ORDER, "reason": "withdrawn", "refunded": True,
                        "refund": {"net": 980000, "vat": 245000, "gross": 1225000}},
    "welcome": {**TICKET, "gate": "North gate"},
    "claim_offered": {"ticket_number": "TF-AAAA-BBBB", "ticket_type": "Pass", "event_name": "Nordic Summit",
                      "event_on": "2027-05-01", "event_venue": "Stockholm", "expires_on": "2027-04-20",
                      "claim_url": "https://tickets.example.com/claims/c1aim-t0ken"},
}


@pytest.mark.parametrize("language", ["en", "sv"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_renders_in_english_and_swedish(template: str, language: str) -> None:
    message = compose(template, {**CONTEXTS[template], "language": language}, sender="t@example.com",
                      recipient="r@example.com", message_id="<3@ticketflow>")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert message["Subject"] and message["Content-Language"] == language
    assert f'lang="{language}"' in html and "{{" not in text + html
    greeting = "Hej" if language == "sv" else "Hello"
    assert text.startswith(greeting) and greeting in html


def test_the_invoice_is_attached_and_the_ticket_comes_as_a_pdf_too() -> None:
    invoice = compose("invoice_sent", {**CONTEXTS["invoice_sent"], "language": "en"}, sender="t@example.com",
                      recipient="r@example.com", message_id="<4@ticketflow>")
    attached = [p for p in invoice.iter_attachments()]
    assert [a.get_filename() for a in attached] == ["invoice-2027-0001.pdf"]
    assert attached[0].get_content().startswith(b"%PDF")
    ticket = compose("your_ticket", {**CONTEXTS["your_ticket"], "language": "sv"}, sender="t@example.com",
                     recipient="r@example.com", message_id="<5@ticketflow>")
    pdf = next(p for p in ticket.iter_attachments() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "ticket-TF-AAAA-BBBB.pdf" and pdf.get_content().startswith(b"%PDF")


@pytest.mark.parametrize(("language", "until"), [("en", "until 20 April 2027"), ("sv", "till och med 20 april 2027")])
def test_a_claim_link_says_what_it_offers_and_until_when(language: str, until: str) -> None:
    message = compose("claim_offered", {**CONTEXTS["claim_offered"], "language": language}, sender="t@example.com",
                      recipient="r@example.com", message_id="<6@ticketflow>")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert "Nordic Summit" in message["Subject"]
    assert "https://tickets.example.com/claims/c1aim-t0ken" in text
    assert 'href="https://tickets.example.com/claims/c1aim-t0ken"' in html
    assert until in " ".join(text.split()) and "Stockholm" in text
    # Without the event (its ticket not yet known here) the email still offers the ticket.
    bare = {**CONTEXTS["claim_offered"], "event_name": None, "event_on": None, "event_venue": None}
    unknown = compose("claim_offered", {**bare, "language": language}, sender="t@example.com",
                      recipient="r@example.com", message_id="<7@ticketflow>")
    assert "claims/c1aim-t0ken" in unknown.get_body(("plain",)).get_content()


def test_amounts_and_dates_read_as_each_language_writes_them() -> None:
    assert money(1225050, "SEK", "en") == "SEK 12,250.50"
    assert money(1225050, "SEK", "sv") == "12\u00a0250,50\u00a0SEK"
    assert day("2027-03-31", "sv") == "31 mars 2027" and day("2027-03-31", "en") == "31 March 2027"
