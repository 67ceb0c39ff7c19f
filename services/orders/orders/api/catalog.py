"""Staff API of the events catalog: organizers, events and ticket types."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, EmailStr, Field, model_validator
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.api_models import MAX_INT, Changes
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_schemas.events import Currency

from .. import domain
from ..store.tables import events, organizers, ticket_types
from ..usecases import catalog
from .access import Reader, Writer

# Ten billion in major units: order totals (quantity x price + VAT) stay far inside bigint.
MAX_PRICE = 10**12

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["catalog"])


class NewOrganizer(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=1000)
    registration_number: str | None = Field(default=None, max_length=50)
    vat_number: str | None = Field(default=None, max_length=50)
    email: EmailStr | None = None
    payment_instructions: str = Field(default="", max_length=1000, description="bank account lines for invoices")
    invoice_prefix: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z0-9-]+$")
    payment_terms_days: int = Field(default=30, ge=0, le=365)


class OrganizerView(NewOrganizer):
    id: uuid.UUID
    email: str | None = None


class NewTicketType(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    net_price: int = Field(ge=0, le=MAX_PRICE, description="net price in minor units")
    quota: int | None = Field(default=None, ge=0, le=MAX_INT)


class TicketTypeChanges(Changes):
    nullable = frozenset({"quota"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    net_price: int | None = Field(default=None, ge=0, le=MAX_PRICE)
    quota: int | None = Field(default=None, ge=0, le=MAX_INT, description="null: no quota")


class NewEvent(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue: str | None = Field(default=None, max_length=200)
    currency: Currency = "SEK"
    vat_rate_bp: int = Field(default=domain.DEFAULT_VAT_RATE_BP, ge=0, le=10_000,
                             description="VAT rate in basis points (2500 = 25%)")
    capacity: int = Field(ge=0, le=MAX_INT)
    organizer_id: uuid.UUID | None = Field(default=None, description="the default organizer if omitted")
    ticket_types: list[NewTicketType] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_after_start(self) -> NewEvent:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self


class EventChanges(Changes):
    nullable = frozenset({"venue"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    venue: str | None = Field(default=None, max_length=200)
    vat_rate_bp: int | None = Field(default=None, ge=0, le=10_000)
    capacity: int | None = Field(default=None, ge=0, le=MAX_INT)


class TicketTypeView(BaseModel):
    id: uuid.UUID
    name: str
    net_price: int
    quota: int | None
    sold: int


class EventView(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    currency: str
    vat_rate_bp: int
    capacity: int
    sold: int
    ticket_types: list[TicketTypeView]


@router.post("/organizers", status_code=status.HTTP_201_CREATED, summary="Create an organizer (the invoice seller)")
async def create_organizer(body: NewOrganizer, service: ServiceDep, staff: Writer) -> OrganizerView:
    async with service.database.unit_of_work() as uow:
        organizer_id = await catalog.create_organizer(uow, body.model_dump(mode="json"))
    return OrganizerView(id=organizer_id, **body.model_dump(mode="json"))


@router.get("/organizers/{organizer_id}", summary="An organizer")
async def get_organizer(organizer_id: uuid.UUID, service: ServiceDep, staff: Reader) -> OrganizerView:
    async with service.database.sessions() as session:
        row = (await session.execute(select(organizers).where(organizers.c.id == organizer_id))).first()
    if row is None:
        raise NotFound("organizer_not_found", f"No organizer {organizer_id}.")
    return OrganizerView.model_validate(row._mapping)


@router.post("/events", status_code=status.HTTP_201_CREATED, summary="Create an event with its ticket types")
async def create_event(body: NewEvent, service: ServiceDep, staff: Writer) -> EventView:
    async with service.database.unit_of_work() as uow:
        event_id = await catalog.create_event(
            uow,
            catalog.EventSpec(
                name=body.name, starts_at=body.starts_at, ends_at=body.ends_at, venue=body.venue,
                currency=body.currency, vat_rate_bp=body.vat_rate_bp, capacity=body.capacity,
                organizer_id=body.organizer_id,
                ticket_types=[catalog.TicketTypeSpec(t.name, t.net_price, t.quota) for t in body.ticket_types],
            ),
        )
    return await event_view(service, event_id)


@router.patch("/events/{event_id}", summary="Edit an event")
async def update_event(event_id: uuid.UUID, body: EventChanges, service: ServiceDep, staff: Writer) -> EventView:
    async with service.database.unit_of_work() as uow:
        await catalog.update_event(uow, event_id, body.model_dump(exclude_unset=True))
    return await event_view(service, event_id)


@router.get("/events/{event_id}", summary="An event, its ticket types and what is sold")
async def get_event(event_id: uuid.UUID, service: ServiceDep, staff: Reader) -> EventView:
    return await event_view(service, event_id)


@router.get("/events", summary="All events, soonest first")
async def list_events(service: ServiceDep, staff: Reader) -> list[EventView]:
    async with service.database.sessions() as session:
        ids = (await session.execute(select(events.c.id).order_by(events.c.starts_at))).scalars().all()
    return [await event_view(service, event_id) for event_id in ids]


@router.post("/events/{event_id}/ticket-types", status_code=status.HTTP_201_CREATED, summary="Add a ticket type")
async def add_ticket_type(event_id: uuid.UUID, body: NewTicketType, service: ServiceDep, staff: Writer) -> EventView:
    async with service.database.unit_of_work() as uow:
        await catalog.add_ticket_type(uow, event_id, catalog.TicketTypeSpec(body.name, body.net_price, body.quota))
    return await event_view(service, event_id)


@router.patch("/ticket-types/{type_id}", summary="Edit a ticket type (prices apply to new orders)")
async def update_ticket_type(type_id: uuid.UUID, body: TicketTypeChanges, service: ServiceDep,
                             staff: Writer) -> EventView:
    async with service.database.unit_of_work() as uow:
        event_id = await catalog.update_ticket_type(uow, type_id, body.model_dump(exclude_unset=True))
    return await event_view(service, event_id)


async def event_view(service, event_id: uuid.UUID) -> EventView:
    async with service.database.sessions() as session:
        event = (await session.execute(select(events).where(events.c.id == event_id))).first()
        if event is None:
            raise NotFound("event_not_found", f"No event {event_id}.")
        types = (await session.execute(
            select(ticket_types).where(ticket_types.c.event_id == event_id).order_by(ticket_types.c.position)
        )).all()
    return EventView(
        **{k: v for k, v in event._mapping.items() if k in EventView.model_fields},
        ticket_types=[TicketTypeView(id=t.id, name=t.name, net_price=t.net_price, quota=t.quota, sold=t.sold)
                      for t in types],
    )
