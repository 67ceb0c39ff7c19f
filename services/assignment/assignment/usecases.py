"""What the assignment service does: learn issued tickets, hand them to persons, by assignment,
claim link or CSV upload, within the organizer's deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import ApiError, Conflict, Delivery, NotFound, UnitOfWork, Unprocessable
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_schemas import events as contracts

from .bulk_import import ImportRow
from .domain import (
    PersonDetails, PersonField, changes_locked, claim_token_hash, custom_field_problems, holder_changes,
    new_claim_token,
)
from .store.tables import claims, early_voids, events, holder_history, person_fields, persons, tickets


def now() -> datetime:
    return datetime.now(UTC)


# -- the projection of tickets


async def record_issued_tickets(uow: UnitOfWork, issued: list[Delivery[contracts.TicketIssued]]) -> None:
    """Make newly issued tickets assignable: one statement per table for the whole batch."""
    session = uow.session
    latest_per_event = {d.event.event_id: d.event for d in issued}
    upsert_events = insert(events)
    await session.execute(
        upsert_events.on_conflict_do_update(index_elements=[events.c.id], set_={
            "name": func.coalesce(upsert_events.excluded.name, events.c.name),
            "starts_at": func.coalesce(upsert_events.excluded.starts_at, events.c.starts_at),
            "venue": func.coalesce(upsert_events.excluded.venue, events.c.venue)}),
        [{"id": e.event_id, "name": e.event_name, "starts_at": e.event_starts_at, "venue": e.event_venue}
         for e in latest_per_event.values()],
    )
    ticket_ids = [d.event.ticket_id for d in issued]
    # A void that came first (another topic) applies as the ticket arrives.
    voided_early = set((await session.scalars(
        select(early_voids.c.ticket_id).where(early_voids.c.ticket_id.in_(ticket_ids)))).all())
    updated = now()
    await session.execute(
        insert(tickets).on_conflict_do_nothing(),
        [{"id": e.ticket_id, "number": e.ticket_number, "order_id": e.order_id, "event_id": e.event_id,
          "ticket_type_name": e.ticket_type_name, "buyer_email": str(e.buyer_email), "qr_payload": e.qr_payload,
          "secret_version": e.secret_version, "traceparent": d.traceparent, "issued_at": e.issued_at,
          "updated_at": updated, "voided": e.ticket_id in voided_early}
         for d in issued for e in [d.event]],
    )


async def record_voided(uow: UnitOfWork, event: contracts.TicketVoided) -> None:
    voided = await uow.session.execute(
        update(tickets).where(tickets.c.id == event.ticket_id).values(voided=True).returning(tickets.c.id))
    if voided.first() is None:
        # The void came first (another topic): applied when the ticket arrives.
        await uow.session.execute(insert(early_voids).values(ticket_id=event.ticket_id).on_conflict_do_nothing())


async def record_reissue(uow: UnitOfWork, event: contracts.TicketReissued) -> None:
    """Keep the ticket's current QR code for its holder (My Tickets)."""
    await uow.session.execute(
        update(tickets)
        .where(tickets.c.id == event.ticket_id, tickets.c.secret_version < event.secret_version)
        .values(qr_payload=event.qr_payload, secret_version=event.secret_version, updated_at=now())
    )


async def record_check_ins(uow: UnitOfWork, admitted: list[contracts.TicketCheckedIn]) -> None:
    """The first admission of each ticket (on any list) is the one shown; one pipelined statement per batch."""
    await uow.session.execute(
        update(tickets).where(tickets.c.id == bindparam("admitted_ticket"))
        .values(checked_in_at=func.coalesce(tickets.c.checked_in_at, bindparam("admitted_at"))),
        [{"admitted_ticket": event.ticket_id, "admitted_at": event.checked_in_at} for event in admitted])


# -- assignment


async def load_ticket(session: AsyncSession, ticket_id: uuid.UUID, *, lock: bool = False):
    statement = select(tickets).where(tickets.c.id == ticket_id)
    ticket = (await session.execute(statement.with_for_update() if lock else statement)).first()
    if ticket is None:
        raise NotFound("ticket_not_found", f"No ticket {ticket_id} (it may not be issued yet).")
    return ticket


async def changeable_ticket(session: AsyncSession, ticket_id: uuid.UUID, *, by_staff: bool):
    """The (locked) ticket, if it may change hands now: not voided, and before the organizer's deadline."""
    ticket = await load_ticket(session, ticket_id, lock=True)
    if ticket.voided:
        raise Conflict("ticket_voided", f"Ticket {ticket.number} is voided and cannot change hands.")
    locked_at = await session.scalar(select(events.c.changes_locked_at).where(events.c.id == ticket.event_id))
    if changes_locked(locked_at, now(), by_staff=by_staff):
        raise Conflict("changes_locked", f"Ticket changes for this event closed at {locked_at.isoformat()}; "
                       "the organizer can still make them.", locked_at=locked_at.isoformat())
    return ticket


