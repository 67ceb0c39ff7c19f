"""Organizations: companies, and their relationship to an event (sponsor, partner, exhibitor, other).

A sponsor package can grant sponsored tickets; using the grant creates a
sponsored ticket order like any other (nothing bypasses ticket orders).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update

from ticketflow_runtime import Conflict, NotFound, UnitOfWork, Unprocessable
from ticketflow_schemas import events as contracts

from ..domain import PaymentMethod
from ..store.tables import companies, event_organizations, events
from .ordering import LineSpec, OrderSpec, place_order

RELATIONSHIPS = ("sponsor", "partner", "exhibitor", "other")
LIFECYCLE_STATUSES = ("prospect", "confirmed", "active", "completed", "cancelled")
COMMERCIAL_STATUSES = ("none", "offered", "negotiating", "contracted", "invoiced", "paid")
VISIBILITIES = ("public", "hidden")


async def create_company(uow: UnitOfWork, values: dict) -> uuid.UUID:
    company_id = uuid.uuid4()
    await uow.session.execute(insert(companies).values(id=company_id, **values))
    return company_id


async def add_event_organization(uow: UnitOfWork, event_id: uuid.UUID, values: dict) -> uuid.UUID:
    session = uow.session
    if await session.scalar(select(events.c.id).where(events.c.id == event_id)) is None:
        raise NotFound("event_not_found", f"No event {event_id}.")
    if await session.scalar(select(companies.c.id).where(companies.c.id == values["company_id"])) is None:
        raise Unprocessable("unknown_company", f"No company {values['company_id']}.")
    exists = await session.scalar(select(event_organizations.c.id).where(
        event_organizations.c.event_id == event_id, event_organizations.c.company_id == values["company_id"]))
    if exists:
        raise Conflict("already_related", "This company already has a relationship with the event.",
                       event_organization_id=str(exists))
    organization_id = uuid.uuid4()
    await session.execute(insert(event_organizations).values(id=organization_id, event_id=event_id, **values))
    return organization_id


async def update_event_organization(uow: UnitOfWork, organization_id: uuid.UUID, changes: dict) -> None:
    row = (await uow.session.execute(select(event_organizations).where(
        event_organizations.c.id == organization_id).with_for_update())).first()
    if row is None:
        raise NotFound("event_organization_not_found", f"No event organization {organization_id}.")
    grant = changes.get("sponsored_ticket_grant", row.sponsored_ticket_grant)
    if grant < row.sponsored_tickets_used:
        raise Conflict("grant_below_used", f"{row.sponsored_tickets_used} sponsored tickets are already ordered.",
                       used=row.sponsored_tickets_used)
    if changes:
        await uow.session.execute(update(event_organizations).where(event_organizations.c.id == organization_id)
                                  .values(**changes))


@dataclass(frozen=True)
class SponsoredOrderSpec:
    quantity: int
    contact: contracts.Buyer
    ticket_type_id: uuid.UUID | None = None
    note: str | None = None


async def order_sponsored_tickets(uow: UnitOfWork, organization_id: uuid.UUID, spec: SponsoredOrderSpec, *,
                                  actor: str) -> uuid.UUID:
    """Use part of the sponsor package's grant: a sponsored ticket order, in status requested."""
    session = uow.session
    used = await session.scalar(
        update(event_organizations)
        .where(event_organizations.c.id == organization_id,
               event_organizations.c.sponsored_tickets_used + spec.quantity
               <= event_organizations.c.sponsored_ticket_grant)
        .values(sponsored_tickets_used=event_organizations.c.sponsored_tickets_used + spec.quantity)
        .returning(event_organizations.c.event_id)
    )
    if used is None:
        row = (await session.execute(select(event_organizations).where(
            event_organizations.c.id == organization_id))).first()
        if row is None:
            raise NotFound("event_organization_not_found", f"No event organization {organization_id}.")
        left = row.sponsored_ticket_grant - row.sponsored_tickets_used
        raise Conflict("grant_exhausted", f"The sponsor package has {left} sponsored tickets left.", available=left)
    company = (await session.execute(
        select(companies.c.name).join(event_organizations, event_organizations.c.company_id == companies.c.id)
        .where(event_organizations.c.id == organization_id))).scalar_one()
    contact = spec.contact.model_copy(update={"company": spec.contact.company or company})
    placed = await place_order(
        uow,
        OrderSpec(event_id=used, buyer=contact, lines=[LineSpec(spec.ticket_type_id, spec.quantity)],
                  payment_method=PaymentMethod.SPONSORED, note=spec.note, event_organization_id=organization_id),
        actor=actor,
    )
    return placed.id


def organization_conditions(event_id: uuid.UUID, *, search: str | None, relationship: str | None,
                            lifecycle_status: str | None, commercial_status: str | None,
                            visibility: str | None) -> list:
    conditions = [event_organizations.c.event_id == event_id]
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        conditions.append(or_(companies.c.name.ilike(pattern), event_organizations.c.category.ilike(pattern),
                              event_organizations.c.package.ilike(pattern), event_organizations.c.booth.ilike(pattern)))
    for column, value in ((event_organizations.c.relationship, relationship),
                          (event_organizations.c.lifecycle_status, lifecycle_status),
                          (event_organizations.c.commercial_status, commercial_status),
                          (event_organizations.c.visibility, visibility)):
        if value:
            conditions.append(column == value)
    return conditions
