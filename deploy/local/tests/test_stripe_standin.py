"""The Stripe stand-in, driven through the official ``stripe`` SDK as the orders service drives Stripe."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe

from ticketflow_local.stripe_standin import StripeStandin

SECRET = "whsec_test_standin_secret"


class WebhookReceiver:
    """A tiny webhook endpoint in its own thread: keeps each raw body and its Stripe-Signature."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.status = 200
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    receiver.received.append((body, self.headers.get("Stripe-Signature", "")))
                    receiver._changed.notify_all()
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 5) -> list[tuple[bytes, str]]:
        def matching() -> list[tuple[bytes, str]]:
            return [r for r in self.received if json.loads(r[0])["type"] == event_type]

        with self._changed:
            self._changed.wait_for(lambda: len(matching()) >= count, timeout)
            found = matching()
        assert len(found) >= count, f"expected {count} {event_type}, got {[json.loads(b)['type'] for b, _ in self.received]}"
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def standin(receiver: WebhookReceiver):
    with StripeStandin(port=0, webhook_url=receiver.url, webhook_secret=SECRET) as standin:
        yield standin


@pytest.fixture
def client(standin: StripeStandin) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_x", base_addresses={"api": standin.base_url}, max_network_retries=0)


@pytest.fixture
def control(standin: StripeStandin):
    with httpx.Client(base_url=standin.base_url, timeout=30) as http:
        yield http


def session_params(order_id: str = "ord_1", **overrides: object) -> dict:
    return {
        "mode": "payment",
        "line_items": [
            {"price_data": {"currency": "eur", "unit_amount": 2500, "product_data": {"name": "General admission"}},
             "quantity": 2},
            {"price_data": {"currency": "eur", "unit_amount": 300, "product_data": {"name": "Booking fee"}},
             "quantity": 1},
        ],
        "client_reference_id": order_id,
        "metadata": {"order_id": order_id},
        "payment_intent_data": {"metadata": {"order_id": order_id, "event_id": "evt-42"}},
        "customer_email": "ada@example.com",
        "success_url": "https://tickets.example/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://tickets.example/cancelled",
        "expires_at": int(time.time()) + 3600,
        **overrides,
    }


def create_session(client: stripe.StripeClient, **overrides: object) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(
        params=session_params(**overrides), options={"idempotency_key": str(uuid.uuid4())})


def verified(body: bytes, signature: str) -> stripe.Event:
    return stripe.Webhook.construct_event(body, signature, SECRET, tolerance=300)


def test_create_and_retrieve_a_checkout_session(client: stripe.StripeClient, standin: StripeStandin) -> None:
    session = create_session(client)

    assert session.object == "checkout.session" and session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert session.amount_total == 2 * 2500 + 300 and session.currency == "eur"
    assert session.url == f"{standin.base_url}/pay/{session.id}"
    assert session.client_reference_id == "ord_1" and session.metadata.to_dict() == {"order_id": "ord_1"}
    assert session.livemode is False and session.created <= session.expires_at
    assert client.v1.checkout.sessions.retrieve(session.id).to_dict() == session.to_dict()
    assert httpx.get(session.url).status_code == 200


async def test_the_async_sdk_over_httpx_works_too(standin: StripeStandin) -> None:
    """As the orders service calls it: HTTPXClient, *_async methods, retries on."""
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.base_url},
                                 http_client=stripe.HTTPXClient(), max_network_retries=2)
    params = session_params()  # once: a retry sends the same expires_at, even a second later
    session = await client.v1.checkout.sessions.create_async(params, options={"idempotency_key": "checkout-ord_1"})
    again = await client.v1.checkout.sessions.create_async(params, options={"idempotency_key": "checkout-ord_1"})
    assert again.id == session.id
    assert (await client.v1.checkout.sessions.expire_async(session.id)).status == "expired"