async def assign(uow: UnitOfWork, ticket_id: uuid.UUID, person: PersonDetails | None, *, actor: str,
                 by_staff: bool) -> bool:
    """Give the ticket to ``person`` (None: to nobody). Returns whether the holder changed."""
    session = uow.session
    ticket = await changeable_ticket(session, ticket_id, by_staff=by_staff)
    if person is not None:
        await check_custom_fields(session, ticket.event_id, person.custom)
    current = await _person(session, ticket.holder_id)
    if not holder_changes(current.email if current else None, person):
        if person is not None and current is not None:
            await _upsert_person(session, ticket.event_id, person)  # details may have changed
        return False
    with continue_trace(ticket.traceparent, "assign ticket", **{"ticket.id": str(ticket_id)}):
        holder = await _upsert_person(session, ticket.event_id, person) if person else None
        changed_at = now()
        await session.execute(
            update(tickets).where(tickets.c.id == ticket_id)
            .values(holder_id=holder.id if holder else None, updated_at=changed_at)
        )
        await session.execute(
            insert(holder_history).values(ticket_id=ticket_id, person_id=holder.id if holder else None,
                                          changed_by=actor, at=changed_at)
        )
        await _withdraw_open_claims(session, ticket_id, changed_at)
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
    details = {"name": person.name, "company": person.company, "language": person.language,
               "job_title": person.job_title, "phone": person.phone, "custom": person.custom}
    statement = (
        insert(persons)
        .values(id=uuid.uuid4(), event_id=event_id, email=person.email.strip(), **details)
        .on_conflict_do_update(index_elements=[persons.c.event_id, func.lower(persons.c.email)], set_=details)
        .returning(persons)
    )
    return (await session.execute(statement)).one()


async def event_person_fields(session: AsyncSession, event_id: uuid.UUID) -> list[PersonField]:
    rows = (await session.execute(
        select(person_fields).where(person_fields.c.event_id == event_id).order_by(person_fields.c.position))).all()
    return [PersonField(r.key, r.label, r.required) for r in rows]


async def check_custom_fields(session: AsyncSession, event_id: uuid.UUID, custom: dict[str, str]) -> None:
    problems = custom_field_problems(await event_person_fields(session, event_id), custom)
    if problems:
        raise Unprocessable("invalid_person_fields", "; ".join(problems) + ".", problems=problems)


async def define_person_fields(uow: UnitOfWork, event_id: uuid.UUID, fields: list[PersonField]) -> None:
    """Replace the event's custom person fields (values already stored are kept)."""
    await uow.session.execute(delete(person_fields).where(person_fields.c.event_id == event_id))
    if fields:
        await uow.session.execute(insert(person_fields), [
            {"event_id": event_id, "key": f.key, "label": f.label, "required": f.required, "position": n}
            for n, f in enumerate(fields, start=1)])


async def lock_changes(uow: UnitOfWork, event_id: uuid.UUID, locked_at: datetime | None) -> None:
    found = await uow.session.execute(
        update(events).where(events.c.id == event_id).values(changes_locked_at=locked_at).returning(events.c.id))
    if found.first() is None:
        raise NotFound("event_not_found", f"No tickets of event {event_id} are known here.")


# -- claim links


@dataclass(frozen=True)
class ClaimLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenClaim:
    email: str
    expires_at: datetime


async def create_claim(uow: UnitOfWork, ticket_id: uuid.UUID, email: str, *, actor: str, by_staff: bool,
                       ttl: timedelta, language: str = "en") -> ClaimLink:
    """A claim link for ``email``, mailed to it (ticket.claim_offered) in ``language``."""
    session = uow.session
    ticket = await changeable_ticket(session, ticket_id, by_staff=by_staff)
    token, token_hash = new_claim_token()
    created = now()
    email = email.strip()
    await _withdraw_open_claims(session, ticket_id, created)  # one open offer per ticket: the newest
    await session.execute(insert(claims).values(token_hash=token_hash, ticket_id=ticket_id, email=email,
                                                created_by=actor, created_at=created, expires_at=created + ttl))
    with continue_trace(ticket.traceparent, "offer ticket", **{"ticket.id": str(ticket_id)}):
        await uow.outbox.add(contracts.TicketClaimOffered(
            ticket_id=ticket_id, ticket_number=ticket.number, order_id=ticket.order_id, event_id=ticket.event_id,
            ticket_type_name=ticket.ticket_type_name, email=email, claim_token=token, expires_at=created + ttl,
            language=language, offered_by=actor, offered_at=created))
    return ClaimLink(token=token, expires_at=created + ttl)


