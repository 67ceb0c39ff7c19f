"""HTTP API of the checkin service: scans at the gate, check-in lists."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from . import usecases
from .domain import ScanResult
from .store.tables import check_in_lists, check_ins, tickets

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["check-in"])


class ScanIn(BaseModel):
    payload: str = Field(min_length=1, max_length=512, description="the QR code's content")
    list_id: uuid.UUID | None = Field(default=None, description="the check-in list; the event's default list if omitted")
    gate: str = Field(min_length=1, max_length=100)
    nonce: str = Field(min_length=8, max_length=100, description="unique per scan: a repeated nonce gets the same answer")


class ScannedTicket(BaseModel):
    id: uuid.UUID
    number: str
    ticket_type: str
    holder_name: str | None
    holder_company: str | None


class CheckInView(BaseModel):
    gate: str
    checked_in_at: datetime
    list: str


class ScanOut(BaseModel):
    result: ScanResult
    admitted: bool
    message: str
    ticket: ScannedTicket | None
    check_in: CheckInView | None = Field(description="this admission, or the earlier one for already_checked_in")


class GateTicketView(BaseModel):
    id: uuid.UUID
    number: str
    event_id: uuid.UUID
    ticket_type: str
    secret_version: int
    voided: bool
    holder_name: str | None
    holder_company: str | None
    check_ins: list[CheckInView]


class CheckInListView(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    is_default: bool


@router.post("/scans", summary="Scan a ticket at a gate",
             description="Always 200 once the scan is decided: the outcome is in `result`.")
async def scan(body: ScanIn, service: ServiceDep) -> ScanOut:
    async with service.database.unit_of_work() as uow:
        answer = await usecases.scan(uow, payload=body.payload, list_id=body.list_id, gate=body.gate, nonce=body.nonce)
    return ScanOut.model_validate(answer)


@router.get("/tickets/{ticket_id}", summary="What the gate knows of a ticket, with its check-ins")
async def gate_ticket(ticket_id: uuid.UUID, service: ServiceDep) -> GateTicketView:
    async with service.database.sessions() as session:
        ticket = (await session.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
        if ticket is None:
            raise NotFound("ticket_not_found", f"The gate does not know ticket {ticket_id} (yet).")
        admissions = (await session.execute(
            select(check_ins.c.gate, check_ins.c.checked_in_at, check_in_lists.c.name)
            .join(check_in_lists, check_in_lists.c.id == check_ins.c.list_id)
            .where(check_ins.c.ticket_id == ticket_id, check_ins.c.reverted_at.is_(None))
            .order_by(check_ins.c.checked_in_at)
        )).all()
    return GateTicketView(
        id=ticket.id, number=ticket.number, event_id=ticket.event_id, ticket_type=ticket.ticket_type_name,
        secret_version=ticket.secret_version, voided=ticket.voided, holder_name=ticket.holder_name,
        holder_company=ticket.holder_company,
        check_ins=[CheckInView(gate=a.gate, checked_in_at=a.checked_in_at, list=a.name) for a in admissions],
    )


@router.get("/events/{event_id}/lists", summary="The event's check-in lists")
async def event_lists(event_id: uuid.UUID, service: ServiceDep) -> list[CheckInListView]:
    async with service.database.sessions() as session:
        rows = (await session.execute(
            select(check_in_lists).where(check_in_lists.c.event_id == event_id).order_by(check_in_lists.c.created_at)
        )).all()
    return [CheckInListView(id=r.id, event_id=r.event_id, name=r.name, is_default=r.is_default) for r in rows]
