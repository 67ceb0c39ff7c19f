"""Notifications on the real stack: every template on its event, SMTP failures, the dead-letter topic,
and the live stream of a person's ticket updates."""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import threading
import time
import uuid
from urllib.parse import urlsplit

import httpx

from e2e_helpers import qr_of
from ticketflow_local.config import service_url, stack_env
from ticketflow_local.flow import (Flow, header, inline_images, mail_with, mails_to, read_topics, wait_for_mail,
                                  wait_until)

ORDERS, ASSIGNMENT, NOTIFICATIONS = service_url("orders"), service_url("assignment"), service_url("notifications")


def subjects(address: str) -> list[str]:
    return [m["Subject"] for m in mails_to(address)]


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_the_buyer_hears_of_each_step_of_the_order_in_their_language(flow: Flow, event: dict) -> None:
    buyer = f"bodil.{uuid.uuid4().hex[:6]}@example.com"
    order = flow.http.post(f"{ORDERS}/v1/orders", json={
        "event_id": event["id"], "payment_method": "invoice", "lines": [{"quantity": 2}],
        "buyer": {"name": "Bodil Beställare", "email": buyer, "company": "Svenska AB", "language": "sv"},
    }).raise_for_status().json()
    placed = mail_with(buyer, "order_placed")
    assert placed["Subject"] == f"Order {order['number']} mottagen: {event['name']}"
    assert placed["Content-Language"] == "sv"

    flow.order_action(order["id"], "invoice")
    invoice = mail_with(buyer, "invoice_sent")
    files = attachments(invoice)
    assert len(files) == 1 and next(iter(files.values())).startswith(b"%PDF")

    flow.order_action(order["id"], "mark-paid", payment_reference="BANK-42")
    ready = mail_with(buyer, "tickets_ready")
    link = next(line for line in ready.get_body(("plain",)).get_content().splitlines() if "access_token=" in line)
    # The link opens the console's page for the order; its token opens the order's tickets.
    page = urlsplit(link.strip())
    assert page.path == f"/buyer/orders/{order['id']}"
    tickets = f"{ASSIGNMENT}/v1/orders/{order['id']}/tickets?{page.query}"
    managed = httpx.get(tickets)
    assert managed.status_code == 200, "the token in the mail opens the buyer's tickets"
    wait_until(lambda: len(httpx.get(tickets).json()) == 2, what="both tickets behind the link")

    flow.order_action(order["id"], "cancel", reason="konferensen flyttad", refund=True)
    cancelled = mail_with(buyer, "order_cancelled")
    assert "avbokad" in cancelled["Subject"]


def test_the_holder_gets_their_ticket_its_new_code_and_its_void(flow: Flow) -> None:
    event = flow.create_event(name=f"Holder mail {uuid.uuid4().hex[:4]}")
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    holder = f"hugo.{uuid.uuid4().hex[:6]}@example.com"
    flow.assign(ticket["id"], "Hugo Holder", holder)
    yours = mail_with(holder, "your_ticket")
    old_code = qr_of(inline_images(yours)[0])
    pdf = attachments(yours)[f"ticket-{ticket['number']}.pdf"]
    assert pdf.startswith(b"%PDF")

    issuance = service_url("issuance")
    keys = flow.http.post(f"{issuance}/v1/events/{event['id']}/keys").raise_for_status().json()["keys"]
    flow.http.post(f"{issuance}/v1/events/{event['id']}/keys/{keys[0]['key_id']}/retire").raise_for_status()
    updated = mail_with(holder, "ticket_updated")
    new_code = qr_of(inline_images(updated)[0])
    assert new_code != old_code
    assert flow.scan_when_known(new_code)["result"] == "admitted"
    assert not [m for m in mails_to(holder) if m["X-Ticketflow-Template"] == "welcome"], "welcome is off by default"

    flow.order_action(order["id"], "cancel", reason="access withdrawn", refund=True)
    voided = mail_with(holder, "ticket_voided")
    assert "access withdrawn" in voided.get_body(("plain",)).get_content()


