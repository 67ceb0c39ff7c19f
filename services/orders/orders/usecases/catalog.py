"""The events catalog: events, their ticket types and the organizers that sell them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from ticketflow_runtime import Conflict, NotFound, UnitOfWork, Unprocessable

from ..store.tables import events, organizers, ticket_types

DEFAULT_ORGANIZER_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


@dataclass(frozen=True)
class TicketTypeSpec:
    name: str
    net_price: int
    quota: int | None


@dataclass(frozen=True)
class EventSpec:
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    currency: str
    vat_rate_bp: int
    capacity: int
    ticket_types: list[TicketTypeSpec]
    organizer_id: uuid.UUID | None = None


async def create_organizer(uow: UnitOfWork, values: dict) -> uuid.UUID:
    organizer_id = uuid.uuid4()
    await uow.session.execute(insert(organizers).values(id=organizer_id, **values))
    return organizer_id


async def create_event(uow: UnitOfWork, spec: EventSpec) -> uuid.UUID:
    organizer_id = spec.organizer_id or DEFAULT_ORGANIZER_ID
    if await uow.session.scalar(select(organizers.c.id).where(organizers.c.id == organizer_id)) is None:
        raise Unprocessable("unknown_organizer", f"No organizer {organizer_id}.")
    event_id = uuid.uuid4()
    await uow.session.execute(
        insert(events).values(
            id=event_id, organizer_id=organizer_id, name=spec.name, starts_at=spec.starts_at, ends_at=spec.ends_at,
            venue=spec.venue, currency=spec.currency, vat_rate_bp=spec.vat_rate_bp, capacity=spec.capacity,
        )
    )
    for ticket_type in spec.ticket_types:
        await add_ticket_type(uow, event_id, ticket_type)
    return event_id


async def update_event(uow: UnitOfWork, event_id: uuid.UUID, changes: dict) -> None:
    """Edit an event. Capacity cannot drop below what is already held or sold."""
    event = (await uow.session.execute(select(events).where(events.c.id == event_id).with_for_update())).first()
    if event is None:
        raise NotFound("event_not_found", f"No event {event_id}.")
    if "capacity" in changes and changes["capacity"] < event.sold:
        raise Conflict("capacity_below_sold", f"{event.sold} tickets are already held or sold.", sold=event.sold)
    starts, ends = changes.get("starts_at", event.starts_at), changes.get("ends_at", event.ends_at)
    if ends < starts:
        raise Unprocessable("ends_before_start", "An event cannot end before it starts.")
    if changes:
        await uow.session.execute(update(events).where(events.c.id == event_id).values(**changes))


async def add_ticket_type(uow: UnitOfWork, event_id: uuid.UUID, spec: TicketTypeSpec) -> uuid.UUID:
    # The event's row lock also keeps two concurrent additions from taking the same position.
    if await uow.session.scalar(select(events.c.id).where(events.c.id == event_id).with_for_update()) is None:
        raise NotFound("event_not_found", f"No event {event_id}.")
    names = (await uow.session.scalars(select(ticket_types.c.name).where(ticket_types.c.event_id == event_id))).all()
    if spec.name in names:
        raise Conflict("ticket_type_exists", f"The event already has a ticket type named {spec.name!r}.")
    position = len(names) + 1
    type_id = uuid.uuid4()
    await uow.session.execute(
        insert(ticket_types).values(id=type_id, event_id=event_id, name=spec.name, net_price=spec.net_price,
                                    quota=spec.quota, position=position)
    )
    return type_id


async def update_ticket_type(uow: UnitOfWork, type_id: uuid.UUID, changes: dict) -> uuid.UUID:
    """Edit a ticket type. Prices apply to new orders only; a quota cannot drop below what is sold."""
    row = (await uow.session.execute(select(ticket_types).where(ticket_types.c.id == type_id).with_for_update())).first()
    if row is None:
        raise NotFound("ticket_type_not_found", f"No ticket type {type_id}.")
    quota = changes.get("quota", row.quota)
    if quota is not None and quota < row.sold:
        raise Conflict("quota_below_sold", f"{row.sold} '{row.name}' tickets are already held or sold.", sold=row.sold)
    if changes:
        await uow.session.execute(update(ticket_types).where(ticket_types.c.id == type_id).values(**changes))
    return row.event_id
