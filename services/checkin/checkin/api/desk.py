"""The help desk and the organizer (staff): attendees, manual check-in and undo, live counts, conflicts."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from ..access import Scanner, StaffReader, StaffWriter
from ..domain import Mode
from ..usecases import desk, scanning
from ..store.tables import check_in_lists, check_ins, tickets
from .scans import CheckInView, ScanOut

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["desk"])


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


@router.get("/tickets/{ticket_id}", summary="What the gate knows of a ticket, with its check-ins")
async def gate_ticket(ticket_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> GateTicketView:
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


class AttendeeCheckIn(BaseModel):
    id: uuid.UUID
    list_id: uuid.UUID
    list: str
    gate: str
    mode: str
    checked_in_at: datetime


class Attendee(BaseModel):
    id: uuid.UUID = Field(description="the ticket")
    number: str
    ticket_type: str
    holder_name: str | None
    holder_email: str | None
    holder_company: str | None
    voided: bool
    check_ins: list[AttendeeCheckIn]


@router.get("/events/{event_id}/attendees", summary="Find attendees by name, e-mail or ticket number (the desk)")
async def search_attendees(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader,
                           q: str = Query(min_length=2, max_length=200),
                           limit: int = Query(default=25, ge=1, le=200)) -> list[Attendee]:
    async with service.database.sessions() as session:
        return [Attendee.model_validate(a) for a in await desk.search(session, event_id, q, limit)]


class ManualCheckIn(BaseModel):
    ticket_id: uuid.UUID
    list_id: uuid.UUID | None = None
    gate: str = Field(min_length=1, max_length=100, examples=["Help desk"])
    nonce: str | None = Field(default=None, min_length=8, max_length=100,
                              description="makes a retried request safe; one is drawn if omitted")


@router.post("/events/{event_id}/check-ins", summary="Check a ticket in by hand at the desk",
             description="The same rules as a scan (voided, list, validity), without a QR code.")
async def manual_check_in(event_id: uuid.UUID, body: ManualCheckIn, service: ServiceDep,
                          staff: StaffWriter) -> ScanOut:
    request = scanning.ScanInput(gate=body.gate, nonce=body.nonce or f"desk-{uuid.uuid4()}", ticket_id=body.ticket_id,
                                 list_id=body.list_id, mode=Mode.MANUAL)
    async with service.database.unit_of_work() as uow:
        answer = await scanning.scan(uow, request, Scanner(actor=staff.actor, event_id=event_id))
    return ScanOut.model_validate(answer)


class UndoIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, examples=["scanned the wrong ticket"])


@router.post("/check-ins/{check_in_id}/undo", status_code=204, summary="Undo a check-in, with the reason")
async def undo_check_in(check_in_id: uuid.UUID, body: UndoIn, service: ServiceDep, staff: StaffWriter) -> None:
    async with service.database.unit_of_work() as uow:
        await desk.undo_check_in(uow, check_in_id, reason=body.reason, actor=staff.actor)


class ListCount(BaseModel):
    list_id: uuid.UUID
    name: str
    expected: int
    checked_in: int


class GateCount(BaseModel):
    gate: str
    checked_in: int


class TicketTypeCount(BaseModel):
    ticket_type_id: uuid.UUID | None
    name: str
    expected: int
    checked_in: int = Field(description="tickets of the type admitted on at least one list")


class Arrivals(BaseModel):
    start: datetime = Field(alias="from")
    arrivals: int


class Counts(BaseModel):
    event_id: uuid.UUID
    lists: list[ListCount]
    gates: list[GateCount]
    ticket_types: list[TicketTypeCount]
    arrivals: list[Arrivals] = Field(description="admissions per five minutes")


@router.get("/events/{event_id}/counts", summary="Live counts: checked in against expected, and arrivals",
            response_model_by_alias=True)
async def live_counts(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> Counts:
    async with service.database.sessions() as session:
        return Counts.model_validate(await desk.counts(session, event_id))


class ConflictView(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_number: str
    holder_name: str | None
    list_id: uuid.UUID
    kept_check_in_id: uuid.UUID
    kept_gate: str
    kept_checked_in_at: datetime
    gate: str
    device_id: uuid.UUID | None
    scanned_at: datetime
    reported_at: datetime


@router.get("/events/{event_id}/check-in-conflicts", summary="Offline admissions that met an earlier admission")
async def check_in_conflicts(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> list[ConflictView]:
    async with service.database.sessions() as session:
        return [ConflictView.model_validate(c) for c in await desk.conflicts(session, event_id)]
