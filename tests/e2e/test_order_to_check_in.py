"""One order through all five services, on the real broker, database and SMTP sink."""

from __future__ import annotations

import uuid

from e2e_helpers import qr_of as decode_qr
from ticketflow_local.flow import Flow, inline_images, wait_for_mail, wait_until
from ticketflow_schemas import qr


def forge_signature(payload: str) -> str:
    body, signature = qr.decode(payload)
    return qr.encode(body, bytes([signature[0] ^ 0xFF]) + signature[1:])


def tamper_ticket(payload: str, other_ticket_id: str) -> str:
    """Someone else's ticket id under this ticket's signature."""
    body, signature = qr.decode(payload)
    other = qr.QrBody(uuid.UUID(other_ticket_id), body.secret_version, body.key_id)
    return qr.encode(other, signature)


def test_an_order_of_three_becomes_three_tickets_one_assigned_mailed_and_checked_in(flow: Flow, event: dict) -> None:
    order = flow.place_free_order(event["id"], 3)
    assert order["status"] == "settled"
    assert [t["to_status"] for t in order["transitions"]] == ["requested", "settled"]

    tickets = flow.assignable_tickets(order["id"], 3)
    assert len(tickets) == 3
    issued = flow.issued_tickets(order["id"])
    assert sorted(t["id"] for t in issued) == sorted(t["id"] for t in tickets)
    assert len({t["number"] for t in issued}) == 3

    # orders learns the issued count from ticket.issued
    wait_until(lambda: flow.order(order["id"])["ticket_count_status"] == "all_issued", what="issued counts")

    holder_email = f"ines.{uuid.uuid4().hex[:8]}@example.com"
    ticket = tickets[0]
    assigned = flow.assign(ticket["id"], "Ines Attendee", holder_email, company="Acme AB")
    assert assigned["holder"]["email"] == holder_email

    mail = wait_for_mail(holder_email)
    assert ticket["number"] in mail["Subject"]
    images = inline_images(mail)
    assert len(images) == 1, "the QR code travels as an inline image"
    payload = decode_qr(images[0])
    body, _ = qr.decode(payload)
    assert str(body.ticket_id) == ticket["id"]

    first = flow.scan_when_known(payload, gate="North gate")
    assert first["result"] == "admitted", first
    assert first["ticket"]["holder_name"] == "Ines Attendee"

    again = flow.scan(payload, gate="South gate")
    assert again["result"] == "already_checked_in"
    assert again["check_in"]["gate"] == "North gate"
    assert "North gate" in again["message"] and again["check_in"]["checked_in_at"][:10] in again["message"]

    forged = flow.scan(forge_signature(payload))
    assert forged["result"] == "invalid_signature"
    tampered = flow.scan(tamper_ticket(payload, tickets[1]["id"]))
    assert tampered["result"] == "invalid_signature"
    garbage = flow.scan("not-a-ticket-code-at-all")
    assert garbage["result"] == "invalid_signature"

    # The other two tickets were never scanned: they are still admissible.
    assert flow.messages(recipient=holder_email)[0]["status"] == "sent"


def test_the_same_scan_nonce_gets_the_same_answer(flow: Flow, event: dict) -> None:
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    holder_email = f"nonce.{uuid.uuid4().hex[:8]}@example.com"
    flow.assign(ticket["id"], "Noa Nonce", holder_email)
    payload = decode_qr(inline_images(wait_for_mail(holder_email))[0])
    flow.gate_knows(ticket["id"])
    nonce = uuid.uuid4().hex
    first = flow.scan(payload, nonce=nonce, gate="North gate")
    retried = flow.scan(payload, nonce=nonce, gate="North gate")
    assert first["result"] == "admitted"
    assert retried == first, "a retried request (same nonce) gets the same answer"
    assert flow.scan(payload)["result"] == "already_checked_in"


def test_bad_requests_get_machine_readable_errors(flow: Flow, event: dict) -> None:
    from ticketflow_local.config import service_url

    missing = flow.http.get(f"{service_url('orders')}/v1/orders/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "order_not_found"

    invalid = flow.http.post(f"{service_url('orders')}/v1/orders", json={"event_id": event["id"], "lines": []})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_request"
    assert invalid.json()["error"]["message"]

    unknown_ticket = flow.http.put(f"{service_url('assignment')}/v1/tickets/{uuid.uuid4()}/holder",
                                   json={"name": "X", "email": "x@example.com"})
    assert unknown_ticket.status_code == 404
    assert unknown_ticket.json()["error"]["code"] == "ticket_not_found"


def test_reassigning_a_ticket_revokes_the_old_qr_and_mails_the_new_holder_a_new_one(flow: Flow, event: dict) -> None:
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    first, second = (f"{who}.{uuid.uuid4().hex[:8]}@example.com" for who in ("first", "second"))
    flow.assign(ticket["id"], "Fia First", first)
    old_payload = decode_qr(inline_images(wait_for_mail(first))[0])
    flow.assign(ticket["id"], "Sam Second", second)
    new_payload = decode_qr(inline_images(wait_for_mail(second))[0])
    old, new = qr.decode(old_payload)[0], qr.decode(new_payload)[0]
    assert new.ticket_id == old.ticket_id and new.secret_version == old.secret_version + 1

    wait_until(lambda: flow.gate_knows(ticket["id"])["secret_version"] == new.secret_version,
               what="the gate to learn the reissue")
    forwarded = flow.scan(old_payload)
    assert forwarded["result"] == "revoked", "a forwarded screenshot of the old QR is refused"
    admitted = flow.scan(new_payload)
    assert admitted["result"] == "admitted" and admitted["ticket"]["holder_name"] == "Sam Second"
