"""HTTP API of the issuance service: tickets and the public keys scanners verify with."""

from __future__ import annotations

import uuid
from datetime import datetime

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.auth import Principal, rate_limited, scopes
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_schemas import qr

from . import usecases
from .store.tables import signing_keys, tickets

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
StaffReader = Annotated[Principal, Depends(scopes("tickets:read"))]
StaffWriter = Annotated[Principal, Depends(scopes("tickets:write"))]
# The public keys are public (scanners verify QR codes offline with them), but not free to hammer.
PublicRateLimit = Depends(rate_limited("issuance-keys"))


class PublicKeyView(BaseModel):
    key_id: str
    algorithm: str = "Ed25519"
    public_key: str
    status: str = Field(description="active (signs), verifying (rotated out, still verifies) or retired")
    created_at: datetime


class EventKeysView(BaseModel):
    event_id: uuid.UUID
    keys: list[PublicKeyView]


class TicketView(BaseModel):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_name: str
    status: str
    secret_version: int
    issued_at: datetime


@router.get("/events/{event_id}/keys", tags=["keys"], summary="The event's public QR verification keys",
            dependencies=[PublicRateLimit])
async def event_keys(event_id: uuid.UUID, service: ServiceDep) -> EventKeysView:
    async with service.database.sessions() as session:
        rows = (
            await session.execute(
                select(signing_keys).where(signing_keys.c.event_id == event_id).order_by(signing_keys.c.created_at)
            )
        ).all()
    signing = next((r.key_id for r in reversed(rows) if r.retired_at is None), None)
    return EventKeysView(
        event_id=event_id,
        keys=[
            PublicKeyView(key_id=qr.key_id_text(r.key_id), public_key=qr.encode_raw(r.public_key),
                          status="retired" if r.retired_at else ("active" if r.key_id == signing else "verifying"),
                          created_at=r.created_at)
            for r in rows
        ],
    )


@router.post("/events/{event_id}/keys", summary="Rotate: a new key signs from now on, older ones keep verifying")
async def rotate_key(event_id: uuid.UUID, service: ServiceDep, staff: StaffWriter) -> EventKeysView:
    async with service.database.unit_of_work() as uow:
        await usecases.rotate_key(uow, event_id)
    return await event_keys(event_id, service)


@router.post("/events/{event_id}/keys/{key_id}/retire",
             summary="Retire a key: it stops verifying, and the tickets it signed are reissued")
async def retire_key(event_id: uuid.UUID, key_id: str, service: ServiceDep, staff: StaffWriter) -> EventKeysView:
    try:
        numeric = qr.key_id_from_text(key_id)
    except ValueError:
        raise NotFound("key_not_found", f"No key {key_id}.") from None
    async with service.database.unit_of_work() as uow:
        await usecases.retire_key(uow, event_id, numeric)
    return await event_keys(event_id, service)


@router.get("/orders/{order_id}/tickets", tags=["tickets"], summary="The tickets generated from an order")
async def order_tickets(order_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> list[TicketView]:
    async with service.database.sessions() as session:
        rows = (
            await session.execute(
                select(tickets).where(tickets.c.order_id == order_id).order_by(tickets.c.line_no, tickets.c.seq)
            )
        ).all()
    return [TicketView(**r._mapping) for r in rows]


@router.get("/tickets/{ticket_id}", tags=["tickets"], summary="One ticket")
async def get_ticket(ticket_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> TicketView:
    async with service.database.sessions() as session:
        row = (await session.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
    if row is None:
        raise NotFound("ticket_not_found", f"No ticket {ticket_id}.")
    return TicketView(**row._mapping)
