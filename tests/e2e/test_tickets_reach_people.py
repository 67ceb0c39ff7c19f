"""Tickets reach people: buyer and attendee links, object-level access, claim links, CSV upload,
the organizer's lock and My Tickets, on the real stack."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from pypdf import PdfReader

from e2e_helpers import qr_of
from ticketflow_local.config import service_url
from ticketflow_local.flow import Flow, inline_images, mail_with, wait_for_mail, wait_until

ASSIGNMENT = service_url("assignment")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def buyer_link(flow: Flow, order_id: str) -> dict:
    return bearer(flow.http.post(f"{ASSIGNMENT}/v1/orders/{order_id}/buyer-link").raise_for_status().json()["token"])


def settled_order(flow: Flow, event: dict, quantity: int) -> tuple[dict, list[dict]]:
    order = flow.place_free_order(event["id"], quantity)
    return order, flow.assignable_tickets(order["id"], quantity)


def test_a_buyer_link_manages_its_own_order_and_nothing_else(flow: Flow, event: dict) -> None:
    mine, my_tickets = settled_order(flow, event, 2)
    theirs, their_tickets = settled_order(flow, event, 1)
    link = buyer_link(flow, mine["id"])

    listed = httpx.get(f"{ASSIGNMENT}/v1/orders/{mine['id']}/tickets", headers=link)
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert listed.json()[0]["event"]["name"] == event["name"]

    other_order = httpx.get(f"{ASSIGNMENT}/v1/orders/{theirs['id']}/tickets", headers=link)
    assert other_order.status_code == 403 and other_order.json()["error"]["code"] == "not_your_order"
    other_ticket = httpx.put(f"{ASSIGNMENT}/v1/tickets/{their_tickets[0]['id']}/holder", headers=link,
                             json={"name": "Intruder", "email": "intruder@example.com"})
    assert other_ticket.status_code == 404, "someone else's ticket does not even exist for this link"

    fields = [{"key": "diet", "label": "Diet", "required": False}]
    assert flow.http.put(f"{ASSIGNMENT}/v1/events/{event['id']}/person-fields", json=fields).status_code == 200
    colleague = f"colleague.{uuid.uuid4().hex[:6]}@example.com"
    assigned = httpx.put(f"{ASSIGNMENT}/v1/tickets/{my_tickets[0]['id']}/holder", headers=link,
                         json={"name": "Cleo Colleague", "email": colleague, "job_title": "CTO",
                               "custom": {"diet": "vegan"}})
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert assigned.json()["holder"]["email"] == colleague
    wait_for_mail(colleague)

    staff_only = httpx.post(f"{ASSIGNMENT}/v1/orders/{mine['id']}/buyer-link", headers=link)
    assert staff_only.status_code == 401, "a buyer's link is not a staff token"
    anonymous = httpx.get(f"{ASSIGNMENT}/v1/orders/{mine['id']}/tickets")
    assert anonymous.status_code == 401


def test_my_tickets_shows_the_attendee_their_tickets_with_qr_codes_and_a_pdf(flow: Flow, event: dict) -> None:
    _, tickets = settled_order(flow, event, 2)
    email = f"åsa.{uuid.uuid4().hex[:6]}@example.com"
    assigned = flow.assign(tickets[0]["id"], "Åsa Öberg", email, company="Ögon & Öron AB")
    mailed = qr_of(inline_images(wait_for_mail(email))[0])
    person_id = assigned["holder"]["person_id"]
    link = bearer(flow.http.post(f"{ASSIGNMENT}/v1/persons/{person_id}/my-tickets-link").json()["token"])

    def current() -> list[dict] | None:
        listed = httpx.get(f"{ASSIGNMENT}/v1/me/tickets", headers=link).json()
        return listed if listed and listed[0]["qr_payload"] == mailed else None

    mine = wait_until(current, what="My Tickets to show the reissued QR code")
    assert [t["id"] for t in mine] == [tickets[0]["id"]]
    assert mine[0]["status"] == "assigned" and mine[0]["event"]["name"] == event["name"]

    png = httpx.get(f"{ASSIGNMENT}{mine[0]['qr_png_url']}", headers=link)
    assert png.headers["content-type"] == "image/png" and qr_of(png.content) == mailed
    svg = httpx.get(f"{ASSIGNMENT}{mine[0]['qr_svg_url']}", headers=link)
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    pdf = httpx.get(f"{ASSIGNMENT}{mine[0]['pdf_url']}", headers=link)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Åsa Öberg" in text and tickets[0]["number"] in text

    not_mine = httpx.get(f"{ASSIGNMENT}/v1/me/tickets/{tickets[1]['id']}/qr.png", headers=link)
    assert not_mine.status_code == 404
    assert flow.scan_when_known(mailed)["result"] == "admitted"
    wait_until(lambda: httpx.get(f"{ASSIGNMENT}/v1/me/tickets", headers=link).json()[0]["status"] == "checked_in",
               what="My Tickets to show the check-in")


def test_a_claim_link_makes_its_recipient_the_holder_once(flow: Flow, event: dict) -> None:
    order, tickets = settled_order(flow, event, 1)
    link = buyer_link(flow, order["id"])
    recipient = f"claimer.{uuid.uuid4().hex[:6]}@example.com"
    claim = httpx.post(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}/claims", headers=link,
                       json={"email": recipient, "language": "sv"})
    assert claim.status_code == 201
    token = claim.json()["token"]

    # The link reaches the address, in the language asked for.
    offer = mail_with(recipient, "claim_offered")
    assert offer["Content-Language"] == "sv" and event["name"] in offer["Subject"]
    mailed_link = next(line.strip() for line in offer.get_body(("plain",)).get_content().splitlines()
                       if "/claims/" in line)
    assert mailed_link.endswith(f"/claims/{token}")

    offered = httpx.get(f"{ASSIGNMENT}/v1/claims/{token}").json()
    assert offered["email"] == recipient and offered["ticket_number"] == tickets[0]["number"]
    claimed = httpx.post(f"{ASSIGNMENT}/v1/claims/{token}", json={"name": "Clara Claimer", "company": "Claim AB"})
    assert claimed.status_code == 200 and claimed.json()["holder"]["email"] == recipient
    assert mail_with(recipient, "your_ticket")

    again = httpx.post(f"{ASSIGNMENT}/v1/claims/{token}", json={"name": "Someone Else"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "claim_used"
    forged = httpx.get(f"{ASSIGNMENT}/v1/claims/not-a-real-token")
    assert forged.status_code == 404 and forged.json()["error"]["code"] == "claim_not_found"


def test_a_newer_link_or_a_change_of_hands_withdraws_the_open_links(flow: Flow, event: dict) -> None:
    order, tickets = settled_order(flow, event, 1)
    link = buyer_link(flow, order["id"])
    ticket_id = tickets[0]["id"]

    def offer(address: str) -> str:
        made = httpx.post(f"{ASSIGNMENT}/v1/tickets/{ticket_id}/claims", headers=link, json={"email": address})
        return made.raise_for_status().json()["token"]

    mistyped = offer(f"clara.{uuid.uuid4().hex[:6]}@exmaple.com")
    meant = offer(f"clara.{uuid.uuid4().hex[:6]}@example.com")
    replaced = httpx.get(f"{ASSIGNMENT}/v1/claims/{mistyped}")
    assert replaced.status_code == 409 and replaced.json()["error"]["code"] == "claim_withdrawn"
    assert httpx.get(f"{ASSIGNMENT}/v1/claims/{meant}").status_code == 200

    def open_claim() -> dict | None:
        return httpx.get(f"{ASSIGNMENT}/v1/orders/{order['id']}/tickets", headers=link).json()[0]["open_claim"]

    assert open_claim()["email"].endswith("@example.com")  # the buyer sees where the open link went

    # The buyer hands the ticket over directly: the link still open no longer takes it away.
    colleague = f"colleague.{uuid.uuid4().hex[:6]}@example.com"
    httpx.put(f"{ASSIGNMENT}/v1/tickets/{ticket_id}/holder", headers=link,
              json={"name": "Cole League", "email": colleague}).raise_for_status()
    late = httpx.post(f"{ASSIGNMENT}/v1/claims/{meant}", json={"name": "Clara Late"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "claim_withdrawn"
    assert open_claim() is None
    holder = httpx.get(f"{ASSIGNMENT}/v1/tickets/{ticket_id}", headers=link).json()["holder"]
    assert holder["email"] == colleague


def test_the_organizer_can_lock_changes_after_a_deadline(flow: Flow) -> None:
    event = flow.create_event(name=f"Locked {uuid.uuid4().hex[:4]}")
    order, tickets = settled_order(flow, event, 2)
    link = buyer_link(flow, order["id"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert flow.http.put(f"{ASSIGNMENT}/v1/events/{event['id']}/lock", json={"locked_at": past}).status_code == 200

    refused = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}/holder", headers=link,
                        json={"name": "Late Larry", "email": "late@example.com"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "changes_locked"
    assert "organizer" in refused.json()["error"]["message"]
    by_staff = flow.assign(tickets[0]["id"], "Staff Sorted", "sorted@example.com")
    assert by_staff["holder"]["email"] == "sorted@example.com"

    flow.http.put(f"{ASSIGNMENT}/v1/events/{event['id']}/lock", json={"locked_at": None})
    reopened = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[1]['id']}/holder", headers=link,
                         json={"name": "On Time", "email": "ontime@example.com"})
    assert reopened.status_code == 200


def test_a_csv_upload_assigns_row_by_row_with_a_report_and_a_reupload_changes_nothing(flow: Flow,
                                                                                      event: dict) -> None:
    order, tickets = settled_order(flow, event, 3)
    stamp = uuid.uuid4().hex[:6]
    upload = (
        "Biljett;Namn;E-post;Företag\r\n"
        f"{tickets[0]['number']};Åke Ström;ake.{stamp}@example.com;Norrsken AB\r\n"
        f"{tickets[1]['number']};Bea Berg;not-an-email;Norrsken AB\r\n"
        f"TF-ZZZZ-ZZZZ;Cai Cruz;cai.{stamp}@example.com;\r\n"
        f"{tickets[2]['id']};Dag Dahl;dag.{stamp}@example.com;Norrsken AB\r\n"
    ).encode("utf-8-sig")
    link = buyer_link(flow, order["id"])
    first = httpx.post(f"{ASSIGNMENT}/v1/orders/{order['id']}/assignments.csv", headers=link, content=upload,
                       timeout=30)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["accepted"], report["unchanged"], report["refused"]) == (2, 0, 2)
    by_line = {row["line"]: row for row in report["rows"]}
    assert by_line[3]["code"] == "invalid_email" and by_line[4]["code"] == "ticket_not_in_order"
    assert "refused" in report["report_csv"] and "not-an-email" in report["report_csv"]

    holders = {t["number"]: (t["holder"] or {}).get("name")
               for t in httpx.get(f"{ASSIGNMENT}/v1/orders/{order['id']}/tickets", headers=link).json()}
    assert holders == {tickets[0]["number"]: "Åke Ström", tickets[1]["number"]: None,
                       tickets[2]["number"]: "Dag Dahl"}

    again = httpx.post(f"{ASSIGNMENT}/v1/orders/{order['id']}/assignments.csv", headers=link, content=upload,
                       timeout=30).json()
    assert (again["accepted"], again["unchanged"], again["refused"]) == (0, 2, 2)

    broken = httpx.post(f"{ASSIGNMENT}/v1/orders/{order['id']}/assignments.csv", headers=link,
                        content=b"just,some\nwords,here\n")
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_file"


def test_five_tickets_by_csv_each_holder_assigned_and_a_reassignment_revokes_the_old_qr(flow: Flow,
                                                                                         event: dict) -> None:
    import asyncio
    import time

    from ticketflow_local.flow import header, read_topics

    since = int(time.time() * 1000) - 1000
    order = flow.place_order(event["id"], 5, payment_method="invoice", company="Fem AB")
    flow.order_action(order["id"], "invoice")
    flow.order_action(order["id"], "mark-paid", payment_reference="OCR 123")
    tickets = flow.assignable_tickets(order["id"], 5)
    stamp = uuid.uuid4().hex[:6]
    emails = [f"p{n}.{stamp}@example.com" for n in range(5)]
    upload = "ticket,name,email\n" + "".join(
        f"{t['number']},Person {n},{emails[n]}\n" for n, t in enumerate(tickets))
    report = httpx.post(f"{ASSIGNMENT}/v1/orders/{order['id']}/assignments.csv", headers=buyer_link(flow, order["id"]),
                        content=upload.encode(), timeout=30).json()
    assert report["accepted"] == 5
    ids = {t["id"] for t in tickets}
    assigned = asyncio.run(read_topics(
        ["ticket.assigned"], since_ms=since,
        until=lambda rs: {header(r, "ce_subject") for r in rs} >= ids))
    assert {header(r, "ce_subject") for r in assigned} >= ids

    old = qr_of(inline_images(wait_for_mail(emails[0]))[0])
    new_holder = f"new.{stamp}@example.com"
    flow.assign(tickets[0]["id"], "New Holder", new_holder)
    new = qr_of(inline_images(wait_for_mail(new_holder))[0])
    wait_until(lambda: flow.scan(old)["result"] == "revoked", what="the old QR to be revoked")
    assert flow.scan(new)["result"] == "admitted"


def test_cancelling_a_settled_order_voids_its_tickets_at_the_gate(flow: Flow, event: dict) -> None:
    order, tickets = settled_order(flow, event, 2)
    email = f"void.{uuid.uuid4().hex[:6]}@example.com"
    flow.assign(tickets[0]["id"], "Vic Void", email)
    payload = qr_of(inline_images(wait_for_mail(email))[0])
    flow.order_action(order["id"], "cancel", reason="event access withdrawn", refund=True)
    wait_until(lambda: flow.scan(payload)["result"] == "voided", what="the gate to refuse the voided ticket")
    refused = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[1]['id']}/holder", headers=buyer_link(flow, order["id"]),
                        json={"name": "Too Late", "email": "late@example.com"})
    wait_until(lambda: httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[1]['id']}/holder",
                                 headers=buyer_link(flow, order["id"]),
                                 json={"name": "Too Late", "email": "late@example.com"}).status_code == 409,
               what="assignment to learn the void")
    assert refused.status_code in (200, 409)


def test_expired_and_foreign_links_are_refused_on_every_endpoint_that_takes_an_id(flow: Flow, event: dict) -> None:
    from ticketflow_local.config import stack_env
    from ticketflow_runtime.auth import mint_link_token

    order, tickets = settled_order(flow, event, 1)
    other, other_tickets = settled_order(flow, event, 1)
    secret = stack_env()["AUTH_JWT_SECRET"]
    expired = bearer(mint_link_token(secret, "buyer", "x", {"order_id": order["id"]}, ttl_seconds=-5))
    forged = bearer(mint_link_token("a-different-secret-of-sufficient-length", "buyer", "x",
                                    {"order_id": order["id"]}, ttl_seconds=600))
    attendee = bearer(mint_link_token(secret, "attendee", "x", {"person_id": str(uuid.uuid4())}, ttl_seconds=600))
    buyer = buyer_link(flow, order["id"])
    ticket, foreign = tickets[0]["id"], other_tickets[0]["id"]
    holder = {"name": "X", "email": "x@example.com"}
    calls = [
        ("GET", f"/v1/orders/{order['id']}/tickets", None), ("GET", f"/v1/tickets/{ticket}", None),
        ("PUT", f"/v1/tickets/{ticket}/holder", holder), ("DELETE", f"/v1/tickets/{ticket}/holder", None),
        ("POST", f"/v1/tickets/{ticket}/claims", {"email": "x@example.com"}),
        ("GET", f"/v1/me/tickets/{ticket}/qr.png", None), ("GET", f"/v1/me/tickets/{ticket}/ticket.pdf", None),
    ]
    for method, path, body in calls:
        for headers in (expired, forged):
            answer = httpx.request(method, f"{ASSIGNMENT}{path}", headers=headers, json=body)
            assert answer.status_code == 401, (method, path, answer.status_code)
        denied = httpx.request(method, f"{ASSIGNMENT}{path}", headers=attendee, json=body)
        assert denied.status_code in (401, 403, 404), (method, path, denied.status_code)
        # The buyer's own link on another order's ticket: as if it did not exist.
        cross = path.replace(ticket, foreign).replace(order["id"], other["id"])
        answer = httpx.request(method, f"{ASSIGNMENT}{cross}", headers=buyer, json=body)
        assert answer.status_code in (403, 404), (method, cross, answer.status_code)


def test_keys_rotate_and_a_retired_key_no_longer_admits(flow: Flow) -> None:
    issuance = service_url("issuance")
    event = flow.create_event(name=f"Keys {uuid.uuid4().hex[:4]}")
    order, tickets = settled_order(flow, event, 1)
    email = f"keys.{uuid.uuid4().hex[:6]}@example.com"
    flow.assign(tickets[0]["id"], "Kim Keys", email)
    old = qr_of(inline_images(wait_for_mail(email))[0])
    first_key = flow.http.get(f"{issuance}/v1/events/{event['id']}/keys").json()["keys"]
    assert [k["status"] for k in first_key] == ["active"]

    rotated = flow.http.post(f"{issuance}/v1/events/{event['id']}/keys").json()["keys"]
    assert [k["status"] for k in rotated] == ["verifying", "active"]
    assert flow.scan_when_known(old, gate="Gate A")["result"] == "admitted", "an older key still verifies"
    refused = flow.http.post(f"{issuance}/v1/events/{event['id']}/keys/{rotated[1]['key_id']}/retire")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "key_in_use"

    retired = flow.http.post(f"{issuance}/v1/events/{event['id']}/keys/{rotated[0]['key_id']}/retire").json()["keys"]
    assert [k["status"] for k in retired] == ["retired", "active"]
    wait_until(lambda: flow.scan(old)["result"] == "revoked", what="the gate to refuse the retired key's QR")
    fresh = wait_until(lambda: (t := httpx.get(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}",
                                               headers=bearer_staff(flow)).json()) and t, what="ticket")
    assert fresh["holder"]["name"] == "Kim Keys", "a key retirement does not change the holder"
    anonymous = httpx.post(f"{issuance}/v1/events/{event['id']}/keys")
    assert anonymous.status_code == 401


def bearer_staff(flow: Flow) -> dict:
    return {"Authorization": flow.http.headers["Authorization"]}


def test_the_organizer_defines_the_custom_person_fields(flow: Flow) -> None:
    event = flow.create_event(name=f"Fields {uuid.uuid4().hex[:4]}")
    order, tickets = settled_order(flow, event, 2)
    fields = [{"key": "diet", "label": "Diet", "required": True},
              {"key": "tshirt", "label": "T-shirt size", "required": False}]
    assert flow.http.put(f"{ASSIGNMENT}/v1/events/{event['id']}/person-fields", json=fields).json() == fields
    assert httpx.get(f"{ASSIGNMENT}/v1/events/{event['id']}/person-fields").json() == fields

    link = buyer_link(flow, order["id"])
    holder = {"name": "Fay Fields", "email": f"fay.{uuid.uuid4().hex[:6]}@example.com"}
    missing = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}/holder", headers=link, json=holder)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_person_fields"
    assert "Diet (diet) is required" in missing.json()["error"]["message"]
    unknown = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}/holder", headers=link,
                        json={**holder, "custom": {"diet": "none", "shoe": "42"}})
    assert unknown.status_code == 422 and "unknown field 'shoe'" in unknown.json()["error"]["message"]
    fine = httpx.put(f"{ASSIGNMENT}/v1/tickets/{tickets[0]['id']}/holder", headers=link,
                     json={**holder, "custom": {"diet": "vegetarian", "tshirt": "M"}})
    assert fine.status_code == 200

    upload = f"ticket,name,email,diet\n{tickets[1]['number']},Gus Gap,gus.{uuid.uuid4().hex[:6]}@example.com,\n"
    report = httpx.post(f"{ASSIGNMENT}/v1/orders/{order['id']}/assignments.csv", headers=link,
                        content=upload.encode()).json()
    assert report["refused"] == 1 and report["rows"][0]["code"] == "invalid_person_fields"
