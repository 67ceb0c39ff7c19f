"""What the checkin service does: keep its ticket projection, admit scans exactly once."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Delivery, NotFound, UnitOfWork
from ticketflow_runtime.telemetry import continue_trace, current_traceparent
from ticketflow_schemas import events as contracts
from ticketflow_schemas import qr

from .domain import MESSAGES, ScanResult, ticket_state_result
from .store.tables import check_in_lists, check_ins, scans, signing_keys, tickets

DEFAULT_LIST_NAME = "Main entrance"


# -- projection


async def record_issued_tickets(uow: UnitOfWork, issued: list[Delivery[contracts.TicketIssued]]) -> None:
    """Learn a batch of issued tickets, their events' public keys and default lists: a statement per table."""
    session = uow.session
    per_key = {d.event.signing_key.key_id: d.event for d in issued}
    await session.execute(insert(signing_keys).on_conflict_do_nothing(), [
        {"key_id": qr.key_id_from_text(e.signing_key.key_id), "event_id": e.event_id,
         "public_key": _decode_key(e.signing_key.public_key)} for e in per_key.values()])
    upsert = insert(tickets)
    updated = datetime.now(UTC)
    # ticket.assigned may have come first (another topic) and created the row: keep its holder.
    await session.execute(
        upsert.on_conflict_do_update(index_elements=[tickets.c.id], set_={
            "secret_version": func.greatest(tickets.c.secret_version, upsert.excluded.secret_version),
            **{column: upsert.excluded[column]
               for column in ("number", "order_id", "event_id", "ticket_type_name", "traceparent", "updated_at")},
        }),
        [{"id": e.ticket_id, "number": e.ticket_number, "order_id": e.order_id, "event_id": e.event_id,
          "ticket_type_name": e.ticket_type_name, "secret_version": e.secret_version, "traceparent": d.traceparent,
          "updated_at": updated} for d in issued for e in [d.event]],
    )
    await session.execute(
        insert(check_in_lists)
        .on_conflict_do_nothing(index_elements=[check_in_lists.c.event_id], index_where=check_in_lists.c.is_default),
        [{"id": uuid.uuid4(), "event_id": event_id, "name": DEFAULT_LIST_NAME, "is_default": True}
         for event_id in sorted({d.event.event_id for d in issued})],
    )


async def record_reissue(uow: UnitOfWork, event: contracts.TicketReissued) -> None:
    """The new secret version makes every older QR code of the ticket answer "revoked"."""
    await _record_key(uow.session, event)
    await _upsert_ticket(uow.session, event, holder=None if event.holder_unchanged else (event.holder or False))


async def record_assignment(uow: UnitOfWork, event: contracts.TicketAssigned) -> None:
    # ticket.assigned may arrive before ticket.issued (another topic): either creates the row.
    await _upsert_ticket(uow.session, event, holder=event.holder or False)


async def _record_key(session: AsyncSession, event: contracts.TicketIssued | contracts.TicketReissued) -> None:
    await session.execute(
        insert(signing_keys)
        .values(key_id=qr.key_id_from_text(event.signing_key.key_id), event_id=event.event_id,
                public_key=_decode_key(event.signing_key.public_key))
        .on_conflict_do_nothing()
    )


async def _upsert_ticket(session: AsyncSession,
                         event: contracts.TicketIssued | contracts.TicketAssigned | contracts.TicketReissued,
                         holder: contracts.Holder | None | bool) -> None:
    facts = {
        "number": event.ticket_number, "order_id": event.order_id, "event_id": event.event_id,
        "ticket_type_name": event.ticket_type_name, "traceparent": current_traceparent(),
        "updated_at": datetime.now(UTC),
    }
    values = {"id": event.ticket_id, "secret_version": event.secret_version, **facts}
    changes = {"secret_version": func.greatest(tickets.c.secret_version, event.secret_version), **facts}
    if holder is not None:  # an assignment: False means nobody holds it now
        holder_values = {
            "holder_person_id": holder.person_id if holder else None,
            "holder_name": holder.name if holder else None,
            "holder_company": holder.company if holder else None,
        }
        values |= holder_values
        changes |= holder_values
    await session.execute(insert(tickets).values(**values).on_conflict_do_update(index_elements=[tickets.c.id], set_=changes))


async def record_voided(uow: UnitOfWork, event: contracts.TicketVoided) -> None:
    """A voided ticket is refused at the gate, even if its issue has not reached the gate yet."""
    await uow.session.execute(
        insert(tickets)
        .values(id=event.ticket_id, number=event.ticket_number, order_id=event.order_id, event_id=event.event_id,
                ticket_type_name="", secret_version=0, voided=True, updated_at=datetime.now(UTC))
        .on_conflict_do_update(index_elements=[tickets.c.id], set_={"voided": True, "updated_at": datetime.now(UTC)})
    )


def _decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- scanning


@dataclass
class ScanAnswer:
    result: ScanResult
    message: str
    ticket: dict | None = None
    check_in: dict | None = None

    def as_json(self) -> dict:
        return {"result": self.result.value, "admitted": self.result is ScanResult.ADMITTED,
                "message": self.message, "ticket": self.ticket, "check_in": self.check_in}


