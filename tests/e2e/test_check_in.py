"""Check-in at the gate on the real stack: lists and their rules, devices, every scan answer, single
admission under concurrent scans, offline scanning with conflicts, the desk and the live counts."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pypdf import PdfReader

from ticketflow_local.config import service_url
from ticketflow_local.flow import Flow, read_topics, wait_until
from ticketflow_schemas import qr, topics

CHECKIN = service_url("checkin")


def gate_tickets(flow: Flow, event_id: str, count: int, *, company: str = "Gate Test AB") -> list[dict]:
    """``count`` tickets of a new order, as the gate knows them, each with its QR payload from ticket.issued."""
    since = int(time.time() * 1000) - 1000
    order = flow.place_free_order(event_id, count, company=company)
    records = asyncio.run(read_topics(
        [topics.TICKET_ISSUED], since_ms=since,
        until=lambda rs: sum(json.loads(r.value)["order_id"] == order["id"] for r in rs) >= count))
    issued = [json.loads(r.value) for r in records if json.loads(r.value)["order_id"] == order["id"]]
    for ticket in issued:
        flow.gate_knows(ticket["ticket_id"])
    flow.assignable_tickets(order["id"], count)  # assignment knows them too
    return [{"id": t["ticket_id"], "number": t["ticket_number"], "payload": t["qr_payload"],
             "ticket_type_id": t["ticket_type_id"], "order_id": order["id"]} for t in issued]


@pytest.fixture(scope="module")
def gate_event(stack) -> dict:
    client = Flow()
    try:
        return client.create_event(name="Gate rules event", capacity=10_000)
    finally:
        client.close()


def scan(flow: Flow, ticket: dict, **fields) -> dict:
    return flow.scan(ticket["payload"], **fields)


def test_every_answer_of_the_gate_is_reached_by_a_real_scan(flow: Flow, gate_event: dict) -> None:
    event_id = gate_event["id"]
    first, second, third, fourth, fifth = gate_tickets(flow, event_id, 5)
    other_event = flow.create_event(name="Another event")
    stranger = gate_tickets(flow, other_event["id"], 1)[0]

    since = int(time.time() * 1000) - 1000
    flow.assign(first["id"], "Gunnel Gate", f"gunnel.{uuid.uuid4().hex[:6]}@example.com", company="Grind AB")
    wait_until(lambda: flow.gate_knows(first["id"])["secret_version"] == 2, what="the reissue at the gate")
    assert scan(flow, first)["result"] == "revoked", "the code issued first was replaced on assignment"
    reissued = asyncio.run(read_topics(
        [topics.TICKET_REISSUED], since_ms=since,
        until=lambda rs: any(json.loads(r.value)["ticket_id"] == first["id"] for r in rs)))
    new_code = next(json.loads(r.value)["qr_payload"] for r in reissued if json.loads(r.value)["ticket_id"] == first["id"])
    holder = flow.scan(new_code)
    assert holder["result"] == "admitted"
    assert (holder["ticket"]["holder_name"], holder["ticket"]["holder_company"]) == ("Gunnel Gate", "Grind AB")

    admitted = scan(flow, second, gate="North gate")
    assert admitted["result"] == "admitted" and admitted["admitted"] is True
    assert admitted["ticket"]["ticket_type"] == "Conference pass"
    again = scan(flow, second, gate="South gate")
    assert again["result"] == "already_checked_in"
    assert again["check_in"]["gate"] == "North gate", "when and where it was admitted first"

    typed = flow.http.post(f"{CHECKIN}/v1/scans", json={"ticket_number": third["number"].lower(), "gate": "Desk",
                                                        "nonce": uuid.uuid4().hex}).raise_for_status().json()
    assert typed["result"] == "admitted", "a ticket number typed in by hand"

    raw = bytearray(qr.decode_raw(fourth["payload"]))
    raw[-1] ^= 1
    assert flow.scan(qr.encode_raw(bytes(raw)))["result"] == "invalid_signature"
    unknown = qr.encode(qr.QrBody(uuid.uuid4(), 1, 12345), bytes(64))
    assert flow.scan(unknown)["result"] == "unknown_ticket"

    main_list = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/lists").raise_for_status().json()[0]
    device = flow.register_device(event_id, [main_list["id"]], gate="East gate")
    assert scan(flow, stranger, device_token=device["token"])["result"] == "other_event"

    vip_only = flow.create_check_in_list(event_id, "VIP lounge", ticket_type_ids=[str(uuid.uuid4())])
    assert scan(flow, fourth, list_id=vip_only["id"])["result"] == "ticket_type_not_on_list"
    later = flow.create_check_in_list(event_id, "Day two",
                                      valid_from=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert scan(flow, fourth, list_id=later["id"])["result"] == "not_valid_yet"
    closed = flow.create_check_in_list(event_id, "Day zero",
                                       valid_until=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
    assert scan(flow, fourth, list_id=closed["id"])["result"] == "no_longer_valid"

    hall = flow.create_check_in_list(event_id, "Hall", allow_exit=True, allow_reentry=True)
    assert scan(flow, fourth, list_id=hall["id"], direction="exit")["result"] == "not_inside"
    assert scan(flow, fourth, list_id=hall["id"])["result"] == "admitted"
    assert scan(flow, fourth, list_id=hall["id"])["result"] == "already_checked_in"
    assert scan(flow, fourth, list_id=hall["id"], direction="exit")["result"] == "exited"
    assert scan(flow, fourth, list_id=hall["id"])["result"] == "admitted", "re-entry after an exit"
    once = flow.create_check_in_list(event_id, "Workshop", allow_exit=True)
    assert scan(flow, fourth, list_id=once["id"])["result"] == "admitted"
    assert scan(flow, fourth, list_id=once["id"], direction="exit")["result"] == "exited"
    assert scan(flow, fourth, list_id=once["id"])["result"] == "already_checked_in", "no re-entry on this list"
    refused = flow.http.post(f"{CHECKIN}/v1/scans", json={"payload": fourth["payload"], "gate": "G",
                                                          "nonce": uuid.uuid4().hex, "direction": "exit"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "exits_not_scanned"

    flow.order_action(fifth["order_id"], "cancel", reason="withdrawn", refund=True)
    assert wait_until(lambda: scan(flow, fifth)["result"] == "voided", what="the void at the gate")


def test_the_same_nonce_gets_the_same_answer_and_changes_nothing(flow: Flow, gate_event: dict) -> None:
    ticket = gate_tickets(flow, gate_event["id"], 1)[0]
    nonce = uuid.uuid4().hex
    first = scan(flow, ticket, nonce=nonce, gate="A")
    repeated = scan(flow, ticket, nonce=nonce, gate="B")
    assert first == repeated and first["result"] == "admitted"


def test_twenty_gates_scanning_one_ticket_at_once_admit_it_exactly_once(flow: Flow, gate_event: dict) -> None:
    ticket = gate_tickets(flow, gate_event["id"], 1)[0]
    headers = dict(flow.http.headers)

    def one(gate: int) -> str:
        with httpx.Client(headers=headers, timeout=30) as client:
            response = client.post(f"{CHECKIN}/v1/scans", json={"payload": ticket["payload"], "gate": f"Gate {gate}",
                                                                "nonce": uuid.uuid4().hex})
            return response.raise_for_status().json()["result"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    assert results.count("admitted") == 1
    assert results.count("already_checked_in") == 19


def test_concurrent_device_scans_sharing_statements_each_get_their_own_answer(flow: Flow, gate_event: dict) -> None:
    """A device's scans take the coalesced path: many at once still mean one answer and one event per scan."""
    event_id = gate_event["id"]
    tickets = gate_tickets(flow, event_id, 22)
    main_list = next(li for li in flow.http.get(f"{CHECKIN}/v1/events/{event_id}/lists").raise_for_status().json()
                     if li["is_default"])
    device = flow.register_device(event_id, [main_list["id"]], name="Busy gate")
    twin_nonce = uuid.uuid4().hex
    scans = ([(ticket, uuid.uuid4().hex) for ticket in tickets[:20]]
             + [(tickets[0], uuid.uuid4().hex) for _ in range(8)]  # one ticket at eight more gates
             + [(tickets[20], twin_nonce), (tickets[21], twin_nonce)])  # a nonce sent with two tickets
    since = int(time.time() * 1000) - 1000

    async def scan_all() -> list[dict]:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {device['token']}"}, timeout=30) as client:
            responses = await asyncio.gather(*(client.post(f"{CHECKIN}/v1/scans", json={
                "payload": ticket["payload"], "nonce": nonce}) for ticket, nonce in scans))
        return [response.raise_for_status().json() for response in responses]

    answers = asyncio.run(scan_all())
    for (ticket, _), answer in zip(scans[1:20], answers[1:20], strict=True):
        assert answer["result"] == "admitted" and answer["ticket"]["id"] == ticket["id"]
    shared = [answers[0], *answers[20:28]]
    assert [a["result"] for a in shared].count("admitted") == 1
    assert {a["ticket"]["id"] for a in shared} == {tickets[0]["id"]}
    assert answers[28] == answers[29] and answers[28]["result"] == "admitted"
    # A scanner repeating a request (its answer lost on the way) gets the same answer again.
    assert scan(flow, scans[1][0], nonce=scans[1][1], device_token=device["token"], gate=None) == answers[1]
    admitted_ids = {t["id"] for t in tickets[:20]} | {answers[28]["ticket"]["id"]}
    records = asyncio.run(read_topics(
        [topics.TICKET_CHECKED_IN], since_ms=since,
        until=lambda rs: {json.loads(r.value)["ticket_id"] for r in rs} >= admitted_ids))
    published = [json.loads(r.value)["ticket_id"] for r in records]
    assert sorted(t for t in published if t in {t["id"] for t in tickets}) == sorted(admitted_ids)


