"""The public event page's API: what is on sale, and ordering by card or invoice (rate limited)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_schemas.events import Buyer

from .. import domain
from ..domain import PaymentMethod
from ..store.tables import events, ticket_types
from ..usecases import ordering, payments as card_payments
from .access import PublicRateLimit
from .ticket_orders import NewOrderLine, stripe_gateway

router = APIRouter(prefix="/v1/public", responses=ERROR_RESPONSES, tags=["public"], dependencies=[PublicRateLimit])


class PublicTicketType(BaseModel):
    id: uuid.UUID
    name: str
    net_price: int
    vat: int
    gross_price: int
    available: int


class PublicEvent(BaseModel):
    id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    currency: str
    vat_rate_bp: int
    available: int
    ticket_types: list[PublicTicketType]


class PublicOrder(BaseModel):
    buyer: Buyer
    payment_method: PaymentMethod = Field(description="card or invoice")
    lines: list[NewOrderLine] = Field(min_length=1, max_length=20)


class PublicOrderReceipt(BaseModel):
    order_id: uuid.UUID
    order_number: str
    status: str
    currency: str
    net: int
    vat: int
    gross: int
    checkout_url: str | None = Field(description="card orders: where the buyer pays")


@router.get("/events/{event_id}", summary="An event's ticket types, prices with VAT, and availability")
async def public_event(event_id: uuid.UUID, service: ServiceDep) -> PublicEvent:
    async with service.database.sessions() as session:
        event = (await session.execute(select(events).where(events.c.id == event_id))).first()
        if event is None:
            raise NotFound("event_not_found", f"No event {event_id}.")
        types = (await session.execute(
            select(ticket_types).where(ticket_types.c.event_id == event_id).order_by(ticket_types.c.position))).all()
    left = event.capacity - event.sold
    return PublicEvent(
        id=event.id, name=event.name, starts_at=event.starts_at, ends_at=event.ends_at, venue=event.venue,
        currency=event.currency, vat_rate_bp=event.vat_rate_bp, available=max(left, 0),
        ticket_types=[
            PublicTicketType(id=t.id, name=t.name, net_price=t.net_price,
                             vat=(a := domain.line_amounts(t.net_price, 1, event.vat_rate_bp)).vat, gross_price=a.gross,
                             available=max(min(left, (t.quota - t.sold) if t.quota is not None else left), 0))
            for t in types
        ],
    )


@router.post("/events/{event_id}/orders", status_code=status.HTTP_201_CREATED,
             summary="Order tickets: by card (returns the checkout URL) or by invoice")
async def public_order(event_id: uuid.UUID, body: PublicOrder, service: ServiceDep) -> PublicOrderReceipt:
    card = body.payment_method is PaymentMethod.CARD
    if card:
        stripe_gateway(service)  # refuse before holding tickets when card payments are not set up
    async with service.database.single_statement_work() as uow:
        order_id = (await ordering.place_order(
            uow,
            ordering.OrderSpec(event_id=event_id, buyer=body.buyer, payment_method=body.payment_method,
                               channel="public",
                               lines=[ordering.LineSpec(line.ticket_type_id, line.quantity) for line in body.lines]),
            actor="buyer", card_hold=service.extras["checkout_hold"],
        )).id
    checkout_url = None
    if card:
        try:
            checkout_url = await card_payments.start_checkout(service.database, stripe_gateway(service), order_id,
                                                              actor="buyer")
        except card_payments.PaymentProviderUnavailable:
            async with service.database.unit_of_work() as uow:
                order = await ordering.load_order(uow.session, order_id, lock=True)
                await ordering.cancel(uow, order, actor="system", reason="card payment could not be started")
            raise
    async with service.database.single_reads() as session:
        order = await ordering.load_order(session, order_id)
    return PublicOrderReceipt(order_id=order.id, order_number=order.number, status=order.status,
                              currency=order.currency, net=order.net, vat=order.vat, gross=order.gross,
                              checkout_url=checkout_url)
