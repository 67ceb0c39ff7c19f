"""The organizer's other tools: the catalog, organizations, overdue invoices and expired holds."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from test_payment_methods import ORDERS, orders_db, public_order
from test_ticket_orders_view import staff_event
from ticketflow_local.flow import Flow, wait_until


def test_an_unpaid_checkout_gives_its_tickets_back_when_the_hold_expires(flow: Flow) -> None:
    event = staff_event(flow, capacity=3, name="Hold event")
    receipt = public_order(flow, event["id"], 3, "card").json()
    assert public_order(flow, event["id"], 1, "invoice").json()["error"]["code"] == "sold_out"
    # As if the checkout had ended long ago without a word from Stripe.
    asyncio.run(orders_db("UPDATE orders SET hold_expires_at = now() - interval '1 minute' WHERE id = $1",
                          uuid.UUID(receipt["order_id"])))
    wait_until(lambda: flow.order(receipt["order_id"])["status"] == "cancelled", what="the sweeper")
    assert flow.order(receipt["order_id"])["transitions"][-1]["actor"] == "system"
    assert public_order(flow, event["id"], 1, "invoice").status_code == 201


def test_overdue_invoices_are_listed(flow: Flow) -> None:
    event = staff_event(flow, capacity=10, name="Overdue event")
    order = flow.place_order(event["id"], 1, payment_method="invoice", company="Slow Payer AB")
    flow.order_action(order["id"], "invoice")
    asyncio.run(orders_db("UPDATE invoices SET due_on = current_date - 5 WHERE order_id = $1",
                          uuid.UUID(order["id"])))
    overdue = {row["order_id"]: row for row in flow.http.get(f"{ORDERS}/v1/invoices/overdue").json()}
    assert overdue[order["id"]]["days_overdue"] == 5 and overdue[order["id"]]["company"] == "Slow Payer AB"
    flow.order_action(order["id"], "mark-paid", payment_reference="late but paid")
    assert order["id"] not in {row["order_id"] for row in flow.http.get(f"{ORDERS}/v1/invoices/overdue").json()}


def test_the_catalog_is_edited_without_breaking_what_is_sold(flow: Flow) -> None:
    event = staff_event(flow, capacity=10, name="Editable event")
    flow.place_order(event["id"], 4, payment_method="invoice")
    shrink = flow.http.patch(f"{ORDERS}/v1/events/{event['id']}", json={"capacity": 3})
    assert shrink.status_code == 409 and shrink.json()["error"]["code"] == "capacity_below_sold"
    grown = flow.http.patch(f"{ORDERS}/v1/events/{event['id']}", json={"capacity": 12, "venue": "Hall B"}).json()
    assert (grown["capacity"], grown["venue"], grown["sold"]) == (12, "Hall B", 4)
    added = flow.http.post(f"{ORDERS}/v1/events/{event['id']}/ticket-types",
                           json={"name": "VIP", "net_price": 990000, "quota": 2}).json()
    vip = next(t for t in added["ticket_types"] if t["name"] == "VIP")
    over = flow.http.post(f"{ORDERS}/v1/orders", json={
        "event_id": event["id"], "payment_method": "invoice", "lines": [{"ticket_type_id": vip["id"], "quantity": 3}],
        "buyer": {"name": "Vera VIP", "email": "vera@example.com"}})
    assert over.status_code == 409 and over.json()["error"]["code"] == "quota_exhausted"
    repriced = flow.http.patch(f"{ORDERS}/v1/ticket-types/{vip['id']}", json={"net_price": 1090000}).json()
    assert next(t for t in repriced["ticket_types"] if t["name"] == "VIP")["net_price"] == 1090000
    backwards = flow.http.patch(f"{ORDERS}/v1/events/{event['id']}", json={"ends_at": "2020-01-01T00:00:00Z"})
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "ends_before_start"


def test_event_organizations_are_searched_and_filtered(flow: Flow) -> None:
    event = staff_event(flow, capacity=10, name="Expo")
    made = []
    for name, relationship, lifecycle, visibility in [
        ("Alfa Sensors", "exhibitor", "confirmed", "public"), ("Beta Bank", "sponsor", "active", "public"),
        ("Gamma Labs", "partner", "prospect", "hidden"), ("Alfa Robotics", "sponsor", "prospect", "hidden"),
    ]:
        company = flow.http.post(f"{ORDERS}/v1/companies", json={"name": name, "country": "SE"}).json()
        made.append(flow.http.post(f"{ORDERS}/v1/events/{event['id']}/organizations", json={
            "company_id": company["id"], "relationship": relationship, "lifecycle_status": lifecycle,
            "visibility": visibility, "booth": f"B{len(made)}"}).json())
    again = flow.http.post(f"{ORDERS}/v1/events/{event['id']}/organizations", json={
        "company_id": made[0]["company"]["id"], "relationship": "other"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_related"

    def names(**params: str) -> list[str]:
        rows = flow.http.get(f"{ORDERS}/v1/events/{event['id']}/organizations", params=params).json()
        return [row["company"]["name"] for row in rows]

    assert names() == ["Alfa Robotics", "Alfa Sensors", "Beta Bank", "Gamma Labs"]
    assert names(search="alfa") == ["Alfa Robotics", "Alfa Sensors"]
    assert names(relationship="sponsor") == ["Alfa Robotics", "Beta Bank"]
    assert names(relationship="sponsor", lifecycle_status="prospect") == ["Alfa Robotics"]
    assert names(visibility="hidden", commercial_status="none") == ["Alfa Robotics", "Gamma Labs"]
    bad = flow.http.get(f"{ORDERS}/v1/events/{event['id']}/organizations", params={"relationship": "friend"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_a_new_order_is_answered_as_it_reads_back(flow: Flow) -> None:
    """The creation's answer is built from what was written, not read back: it must not differ."""
    event = staff_event(flow, capacity=100, name="Answered as written")
    for method in ("invoice", "card", "sponsored", "free"):
        placed = flow.place_order(event["id"], 3, payment_method=method, note=f"{method} order, as written")
        assert placed == flow.order(placed["id"]), method
        # 3 x 1,234.50 net and 25% VAT rounded half up: 3,703.50 + 925.88.
        assert placed["transitions"][0]["reason"] == "order placed" and placed["gross"] == (
            0 if method in ("sponsored", "free") else 462938)


