"""HTTP API of the assignment service: who holds which ticket, and who may see and change that.

Staff hold bearer tokens with scopes (tickets:read, tickets:write). A buyer holds a
signed link to their order (audience "buyer", claim order_id); an attendee one to
their own tickets (audience "attendee", claim person_id). Every route checks that
the object asked for is the caller's to see or change.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import func, select

from ticketflow_runtime import ApiError, NotFound, ServiceDep
from ticketflow_runtime.auth import Principal, mint_link_token, rate_limited, scopes, staff_or_link
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_runtime.ticket_pdf import TicketDocument, qr_png, qr_svg, render_ticket_pdf

from . import usecases
from .bulk_import import parse_upload, report_csv
from .domain import PersonDetails, PersonField
from .store.tables import events, persons, tickets

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["assignment"])

StaffReader = Annotated[Principal, Depends(scopes("tickets:read"))]
StaffWriter = Annotated[Principal, Depends(scopes("tickets:write"))]
OrderReader = Annotated[Principal, Depends(staff_or_link("tickets:read", "buyer"))]
OrderWriter = Annotated[Principal, Depends(staff_or_link("tickets:write", "buyer"))]
TicketReader = Annotated[Principal, Depends(staff_or_link("tickets:read", "buyer", "attendee"))]
Attendee = Annotated[Principal, Depends(staff_or_link("tickets:read", "attendee"))]
PublicRateLimit = Depends(rate_limited("assignment-claims"))

LINK_TTL = timedelta(days=60)
CLAIM_TTL = timedelta(days=14)


class HolderIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    company: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    custom: dict[str, str] = Field(default_factory=dict, max_length=50)

    def details(self) -> PersonDetails:
        return PersonDetails(self.name, str(self.email), self.company, self.language, self.job_title, self.phone,
                             self.custom)


class ClaimantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    custom: dict[str, str] = Field(default_factory=dict, max_length=50)


class HolderView(BaseModel):
    person_id: uuid.UUID
    name: str
    email: str
    company: str | None


class EventView(BaseModel):
    id: uuid.UUID
    name: str | None
    starts_at: datetime | None
    venue: str | None


class TicketView(BaseModel):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    event: EventView
    ticket_type_name: str
    status: str = Field(description="issued, assigned, checked_in or voided")
    holder: HolderView | None
    updated_at: datetime


class OpenClaimView(BaseModel):
    email: str
    expires_at: datetime


class OrderTicketView(TicketView):
    open_claim: OpenClaimView | None = Field(
        default=None, description="the claim link sent for the ticket and not yet used, withdrawn or expired")


class MyTicketView(TicketView):
    qr_payload: str
    qr_svg_url: str
    qr_png_url: str
    pdf_url: str


class Link(BaseModel):
    token: str
    expires_at: datetime


class ClaimRequest(BaseModel):
    email: EmailStr = Field(description="the link is mailed here; only this address can claim with it")
    language: str = Field(default="en", pattern=r"^[a-z]{2}$", description="the email's language (en, sv)")


class ClaimView(BaseModel):
    ticket_number: str
    ticket_type_name: str
    event: EventView
    email: str
    expires_at: datetime


class ImportRowReport(BaseModel):
    line: int
    ticket: str
    email: str
    result: str
    code: str | None
    reason: str | None


class ImportReport(BaseModel):
    accepted: int
    unchanged: int
    refused: int
    rows: list[ImportRowReport]
    report_csv: str


class PersonFieldIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    label: str = Field(min_length=1, max_length=200)
    required: bool = False


class LockIn(BaseModel):
    locked_at: datetime | None = Field(description="from then on only staff can change holders; null unlocks")


# -- reading


def _status(row) -> str:
    if row.voided:
        return "voided"
    if row.checked_in_at:
        return "checked_in"
    return "assigned" if row.holder_id else "issued"


async def _ticket_rows(session, *conditions) -> list:
    return (await session.execute(
        select(tickets, persons.c.name, persons.c.email, persons.c.company, events.c.name.label("event_name"),
               events.c.starts_at, events.c.venue)
        .outerjoin(persons, persons.c.id == tickets.c.holder_id)
        .outerjoin(events, events.c.id == tickets.c.event_id)
        .where(*conditions)
        .order_by(tickets.c.number)
    )).all()


def _view(row) -> dict:
    return {
        "id": row.id, "number": row.number, "order_id": row.order_id, "ticket_type_name": row.ticket_type_name,
        "event": EventView(id=row.event_id, name=row.event_name, starts_at=row.starts_at, venue=row.venue),
        "status": _status(row), "updated_at": row.updated_at,
        "holder": HolderView(person_id=row.holder_id, name=row.name, email=row.email, company=row.company)
        if row.holder_id else None,
    }


def _may_see_order(who: Principal, order_id: uuid.UUID) -> None:
    if not who.is_staff and not (who.audience == "buyer" and who.claims.get("order_id") == str(order_id)):
        raise ApiError(403, "not_your_order", "This link does not give access to that order.")


async def _ticket_for(service, who: Principal, ticket_id: uuid.UUID, *, write: bool):
    """The ticket, if the caller may see (or change) it; 404 otherwise, so nothing leaks."""
    async with service.database.sessions() as session:
        rows = await _ticket_rows(session, tickets.c.id == ticket_id)
    row = rows[0] if rows else None
    allowed = row is not None and (
        who.is_staff
        or (who.audience == "buyer" and who.claims.get("order_id") == str(row.order_id))
        or (not write and who.audience == "attendee" and row.holder_id is not None
            and who.claims.get("person_id") == str(row.holder_id))
    )
    if not allowed:
        raise NotFound("ticket_not_found", f"No ticket {ticket_id} for you (it may not be issued yet).")
    return row


@router.get("/orders/{order_id}/tickets", summary="The order's tickets and their holders (staff or the buyer)")
async def order_tickets(order_id: uuid.UUID, service: ServiceDep, who: OrderReader) -> list[OrderTicketView]:
    _may_see_order(who, order_id)
    async with service.database.sessions() as session:
        rows = await _ticket_rows(session, tickets.c.order_id == order_id)
        offered = await usecases.open_claims(session, [r.id for r in rows])
    return [OrderTicketView(**_view(r), open_claim=OpenClaimView(email=c.email, expires_at=c.expires_at)
                            if (c := offered.get(r.id)) else None) for r in rows]


@router.get("/tickets/{ticket_id}", summary="A ticket and its holder")
async def get_ticket(ticket_id: uuid.UUID, service: ServiceDep, who: TicketReader) -> TicketView:
    return TicketView(**_view(await _ticket_for(service, who, ticket_id, write=False)))


# -- changing holders


@router.put("/tickets/{ticket_id}/holder", summary="Assign (or reassign) the ticket to a person")
async def assign_ticket(ticket_id: uuid.UUID, body: HolderIn, service: ServiceDep, who: OrderWriter) -> TicketView:
    await _ticket_for(service, who, ticket_id, write=True)
    async with service.database.unit_of_work() as uow:
        await usecases.assign(uow, ticket_id, body.details(), actor=who.actor, by_staff=who.is_staff)
    return await get_ticket(ticket_id, service, who)


@router.delete("/tickets/{ticket_id}/holder", summary="Unassign the ticket: nobody holds it")
async def unassign_ticket(ticket_id: uuid.UUID, service: ServiceDep, who: OrderWriter) -> TicketView:
    await _ticket_for(service, who, ticket_id, write=True)
    async with service.database.unit_of_work() as uow:
        await usecases.assign(uow, ticket_id, None, actor=who.actor, by_staff=who.is_staff)
    return await get_ticket(ticket_id, service, who)


@router.post("/orders/{order_id}/assignments.csv", summary="Assign the order's tickets from a CSV upload",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def upload_assignments(order_id: uuid.UUID, request: Request, service: ServiceDep,
                             who: OrderWriter) -> ImportReport:
    _may_see_order(who, order_id)
    parsed = parse_upload(await request.body())
    if parsed.errors:
        raise ApiError(422, "invalid_file", " ".join(parsed.errors), problems=parsed.errors)
    async with service.database.unit_of_work() as uow:
        outcomes = await usecases.assign_rows(uow, order_id, parsed.rows, actor=who.actor, by_staff=who.is_staff)
    rows = [ImportRowReport(line=o.row.line, ticket=o.row.ticket_ref, email=o.row.email, result=o.result,
                            code=o.code, reason=o.reason) for o in outcomes]
    # The report shows each row as it ended: refused by the file check or when applied.
    reported = [replace(o.row, problem=o.reason, problem_code=o.code) if o.result == "refused" else o.row
                for o in outcomes]
    return ImportReport(accepted=sum(o.result == "accepted" for o in outcomes),
                        unchanged=sum(o.result == "unchanged" for o in outcomes),
                        refused=sum(o.result == "refused" for o in outcomes), rows=rows,
                        report_csv=report_csv(reported))


# -- claim links


@router.post("/tickets/{ticket_id}/claims", status_code=status.HTTP_201_CREATED,
             summary="Send the ticket to an address: a claim link that works once and expires",
             description="The link is emailed to the address (ticket.claim_offered) and returned, to share "
                         "another way too. A ticket has one open link: a newer one, or the ticket changing "
                         "hands, withdraws it.")
async def create_claim(ticket_id: uuid.UUID, body: ClaimRequest, service: ServiceDep, who: OrderWriter) -> Link:
    await _ticket_for(service, who, ticket_id, write=True)
    async with service.database.unit_of_work() as uow:
        link = await usecases.create_claim(uow, ticket_id, str(body.email), actor=who.actor, by_staff=who.is_staff,
                                           ttl=CLAIM_TTL, language=body.language)
    return Link(token=link.token, expires_at=link.expires_at)


@router.get("/claims/{token}", summary="What a claim link offers", dependencies=[PublicRateLimit])
async def view_claim(token: str, service: ServiceDep) -> ClaimView:
    async with service.database.sessions() as session:
        claim = await usecases.open_claim(session, token)
        row = (await _ticket_rows(session, tickets.c.id == claim.ticket_id))[0]
    return ClaimView(ticket_number=row.number, ticket_type_name=row.ticket_type_name,
                     event=_view(row)["event"], email=claim.email, expires_at=claim.expires_at)


@router.post("/claims/{token}", summary="Claim the ticket: confirm your details and become its holder",
             dependencies=[PublicRateLimit])
async def redeem_claim(token: str, body: ClaimantIn, service: ServiceDep) -> TicketView:
    async with service.database.unit_of_work() as uow:
        ticket_id = await usecases.redeem_claim(
            uow, token, PersonDetails(body.name, "", body.company, body.language, body.job_title, body.phone,
                                      body.custom))
    async with service.database.sessions() as session:
        return TicketView(**_view((await _ticket_rows(session, tickets.c.id == ticket_id))[0]))


# -- links and the organizer's lock


@router.post("/orders/{order_id}/buyer-link", summary="A signed link for the buyer to manage the order's tickets")
async def buyer_link(order_id: uuid.UUID, service: ServiceDep, staff: StaffWriter) -> Link:
    token = mint_link_token(service.settings.auth_jwt_secret, "buyer", f"order:{order_id}",
                            {"order_id": str(order_id)}, ttl_seconds=int(LINK_TTL.total_seconds()))
    return Link(token=token, expires_at=_expiry(LINK_TTL))


@router.post("/persons/{person_id}/my-tickets-link", summary="A signed link for an attendee to My Tickets")
async def my_tickets_link(person_id: uuid.UUID, service: ServiceDep, staff: StaffWriter) -> Link:
    async with service.database.sessions() as session:
        if await session.scalar(select(persons.c.id).where(persons.c.id == person_id)) is None:
            raise NotFound("person_not_found", f"No person {person_id}.")
    token = mint_link_token(service.settings.auth_jwt_secret, "attendee", f"person:{person_id}",
                            {"person_id": str(person_id)}, ttl_seconds=int(LINK_TTL.total_seconds()))
    return Link(token=token, expires_at=_expiry(LINK_TTL))


@router.put("/events/{event_id}/lock", summary="Close (or reopen) ticket changes by buyers and attendees")
async def lock_changes(event_id: uuid.UUID, body: LockIn, service: ServiceDep, staff: StaffWriter) -> dict:
    async with service.database.unit_of_work() as uow:
        await usecases.lock_changes(uow, event_id, body.locked_at)
    return {"event_id": str(event_id), "locked_at": body.locked_at.isoformat() if body.locked_at else None}


@router.put("/events/{event_id}/person-fields", summary="Define the custom person fields asked at this event")
async def define_person_fields(event_id: uuid.UUID, body: list[PersonFieldIn], service: ServiceDep,
                               staff: StaffWriter) -> list[PersonFieldIn]:
    if len({f.key for f in body}) != len(body):
        raise ApiError(422, "duplicate_person_field", "Each field key may appear once.")
    async with service.database.unit_of_work() as uow:
        await usecases.define_person_fields(uow, event_id, [PersonField(f.key, f.label, f.required) for f in body])
    return body


@router.get("/events/{event_id}/person-fields", summary="The custom person fields asked at this event (public)",
            dependencies=[PublicRateLimit])
async def person_fields(event_id: uuid.UUID, service: ServiceDep) -> list[PersonFieldIn]:
    async with service.database.sessions() as session:
        fields = await usecases.event_person_fields(session, event_id)
    return [PersonFieldIn(key=f.key, label=f.label, required=f.required) for f in fields]


def _expiry(ttl: timedelta) -> datetime:
    return usecases.now() + ttl


# -- My Tickets


@router.get("/me/tickets", summary="My Tickets: the attendee's tickets across events")
async def my_tickets(service: ServiceDep, who: Attendee) -> list[MyTicketView]:
    if who.is_staff:
        raise ApiError(400, "attendee_link_required", "My Tickets is read with an attendee's link.")
    async with service.database.sessions() as session:
        email = await session.scalar(select(persons.c.email).where(persons.c.id == uuid.UUID(who.claims["person_id"])))
        # A person is per event: the same address holds tickets as several persons. Compared
        # as the unique index compares it (a LIKE would read "_" in an address as a wildcard).
        holders = select(persons.c.id).where(func.lower(persons.c.email) == (email or "").lower())
        rows = await _ticket_rows(session, tickets.c.holder_id.in_(holders))
    return [_my_view(row) for row in rows]


def _my_view(row) -> MyTicketView:
    base = f"/v1/me/tickets/{row.id}"
    return MyTicketView(**_view(row), qr_payload=row.qr_payload, qr_svg_url=f"{base}/qr.svg",
                        qr_png_url=f"{base}/qr.png", pdf_url=f"{base}/ticket.pdf")


async def _own_ticket(service, who: Principal, ticket_id: uuid.UUID):
    row = await _ticket_for(service, who, ticket_id, write=False)
    if row.voided:
        raise ApiError(410, "ticket_voided", f"Ticket {row.number} is voided.")
    return row


@router.get("/me/tickets/{ticket_id}/qr.svg", summary="The ticket's QR code (SVG)", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
async def my_ticket_svg(ticket_id: uuid.UUID, service: ServiceDep, who: TicketReader) -> Response:
    row = await _own_ticket(service, who, ticket_id)
    return Response(qr_svg(row.qr_payload, title=f"QR code of ticket {row.number}"), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


@router.get("/me/tickets/{ticket_id}/qr.png", summary="The ticket's QR code (PNG)", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def my_ticket_png(ticket_id: uuid.UUID, service: ServiceDep, who: TicketReader) -> Response:
    row = await _own_ticket(service, who, ticket_id)
    return Response(qr_png(row.qr_payload), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/me/tickets/{ticket_id}/ticket.pdf", summary="The printable ticket with its QR code",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def my_ticket_pdf(ticket_id: uuid.UUID, service: ServiceDep, who: TicketReader) -> Response:
    row = await _own_ticket(service, who, ticket_id)
    async with service.database.sessions() as session:
        language = await session.scalar(select(persons.c.language).where(persons.c.id == row.holder_id)) or "en"
    pdf = render_ticket_pdf(TicketDocument(
        ticket_number=row.number, ticket_type=row.ticket_type_name, holder_name=row.name,
        holder_company=row.company, event_name=row.event_name or "Event",
        event_starts_at=row.starts_at or row.issued_at, event_venue=row.venue, qr_payload=row.qr_payload,
        language="sv" if language == "sv" else "en"))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="ticket-{row.number}.pdf"',
                             "Cache-Control": "no-store"})