def test_smtp_refusals_are_retried_or_recorded_and_a_message_that_keeps_failing_is_dead_lettered(
        flow: Flow, event: dict) -> None:
    since = int(time.time() * 1000) - 1000
    order = flow.place_free_order(event["id"], 3)
    later, refused, never = flow.assignable_tickets(order["id"], 3)
    tag = uuid.uuid4().hex[:6]
    addresses = {"later": f"tempfail.{tag}@example.com", "refused": f"reject.{tag}@example.com",
                 "never": f"alwaysfail.{tag}@example.com"}
    for ticket, who in ((later, "later"), (refused, "refused"), (never, "never")):
        flow.assign(ticket["id"], who.title(), addresses[who])

    def logged(address: str, status: str) -> dict | None:
        found = flow.http.get(f"{NOTIFICATIONS}/v1/messages", params={"recipient": address,
                                                                      "template": "your_ticket"}).json()
        return found[0] if found and found[0]["status"] == status else None

    delivered = wait_until(lambda: logged(addresses["later"], "sent"), what="the deferred mail to go out")
    assert delivered["attempts"] == 2 and len(mails_to(addresses["later"])) == 1, "451, then 250: delivered once"
    failed = wait_until(lambda: logged(addresses["refused"], "failed"), what="the refusal to be recorded")
    assert failed["attempts"] == 1 and failed["last_error"].startswith("550")
    exhausted = wait_until(lambda: logged(addresses["never"], "failed"), what="the retries to run out")
    assert exhausted["attempts"] == 3 and exhausted["last_error"].startswith("451")
    dead = asyncio.run(read_topics(["dlq.notifications"], since_ms=since,
                                   until=lambda rs: any(r.key == exhausted["id"].encode() for r in rs)))
    parked = [r for r in dead if r.key == exhausted["id"].encode()]
    assert len(parked) == 1 and header(parked[0], "x-dlq-reason") == "exhausted"
    assert json.loads(parked[0].value)["recipient"] == addresses["never"]
    assert not [r for r in dead if r.key == failed["id"].encode()], "a permanent refusal is recorded, not parked"


def test_the_message_log_is_for_staff(flow: Flow) -> None:
    assert httpx.get(f"{NOTIFICATIONS}/v1/messages").status_code == 401