def test_offline_admissions_of_one_ticket_by_two_devices_are_one_admission_and_one_conflict(
        flow: Flow, gate_event: dict) -> None:
    event_id = gate_event["id"]
    ticket, other = gate_tickets(flow, event_id, 2)
    main_list = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/lists").raise_for_status().json()[0]
    north = flow.register_device(event_id, [main_list["id"]], name="Offline north", gate="North")
    south = flow.register_device(event_id, [main_list["id"]], name="Offline south", gate="South")

    synced = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/offline-sync",
                           headers={"Authorization": f"Bearer {north['token']}"}).raise_for_status().json()
    known = {t["id"]: t for t in synced["tickets"]}
    assert known[ticket["id"]]["secret_version"] == 1 and not known[ticket["id"]]["voided"]
    assert synced["keys"] and [li["id"] for li in synced["lists"]] == [main_list["id"]]

    since = int(time.time() * 1000) - 1000
    at = datetime.now(UTC) - timedelta(minutes=10)

    def upload(device: dict, batch: list[dict]) -> list[dict]:
        return flow.http.post(f"{CHECKIN}/v1/offline-scans", json={"scans": batch},
                              headers={"Authorization": f"Bearer {device['token']}"}).raise_for_status().json()

    north_batch = [{"nonce": f"n-{uuid.uuid4().hex}", "payload": ticket["payload"], "scanned_at": at.isoformat()},
                   {"nonce": f"n-{uuid.uuid4().hex}", "payload": other["payload"], "scanned_at": at.isoformat()}]
    south_batch = [{"nonce": f"s-{uuid.uuid4().hex}", "payload": ticket["payload"],
                    "scanned_at": (at + timedelta(minutes=1)).isoformat()}]
    assert [r["result"] for r in upload(north, north_batch)] == ["admitted", "admitted"]
    south_results = upload(south, south_batch)
    assert south_results[0]["result"] == "already_checked_in"
    assert south_results[0]["conflict"]["kept_gate"] == "North"

    assert upload(south, south_batch) == south_results, "re-uploading the same batch changes nothing"
    assert [r["result"] for r in upload(north, north_batch)] == ["admitted", "admitted"]

    listed = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/check-in-conflicts").raise_for_status().json()
    mine = [c for c in listed if c["ticket_id"] == ticket["id"]]
    assert len(mine) == 1 and mine[0]["gate"] == "South"
    gate_view = flow.gate_knows(ticket["id"])
    assert len(gate_view["check_ins"]) == 1 and gate_view["check_ins"][0]["gate"] == "North"
    conflicted = asyncio.run(read_topics(
        [topics.TICKET_CHECK_IN_CONFLICTED], since_ms=since,
        until=lambda rs: any(json.loads(r.value)["ticket_id"] == ticket["id"] for r in rs)))
    assert len([r for r in conflicted if json.loads(r.value)["ticket_id"] == ticket["id"]]) == 1