def test_idempotency_keys_behave_like_stripe(client: stripe.StripeClient) -> None:
    key, params = str(uuid.uuid4()), session_params()
    first = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
    again = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"

    with pytest.raises(stripe.IdempotencyError) as error:
        client.v1.checkout.sessions.create(params=session_params("ord_2"), options={"idempotency_key": key})
    assert error.value.http_status == 400 and error.value.error.type == "idempotency_error"

    assert create_session(client).id != first.id  # a new key is a new session


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_lost_answer_is_lost_after_the_work_is_done(client: stripe.StripeClient, control: httpx.Client,
                                                     standin: StripeStandin) -> None:
    server_log, logged = logging.getLogger("uvicorn.error"), Records()
    server_log.addHandler(logged)
    try:
        _lose_and_replay(client, control, standin)
    finally:
        server_log.removeHandler(logged)
    # Asked for, so one line without a traceback.
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in logged.records] == [
        ("INFO", "POST /v1/checkout/sessions: answer lost on purpose (POST /_test/lose-answers)", None)]


def _lose_and_replay(client: stripe.StripeClient, control: httpx.Client, standin: StripeStandin) -> None:
    assert control.post("/_test/lose-answers", params={"path": "/v1/checkout/sessions", "count": 1}).status_code == 200
    key, params = str(uuid.uuid4()), session_params("ord_lost")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
    created = [o for o in standin.objects.values() if o.get("client_reference_id") == "ord_lost"]
    assert len(created) == 1  # carried out, though its answer never came

    retried = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
    assert retried.id == created[0]["id"]
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"
    assert control.post("/_test/lose-answers", params={"path": "/checkout", "count": 1}).status_code == 400


