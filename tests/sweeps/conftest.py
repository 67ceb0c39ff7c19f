"""Real objects for the sweeps to aim at: without them, every path with an id answers 404."""

from __future__ import annotations

import pytest

from ticketflow_local.config import service_url
from ticketflow_local.flow import Flow


@pytest.fixture(scope="session")
def known_ids(stack) -> dict[str, list[str]]:
    """One of each object the APIs address by id, keyed by the path parameter's name."""
    flow = Flow()
    try:
        event = flow.create_event(name="Sweep event", capacity=10_000)
        order = flow.place_free_order(event["id"], 3, company="Sweep AB")
        invoice_order = flow.place_order(event["id"], 1, payment_method="invoice")
        tickets = flow.assignable_tickets(order["id"], 3)
        holder = flow.assign(tickets[0]["id"], "Sam Sweep", "sam.sweep@example.com")
        check_in_list = flow.create_check_in_list(event["id"], "Sweep list")
        device = flow.register_device(event["id"], [check_in_list["id"]])
        keys = flow.http.get(f"{service_url('issuance')}/v1/events/{event['id']}/keys").raise_for_status().json()
        return {
            "event_id": [event["id"]],
            "type_id": [event["ticket_types"][0]["id"]],
            "organizer_id": [event["organizer_id"]],
            "order_id": [order["id"], invoice_order["id"]],
            "ticket_id": [ticket["id"] for ticket in tickets],
            "person_id": [holder["holder"]["person_id"]],
            "list_id": [check_in_list["id"]],
            "device_id": [device["id"]],
            "key_id": [key["key_id"] for key in keys["keys"]],
        }
    finally:
        flow.close()
