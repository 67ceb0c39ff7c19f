"""Every payment method from creation to settled to tickets issued, on the real stack.

Card payments go through the Stripe stand-in (Stripe's HTTP API, webhooks
signed with Stripe's algorithm) with the official SDK on the orders side.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid

import asyncpg
import httpx
from pypdf import PdfReader

from ticketflow_local.config import service_url, stack_env
from ticketflow_local.flow import Flow, wait_until

ORDERS = service_url("orders")


def stripe_control(action: str, /, **params: str) -> dict:
    response = httpx.post(f"{stack_env()['STRIPE_API_BASE']}/_test/{action}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


async def orders_db(statement: str, *args) -> None:
    connection = await asyncpg.connect(stack_env()["ORDERS_DATABASE_URL"].replace("+asyncpg", ""))
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


def stripe_session(checkout_session_id: str) -> dict:
    """The Checkout Session as Stripe's API returns it."""
    return httpx.get(f"{stack_env()['STRIPE_API_BASE']}/v1/checkout/sessions/{checkout_session_id}",
                     headers={"Authorization": f"Bearer {stack_env()['STRIPE_API_KEY']}"}).raise_for_status().json()


def session_id(checkout_url: str) -> str:
    return checkout_url.rstrip("/").rsplit("/", 1)[1]


def public_order(flow: Flow, event_id: str, quantity: int, method: str) -> httpx.Response:
    return flow.http.post(
        f"{ORDERS}/v1/public/events/{event_id}/orders",
        json={"payment_method": method, "lines": [{"quantity": quantity}],
              "buyer": {"name": "Pia Public", "email": f"pia.{uuid.uuid4().hex[:6]}@example.com",
                        "company": "Öresund Konsult AB"}},
    )


def tickets_issued(flow: Flow, order_id: str, count: int) -> None:
    wait_until(lambda: len(flow.issued_tickets(order_id)) == count, what=f"{count} tickets for {order_id}")
    wait_until(lambda: flow.order(order_id)["ticket_count_status"] == "all_issued", what="the issued count")


def test_card_order_from_the_public_page_settles_on_the_stripe_webhook(flow: Flow, event: dict) -> None:
    response = public_order(flow, event["id"], 2, "card")
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["status"] == "payment_pending" and receipt["checkout_url"]
    assert receipt["gross"] == receipt["net"] + receipt["vat"] and receipt["vat"] == receipt["net"] // 4

    completed = stripe_control(f"checkout/sessions/{session_id(receipt['checkout_url'])}/complete")
    assert completed["delivery"]["status"] == 200, completed
    order = flow.order(receipt["order_id"])
    assert order["status"] == "settled"
    assert [t["to_status"] for t in order["transitions"]] == ["requested", "payment_pending", "settled"]
    assert order["payments"][0]["kind"] == "card_payment" and order["payments"][0]["succeeded"]
    tickets_issued(flow, receipt["order_id"], 2)


def test_invoice_order_is_invoiced_with_a_pdf_then_settles_when_marked_paid(flow: Flow, event: dict) -> None:
    order = flow.place_order(event["id"], 3, payment_method="invoice", company="Ågren & Söner AB")
    assert order["status"] == "requested" and order["actions"] == ["send_invoice", "cancel"]
    invoiced = flow.order_action(order["id"], "invoice")
    assert invoiced["status"] == "invoice_sent"
    invoice = invoiced["invoice"]
    assert invoice["due_on"] > invoice["issued_on"]

    pdf = flow.http.get(f"{ORDERS}{invoice['pdf_url']}")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (invoice["number"], "Ågren & Söner AB", invoice["payment_reference"], "25"):
        assert expected in text

    paid = flow.order_action(order["id"], "mark-paid", payment_reference="BG 5050-1055 / 2026-11-27")
    assert paid["status"] == "settled"
    assert paid["invoice"]["paid_reference"] == "BG 5050-1055 / 2026-11-27"
    tickets_issued(flow, order["id"], 3)


def test_sponsored_order_from_a_sponsor_package_grant_settles_on_approval(flow: Flow, event: dict) -> None:
    company = flow.http.post(f"{ORDERS}/v1/companies", json={"name": f"Gold Sponsor {uuid.uuid4().hex[:4]}"}).json()
    organization = flow.http.post(
        f"{ORDERS}/v1/events/{event['id']}/organizations",
        json={"company_id": company["id"], "relationship": "sponsor", "package": "Gold", "booth": "A1",
              "sponsored_ticket_grant": 5},
    ).json()
    contact = {"name": "Siri Sponsor", "email": "siri@example.com"}
    granted = flow.http.post(f"{ORDERS}/v1/event-organizations/{organization['id']}/sponsored-orders",
                             json={"quantity": 4, "contact": contact})
    assert granted.status_code == 201, granted.text
    order = granted.json()
    assert (order["payment_method"], order["gross"], order["buyer"]["company"]) == ("sponsored", 0, company["name"])

    beyond = flow.http.post(f"{ORDERS}/v1/event-organizations/{organization['id']}/sponsored-orders",
                            json={"quantity": 2, "contact": contact})
    assert beyond.status_code == 409 and beyond.json()["error"]["code"] == "grant_exhausted"

    assert flow.order_action(order["id"], "approve")["status"] == "settled"
    tickets_issued(flow, order["id"], 4)


