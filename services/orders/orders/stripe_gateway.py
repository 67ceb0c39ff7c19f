"""Card payments through Stripe, with the official SDK.

The API base is configurable (``STRIPE_API_BASE``) so that tests run against a
local stand-in speaking Stripe's HTTP API. Every call that creates something
carries an idempotency key derived from the order, so a retried request never
creates a second Checkout Session or refund.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe


class PaymentProviderError(Exception):
    """Stripe refused the request or could not be reached."""


class WebhookRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Stripe refuses a Checkout Session that expires sooner than 30 minutes after its creation;
# the extra minute covers the time the request takes.
SHORTEST_CHECKOUT = timedelta(minutes=31)


def checkout_deadline(current: datetime | None, now: datetime, ttl: timedelta) -> datetime:
    """When an order's Checkout Session expires, in whole seconds as Stripe takes it: the order's
    ``current`` deadline while Stripe still accepts it, so every attempt sends the same one; a new
    deadline ``ttl`` from ``now`` when there is none or it is too close."""
    deadline = current if current is not None and current - now >= SHORTEST_CHECKOUT else now + ttl
    return deadline.replace(microsecond=0)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class CheckoutLine:
    name: str
    unit_gross: int
    quantity: int


class StripeGateway:
    def __init__(self, *, api_key: str, api_base: str, webhook_secret: str, success_url: str, cancel_url: str,
                 checkout_ttl: timedelta, tolerance_seconds: int = 300) -> None:
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base}, http_client=stripe.HTTPXClient(), max_network_retries=2,
        )
        self.webhook_secret = webhook_secret
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.checkout_ttl = checkout_ttl
        self.tolerance = tolerance_seconds

    async def create_checkout_session(self, *, order_id: str, order_number: str, email: str, currency: str,
                                      lines: list[CheckoutLine], expires_at: datetime) -> CheckoutSession:
        """``expires_at`` comes from the order, not the clock: a retry must send Stripe the very
        parameters of the first attempt, or Stripe refuses its idempotency key. The key names the
        deadline too: a renewed deadline is a new session (its predecessor's URL never reached
        anyone, since an order keeps a session's URL only once Stripe's answer arrived)."""
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": order_id,
            "customer_email": email,
            "metadata": {"order_id": order_id, "order_number": order_number},
            # Charges and refunds carry the order id too, whichever event reports them.
            "payment_intent_data": {"metadata": {"order_id": order_id, "order_number": order_number}},
            "line_items": [
                {"quantity": line.quantity,
                 "price_data": {"currency": currency.lower(), "unit_amount": line.unit_gross,
                                "product_data": {"name": line.name}}}
                for line in lines
            ],
            "success_url": self.success_url.replace("{ORDER_ID}", order_id),
            "cancel_url": self.cancel_url.replace("{ORDER_ID}", order_id),
            "expires_at": int(expires_at.timestamp()),
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params, options={"idempotency_key": f"checkout-{order_id}-{params['expires_at']}"}
            )
        except stripe.StripeError as error:
            raise PaymentProviderError(str(error.user_message or error)) from error
        return CheckoutSession(id=session.id, url=session.url,
                               expires_at=datetime.fromtimestamp(session.expires_at, UTC))

    async def refund(self, *, payment_intent: str, order_id: str) -> str:
        try:
            refund = await self.client.v1.refunds.create_async(
                {"payment_intent": payment_intent, "metadata": {"order_id": order_id}},
                options={"idempotency_key": f"refund-{order_id}"},
            )
        except stripe.StripeError as error:
            raise PaymentProviderError(str(error.user_message or error)) from error
        return refund.id

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict:
        """The event, if Stripe signed it within the tolerance; WebhookRejected otherwise."""
        if not signature:
            raise WebhookRejected("missing_signature", "The Stripe-Signature header is missing.")
        try:
            stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, self.webhook_secret,
                                                  self.tolerance)
        except UnicodeDecodeError as error:
            raise WebhookRejected("unparsable_payload", "The webhook body is not UTF-8.") from error
        except stripe.SignatureVerificationError as error:
            stale = "timestamp outside the tolerance zone" in str(error).lower()
            raise WebhookRejected("stale_signature" if stale else "invalid_signature", str(error)) from error
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as error:
            raise WebhookRejected("unparsable_payload", "The webhook body is not JSON.") from error
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
            raise WebhookRejected("unparsable_payload", "The webhook body is not a Stripe event.")
        return event