def test_the_offline_download_is_incremental_from_a_cursor(flow: Flow, gate_event: dict) -> None:
    event_id = gate_event["id"]
    before = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/offline-sync").raise_for_status().json()
    while before["more"]:
        before = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/offline-sync",
                               params={"after": before["cursor"]}).raise_for_status().json()
    ticket = gate_tickets(flow, event_id, 1)[0]
    flow.assign(ticket["id"], "Cursor Carl", f"carl.{uuid.uuid4().hex[:6]}@example.com")

    def changes() -> dict | None:
        page = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/offline-sync",
                             params={"after": before["cursor"]}).raise_for_status().json()
        return page if any(t["id"] == ticket["id"] and t["secret_version"] == 2 for t in page["tickets"]) else None

    page = wait_until(changes, what="the reassignment in the download")
    assert {t["id"] for t in page["tickets"]} == {ticket["id"]}, "only what changed after the cursor"
    assert page["cursor"] > before["cursor"]


def test_a_revoked_device_is_refused(flow: Flow, gate_event: dict) -> None:
    event_id = gate_event["id"]
    scanned_before, ticket = gate_tickets(flow, event_id, 2)
    main_list = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/lists").raise_for_status().json()[0]
    device = flow.register_device(event_id, [main_list["id"]], name="Lost scanner")
    as_device = {"Authorization": f"Bearer {device['token']}"}
    # The device has scanned (the service now knows it without reading it again), then it is revoked.
    before = flow.http.post(f"{CHECKIN}/v1/scans", json={"payload": scanned_before["payload"],
                                                        "nonce": uuid.uuid4().hex}, headers=as_device)
    assert before.raise_for_status().json()["result"] == "admitted"
    flow.http.post(f"{CHECKIN}/v1/devices/{device['id']}/revoke").raise_for_status()
    response = flow.http.post(f"{CHECKIN}/v1/scans", json={"payload": ticket["payload"], "nonce": uuid.uuid4().hex},
                              headers=as_device)
    assert response.status_code == 401 and response.json()["error"]["code"] == "device_revoked"
    unauthenticated = httpx.post(f"{CHECKIN}/v1/scans", json={"payload": ticket["payload"], "nonce": uuid.uuid4().hex})
    assert unauthenticated.status_code == 401


