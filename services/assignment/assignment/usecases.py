"""What the assignment service does: learn issued tickets, assign them to persons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork
from ticketflow_runtime.telemetry import continue_trace, current_traceparent
from ticketflow_schemas import events as contracts

from .domain import PersonDetails, holder_changes
from .store.tables import early_voids, holder_history, persons, tickets


async def record_issued_ticket(uow: UnitOfWork, event: contracts.TicketIssued) -> None:
    await uow.session.execute(
        insert(tickets)
        .values(
            id=event.ticket_id, number=event.ticket_number, order_id=event.order_id, event_id=event.event_id,
            ticket_type_name=event.ticket_type_name, buyer_email=str(event.buyer_email),
            qr_payload=event.qr_payload, secret_version=event.secret_version,
            traceparent=current_traceparent(), issued_at=event.issued_at, updated_at=datetime.now(UTC),
            voided=select(early_voids.c.ticket_id).where(early_voids.c.ticket_id == event.ticket_id).exists(),
        )
        .on_conflict_do_nothing()
    )


async def assign(uow: UnitOfWork, ticket_id: uuid.UUID, person: PersonDetails | None, *, actor: str) -> bool:
    """Give the ticket to ``person`` (None: to nobody). Returns whether the holder changed."""
    session = uow.session
    ticket = (await session.execute(select(tickets).where(tickets.c.id == ticket_id).with_for_update())).first()
    if ticket is None:
        raise NotFound("ticket_not_found", f"No ticket {ticket_id} (it may not be issued yet).")
    if ticket.voided:
        raise Conflict("ticket_voided", f"Ticket {ticket.number} is voided and cannot change hands.")
    current = await _person(session, ticket.holder_id)
    if not holder_changes(current.email if current else None, person):
        return False
    with continue_trace(ticket.traceparent, "assign ticket", **{"ticket.id": str(ticket_id)}):
        holder = await _upsert_person(session, ticket.event_id, person) if person else None
        changed_at = datetime.now(UTC)
        await session.execute(
            update(tickets).where(tickets.c.id == ticket_id)
            .values(holder_id=holder.id if holder else None, updated_at=changed_at)
        )
        await session.execute(
            insert(holder_history).values(ticket_id=ticket_id, person_id=holder.id if holder else None,
                                          changed_by=actor, at=changed_at)
        )
        await uow.outbox.add(
            contracts.TicketAssigned(
                ticket_id=ticket_id, ticket_number=ticket.number, order_id=ticket.order_id,
                event_id=ticket.event_id, ticket_type_name=ticket.ticket_type_name,
                holder=contracts.Holder(person_id=holder.id, name=holder.name, email=holder.email,
                                        company=holder.company, language=holder.language) if holder else None,
                previous_person_id=current.id if current else None,
                qr_payload=ticket.qr_payload, secret_version=ticket.secret_version,
                assigned_at=changed_at, assigned_by=actor,
            )
        )
    return True


async def _person(session: AsyncSession, person_id: uuid.UUID | None):
    if person_id is None:
        return None
    return (await session.execute(select(persons).where(persons.c.id == person_id))).first()


async def _upsert_person(session: AsyncSession, event_id: uuid.UUID, person: PersonDetails):
    """The event's person with this email, created or updated with the given details."""
    statement = (
        insert(persons)
        .values(id=uuid.uuid4(), event_id=event_id, name=person.name, email=person.email.strip(),
                company=person.company, language=person.language)
        .on_conflict_do_update(
            index_elements=[persons.c.event_id, func.lower(persons.c.email)],
            set_={"name": person.name, "company": person.company, "language": person.language},
        )
        .returning(persons)
    )
    return (await session.execute(statement)).one()


async def record_voided(uow: UnitOfWork, event: contracts.TicketVoided) -> None:
    voided = await uow.session.execute(
        update(tickets).where(tickets.c.id == event.ticket_id).values(voided=True).returning(tickets.c.id))
    if voided.first() is None:
        await uow.session.execute(insert(early_voids).values(ticket_id=event.ticket_id).on_conflict_do_nothing())


async def record_reissue(uow: UnitOfWork, event: contracts.TicketReissued) -> None:
    """Keep the ticket's current QR code for its holder (My Tickets)."""
    await uow.session.execute(
        update(tickets)
        .where(tickets.c.id == event.ticket_id, tickets.c.secret_version < event.secret_version)
        .values(qr_payload=event.qr_payload, secret_version=event.secret_version, updated_at=datetime.now(UTC))
    )
