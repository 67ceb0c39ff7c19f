"""The help desk and the organizer's view: finding attendees, undoing check-ins, live counts and conflicts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, func, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork

from ..store.tables import check_in_conflicts, check_in_lists, check_ins, tickets

ARRIVAL_BIN = "5 minutes"


async def search(session: AsyncSession, event_id: uuid.UUID, query: str, limit: int) -> list[dict]:
    """Tickets whose holder's name or e-mail contains ``query``, or whose number it is; with their check-ins."""
    pattern = f"%{query.strip().lower()}%"
    rows = (await session.execute(
        select(tickets).where(
            tickets.c.event_id == event_id, tickets.c.ticket_type_name != "",
            or_(func.lower(tickets.c.holder_name).like(pattern), func.lower(tickets.c.holder_email).like(pattern),
                tickets.c.number == query.strip().upper()))
        .order_by(tickets.c.holder_name.nulls_last(), tickets.c.number).limit(limit))).all()
    admissions = (await session.execute(
        select(check_ins.c.id, check_ins.c.ticket_id, check_ins.c.list_id, check_ins.c.gate, check_ins.c.mode,
               check_ins.c.checked_in_at, check_in_lists.c.name.label("list_name"))
        .join(check_in_lists, check_in_lists.c.id == check_ins.c.list_id)
        .where(check_ins.c.ticket_id.in_([r.id for r in rows]), check_ins.c.reverted_at.is_(None))
        .order_by(check_ins.c.checked_in_at))).all()
    by_ticket: dict[uuid.UUID, list[dict]] = {}
    for a in admissions:
        by_ticket.setdefault(a.ticket_id, []).append(
            {"id": a.id, "list_id": a.list_id, "list": a.list_name, "gate": a.gate, "mode": a.mode,
             "checked_in_at": a.checked_in_at})
    return [{"id": r.id, "number": r.number, "ticket_type": r.ticket_type_name, "holder_name": r.holder_name,
             "holder_email": r.holder_email, "holder_company": r.holder_company, "voided": r.voided,
             "check_ins": by_ticket.get(r.id, [])} for r in rows]


async def undo_check_in(uow: UnitOfWork, check_in_id: uuid.UUID, *, reason: str, actor: str) -> None:
    """Take an admission back (scanned by mistake, wrong person): the ticket may be admitted again."""
    check_in = (await uow.session.execute(
        select(check_ins).where(check_ins.c.id == check_in_id).with_for_update())).first()
    if check_in is None:
        raise NotFound("check_in_not_found", f"No check-in {check_in_id}.")
    if check_in.reverted_at is not None:
        raise Conflict("check_in_already_undone", f"This check-in was undone at {check_in.reverted_at.isoformat()}.")
    await uow.session.execute(update(check_ins).where(check_ins.c.id == check_in_id).values(
        reverted_at=datetime.now(UTC), reverted_by=actor, revert_reason=reason))


async def counts(session: AsyncSession, event_id: uuid.UUID) -> dict:
    """Checked in against expected per list, gate and ticket type, and arrivals per five minutes."""
    valid = and_(tickets.c.event_id == event_id, tickets.c.voided.is_(False), tickets.c.ticket_type_name != "")
    active = and_(check_ins.c.reverted_at.is_(None), check_in_lists.c.event_id == event_id)
    admits = or_(check_in_lists.c.ticket_type_ids.is_(None),
                 tickets.c.ticket_type_id == func.any(check_in_lists.c.ticket_type_ids))
    expected = (select(func.count()).select_from(tickets).where(valid, admits)
                .correlate(check_in_lists).scalar_subquery())
    admitted = (select(func.count()).select_from(check_ins).where(
        check_ins.c.list_id == check_in_lists.c.id, check_ins.c.reverted_at.is_(None))
        .correlate(check_in_lists).scalar_subquery())
    lists = (await session.execute(
        select(check_in_lists.c.id, check_in_lists.c.name, expected.label("expected"), admitted.label("checked_in"))
        .where(check_in_lists.c.event_id == event_id)
        .order_by(check_in_lists.c.is_default.desc(), check_in_lists.c.created_at))).all()
    joined = check_ins.join(check_in_lists, check_in_lists.c.id == check_ins.c.list_id)
    gates = (await session.execute(
        select(check_ins.c.gate, func.count().label("checked_in")).select_from(joined).where(active)
        .group_by(check_ins.c.gate).order_by(check_ins.c.gate))).all()
    admitted_tickets = (select(check_ins.c.ticket_id).select_from(joined).where(active)).scalar_subquery()
    types = (await session.execute(
        select(tickets.c.ticket_type_id, tickets.c.ticket_type_name, func.count().label("expected"),
               func.count().filter(tickets.c.id.in_(admitted_tickets)).label("checked_in"))
        .where(valid).group_by(tickets.c.ticket_type_id, tickets.c.ticket_type_name)
        .order_by(tickets.c.ticket_type_name))).all()
    bin_start = func.date_bin(text(f"interval '{ARRIVAL_BIN}'"), check_ins.c.checked_in_at,
                              literal_column("timestamptz '2000-01-01 00:00:00+00'"))
    arrivals = (await session.execute(
        select(bin_start.label("start"), func.count().label("arrivals")).select_from(joined).where(active)
        .group_by(bin_start).order_by(bin_start))).all()
    return {
        "event_id": event_id,
        "lists": [{"list_id": r.id, "name": r.name, "expected": r.expected, "checked_in": r.checked_in} for r in lists],
        "gates": [{"gate": r.gate, "checked_in": r.checked_in} for r in gates],
        "ticket_types": [{"ticket_type_id": r.ticket_type_id, "name": r.ticket_type_name, "expected": r.expected,
                          "checked_in": r.checked_in} for r in types],
        "arrivals": [{"from": r.start, "arrivals": r.arrivals} for r in arrivals],
    }


async def conflicts(session: AsyncSession, event_id: uuid.UUID) -> list[dict]:
    rows = (await session.execute(
        select(check_in_conflicts, check_ins.c.gate.label("kept_gate"),
               check_ins.c.checked_in_at.label("kept_checked_in_at"), tickets.c.number, tickets.c.holder_name)
        .join(check_in_lists, check_in_lists.c.id == check_in_conflicts.c.list_id)
        .join(check_ins, check_ins.c.id == check_in_conflicts.c.kept_check_in_id)
        .join(tickets, tickets.c.id == check_in_conflicts.c.ticket_id)
        .where(check_in_lists.c.event_id == event_id).order_by(check_in_conflicts.c.reported_at))).all()
    return [{"id": r.id, "ticket_id": r.ticket_id, "ticket_number": r.number, "holder_name": r.holder_name,
             "list_id": r.list_id, "kept_check_in_id": r.kept_check_in_id, "kept_gate": r.kept_gate,
             "kept_checked_in_at": r.kept_checked_in_at, "gate": r.gate, "device_id": r.device_id,
             "scanned_at": r.scanned_at, "reported_at": r.reported_at} for r in rows]
