"""HTTP API of the orders service (thin: validation in, use case, view out)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_schemas.events import Buyer, Currency

from . import domain, usecases
from .store.tables import events, order_lines, order_transitions, orders, ticket_types

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


# -- events catalog


class NewTicketType(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    net_price: int = Field(ge=0, description="net price in minor units")
    quota: int | None = Field(default=None, ge=0)


class NewEvent(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue: str | None = None
    currency: Currency = "SEK"
    vat_rate_bp: int = Field(default=domain.DEFAULT_VAT_RATE_BP, ge=0, le=10_000,
                             description="VAT rate in basis points (2500 = 25%)")
    capacity: int = Field(ge=0)
    ticket_types: list[NewTicketType] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_after_start(self) -> NewEvent:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self


class TicketTypeView(BaseModel):
    id: uuid.UUID
    name: str
    net_price: int
    quota: int | None


class EventView(BaseModel):
    id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    currency: str
    vat_rate_bp: int
    capacity: int
    ticket_types: list[TicketTypeView]


@router.post("/events", status_code=status.HTTP_201_CREATED, tags=["events"], summary="Create an event")
async def create_event(body: NewEvent, service: ServiceDep) -> EventView:
    async with service.database.unit_of_work() as uow:
        event_id = await usecases.create_event(
            uow,
            usecases.EventSpec(
                name=body.name, starts_at=body.starts_at, ends_at=body.ends_at, venue=body.venue,
                currency=body.currency, vat_rate_bp=body.vat_rate_bp, capacity=body.capacity,
                ticket_types=[usecases.TicketTypeSpec(t.name, t.net_price, t.quota) for t in body.ticket_types],
            ),
        )
    return await get_event(event_id, service)


@router.get("/events/{event_id}", tags=["events"], summary="An event and its ticket types")
async def get_event(event_id: uuid.UUID, service: ServiceDep) -> EventView:
    async with service.database.sessions() as session:
        event = (await session.execute(select(events).where(events.c.id == event_id))).first()
        if event is None:
            raise NotFound("event_not_found", f"No event {event_id}.")
        types = (
            await session.execute(
                select(ticket_types).where(ticket_types.c.event_id == event_id).order_by(ticket_types.c.position)
            )
        ).all()
    return EventView(
        **event._mapping,
        ticket_types=[TicketTypeView(id=t.id, name=t.name, net_price=t.net_price, quota=t.quota) for t in types],
    )


# -- ticket orders


class NewOrderLine(BaseModel):
    ticket_type_id: uuid.UUID | None = Field(default=None, description="defaults to the event's first ticket type")
    quantity: int = Field(ge=1, le=1000)


class NewOrder(BaseModel):
    event_id: uuid.UUID
    buyer: Buyer
    payment_method: domain.PaymentMethod
    lines: list[NewOrderLine] = Field(min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=2000)


class OrderLineView(BaseModel):
    line_no: int
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    quantity: int
    unit_net: int
    net: int
    vat: int
    gross: int


class TransitionView(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


class OrderView(BaseModel):
    id: uuid.UUID
    number: str
    event_id: uuid.UUID
    buyer: Buyer
    payment_method: str
    status: str
    note: str | None
    currency: str
    quantity: int
    net: int
    vat: int
    gross: int
    issued_count: int
    ticket_count_status: domain.TicketCountStatus
    created_at: datetime
    lines: list[OrderLineView]
    transitions: list[TransitionView]


@router.post("/orders", status_code=status.HTTP_201_CREATED, tags=["orders"],
             summary="Create a ticket order (organizer)")
async def create_order(body: NewOrder, service: ServiceDep) -> OrderView:
    async with service.database.unit_of_work() as uow:
        order_id = await usecases.place_order(
            uow,
            usecases.OrderSpec(
                event_id=body.event_id, buyer=body.buyer, payment_method=body.payment_method, note=body.note,
                lines=[usecases.LineSpec(line.ticket_type_id, line.quantity) for line in body.lines],
            ),
            actor="organizer",
        )
    return await get_order(order_id, service)


@router.get("/orders/{order_id}", tags=["orders"], summary="A ticket order with its lines and history")
async def get_order(order_id: uuid.UUID, service: ServiceDep) -> OrderView:
    async with service.database.sessions() as session:
        order = (await session.execute(select(orders).where(orders.c.id == order_id))).first()
        if order is None:
            raise NotFound("order_not_found", f"No order {order_id}.")
        lines = (
            await session.execute(
                select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.line_no)
            )
        ).all()
        transitions = (
            await session.execute(
                select(order_transitions).where(order_transitions.c.order_id == order_id).order_by(order_transitions.c.id)
            )
        ).all()
    return OrderView(
        id=order.id, number=order.number, event_id=order.event_id,
        buyer=Buyer(name=order.buyer_name, email=order.buyer_email, company=order.buyer_company,
                    phone=order.buyer_phone, language=order.language),
        payment_method=order.payment_method, status=order.status, note=order.note, currency=order.currency,
        quantity=order.quantity, net=order.net, vat=order.vat, gross=order.gross, issued_count=order.issued_count,
        ticket_count_status=domain.ticket_count_status(order.quantity, order.issued_count),
        created_at=order.created_at,
        lines=[OrderLineView(**line._mapping) for line in lines],
        transitions=[TransitionView(**t._mapping) for t in transitions],
    )