async def scan(uow: UnitOfWork, *, payload: str, list_id: uuid.UUID | None, gate: str, nonce: str) -> dict:
    """Decide a scan. The same nonce always gets the same answer."""
    session = uow.session
    previous = await session.scalar(select(scans.c.answer).where(scans.c.nonce == nonce))
    if previous is not None:
        return previous
    answer, ticket_id = await _decide(uow, payload=payload, list_id=list_id, gate=gate, nonce=nonce)
    stored = await session.execute(
        insert(scans)
        .values(nonce=nonce, ticket_id=ticket_id, gate=gate, result=answer.result.value,
                answer=answer.as_json(), scanned_at=datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(scans.c.nonce)
    )
    if stored.first() is None:
        # The same nonce was decided concurrently: that answer stands.
        return await session.scalar(select(scans.c.answer).where(scans.c.nonce == nonce))
    return answer.as_json()


def _refuse(result: ScanResult, ticket=None) -> ScanAnswer:
    return ScanAnswer(result, MESSAGES[result], _ticket_json(ticket))


def _ticket_json(ticket) -> dict | None:
    if ticket is None:
        return None
    return {"id": str(ticket.id), "number": ticket.number, "ticket_type": ticket.ticket_type_name,
            "holder_name": ticket.holder_name, "holder_company": ticket.holder_company}


async def _decide(uow: UnitOfWork, *, payload: str, list_id: uuid.UUID | None, gate: str,
                  nonce: str) -> tuple[ScanAnswer, uuid.UUID | None]:
    session = uow.session
    try:
        body, signature = qr.decode(payload)
    except qr.MalformedPayload:
        return _refuse(ScanResult.INVALID_SIGNATURE), None
    ticket = (await session.execute(select(tickets).where(tickets.c.id == body.ticket_id))).first()
    key = (await session.execute(select(signing_keys).where(signing_keys.c.key_id == body.key_id))).first()
    if key is None:
        return _refuse(ScanResult.UNKNOWN_TICKET if ticket is None else ScanResult.INVALID_SIGNATURE), None
    if not qr.signature_valid(body, signature, key.public_key):
        return _refuse(ScanResult.INVALID_SIGNATURE), None
    if ticket is None:
        return _refuse(ScanResult.UNKNOWN_TICKET), body.ticket_id
    check_list = await _check_in_list(session, list_id, ticket.event_id)
    if check_list.event_id != ticket.event_id or key.event_id != ticket.event_id:
        return _refuse(ScanResult.OTHER_EVENT, ticket), ticket.id
    refused = ticket_state_result(voided=ticket.voided, current_secret_version=ticket.secret_version,
                                  scanned_secret_version=body.secret_version)
    if refused is not None:
        return _refuse(refused, ticket), ticket.id
    return await _admit(uow, ticket, check_list, gate=gate, nonce=nonce), ticket.id


async def _check_in_list(session: AsyncSession, list_id: uuid.UUID | None, event_id: uuid.UUID):
    condition = (check_in_lists.c.id == list_id) if list_id else (
        (check_in_lists.c.event_id == event_id) & check_in_lists.c.is_default
    )
    found = (await session.execute(select(check_in_lists).where(condition))).first()
    if found is None:
        raise NotFound("check_in_list_not_found", f"No check-in list {list_id or 'for this event'}.")
    return found


async def _admit(uow: UnitOfWork, ticket, check_list, *, gate: str, nonce: str) -> ScanAnswer:
    session = uow.session
    with continue_trace(ticket.traceparent, "check in ticket", **{"ticket.id": str(ticket.id)}):
        checked_in_at = datetime.now(UTC)
        check_in_id = uuid.uuid4()
        admitted = await session.execute(
            insert(check_ins)
            .values(id=check_in_id, ticket_id=ticket.id, list_id=check_list.id, gate=gate, mode="online",
                    nonce=nonce, checked_in_at=checked_in_at)
            .on_conflict_do_nothing(index_elements=[check_ins.c.ticket_id, check_ins.c.list_id],
                                    index_where=check_ins.c.reverted_at.is_(None))
            .returning(check_ins.c.id)
        )
        if admitted.first() is None:
            first = (
                await session.execute(
                    select(check_ins).where(check_ins.c.ticket_id == ticket.id, check_ins.c.list_id == check_list.id,
                                            check_ins.c.reverted_at.is_(None))
                )
            ).one()
            when = first.checked_in_at.isoformat()
            return ScanAnswer(
                ScanResult.ALREADY_CHECKED_IN,
                f"Already checked in at {first.gate} at {when}.",
                _ticket_json(ticket),
                {"gate": first.gate, "checked_in_at": when, "list": check_list.name},
            )
        await uow.outbox.add(
            contracts.TicketCheckedIn(
                ticket_id=ticket.id, event_id=ticket.event_id, check_in_id=check_in_id,
                check_in_list_id=check_list.id, check_in_list_name=check_list.name, gate=gate, mode="online",
                checked_in_at=checked_in_at, holder_person_id=ticket.holder_person_id,
            )
        )
        return ScanAnswer(ScanResult.ADMITTED, MESSAGES[ScanResult.ADMITTED], _ticket_json(ticket),
                          {"gate": gate, "checked_in_at": checked_in_at.isoformat(), "list": check_list.name})
