"""A local stand-in for the slice of Stripe's REST API that the orders service uses.

A test double, not a payment processor: state is in memory, no money moves, only test
keys (``sk_test_...``) are accepted. It speaks Stripe's wire format, so the official
``stripe`` SDK pointed at it (``StripeClient(key, base_addresses={"api": base_url})``)
works unchanged: form-encoded requests, JSON objects, ``{"error": {...}}`` bodies whose
HTTP status makes the SDK raise the class Stripe would, ``Idempotency-Key`` replay.

Stripe's endpoints: ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
``POST /v1/checkout/sessions/{id}/expire``, ``POST /v1/refunds`` and ``GET
/v1/{payment_intents,charges,refunds}/{id}``. Their events are delivered after the
response, as Stripe's are. The test-control endpoints (not Stripe's) deliver before
answering and report how it went, or with ``?deliver=false`` just return
``{"event", "payload", "signature"}``:

    POST /_test/checkout/sessions/{id}/complete  pay: checkout.session.completed
    POST /_test/checkout/sessions/{id}/fail      decline: payment_intent.payment_failed
    POST /_test/checkout/sessions/{id}/expire    time out: checkout.session.expired
    (with ``?return=1``, as the pay page's buttons post: a redirect to the session's success or cancel URL)
    POST /_test/events/{evt_id}/resend           the same payload again, freshly signed
    GET  /_test/events[?type=...]                the events so far and every delivery
    POST /_test/lose-answers?path=...&count=N    the next N requests to that API path are carried out
                                                 (and kept for idempotent replay), but each answer is
                                                 lost: the connection closes in mid-response

Events are signed as Stripe signs them (``Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
"<t>.<payload>">``), so ``stripe.Webhook.construct_event`` verifies them. A failed
delivery is reported, never retried.

    python -m ticketflow_local.stripe_standin --port 12111 \\
        --webhook-url http://127.0.0.1:8001/webhooks/stripe --webhook-secret whsec_test_...
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import string
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qsl

import httpx
import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

API_VERSION = stripe.api_version  # what the pinned SDK speaks; events carry it
SESSION_PARAMS = {"mode", "line_items", "client_reference_id", "metadata", "payment_intent_data",
                  "customer_email", "success_url", "cancel_url", "expires_at"}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


class StripeError(Exception):
    """An error as Stripe returns it; the HTTP status picks the SDK's exception class."""

    def __init__(self, message: str, status: int = 400, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "code": code, "message": message, "param": param}}


def missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``, ``expand[]=x``) to nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part or str(len(node)), {})
        node[parts[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node: Any, name: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    node = {key: _listify(value, key) for key, value in node.items()}
    if node and name != "metadata" and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


def check_params(params: dict, allowed: set[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed:
            full = f"{prefix}[{name}]" if prefix else name
            raise StripeError(f"Received unknown parameter: {full} (the Stripe stand-in knows only "
                              f"{', '.join(sorted(allowed))})", code="parameter_unknown", param=full)


def integer(value: Any, param: str, minimum: int = 0) -> int:
    if not str(value).isdigit() or int(value) < minimum:
        raise StripeError(f"Invalid integer: {value} (at least {minimum})",
                          code="parameter_invalid_integer", param=param)
    return int(value)


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    value = value or {}
    if not isinstance(value, dict) or len(value) > 50 or any(
            not isinstance(v, str) or len(k) > 40 or len(v) > 500 for k, v in value.items()):
        raise StripeError("Metadata is up to 50 keys of at most 40 characters, with values of at most "
                          "500 characters.", param=param)
    return {key: item for key, item in value.items() if item != ""}  # "" unsets a key


class AnswerLostOnPurpose(ConnectionAbortedError):
    """Raised by `LostAnswer` so the server closes the connection in mid-response."""


class LostAnswer(Response):
    """An answer that never arrives: the status line goes out, then the connection closes before
    the body, as when a network drops it. Clients see a broken response and may retry."""

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        if self.background is not None:
            await self.background()
        raise AnswerLostOnPurpose(f"{scope['method']} {scope['path']}: answer lost on purpose "
                                  "(POST /_test/lose-answers)")


class _OneLineForLostAnswers(logging.Filter):
    """The server logs an application's exception with its traceback; a lost answer was asked
    for, so it is logged as one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], AnswerLostOnPurpose):
            record.msg, record.args = "%s", (record.exc_info[1],)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


class StripeStandin:
    """State and HTTP app of the stand-in; ``start()`` serves it from a background thread."""

    def __init__(self, port: int = 0, webhook_url: str | None = None,
                 webhook_secret: str = "whsec_test_standin", host: str = "127.0.0.1") -> None:
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.objects: dict[str, dict] = {}  # sessions, payment intents, charges and refunds by id
        self.events: dict[str, dict] = {}  # by id, in order of emission
        self.deliveries: list[dict] = []
        self._payloads: dict[str, str] = {}  # event id -> the exact JSON that is signed and sent
        self._intent_metadata: dict[str, dict] = {}  # session id -> payment_intent_data[metadata]
        self._idempotent: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._answers_to_lose: dict[str, int] = {}  # API path -> how many answers still to lose
        self._socket = socket.create_server((host, port))
        self.base_url = f"http://{host}:{self._socket.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

        def retrieve(kind: str, param: str) -> Callable:
            return self._api(lambda params, ctx, id: self._get(id, kind, param))

        self.app = Starlette(routes=[
            Route("/v1/checkout/sessions", self._api(self.create_session), methods=["POST"]),
            Route("/v1/checkout/sessions/{id}", retrieve("checkout.session", "session"), methods=["GET"]),
            Route("/v1/checkout/sessions/{id}/expire", self._api(self.expire_session), methods=["POST"]),
            Route("/v1/refunds", self._api(self.create_refund), methods=["POST"]),
            Route("/v1/payment_intents/{id}", retrieve("payment_intent", "intent"), methods=["GET"]),
            Route("/v1/charges/{id}", retrieve("charge", "charge"), methods=["GET"]),
            Route("/v1/refunds/{id}", retrieve("refund", "refund"), methods=["GET"]),
            Route("/v1/{path:path}", self._api(self._unrecognized), methods=["GET", "POST", "DELETE"]),
            Route("/_test/checkout/sessions/{id}/complete", self._control(self.complete), methods=["POST"]),
            Route("/_test/checkout/sessions/{id}/fail", self._control(self.fail), methods=["POST"]),
            Route("/_test/checkout/sessions/{id}/expire", self._control(self.expire), methods=["POST"]),
            Route("/_test/events/{id}/resend", self._control(self._event), methods=["POST"]),
            Route("/_test/events", self._list_events, methods=["GET"]),
            Route("/_test/lose-answers", self._lose_answers, methods=["POST"]),
            Route("/pay/{id}", self._pay_page, methods=["GET"]),
        ])

    # ------------------------------------------------------------------ Stripe's API

    def _api(self, handler: Callable[..., dict]) -> Callable:
        """A Stripe endpoint: API key, form decoding, idempotent replay, Stripe's errors."""

        async def endpoint(request: Request) -> Response:
            ctx = {"id": new_id("req_", 14), "idempotency_key": None, "after": []}
            headers = {"Request-Id": ctx["id"], "Stripe-Version": API_VERSION}
            try:
                key = self._api_key(request)
                if request.method == "POST":
                    pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
                    ctx["idempotency_key"] = request.headers.get("Idempotency-Key")
                else:
                    pairs = request.query_params.multi_items()
                fingerprint = f"{request.method} {request.url.path} {json.dumps(sorted(pairs))}"
                saved = ctx["idempotency_key"] and self._idempotent.get((key, ctx["idempotency_key"]))
                if saved and saved[0] != fingerprint:
                    raise StripeError(
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{ctx['idempotency_key']}' if you "
                        "meant to execute a different request.", type="idempotency_error")
                if saved:
                    return self._answer(request, Response(saved[1], 200, {**headers, "Idempotent-Replayed": "true"},
                                                          media_type="application/json"))
                params = decode_form(pairs)
                obj = handler(params, ctx, **request.path_params)  # synchronous: nothing interleaves
                response = JSONResponse(obj, 200, headers)
            except StripeError as error:
                return JSONResponse(error.body, error.status, headers)
            if ctx["idempotency_key"]:  # successful results are replayed; errors are not saved
                self._idempotent[(key, ctx["idempotency_key"])] = (fingerprint, response.body)
            response.background = BackgroundTask(self._deliver_all, ctx["after"])
            return self._answer(request, response)

        return endpoint

    def _answer(self, request: Request, response: Response) -> Response:
        """The answer, or its loss when a test asked for one (the work is done either way)."""
        path = request.url.path
        if self._answers_to_lose.get(path, 0) <= 0:
            return response
        self._answers_to_lose[path] -= 1
        return LostAnswer(background=response.background)

    async def _lose_answers(self, request: Request) -> Response:
        path, count = request.query_params.get("path", ""), request.query_params.get("count", "1")
        if not path.startswith("/v1/") or not count.isdigit():
            return JSONResponse({"error": "path must be an API path (/v1/...) and count a whole number"}, 400)
        self._answers_to_lose[path] = int(count)
        return JSONResponse({"path": path, "count": int(count)})

    def _api_key(self, request: Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.startswith(("sk_test_", "rk_test_")):
            raise StripeError(f"Invalid API Key provided: {key[:8] or '(none)'}... (send 'Authorization: Bearer "
                              "sk_test_...'; the Stripe stand-in accepts test keys only)", 401)
        return key

    def _unrecognized(self, params: dict, ctx: dict, path: str) -> dict:
        raise StripeError(f"Unrecognized request URL (/v1/{path}): the Stripe stand-in lacks it.", 404)

    def _get(self, id: str, kind: str, param: str, status: int = 404) -> dict:
        obj = self.objects.get(id)
        if obj is None or obj["object"] != kind:
            raise StripeError(f"No such {kind}: '{id}'", status, code="resource_missing", param=param)
        return obj

    def _store(self, obj: dict) -> dict:
        obj.update(created=int(time.time()), livemode=False)
        self.objects[obj["id"]] = obj
        return obj

    def create_session(self, params: dict, ctx: dict) -> dict:
        check_params(params, SESSION_PARAMS)
        if "mode" not in params:
            raise missing("mode")
        if params["mode"] != "payment":
            raise StripeError("The Stripe stand-in supports only mode=payment.", param="mode")
        if not isinstance(items := params.get("line_items"), list):
            raise missing("line_items")
        total, currencies = 0, set()
        for i, item in enumerate(items):
            check_params(item, {"price_data", "quantity"}, f"line_items[{i}]")
            data = item.get("price_data") or {}
            required = {"price_data][currency": data.get("currency"), "quantity": item.get("quantity"),
                        "price_data][unit_amount": data.get("unit_amount"),
                        "price_data][product_data][name": (data.get("product_data") or {}).get("name")}
            for name in (name for name, value in required.items() if value in (None, "")):
                raise missing(f"line_items[{i}][{name}]")
            currencies.add(data["currency"].lower())
            total += integer(data["unit_amount"], f"line_items[{i}][price_data][unit_amount]") * integer(
                item["quantity"], f"line_items[{i}][quantity]", minimum=1)
        if len(currencies) != 1:
            raise StripeError("All line items must use the same currency.", param="line_items")
        now = int(time.time())
        expires_at = integer(params.get("expires_at", now + 86400), "expires_at")
        if not now + 1800 - 10 <= expires_at <= now + 86400 + 10:
            raise StripeError("The `expires_at` timestamp must be between 30 minutes and 24 hours after "
                              "the Checkout Session is created.", param="expires_at")
        intent_data = params.get("payment_intent_data") or {}
        check_params(intent_data, {"metadata", "description"}, "payment_intent_data")
        id = new_id("cs_test_", 58)
        self._intent_metadata[id] = metadata(intent_data.get("metadata"), "payment_intent_data[metadata]")
        return self._store({
            "id": id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
            "cancel_url": params.get("cancel_url"), "client_reference_id": params.get("client_reference_id"),
            "currency": currencies.pop(), "customer": None, "customer_details": None,
            "customer_email": params.get("customer_email"), "expires_at": expires_at,
            "metadata": metadata(params.get("metadata")), "mode": "payment", "payment_intent": None,
            "payment_status": "unpaid", "status": "open", "success_url": params.get("success_url"),
            "url": f"{self.base_url}/pay/{id}",
        })

    def expire_session(self, params: dict, ctx: dict, id: str) -> dict:
        ctx["after"].append(self.expire(id, ctx))
        return self.objects[id]

    def create_refund(self, params: dict, ctx: dict) -> dict:
        check_params(params, {"payment_intent", "amount", "metadata", "reason"})  # no charge=ch_...
        if "payment_intent" not in params:
            raise missing("payment_intent")
        intent = self._get(params["payment_intent"], "payment_intent", "payment_intent", 400)
        if intent["status"] != "succeeded":
            raise StripeError(f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                              "refund.", code="charge_not_refundable", param="payment_intent")
        charge = self.objects[intent["latest_charge"]]
        if (left := charge["amount"] - charge["amount_refunded"]) == 0:
            raise StripeError(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        if (amount := integer(params.get("amount", left), "amount", minimum=1)) > left:
            raise StripeError(f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                              f"({left})", code="amount_too_large", param="amount")
        if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise StripeError(f"Invalid reason: {params['reason']}", code="parameter_invalid", param="reason")
        refund = self._store({
            "id": new_id("re_"), "object": "refund", "amount": amount, "charge": charge["id"],
            "currency": charge["currency"], "metadata": metadata(params.get("metadata")),
            "payment_intent": charge["payment_intent"], "reason": params.get("reason"), "status": "succeeded",
        })
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]  # false while partial, as Stripe
        ctx["after"].append(self._emit("charge.refunded", charge, ctx))
        return refund

    # ------------------------------------------------------------------ what the customer does

    def _open_session(self, id: str) -> dict:
        session = self._get(id, "checkout.session", "session")
        if session["status"] != "open":
            raise StripeError(f'Only Checkout Sessions with a status in ["open"] can be paid, failed or '
                              f"expired; {id} is {session['status']}.")
        return session

    def _payment_intent(self, session: dict) -> dict:
        if session["payment_intent"] is None:  # created at the first attempt to pay, as Stripe does
            session["payment_intent"] = self._store({
                "id": new_id("pi_"), "object": "payment_intent", "amount": session["amount_total"],
                "amount_received": 0, "currency": session["currency"], "last_payment_error": None,
                "latest_charge": None, "metadata": dict(self._intent_metadata[session["id"]]),
                "status": "requires_payment_method",
            })["id"]
        return self.objects[session["payment_intent"]]

    def complete(self, id: str) -> dict:
        session = self._open_session(id)
        intent = self._payment_intent(session)
        charge = self._store({
            "id": new_id("ch_"), "object": "charge", "amount": intent["amount"],
            "amount_captured": intent["amount"], "amount_refunded": 0, "captured": True,
            "billing_details": {"email": session["customer_email"]}, "currency": intent["currency"],
            "metadata": dict(intent["metadata"]), "paid": True, "payment_intent": intent["id"],
            "refunded": False, "status": "succeeded",
        })
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"],
                      last_payment_error=None)
        session.update(status="complete", payment_status="paid", url=None,
                       customer_details={"email": session["customer_email"]})
        return self._emit("checkout.session.completed", session)

    def fail(self, id: str) -> dict:
        intent = self._payment_intent(self._open_session(id))
        intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                        "decline_code": "generic_decline", "message": "Your card was declined."}
        return self._emit("payment_intent.payment_failed", intent)

    def expire(self, id: str, request: dict | None = None) -> dict:
        session = self._open_session(id)
        session.update(status="expired", url=None)
        if session["payment_intent"]:
            self.objects[session["payment_intent"]]["status"] = "canceled"
        return self._emit("checkout.session.expired", session, request)

    # ------------------------------------------------------------------ webhooks

    def _emit(self, type: str, obj: dict, request: dict | None = None) -> dict:
        event = {
            "id": new_id("evt_"), "object": "event", "api_version": API_VERSION, "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)}, "livemode": False, "type": type,
            "pending_webhooks": 1 if self.webhook_url else 0,
            "request": {"id": (request or {}).get("id"), "idempotency_key": (request or {}).get("idempotency_key")},
        }
        self.events[event["id"]] = event
        self._payloads[event["id"]] = json.dumps(event, indent=2)  # Stripe's bodies are indented too
        return event

    def _event(self, id: str) -> dict:
        if id not in self.events:
            raise StripeError(f"No such event: '{id}'", 404, code="resource_missing", param="id")
        return self.events[id]

    def sign(self, payload: str, timestamp: int | None = None) -> str:
        """The ``Stripe-Signature`` header Stripe would send with ``payload``."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
        return f"t={timestamp},v1={mac.hexdigest()}"

    async def deliver(self, event_id: str, signature: str | None = None) -> dict:
        """POST the event to the webhook URL once; the outcome is returned and kept in ``deliveries``."""
        payload = self._payloads[event_id]
        result = {"event": event_id, "url": self.webhook_url, "status": None, "error": "no webhook URL"}
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                if self.webhook_url:
                    answer = await http.post(self.webhook_url, content=payload.encode(), headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": signature or self.sign(payload),
                        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
                    result["status"] = answer.status_code
                    result["error"] = None if answer.is_success else f"HTTP {answer.status_code}: {answer.text[:500]}"
        except httpx.HTTPError as error:
            result["error"] = f"{type(error).__name__}: {error}"
        self.deliveries.append(result)
        return result

    async def _deliver_all(self, events: list[dict]) -> None:
        for event in events:
            await self.deliver(event["id"])

    def _control(self, action: Callable[[str], dict]) -> Callable:
        async def endpoint(request: Request) -> Response:
            try:
                event = action(request.path_params["id"])
            except StripeError as error:
                return JSONResponse(error.body, error.status)
            payload = self._payloads[event["id"]]
            body = {"event": event, "payload": payload, "signature": self.sign(payload)}
            if request.query_params.get("deliver", "true").lower() not in ("false", "0", "no"):
                body["delivery"] = await self.deliver(event["id"], body["signature"])
            if request.query_params.get("return"):
                # The pay page's buttons: back to the shop, as Stripe Checkout sends the buyer.
                session = self.objects[request.path_params["id"]]
                paid = event["type"] == "checkout.session.completed"
                return RedirectResponse(session["success_url" if paid else "cancel_url"], status_code=303)
            return JSONResponse(body)

        return endpoint

    async def _list_events(self, request: Request) -> Response:
        wanted = request.query_params.get("type")
        events = [event for event in self.events.values() if wanted in (None, event["type"])]
        return JSONResponse({"object": "list", "data": events, "deliveries": self.deliveries})

    async def _pay_page(self, request: Request) -> Response:
        """Where ``session.url`` leads: buttons that post to the control endpoints."""
        session = self.objects.get(id := request.path_params["id"])
        if not session or session["object"] != "checkout.session":
            return HTMLResponse("No such Checkout Session", 404)
        buttons = "".join(f'<form method="post" action="/_test/checkout/sessions/{id}/{action}?return=1">'
                          f"<button>{action.title()}</button></form>" for action in ("complete", "fail", "expire"))
        return HTMLResponse(f"<!doctype html><title>Stripe stand-in</title><h1>Test checkout</h1>"
                            f"<p>{session['amount_total'] / 100:.2f} {session['currency'].upper()}, "
                            f"{session['status']}</p>{buttons if session['status'] == 'open' else ''}")

    # ------------------------------------------------------------------ serving

    def _uvicorn(self, log_level: str) -> uvicorn.Server:
        config = uvicorn.Config(self.app, log_level=log_level, lifespan="off")  # configures uvicorn's loggers
        server_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _OneLineForLostAnswers) for f in server_log.filters):
            server_log.addFilter(_OneLineForLostAnswers())
        return uvicorn.Server(config)

    def start(self) -> StripeStandin:
        self._server = self._uvicorn("warning")
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="stripe-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Stripe stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> StripeStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for Stripe's API, for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", help="where events are POSTed (without one they are only recorded)")
    parser.add_argument("--webhook-secret", default="whsec_test_standin")
    args = parser.parse_args()
    standin = StripeStandin(args.port, args.webhook_url, args.webhook_secret, args.host)
    print(f"[stripe-standin] API at {standin.base_url}, webhooks to {args.webhook_url}", flush=True)
    standin._uvicorn("info").run(sockets=[standin._socket])


if __name__ == "__main__":
    main()