def test_free_order_settles_on_approval_and_a_second_approval_is_refused(flow: Flow, event: dict) -> None:
    order = flow.place_order(event["id"], 1, payment_method="free")
    assert order["status"] == "requested"
    assert flow.order_action(order["id"], "approve")["status"] == "settled"
    again = flow.http.post(f"{ORDERS}/v1/orders/{order['id']}/approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "approval_not_applicable"
    tickets_issued(flow, order["id"], 1)


def test_cancelling_a_settled_card_order_refunds_it_and_voids_its_tickets(flow: Flow, event: dict) -> None:
    receipt = public_order(flow, event["id"], 2, "card").json()
    stripe_control(f"checkout/sessions/{session_id(receipt['checkout_url'])}/complete")
    tickets_issued(flow, receipt["order_id"], 2)
    before = flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"]

    cancelled = flow.order_action(receipt["order_id"], "cancel", reason="buyer withdrew", refund=True)
    assert cancelled["status"] == "cancelled"
    assert any(p["kind"] == "refund" for p in cancelled["payments"])
    wait_until(lambda: all(t["status"] == "voided" for t in flow.issued_tickets(receipt["order_id"])),
               what="the tickets to be voided")
    wait_until(lambda: flow.order(receipt["order_id"])["voided_count"] == 2, what="the voided count")
    assert flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"] == before - 2
    refunds = httpx.get(f"{stack_env()['STRIPE_API_BASE']}/_test/events", params={"type": "charge.refunded"}).json()
    assert any(e["data"]["object"]["metadata"].get("order_id") == receipt["order_id"] for e in refunds["data"])


def checkout_with_answers_lost(flow: Flow, order_id: str) -> httpx.Response:
    """The order's checkout, Stripe creating the session but neither its answer nor the SDK's two
    retries' answers arriving."""
    stripe_control("lose-answers", path="/v1/checkout/sessions", count="3")
    try:
        return flow.http.post(f"{ORDERS}/v1/orders/{order_id}/checkout")
    finally:
        stripe_control("lose-answers", path="/v1/checkout/sessions", count="0")


def test_a_checkout_retried_after_lost_answers_gets_the_session_stripe_already_created(
        flow: Flow, event: dict) -> None:
    order = flow.place_order(event["id"], 1, payment_method="card")
    assert order["status"] == "requested"
    lost = checkout_with_answers_lost(flow, order["id"])
    assert (lost.status_code, lost.json()["error"]["code"]) == (502, "payment_provider_unavailable"), lost.text
    assert flow.order(order["id"])["status"] == "requested"

    time.sleep(1.1)  # the retry comes a clock second later: its parameters must still be the first ones
    retried = flow.http.post(f"{ORDERS}/v1/orders/{order['id']}/checkout")
    assert retried.status_code == 200, retried.text
    session = stripe_session(session_id(retried.json()["checkout_url"]))
    assert session["client_reference_id"] == order["id"]
    assert flow.order(order["id"])["status"] == "payment_pending"

    stripe_control(f"checkout/sessions/{session['id']}/complete")
    assert flow.order(order["id"])["status"] == "settled"
    tickets_issued(flow, order["id"], 1)


def test_a_checkout_retried_too_late_for_its_deadline_gets_a_session_with_a_new_one(flow: Flow, event: dict) -> None:
    order = flow.place_order(event["id"], 1, payment_method="card")
    assert checkout_with_answers_lost(flow, order["id"]).status_code == 502
    # As if the retry came 40 minutes later: the session's deadline would be closer than Stripe's 30 minutes.
    asyncio.run(orders_db("UPDATE orders SET hold_expires_at = now() + interval '25 minutes' WHERE id = $1",
                          uuid.UUID(order["id"])))
    retried = flow.http.post(f"{ORDERS}/v1/orders/{order['id']}/checkout")
    assert retried.status_code == 200, retried.text
    session = stripe_session(session_id(retried.json()["checkout_url"]))
    assert session["client_reference_id"] == order["id"] and session["expires_at"] - time.time() > 50 * 60
    stripe_control(f"checkout/sessions/{session['id']}/complete")
    assert flow.order(order["id"])["status"] == "settled"


def test_staff_endpoints_need_a_token_with_the_right_scope(flow: Flow, event: dict) -> None:
    from ticketflow_runtime.auth import mint_token

    anonymous = httpx.get(f"{ORDERS}/v1/orders")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    forged = httpx.get(f"{ORDERS}/v1/orders", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    reader = mint_token(stack_env()["AUTH_JWT_SECRET"], "viewer", ["orders:read"])
    headers = {"Authorization": f"Bearer {reader}"}
    assert httpx.get(f"{ORDERS}/v1/orders", headers=headers).status_code == 200
    write = httpx.post(f"{ORDERS}/v1/orders", headers=headers, json={})
    assert write.status_code == 403 and write.json()["error"]["code"] == "insufficient_scope"
    expired = mint_token(stack_env()["AUTH_JWT_SECRET"], "viewer", ["orders:read"], ttl_seconds=-10)
    late = httpx.get(f"{ORDERS}/v1/orders", headers={"Authorization": f"Bearer {expired}"})
    assert late.status_code == 401 and "expired" in late.json()["error"]["message"]


def test_public_ordering_offers_card_and_invoice_only(flow: Flow, event: dict) -> None:
    refused = public_order(flow, event["id"], 1, "free")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "payment_method_not_offered"
    page = httpx.get(f"{ORDERS}/v1/public/events/{event['id']}").json()
    ticket_type = page["ticket_types"][0]
    assert ticket_type["gross_price"] == ticket_type["net_price"] + ticket_type["vat"]
