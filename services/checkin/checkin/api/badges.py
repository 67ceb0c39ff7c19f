"""Badges (staff): a printable badge per ticket, and a batch for a list or a filter."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, or_, select

from ticketflow_runtime import Conflict, NotFound, ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from ..access import StaffReader
from ..badges import Badge, badges_pdf
from ..usecases.gates import load_list
from ..store.tables import check_ins, tickets

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["badges"])

PDF = {200: {"content": {"application/pdf": {}}, "description": "the badges, one A6 page each"}}
MOST_BADGES = 5000


def _badge(row) -> Badge:
    return Badge(holder_name=row.holder_name, holder_company=row.holder_company, ticket_type=row.ticket_type_name,
                 ticket_number=row.number, qr_payload=row.qr_payload, event_name=row.event_name)


def _pdf(rows, filename: str) -> Response:
    # The newest change among the badges dates the document: the same badges give the same bytes.
    created_at = max(row.updated_at for row in rows)
    return Response(badges_pdf([_badge(r) for r in rows], created_at=created_at), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/tickets/{ticket_id}/badge.pdf", summary="A ticket's printable badge", response_class=Response,
            responses=PDF)
async def ticket_badge(ticket_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> Response:
    async with service.database.sessions() as session:
        row = (await session.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
    if row is None or row.qr_payload is None:
        raise NotFound("ticket_not_found", f"The gate does not know ticket {ticket_id} (yet).")
    if row.voided:
        raise Conflict("ticket_voided", "A voided ticket gets no badge.")
    return _pdf([row], f"badge-{row.number}.pdf")


@router.get("/events/{event_id}/badges.pdf", summary="Badges for a check-in list or a filter, in name order",
            response_class=Response, responses=PDF)
async def event_badges(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader,
                       list_id: uuid.UUID | None = Query(default=None, description="the tickets this list admits"),
                       ticket_type_id: uuid.UUID | None = None,
                       q: str | None = Query(default=None, min_length=2, max_length=200,
                                             description="holder's name, e-mail or company contains"),
                       checked_in: bool | None = Query(default=None, description="only (or all but) those admitted")
                       ) -> Response:
    query = select(tickets).where(tickets.c.event_id == event_id, tickets.c.voided.is_(False),
                                  tickets.c.qr_payload.is_not(None))
    async with service.database.sessions() as session:
        if list_id is not None:
            check_list = await load_list(session, list_id)
            if check_list.event_id != event_id:
                raise NotFound("check_in_list_not_found", f"Event {event_id} has no check-in list {list_id}.")
            if check_list.ticket_type_ids is not None:
                query = query.where(tickets.c.ticket_type_id.in_(check_list.ticket_type_ids))
        if ticket_type_id is not None:
            query = query.where(tickets.c.ticket_type_id == ticket_type_id)
        if q is not None:
            pattern = f"%{q.strip().lower()}%"
            query = query.where(or_(*(func.lower(column).like(pattern) for column in (
                tickets.c.holder_name, tickets.c.holder_email, tickets.c.holder_company))))
        if checked_in is not None:
            admitted = select(check_ins.c.ticket_id).where(check_ins.c.reverted_at.is_(None))
            if list_id is not None:
                admitted = admitted.where(check_ins.c.list_id == list_id)
            query = query.where(tickets.c.id.in_(admitted) if checked_in else tickets.c.id.not_in(admitted))
        rows = (await session.execute(
            query.order_by(tickets.c.holder_name.nulls_last(), tickets.c.number).limit(MOST_BADGES + 1))).all()
    if not rows:
        raise NotFound("no_badges", "No ticket matches: there is nothing to print.")
    if len(rows) > MOST_BADGES:
        raise Conflict("too_many_badges", f"More than {MOST_BADGES} badges: narrow the filter.", most=MOST_BADGES)
    return _pdf(rows, f"badges-{event_id}.pdf")