async def open_claim(session: AsyncSession, token: str, *, lock: bool = False):
    statement = select(claims).where(claims.c.token_hash == claim_token_hash(token))
    claim = (await session.execute(statement.with_for_update() if lock else statement)).first()
    if claim is None:
        raise NotFound("claim_not_found", "This claim link is not valid.")
    if claim.claimed_at is not None:
        raise Conflict("claim_used", "This claim link has been used already.")
    if claim.withdrawn_at is not None:
        raise Conflict("claim_withdrawn", "This claim link was replaced, or the ticket went to someone else; "
                                          "ask the sender.")
    if claim.expires_at <= now():
        raise Conflict("claim_expired", "This claim link has expired; ask the sender for a new one.")
    return claim


async def redeem_claim(uow: UnitOfWork, token: str, person: PersonDetails) -> uuid.UUID:
    """The recipient confirms their details and becomes the holder; the link then works no more."""
    claim = await open_claim(uow.session, token, lock=True)
    details = PersonDetails(person.name, claim.email, person.company, person.language, person.job_title,
                            person.phone, person.custom)
    # Used before the ticket changes hands, which withdraws the links still open.
    this_claim = claims.c.token_hash == claim.token_hash
    await uow.session.execute(update(claims).where(this_claim).values(claimed_at=now()))
    await assign(uow, claim.ticket_id, details, actor=f"claim:{claim.email}", by_staff=False)
    holder_id = await uow.session.scalar(select(tickets.c.holder_id).where(tickets.c.id == claim.ticket_id))
    await uow.session.execute(update(claims).where(this_claim).values(person_id=holder_id))
    return claim.ticket_id


def _open_at(at: datetime) -> tuple:
    """A claim link still open at ``at``: not used, not withdrawn, not expired."""
    return claims.c.claimed_at.is_(None), claims.c.withdrawn_at.is_(None), claims.c.expires_at > at


async def open_claims(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> dict[uuid.UUID, OpenClaim]:
    """Each ticket's claim link still open (sent, not used, withdrawn or expired): its address and expiry."""
    rows = (await session.execute(
        select(claims.c.ticket_id, claims.c.email, claims.c.expires_at)
        .where(claims.c.ticket_id.in_(ticket_ids), *_open_at(now())).order_by(claims.c.created_at)
    )).all() if ticket_ids else []
    return {row.ticket_id: OpenClaim(email=row.email, expires_at=row.expires_at) for row in rows}


async def _withdraw_open_claims(session: AsyncSession, ticket_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(claims).where(claims.c.ticket_id == ticket_id, *_open_at(at)).values(withdrawn_at=at))


# -- CSV upload


@dataclass(frozen=True)
class RowOutcome:
    row: ImportRow
    result: str  # accepted, unchanged or refused
    code: str | None = None
    reason: str | None = None


async def assign_rows(uow: UnitOfWork, order_id: uuid.UUID, rows: list[ImportRow], *, actor: str,
                      by_staff: bool) -> list[RowOutcome]:
    """Apply an uploaded file row by row: each row in its own savepoint, so none is half applied."""
    session = uow.session
    order_tickets = (await session.execute(
        select(tickets.c.id, tickets.c.number).where(tickets.c.order_id == order_id))).all()
    by_ref = {str(t.id): t.id for t in order_tickets} | {t.number.upper(): t.id for t in order_tickets}
    outcomes = []
    for row in rows:
        if not row.accepted:
            outcomes.append(RowOutcome(row, "refused", row.problem_code, row.problem))
            continue
        ticket_id = by_ref.get(row.ticket_ref)
        if ticket_id is None:
            outcomes.append(RowOutcome(row, "refused", "ticket_not_in_order",
                                       f"{row.ticket_ref} is not a ticket of this order."))
            continue
        person = PersonDetails(row.name, row.email, row.company, row.language, row.job_title, row.phone, row.custom)
        try:
            async with session.begin_nested():
                changed = await assign(uow, ticket_id, person, actor=actor, by_staff=by_staff)
        except ApiError as refused:  # locked, voided, or custom fields the organizer did not define
            outcomes.append(RowOutcome(row, "refused", refused.code, refused.message))
            continue
        outcomes.append(RowOutcome(row, "accepted" if changed else "unchanged"))
    return outcomes