def test_a_refused_organizer_order_is_answered_with_its_error_and_keeps_nothing(flow: Flow) -> None:
    """Orders without an Idempotency-Key take the fast route; every refusal still answers as the API does."""
    event = staff_event(flow, capacity=5, name="Refusals")
    order = {"event_id": event["id"], "payment_method": "invoice", "lines": [{"quantity": 4}],
             "buyer": {"name": "Rita Refused", "email": "rita@example.com"}}
    first = flow.http.post(f"{ORDERS}/v1/orders", json=order)
    assert first.status_code == 201 and first.json()["quantity"] == 4
    sold_out = flow.http.post(f"{ORDERS}/v1/orders", json=order)
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "sold_out"
    unknown = flow.http.post(f"{ORDERS}/v1/orders", json={**order, "event_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "event_not_found"
    invalid = flow.http.post(f"{ORDERS}/v1/orders", json={**order, "lines": [{"quantity": 0}]})
    assert invalid.status_code == 422 and invalid.json()["error"]["details"]["problems"][0]["field"] == (
        "body.lines.0.quantity")
    broken = flow.http.post(f"{ORDERS}/v1/orders", content=b'{"event_id": ',
                            headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_request"
    nul = flow.http.post(f"{ORDERS}/v1/orders", json={**order, "lines": [{"quantity": 1}], "note": "a\u0000b"})
    assert nul.status_code == 422 and nul.json()["error"]["code"] == "invalid_value"
    listed = flow.http.get(f"{ORDERS}/v1/orders", params={"event_id": event["id"]}).json()
    assert [row["ordered"] for row in listed["rows"]] == [4]
    assert flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"] == 4


async def test_an_order_creation_retried_with_its_idempotency_key_places_one_order(flow: Flow) -> None:
    event = staff_event(flow, capacity=100, name="Retried creations")
    body = {"event_id": event["id"], "payment_method": "invoice", "lines": [{"quantity": 2}],
            "buyer": {"name": "Rita Retry", "email": "rita.retry@example.com", "company": "Retry AB"}}
    key = f"order-{uuid.uuid4()}"
    headers = {**flow.http.headers, "Idempotency-Key": key}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        # As a client would after a lost answer, and as two retries racing.
        answers = await asyncio.gather(*(client.post(f"{ORDERS}/v1/orders", json=body) for _ in range(5)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        assert all(a.json() == answers[0].json() for a in answers), "the retries answer as the creation did"
        assert flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"] == 2

        reused = await client.post(f"{ORDERS}/v1/orders", json={**body, "lines": [{"quantity": 3}]})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    another = flow.http.post(f"{ORDERS}/v1/orders", json=body, headers={"Idempotency-Key": f"order-{uuid.uuid4()}"})
    assert another.status_code == 201 and another.json()["id"] != answers[0].json()["id"]
