"""Stripe webhooks: duplicates, any order of arrival, and bad input that changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest

from test_payment_methods import ORDERS, public_order, session_id, stripe_control
from ticketflow_local.config import stack_env
from ticketflow_local.flow import Flow, wait_until

WEBHOOK = f"{ORDERS}/webhooks/stripe"


def sign(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """Stripe's scheme: HMAC-SHA256 over "<timestamp>.<payload>" with the endpoint's secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or stack_env()["STRIPE_WEBHOOK_SECRET"]).encode()
    digest = hmac.new(key, f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(payload: str, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return httpx.post(WEBHOOK, content=payload.encode(), headers=headers, timeout=30)


@pytest.fixture
def card_order(flow: Flow, event: dict) -> dict:
    receipt = public_order(flow, event["id"], 1, "card").json()
    receipt["session_id"] = session_id(receipt["checkout_url"])
    return receipt


def settled_transitions(flow: Flow, order_id: str) -> int:
    return sum(t["to_status"] == "settled" for t in flow.order(order_id)["transitions"])


def test_a_duplicate_delivery_settles_exactly_once(flow: Flow, card_order: dict) -> None:
    completed = stripe_control(f"checkout/sessions/{card_order['session_id']}/complete")
    again = stripe_control(f"events/{completed['event']['id']}/resend")
    assert again["delivery"]["status"] == 200
    replay = post(completed["payload"], sign(completed["payload"]))
    assert replay.json()["outcome"] == "duplicate"
    assert settled_transitions(flow, card_order["order_id"]) == 1
    assert len([p for p in flow.order(card_order["order_id"])["payments"] if p["kind"] == "card_payment"]) == 1
    wait_until(lambda: len(flow.issued_tickets(card_order["order_id"])) == 1, what="one ticket")


def test_a_refund_arriving_before_the_payment_cancels_and_the_late_payment_settles_nothing(
        flow: Flow, card_order: dict) -> None:
    held = stripe_control(f"checkout/sessions/{card_order['session_id']}/complete", deliver="false")
    payment_intent = held["event"]["data"]["object"]["payment_intent"]
    refund = httpx.post(f"{stack_env()['STRIPE_API_BASE']}/v1/refunds", data={"payment_intent": payment_intent},
                        headers={"Authorization": f"Bearer {stack_env()['STRIPE_API_KEY']}"})
    assert refund.status_code == 200, refund.text
    wait_until(lambda: flow.order(card_order["order_id"])["status"] == "cancelled", what="the refund to cancel")

    late = post(held["payload"], held["signature"])
    assert late.status_code == 200 and late.json()["outcome"] == "paid_after_cancellation"
    order = flow.order(card_order["order_id"])
    assert order["status"] == "cancelled" and settled_transitions(flow, card_order["order_id"]) == 0
    time.sleep(1)
    assert flow.issued_tickets(card_order["order_id"]) == []


def test_an_expiry_arriving_after_the_payment_changes_nothing(flow: Flow, card_order: dict) -> None:
    held_expiry = stripe_control(f"checkout/sessions/{card_order['session_id']}/complete")
    assert flow.order(card_order["order_id"])["status"] == "settled"
    expired = json.loads(held_expiry["payload"])
    expired.update(id=f"evt_{uuid.uuid4().hex}", type="checkout.session.expired")
    payload = json.dumps(expired)
    assert post(payload, sign(payload)).json()["outcome"] == "ignored_in_settled"
    assert flow.order(card_order["order_id"])["status"] == "settled"


def test_an_expired_checkout_releases_the_held_tickets(flow: Flow, event: dict, card_order: dict) -> None:
    before = httpx.get(f"{ORDERS}/v1/public/events/{event['id']}").json()["available"]
    stripe_control(f"checkout/sessions/{card_order['session_id']}/expire")
    order = flow.order(card_order["order_id"])
    assert order["status"] == "cancelled"
    assert httpx.get(f"{ORDERS}/v1/public/events/{event['id']}").json()["available"] == before + 1


def test_a_failed_payment_is_recorded_and_the_buyer_may_retry(flow: Flow, card_order: dict) -> None:
    stripe_control(f"checkout/sessions/{card_order['session_id']}/fail")
    order = flow.order(card_order["order_id"])
    assert order["status"] == "payment_pending"
    assert [p["succeeded"] for p in order["payments"]] == [False]
    stripe_control(f"checkout/sessions/{card_order['session_id']}/complete")
    assert flow.order(card_order["order_id"])["status"] == "settled"


@pytest.mark.parametrize(
    ("case", "code"),
    [("forged", "invalid_signature"), ("stale", "stale_signature"), ("missing", "missing_signature"),
     ("tampered", "invalid_signature")],
)
def test_a_bad_signature_is_refused_and_changes_nothing(flow: Flow, card_order: dict, case: str, code: str) -> None:
    held = stripe_control(f"checkout/sessions/{card_order['session_id']}/complete", deliver="false")
    payload = held["payload"]
    signature = {
        "forged": sign(payload, secret="whsec_someone_else"),
        "stale": sign(payload, timestamp=int(time.time()) - 301),
        "missing": None,
        "tampered": held["signature"],
    }[case]
    if case == "tampered":
        payload = payload.replace('"paid"', '"unpaid"', 1)
    refused = post(payload, signature)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == code
    assert flow.order(card_order["order_id"])["status"] == "payment_pending"
    # The genuine delivery is still applied afterwards: the refusal recorded nothing.
    assert post(held["payload"], held["signature"]).json()["outcome"] == "settled"


def test_unparsable_and_unknown_events(flow: Flow, card_order: dict) -> None:
    garbage = "{not json"
    refused = post(garbage, sign(garbage))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unparsable_payload"
    unknown = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "customer.created",
                          "data": {"object": {"id": "cus_1", "object": "customer"}}})
    answer = post(unknown, sign(unknown))
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    assert flow.order(card_order["order_id"])["status"] == "payment_pending"
