"""Stripe webhooks: verified, recorded, then answered."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ticketflow_runtime import ApiError, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from ..stripe_gateway import WebhookRejected
from ..usecases import payments
from .ticket_orders import stripe_gateway

router = APIRouter(responses=ERROR_RESPONSES, tags=["webhooks"])


class WebhookReceipt(BaseModel):
    received: bool
    event_id: str
    outcome: str


@router.post("/webhooks/stripe", summary="Stripe events (Stripe-Signature verified, 300 s tolerance)")
async def stripe_webhook(request: Request, service: ServiceDep) -> WebhookReceipt:
    gateway = stripe_gateway(service)
    payload = await request.body()
    try:
        event = gateway.verify_webhook(payload, request.headers.get("stripe-signature"))
    except WebhookRejected as rejected:
        raise ApiError(400, rejected.code, rejected.message) from rejected
    # 2xx only after the event id and its effect are committed; a failure here
    # answers 5xx and Stripe delivers again.
    async with service.database.unit_of_work() as uow:
        outcome = await payments.apply_stripe_event(uow, event)
    return WebhookReceipt(received=True, event_id=event["id"], outcome=outcome)
