"""HTTP API of the assignment service: who holds which ticket."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from . import usecases
from .domain import PersonDetails
from .store.tables import persons, tickets

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["assignment"])


class HolderIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    company: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")


class HolderView(BaseModel):
    person_id: uuid.UUID
    name: str
    email: str
    company: str | None


class TicketView(BaseModel):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_name: str
    holder: HolderView | None
    updated_at: datetime


async def _ticket_views(service, *conditions) -> list[TicketView]:
    async with service.database.sessions() as session:
        rows = (
            await session.execute(
                select(tickets, persons.c.name, persons.c.email, persons.c.company)
                .outerjoin(persons, persons.c.id == tickets.c.holder_id)
                .where(*conditions)
                .order_by(tickets.c.number)
            )
        ).all()
    return [
        TicketView(
            id=r.id, number=r.number, order_id=r.order_id, event_id=r.event_id, ticket_type_name=r.ticket_type_name,
            holder=HolderView(person_id=r.holder_id, name=r.name, email=r.email, company=r.company)
            if r.holder_id else None,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


@router.get("/orders/{order_id}/tickets", summary="The order's tickets and their holders")
async def order_tickets(order_id: uuid.UUID, service: ServiceDep) -> list[TicketView]:
    return await _ticket_views(service, tickets.c.order_id == order_id)


@router.get("/tickets/{ticket_id}", summary="A ticket and its holder")
async def get_ticket(ticket_id: uuid.UUID, service: ServiceDep) -> TicketView:
    found = await _ticket_views(service, tickets.c.id == ticket_id)
    if not found:
        raise NotFound("ticket_not_found", f"No ticket {ticket_id} (it may not be issued yet).")
    return found[0]


@router.put("/tickets/{ticket_id}/holder", summary="Assign (or reassign) the ticket to a person")
async def assign_ticket(ticket_id: uuid.UUID, body: HolderIn, service: ServiceDep) -> TicketView:
    async with service.database.unit_of_work() as uow:
        await usecases.assign(
            uow, ticket_id, PersonDetails(body.name, str(body.email), body.company, body.language), actor="staff"
        )
    return await get_ticket(ticket_id, service)


@router.delete("/tickets/{ticket_id}/holder", summary="Unassign the ticket: nobody holds it")
async def unassign_ticket(ticket_id: uuid.UUID, service: ServiceDep) -> TicketView:
    async with service.database.unit_of_work() as uow:
        await usecases.assign(uow, ticket_id, None, actor="staff")
    return await get_ticket(ticket_id, service)
