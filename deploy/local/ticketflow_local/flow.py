"""Client helpers that drive one order through the running services.

Used by ``make demo`` and by the end-to-end tests, so both walk the same path.
"""

from __future__ import annotations

import asyncio
import email
import mailbox
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ticketflow_runtime.auth import mint_token

from .config import service_url, stack_env

STAFF_SCOPES = ["orders:read", "orders:write", "tickets:read", "tickets:write", "checkin:read", "checkin:write",
                "checkin:scan", "notifications:read", "notifications:write"]

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], *, timeout: float = 30, interval: float = 0.05, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


class Flow:
    """Synchronous HTTP calls to the five services."""

    def __init__(self, timeout: float = 10) -> None:
        token = mint_token(stack_env()["AUTH_JWT_SECRET"], "flow", STAFF_SCOPES, ttl_seconds=3600)
        self.http = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def create_event(self, *, name: str = "Flow test event", capacity: int = 1000, price: int = 100000) -> dict:
        response = self.http.post(
            f"{service_url('orders')}/v1/events",
            json={"name": name, "starts_at": "2027-05-01T08:00:00Z", "ends_at": "2027-05-02T17:00:00Z",
                  "capacity": capacity, "ticket_types": [{"name": "Conference pass", "net_price": price}]},
        )
        response.raise_for_status()
        return response.json()

    def place_order(self, event_id: str, quantity: int, *, payment_method: str, company: str = "Acme AB",
                    **extra: Any) -> dict:
        response = self.http.post(
            f"{service_url('orders')}/v1/orders",
            json={"event_id": event_id, "payment_method": payment_method, "lines": [{"quantity": quantity}],
                  "buyer": {"name": "Britt Buyer", "email": f"buyer-{uuid.uuid4().hex[:8]}@example.com",
                            "company": company}, **extra},
        )
        response.raise_for_status()
        return response.json()

    def order_action(self, order_id: str, action: str, **body: Any) -> dict:
        response = self.http.post(f"{service_url('orders')}/v1/orders/{order_id}/{action}", json=body or None)
        response.raise_for_status()
        return response.json()

    def place_free_order(self, event_id: str, quantity: int, *, company: str = "Acme AB") -> dict:
        """A free order placed by the organizer and approved: it settles."""
        order = self.place_order(event_id, quantity, payment_method="free", company=company)
        return self.order_action(order["id"], "approve")

    def order(self, order_id: str) -> dict:
        return self.http.get(f"{service_url('orders')}/v1/orders/{order_id}").raise_for_status().json()

    def issued_tickets(self, order_id: str) -> list[dict]:
        return self.http.get(f"{service_url('issuance')}/v1/orders/{order_id}/tickets").raise_for_status().json()

    def assignable_tickets(self, order_id: str, count: int, timeout: float = 30) -> list[dict]:
        def probe() -> list[dict] | None:
            tickets = self.http.get(f"{service_url('assignment')}/v1/orders/{order_id}/tickets").json()
            return tickets if len(tickets) >= count else None

        return wait_until(probe, timeout=timeout, what=f"{count} tickets of order {order_id}")

    def assign(self, ticket_id: str, name: str, email_address: str, company: str | None = None) -> dict:
        response = self.http.put(
            f"{service_url('assignment')}/v1/tickets/{ticket_id}/holder",
            json={"name": name, "email": email_address, "company": company},
        )
        response.raise_for_status()
        return response.json()

    def offer_claim(self, ticket_id: str, email_address: str) -> dict:
        """A claim link for the ticket, mailed to ``email_address`` (its token and expiry)."""
        response = self.http.post(f"{service_url('assignment')}/v1/tickets/{ticket_id}/claims",
                                  json={"email": email_address})
        response.raise_for_status()
        return response.json()

    def scan(self, payload: str, *, gate: str = "North gate", nonce: str | None = None,
             device_token: str | None = None, **fields: object) -> dict:
        """Scan as staff, or as a registered device with ``device_token``; ``fields`` add list_id, direction..."""
        headers = {"Authorization": f"Bearer {device_token}"} if device_token else {}
        response = self.http.post(
            f"{service_url('checkin')}/v1/scans",
            json={"payload": payload, "gate": gate, "nonce": nonce or uuid.uuid4().hex, **fields}, headers=headers,
        )
        response.raise_for_status()
        return response.json()

    def create_check_in_list(self, event_id: str, name: str, **rules: object) -> dict:
        return self.http.post(f"{service_url('checkin')}/v1/events/{event_id}/lists",
                              json={"name": name, **rules}).raise_for_status().json()

    def register_device(self, event_id: str, list_ids: list[str], *, name: str = "Scanner",
                        gate: str = "North gate") -> dict:
        return self.http.post(f"{service_url('checkin')}/v1/events/{event_id}/devices",
                              json={"name": name, "gate": gate, "list_ids": list_ids}).raise_for_status().json()

    def admit_offline(self, event_id: str, payload: str, *, gate: str = "Offline gate") -> dict:
        """A new scanner on the event's default list admits ``payload`` offline and uploads the scan."""
        default = next(li for li in self.http.get(f"{service_url('checkin')}/v1/events/{event_id}/lists")
                       .raise_for_status().json() if li["is_default"])
        device = self.register_device(event_id, [default["id"]], name="Offline scanner", gate=gate)
        scanned = {"nonce": f"offline-{uuid.uuid4().hex}", "payload": payload,
                   "scanned_at": datetime.now(UTC).isoformat()}
        return self.http.post(f"{service_url('checkin')}/v1/offline-scans", json={"scans": [scanned]},
                              headers={"Authorization": f"Bearer {device['token']}"}).raise_for_status().json()[0]

    def gate_knows(self, ticket_id: str, timeout: float = 30) -> dict:
        """Wait until the checkin projection has the ticket."""
        url = f"{service_url('checkin')}/v1/tickets/{ticket_id}"
        return wait_until(lambda: (r := self.http.get(url)).status_code == 200 and r.json(),
                          timeout=timeout, what=f"the gate to know ticket {ticket_id}")

    def scan_when_known(self, payload: str, *, gate: str = "North gate", timeout: float = 30) -> dict:
        """Scan once the gate's projection knows the ticket (the projection is eventually consistent)."""
        return wait_until(
            lambda: (answer := self.scan(payload, gate=gate))["result"] != "unknown_ticket" and answer,
            timeout=timeout, what="the gate to know the ticket",
        )

    def messages(self, **filters: str) -> list[dict]:
        return self.http.get(f"{service_url('notifications')}/v1/messages", params=filters).raise_for_status().json()


