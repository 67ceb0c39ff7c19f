"""The gate's own projection of tickets: learnt from issuance and assignment events.

Events come on different topics, so they may arrive in any order: every handler
upserts, a higher secret version always wins, and a void sticks. Every change
takes the next ``ticket_changes`` number, the cursor scanners sync from.

A sequence number is taken before its transaction commits, so two transactions
changing tickets at once could commit out of order: a scanner syncing in
between would read the higher number, hold it as its cursor, and never see the
lower one (a void, a reissue). So the transactions that number changes take
one lock first (`_number_changes`), held until they commit: the numbers
become visible in order.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime

from sqlalchemy import case, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Delivery, UnitOfWork
from ticketflow_schemas import events as contracts
from ticketflow_schemas import qr

from ..store.tables import check_in_lists, signing_keys, ticket_changes, tickets

DEFAULT_LIST_NAME = "Main entrance"
_CHANGES_LOCK = zlib.crc32(b"ticketflow-checkin-ticket-changes")


async def _number_changes(session: AsyncSession) -> None:
    """First in a handler that takes ``ticket_changes`` numbers: one such transaction at a time. Taken before
    the handler's writes, so that no transaction holds it while it waits for another's row."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGES_LOCK})


async def record_issued_tickets(uow: UnitOfWork, issued: list[Delivery[contracts.TicketIssued]]) -> None:
    """Learn a batch of issued tickets, their events' public keys and default lists: a statement per table."""
    session = uow.session
    await _number_changes(session)
    await _record_keys(session, [delivery.event for delivery in issued])
    updated = datetime.now(UTC)
    # ticket.assigned may have come first (another topic) and created the row: keep its holder.
    await session.execute(_UPSERT_ISSUED, [
        {"id": e.ticket_id, "number": e.ticket_number, "order_id": e.order_id, "event_id": e.event_id,
         "event_name": e.event_name, "ticket_type_id": e.ticket_type_id, "ticket_type_name": e.ticket_type_name,
         "secret_version": e.secret_version, "qr_payload": e.qr_payload, "traceparent": d.traceparent,
         "updated_at": updated} for d in issued for e in [d.event]])
    await session.execute(
        insert(check_in_lists)
        .on_conflict_do_nothing(index_elements=[check_in_lists.c.event_id], index_where=check_in_lists.c.is_default),
        [{"id": uuid.uuid4(), "event_id": event_id, "name": DEFAULT_LIST_NAME, "is_default": True}
         for event_id in sorted({d.event.event_id for d in issued})],
    )


async def record_reissues(uow: UnitOfWork, reissued: list[Delivery[contracts.TicketReissued]]) -> None:
    """The new secret versions make every older QR code of their tickets answer "revoked"."""
    await _number_changes(uow.session)
    await _record_keys(uow.session, [delivery.event for delivery in reissued])
    await _upsert_tickets(uow.session, [
        (d.event, None if d.event.holder_unchanged else (d.event.holder or False), d.traceparent) for d in reissued])


async def record_assignments(uow: UnitOfWork, assigned: list[Delivery[contracts.TicketAssigned]]) -> None:
    # ticket.assigned may arrive before ticket.issued (another topic): either creates the row.
    await _number_changes(uow.session)
    await _upsert_tickets(uow.session, [(d.event, d.event.holder or False, d.traceparent) for d in assigned])


async def record_voided(uow: UnitOfWork, event: contracts.TicketVoided) -> None:
    """A voided ticket is refused at the gate, even if its issue has not reached the gate yet."""
    await _number_changes(uow.session)
    now = datetime.now(UTC)
    await uow.session.execute(
        insert(tickets)
        .values(id=event.ticket_id, number=event.ticket_number, order_id=event.order_id, event_id=event.event_id,
                ticket_type_name="", secret_version=0, voided=True, updated_at=now)
        .on_conflict_do_update(index_elements=[tickets.c.id],
                               set_={"voided": True, "updated_at": now, "change_seq": ticket_changes.next_value()})
    )


def _newest_secret(upsert) -> dict:
    """The higher secret version wins, with its QR code: events of one ticket may arrive out of order."""
    newer = upsert.excluded.secret_version >= tickets.c.secret_version
    return {
        "secret_version": func.greatest(tickets.c.secret_version, upsert.excluded.secret_version),
        "qr_payload": case((newer, upsert.excluded.qr_payload), else_=tickets.c.qr_payload),
    }


async def _record_keys(session: AsyncSession, events: list[contracts.TicketIssued | contracts.TicketReissued]) -> None:
    """The events' public keys, each once."""
    keys = {event.signing_key.key_id: event for event in events}
    await session.execute(insert(signing_keys).on_conflict_do_nothing(), [
        {"key_id": qr.key_id_from_text(e.signing_key.key_id), "event_id": e.event_id,
         "public_key": qr.decode_raw(e.signing_key.public_key)} for e in keys.values()])


FACTS = ("number", "order_id", "event_id", "ticket_type_name", "traceparent", "updated_at")
ISSUE = ("event_name", "ticket_type_id")
HOLDER = ("holder_person_id", "holder_name", "holder_email", "holder_company")


def _ticket_upsert(columns: tuple[str, ...]):
    """Insert the ticket or update ``columns`` of it, keeping the newest secret; built once, run for many."""
    upsert = insert(tickets)
    return upsert.on_conflict_do_update(index_elements=[tickets.c.id], set_={
        **{column: upsert.excluded[column] for column in columns}, **_newest_secret(upsert),
        "change_seq": ticket_changes.next_value()})


_UPSERT_ISSUED = _ticket_upsert(FACTS + ISSUE)
_UPSERT_FACTS, _UPSERT_FACTS_AND_HOLDER = _ticket_upsert(FACTS), _ticket_upsert(FACTS + HOLDER)


async def _upsert_tickets(session: AsyncSession, changes: list[tuple[
        contracts.TicketAssigned | contracts.TicketReissued, contracts.Holder | None | bool, str | None]]) -> None:
    """Each (event, holder, traceparent): the ticket's facts and secret, and its holder unless ``holder`` is None
    (False: nobody holds it now). A statement for each of the two kinds; a ticket's holder changes in event order."""
    updated = datetime.now(UTC)
    facts, with_holder = [], []
    for event, holder, traceparent in changes:
        values = {"id": event.ticket_id, "secret_version": event.secret_version, "qr_payload": event.qr_payload,
                  "number": event.ticket_number, "order_id": event.order_id, "event_id": event.event_id,
                  "ticket_type_name": event.ticket_type_name, "traceparent": traceparent, "updated_at": updated}
        if holder is None:
            facts.append(values)
        else:
            with_holder.append(values | {
                "holder_person_id": holder.person_id if holder else None, "holder_name": holder.name if holder else None,
                "holder_email": str(holder.email) if holder else None,
                "holder_company": holder.company if holder else None})
    if facts:
        await session.execute(_UPSERT_FACTS, facts)
    if with_holder:
        await session.execute(_UPSERT_FACTS_AND_HOLDER, with_holder)