def test_errors_raise_the_sdk_exception_stripe_would(client: stripe.StripeClient, standin: StripeStandin) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params={**session_params(), "mode": None})
    assert (error.value.code, error.value.param) == ("parameter_missing", "mode")

    params = session_params()
    del params["line_items"][1]["price_data"]["product_data"]
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params=params)
    assert error.value.param == "line_items[1][price_data][product_data][name]"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params={**session_params(), "not_a_param": "x"})
    assert error.value.code == "parameter_unknown"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 60))
    assert error.value.param == "expires_at"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert (error.value.http_status, error.value.code) == (404, "resource_missing")

    live = stripe.StripeClient("sk_live_x", base_addresses={"api": standin.base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.checkout.sessions.retrieve("cs_test_missing")
    no_key = httpx.post(f"{standin.base_url}/v1/checkout/sessions", data={"mode": "payment"})
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "invalid_request_error"


def test_completing_delivers_a_signed_checkout_session_completed(
    client: stripe.StripeClient, control: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = create_session(client)

    answer = control.post(f"/_test/checkout/sessions/{session.id}/complete").json()

    assert answer["delivery"] == {"event": answer["event"]["id"], "url": receiver.url, "status": 200, "error": None}
    [(body, signature)] = receiver.wait_for("checkout.session.completed")
    event = verified(body, signature)
    assert event.id == answer["event"]["id"] and event.api_version == stripe.api_version
    completed = event.data.object
    assert (completed.id, completed.status, completed.payment_status) == (session.id, "complete", "paid")
    assert completed.payment_intent.startswith("pi_") and completed.client_reference_id == "ord_1"

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_wrong", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"ord_1", b"ord_9"), signature, SECRET, tolerance=300)

    paid = client.v1.checkout.sessions.retrieve(session.id)
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)
    assert (paid.status, intent.status, intent.latest_charge[:3]) == ("complete", "succeeded", "ch_")
    assert intent.metadata.to_dict() == {"order_id": "ord_1", "event_id": "evt-42"}

    again = control.post(f"/_test/checkout/sessions/{session.id}/complete")
    assert again.status_code == 400 and "open" in again.json()["error"]["message"]


def test_a_refund_emits_charge_refunded(
    client: stripe.StripeClient, control: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = create_session(client)
    intent = control.post(f"/_test/checkout/sessions/{session.id}/complete").json()["event"]["data"]["object"][
        "payment_intent"]

    partial = client.v1.refunds.create(params={"payment_intent": intent, "amount": 300},
                                       options={"idempotency_key": str(uuid.uuid4())})
    refund = client.v1.refunds.create(params={"payment_intent": intent, "metadata": {"reason": "cancelled"}},
                                      options={"idempotency_key": str(uuid.uuid4())})

    assert (partial.object, partial.amount, partial.status) == ("refund", 300, "succeeded")
    assert (refund.amount, refund.payment_intent, refund.metadata.to_dict()) == (5000, intent, {"reason": "cancelled"})
    # Like Stripe's, webhooks of separate requests may arrive in either order.
    first, last = sorted((verified(*received).data.object for received in receiver.wait_for("charge.refunded", 2)),
                         key=lambda charge: charge.amount_refunded)
    assert (first.refunded, first.amount_refunded) == (False, 300)
    assert (last.object, last.payment_intent, last.amount, last.amount_refunded, last.refunded) == (
        "charge", intent, 5300, 5300, True)
    assert last.id.startswith("ch_") and last.metadata.to_dict() == {"order_id": "ord_1", "event_id": "evt-42"}

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": intent})
    assert error.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})


def test_expiring_emits_checkout_session_expired(
    client: stripe.StripeClient, control: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = create_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    [received] = receiver.wait_for("checkout.session.expired")
    assert verified(*received).data.object.id == session.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)

    other = create_session(client)
    answer = control.post(f"/_test/checkout/sessions/{other.id}/expire").json()
    assert answer["event"]["type"] == "checkout.session.expired" and answer["delivery"]["status"] == 200


def test_a_declined_payment_emits_payment_intent_payment_failed(
    client: stripe.StripeClient, control: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = create_session(client)

    control.post(f"/_test/checkout/sessions/{session.id}/fail")

    [received] = receiver.wait_for("payment_intent.payment_failed")
    intent = verified(*received).data.object
    assert intent.last_payment_error.code == "card_declined"
    assert intent.metadata.to_dict() == {"order_id": "ord_1", "event_id": "evt-42"}
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"  # the customer may retry


def test_undelivered_events_and_resending(
    client: stripe.StripeClient, control: httpx.Client, receiver: WebhookReceiver
) -> None:
    session = create_session(client)

    answer = control.post(f"/_test/checkout/sessions/{session.id}/complete", params={"deliver": "false"}).json()

    assert "delivery" not in answer and receiver.received == []
    assert verified(answer["payload"].encode(), answer["signature"]).id == answer["event"]["id"]
    assert json.loads(answer["payload"]) == answer["event"]

    for _ in range(2):
        resent = control.post(f"/_test/events/{answer['event']['id']}/resend").json()
        assert resent["delivery"]["status"] == 200
    bodies = [body for body, _ in receiver.wait_for("checkout.session.completed", count=2)]
    assert bodies == [answer["payload"].encode()] * 2

    listed = control.get("/_test/events", params={"type": "checkout.session.completed"}).json()
    assert [event["id"] for event in listed["data"]] == [answer["event"]["id"]]
    assert control.post("/_test/events/evt_missing/resend").status_code == 404


def test_failed_deliveries_are_reported(
    client: stripe.StripeClient, control: httpx.Client, standin: StripeStandin, receiver: WebhookReceiver
) -> None:
    receiver.status = 500
    answer = control.post(f"/_test/checkout/sessions/{create_session(client).id}/complete").json()
    assert answer["delivery"]["status"] == 500 and answer["delivery"]["error"].startswith("HTTP 500")

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        standin.webhook_url = f"http://127.0.0.1:{unused.getsockname()[1]}/webhooks/stripe"
    answer = control.post(f"/_test/checkout/sessions/{create_session(client).id}/complete").json()
    assert answer["delivery"]["status"] is None and "Connect" in answer["delivery"]["error"]