def test_a_person_s_updates_stream_live_and_resume_from_the_last_event_id(flow: Flow, event: dict) -> None:
    order = flow.place_free_order(event["id"], 2)
    first, second = flow.assignable_tickets(order["id"], 2)
    email = f"stina.{uuid.uuid4().hex[:6]}@example.com"
    person_id = flow.assign(first["id"], "Stina Stream", email)["holder"]["person_id"]
    token = flow.http.post(f"{ASSIGNMENT}/v1/persons/{person_id}/my-tickets-link").raise_for_status().json()["token"]
    wait_for_mail(email)

    received: list[tuple[str, str, dict]] = []
    opened = threading.Event()

    def listen(last_event_id: str | None = None, done=lambda: len(received) >= 1) -> None:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        with httpx.stream("GET", f"{NOTIFICATIONS}/v1/me/updates", params={"access_token": token},
                          headers=headers, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            opened.set()
            event_id = kind = None
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    received.append((event_id, kind, json.loads(line[6:])))
                    if done():
                        return

    arrived = lambda: any(kind == "ticket_arrived" for _, kind, _ in received)  # noqa: E731
    live = threading.Thread(target=listen, kwargs={"done": arrived}, daemon=True)
    live.start()
    assert opened.wait(10)
    flow.assign(second["id"], "Stina Stream", email)
    live.join(30)
    assert arrived(), "the new ticket arrives on the open stream"
    # Its new QR code may come before or after (another topic): both are about the second ticket.
    assert {(kind, data["ticket_id"]) for _, kind, data in received} <= {("ticket_arrived", second["id"]),
                                                                       ("ticket_changed", second["id"])}

    # The app was away while the organizer cancelled: it resumes where it left off.
    flow.order_action(order["id"], "cancel", reason="stream test", refund=True)
    resumed_from = received[-1][0]
    received.clear()
    listen(resumed_from, done=lambda: sum(kind == "ticket_voided" for _, kind, _ in received) == 2)
    assert all(int(event_id) > int(resumed_from) for event_id, _, _ in received), "nothing sent twice"
    assert {data["ticket_id"] for _, kind, data in received if kind == "ticket_voided"} == {first["id"], second["id"]}

    other = httpx.get(f"{NOTIFICATIONS}/v1/me/updates", params={"access_token": "not-a-token"})
    assert other.status_code == 401


def test_devices_register_and_unregister_only_for_their_person(flow: Flow, event: dict) -> None:
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    person_id = flow.assign(ticket["id"], "Dag Device", f"dag.{uuid.uuid4().hex[:6]}@example.com")["holder"]["person_id"]
    token = flow.http.post(f"{ASSIGNMENT}/v1/persons/{person_id}/my-tickets-link").raise_for_status().json()["token"]
    mine = {"Authorization": f"Bearer {token}"}
    device = httpx.post(f"{NOTIFICATIONS}/v1/me/devices", headers=mine,
                        json={"platform": "ios", "token": f"apns-{uuid.uuid4().hex}"}).raise_for_status().json()
    assert device["person_id"] == person_id
    assert [d["id"] for d in httpx.get(f"{NOTIFICATIONS}/v1/me/devices", headers=mine).json()] == [device["id"]]
    staff_view = flow.http.get(f"{NOTIFICATIONS}/v1/me/devices", params={"person_id": str(uuid.uuid4())}).json()
    assert staff_view == []
    assert httpx.delete(f"{NOTIFICATIONS}/v1/me/devices/{device['id']}", headers=mine).status_code == 204
    assert httpx.delete(f"{NOTIFICATIONS}/v1/me/devices/{device['id']}", headers=mine).status_code == 404


def received_pushes(base: str) -> list[dict]:
    verify = ssl.create_default_context(cafile=stack_env()["APNS_CA_FILE"]) if base.startswith("https") else True
    return httpx.get(f"{base}/_test/received", verify=verify).raise_for_status().json()


def test_the_holder_s_apps_are_pushed_their_ticket_and_check_in_and_dead_tokens_are_dropped(
        flow: Flow, event: dict) -> None:
    env = stack_env()
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    email = f"pia.{uuid.uuid4().hex[:6]}@example.com"
    person_id = flow.assign(ticket["id"], "Pia Push", email)["holder"]["person_id"]
    mailed = qr_of(inline_images(wait_for_mail(email))[0])
    link = flow.http.post(f"{ASSIGNMENT}/v1/persons/{person_id}/my-tickets-link").raise_for_status().json()["token"]
    mine = {"Authorization": f"Bearer {link}"}
    tokens = {"android": f"fcm-{uuid.uuid4().hex}", "ios": uuid.uuid4().hex + uuid.uuid4().hex,
              "dead": f"invalid-{uuid.uuid4().hex}"}
    for platform, token in (("android", tokens["android"]), ("ios", tokens["ios"]), ("android", tokens["dead"])):
        httpx.post(f"{NOTIFICATIONS}/v1/me/devices", headers=mine,
                   json={"platform": platform, "token": token}).raise_for_status()

    assert flow.scan_when_known(mailed)["result"] == "admitted"

    def pushed() -> tuple[list, list] | None:
        android = [m for m in received_pushes(env["FCM_API_BASE"]) if m["message"]["token"] == tokens["android"]]
        ios = [m for m in received_pushes(env["APNS_API_BASE"]) if m["token"] == tokens["ios"]]
        return (android, ios) if android and ios else None

    android, ios = wait_until(pushed, what="the check-in pushed to both apps")
    assert android[0]["message"]["data"]["kind"] == "checked_in"
    assert android[0]["message"]["data"]["ticket_id"] == ticket["id"]
    assert ios[0]["payload"]["aps"]["alert"]["title"] == "Checked in" and ios[0]["http_version"] == "2"

    devices = wait_until(lambda: (d := httpx.get(f"{NOTIFICATIONS}/v1/me/devices", headers=mine).json())
                         and len(d) == 2 and d, what="the dead token to be dropped")
    assert tokens["dead"] not in {d["token"] for d in devices}
    failed = flow.http.get(f"{NOTIFICATIONS}/v1/messages", params={"channel": "push", "status": "failed"}).json()
    assert any(m["last_error"].startswith("404") for m in failed), "the provider's answer is recorded"


def test_a_crash_between_sending_and_recording_repeats_the_email_at_most_once_and_the_log_shows_it(
        flow: Flow, event: dict, stack) -> None:
    order = flow.place_free_order(event["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    address = f"slow.{uuid.uuid4().hex[:6]}@example.com"
    flow.assign(ticket["id"], "Sam Slow", address)

    def logged() -> dict | None:
        found = flow.http.get(f"{NOTIFICATIONS}/v1/messages",
                              params={"recipient": address, "template": "your_ticket"}).json()
        return found[0] if found else None

    wait_until(lambda: (m := logged()) and m["status"] == "sending", what="the attempt to be out")
    time.sleep(1)  # the server has the message by now, and answers only after five seconds
    stack.stop(("notifications",), sig=signal.SIGKILL)
    stack.start(("notifications",))

    resent = wait_until(lambda: (m := logged()) and m["status"] == "sent" and m, timeout=60,
                        what="the interrupted attempt to be taken back and sent again")
    assert resent["interrupted_attempts"] == 1 and resent["attempts"] == 2
    assert len(mails_to(address)) == 2, "one repeat, no more"