def maildir() -> mailbox.Maildir:
    return mailbox.Maildir(Path(stack_env()["SMTP_MAILDIR"]), create=True)


def mails_to(address: str) -> list[EmailMessage]:
    found = []
    box = maildir()  # one scan of the folder, not one per message
    for key in box.keys():
        raw = box.get_bytes(key)
        message = email.message_from_bytes(raw, policy=policy.default)
        if address.lower() in (message.get("X-Envelope-To") or "").lower():
            found.append(message)
    return found


def wait_for_mail(address: str, timeout: float = 30) -> EmailMessage:
    return wait_until(lambda: (mails := mails_to(address)) and mails[0], timeout=timeout, what=f"mail to {address}")


def mail_with(address: str, template: str, timeout: float = 30) -> EmailMessage:
    """The first message of ``template`` (its X-Ticketflow-Template) to ``address``, once it has arrived."""
    return wait_until(lambda: next((m for m in mails_to(address) if m["X-Ticketflow-Template"] == template), None),
                      timeout=timeout, what=f"{template} to {address}")


def inline_images(message: EmailMessage) -> list[bytes]:
    return [part.get_content() for part in message.walk() if part.get_content_maintype() == "image"]


async def read_topics(topics: list[str], *, since_ms: int, until: Callable[[list[Any]], bool],
                      timeout: float = 30, records: list[Any] | None = None,
                      positioned: Callable[[], None] | None = None) -> list[Any]:
    """Records of ``topics`` with a timestamp from ``since_ms`` on, until ``until(records)`` holds.

    Records are appended to ``records`` as they arrive, so another thread can watch them.
    """
    from aiokafka import AIOKafkaConsumer

    # Without a group, a consumer given topics is assigned all their partitions.
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=stack_env()["KAFKA_BOOTSTRAP_SERVERS"],
                                enable_auto_commit=False)
    await consumer.start()
    try:
        # The assignment fills in as metadata arrives: wait for every topic's partitions.
        while {tp.topic for tp in consumer.assignment()} < set(topics):
            await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        # Ends first, then times: a record arriving in between is either found
        # by its timestamp or lies past the end taken before it.
        ends = await consumer.end_offsets(partitions)
        offsets = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
        for tp in partitions:
            found = offsets.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        if positioned is not None:
            positioned()
        records = [] if records is None else records
        deadline = time.monotonic() + timeout
        while not until(records):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out reading {topics}: got {len(records)} records")
            batch = await consumer.getmany(timeout_ms=200)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None