def test_a_device_scans_only_its_own_lists(flow: Flow, gate_event: dict) -> None:
    event_id = gate_event["id"]
    ticket = gate_tickets(flow, event_id, 1)[0]
    own = flow.create_check_in_list(event_id, "Side door")
    elsewhere = flow.create_check_in_list(event_id, "Backstage")
    device = flow.register_device(event_id, [own["id"]], gate="Side door")
    response = flow.http.post(f"{CHECKIN}/v1/scans", json={"payload": ticket["payload"], "nonce": uuid.uuid4().hex,
                                                           "list_id": elsewhere["id"]},
                              headers={"Authorization": f"Bearer {device['token']}"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "list_not_allowed"
    answer = scan(flow, ticket, device_token=device["token"], gate=None)
    assert answer["result"] == "admitted" and answer["check_in"] == {**answer["check_in"], "gate": "Side door",
                                                                     "list": "Side door"}


def test_the_desk_finds_checks_in_and_undoes_and_the_counts_follow(flow: Flow) -> None:
    event = flow.create_event(name="Desk event")
    tickets = gate_tickets(flow, event["id"], 3)
    email = f"desk.dora.{uuid.uuid4().hex[:6]}@example.com"
    flow.assign(tickets[0]["id"], "Dora Desk", email, company="Counter AB")
    found = wait_until(lambda: (r := flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/attendees",
                                                   params={"q": "dora desk"}).json()) and r, what="the holder")
    assert [a["id"] for a in found] == [tickets[0]["id"]] and found[0]["holder_email"] == email
    by_email = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/attendees", params={"q": email.upper()}).json()
    assert [a["id"] for a in by_email] == [tickets[0]["id"]]

    manual = flow.http.post(f"{CHECKIN}/v1/events/{event['id']}/check-ins",
                            json={"ticket_id": tickets[0]["id"], "gate": "Help desk"}).raise_for_status().json()
    assert manual["result"] == "admitted" and manual["ticket"]["holder_company"] == "Counter AB"
    assert scan(flow, tickets[1])["result"] == "admitted"

    counts = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/counts").raise_for_status().json()
    assert counts["lists"][0]["expected"] == 3 and counts["lists"][0]["checked_in"] == 2
    assert {g["gate"]: g["checked_in"] for g in counts["gates"]} == {"Help desk": 1, "North gate": 1}
    assert counts["ticket_types"][0]["expected"] == 3 and counts["ticket_types"][0]["checked_in"] == 2
    assert sum(b["arrivals"] for b in counts["arrivals"]) == 2

    check_in_id = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/attendees",
                                params={"q": "dora"}).json()[0]["check_ins"][0]["id"]
    flow.http.post(f"{CHECKIN}/v1/check-ins/{check_in_id}/undo", json={"reason": "wrong person"}).raise_for_status()
    again = flow.http.post(f"{CHECKIN}/v1/check-ins/{check_in_id}/undo", json={"reason": "twice"})
    assert again.status_code == 409
    counts = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/counts").raise_for_status().json()
    assert counts["lists"][0]["checked_in"] == 1
    readmitted = flow.http.post(f"{CHECKIN}/v1/events/{event['id']}/check-ins",
                                json={"ticket_id": tickets[0]["id"], "gate": "Help desk"}).raise_for_status().json()
    assert readmitted["result"] == "admitted", "undone: the ticket may enter again"


def test_badges_print_for_a_ticket_and_for_a_list(flow: Flow) -> None:
    event = flow.create_event(name="Badge event")
    tickets = gate_tickets(flow, event["id"], 2)
    flow.assign(tickets[0]["id"], "Åsa Öberg", f"asa.{uuid.uuid4().hex[:6]}@example.com", company="Bricka AB")
    wait_until(lambda: flow.gate_knows(tickets[0]["id"])["holder_name"] == "Åsa Öberg", what="the holder at the gate")

    one = flow.http.get(f"{CHECKIN}/v1/tickets/{tickets[0]['id']}/badge.pdf")
    assert one.status_code == 200 and one.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(one.content)).pages[0].extract_text()
    assert "Åsa Öberg" in text and "Bricka AB" in text and tickets[0]["number"] in text

    lists = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/lists").raise_for_status().json()
    batch = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/badges.pdf", params={"list_id": lists[0]["id"]})
    assert len(PdfReader(io.BytesIO(batch.content)).pages) == 2
    filtered = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/badges.pdf", params={"q": "bricka"})
    assert len(PdfReader(io.BytesIO(filtered.content)).pages) == 1
    nothing = flow.http.get(f"{CHECKIN}/v1/events/{event['id']}/badges.pdf", params={"q": "nobody at all"})
    assert nothing.status_code == 404 and nothing.json()["error"]["code"] == "no_badges"
