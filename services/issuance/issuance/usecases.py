"""What the issuance service does: tickets from settled orders, signed with the event's key."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork
from ticketflow_schemas import events as contracts
from ticketflow_schemas import qr

from .domain import SigningKeyPair, TicketStatus, new_ticket_number
from .store.tables import cancelled_orders, signing_keys, tickets


async def issue_tickets(uow: UnitOfWork, order: contracts.OrderSettled) -> int:
    """Create exactly ``quantity`` tickets per order line; returns how many are new.

    The (order, line, seq) key makes this idempotent beyond the inbox: a second,
    different order.settled for the same order creates nothing.
    """
    await lock_order(uow.session, order.order_id)
    if await uow.session.scalar(select(cancelled_orders.c.order_id).where(cancelled_orders.c.order_id == order.order_id)):
        return 0
    key = await active_signing_key(uow.session, order.event_id)
    issued_at = datetime.now(UTC)
    created = 0
    for line in order.lines:
        for seq in range(1, line.quantity + 1):
            ticket_id = uuid.uuid4()
            number = await _insert_ticket(uow.session, ticket_id, order, line, seq, key, issued_at)
            if number is None:
                continue  # this ticket of the order exists already
            created += 1
            await uow.outbox.add(
                contracts.TicketIssued(
                    ticket_id=ticket_id, ticket_number=number, order_id=order.order_id, event_id=order.event_id,
                    line_no=line.line_no, ticket_type_id=line.ticket_type_id, ticket_type_name=line.ticket_type_name,
                    secret_version=1, qr_payload=key.sign_ticket(ticket_id, 1),
                    signing_key=contracts.SigningKey(key_id=qr.key_id_text(key.key_id), public_key=key.public_key_text),
                    buyer_email=order.buyer.email, issued_at=issued_at, event_name=order.event_name,
                    event_starts_at=order.event_starts_at, event_venue=order.event_venue,
                )
            )
    return created


async def _insert_ticket(session: AsyncSession, ticket_id: uuid.UUID, order: contracts.OrderSettled,
                         line: contracts.OrderLine, seq: int, key: SigningKeyPair, issued_at: datetime) -> str | None:
    while True:
        number = new_ticket_number()
        statement = (
            insert(tickets)
            .values(id=ticket_id, number=number, order_id=order.order_id, line_no=line.line_no, seq=seq,
                    event_id=order.event_id, ticket_type_id=line.ticket_type_id,
                    ticket_type_name=line.ticket_type_name, buyer_email=str(order.buyer.email),
                    status=TicketStatus.ISSUED.value, secret_version=1, key_id=key.key_id, issued_at=issued_at)
            .on_conflict_do_nothing()
            .returning(tickets.c.number)
        )
        inserted = (await session.execute(statement)).scalar_one_or_none()
        if inserted is not None:
            return inserted
        exists = await session.scalar(
            select(func.count()).select_from(tickets).where(
                tickets.c.order_id == order.order_id, tickets.c.line_no == line.line_no, tickets.c.seq == seq
            )
        )
        if exists:
            return None
        # Otherwise the random number collided with another ticket's: draw again.


async def active_signing_key(session: AsyncSession, event_id: uuid.UUID) -> SigningKeyPair:
    """The event's signing key, created on first use."""
    # Serialize key creation per event across concurrent handlers and replicas.
    await session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(event_id.bytes))))
    row = (
        await session.execute(
            select(signing_keys).where(signing_keys.c.event_id == event_id, signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc()).limit(1)
        )
    ).first()
    if row is not None:
        return SigningKeyPair(row.key_id, row.private_key, row.public_key)
    return await _new_key(session, event_id)


async def _new_key(session: AsyncSession, event_id: uuid.UUID) -> SigningKeyPair:
    key = SigningKeyPair.generate()
    await session.execute(
        insert(signing_keys).values(key_id=key.key_id, event_id=event_id, private_key=key.private_key,
                                    public_key=key.public_key, created_at=datetime.now(UTC))
    )
    return key


async def rotate_key(uow: UnitOfWork, event_id: uuid.UUID) -> int:
    """A new signing key for the event: it signs from now on; the older ones keep verifying."""
    await uow.session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(event_id.bytes))))
    return (await _new_key(uow.session, event_id)).key_id


async def retire_key(uow: UnitOfWork, event_id: uuid.UUID, key_id: int) -> int:
    """Stop a key verifying: every ticket it signed is reissued with the active key. Returns how many."""
    session = uow.session
    await session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(event_id.bytes))))
    key = (await session.execute(select(signing_keys).where(
        signing_keys.c.key_id == key_id, signing_keys.c.event_id == event_id))).first()
    if key is None:
        raise NotFound("key_not_found", f"Event {event_id} has no key {qr.key_id_text(key_id)}.")
    if key.retired_at is not None:
        return 0
    active = await active_signing_key(session, event_id)
    if active.key_id == key_id:
        raise Conflict("key_in_use", "This key signs the event's tickets: rotate to a new key first.")
    await session.execute(update(signing_keys).where(signing_keys.c.key_id == key_id)
                          .values(retired_at=datetime.now(UTC)))
    signed = (await session.execute(select(tickets).where(
        tickets.c.key_id == key_id, tickets.c.status == TicketStatus.ISSUED.value).with_for_update())).all()
    for ticket in signed:
        await _reissue(uow, ticket, active, holder=None, holder_unchanged=True, reason="signing key retired")
    return len(signed)


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Serialize the handlers of one order (settled and cancelled come on different topics)."""
    await session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(b"order:" + order_id.bytes))))


async def void_order_tickets(uow: UnitOfWork, order: contracts.OrderCancelled) -> int:
    """Void every ticket of a cancelled order, once each; remember the cancellation."""
    await lock_order(uow.session, order.order_id)
    await uow.session.execute(
        insert(cancelled_orders).values(order_id=order.order_id, reason=order.reason[:500],
                                        cancelled_at=order.cancelled_at).on_conflict_do_nothing()
    )
    voided_at = datetime.now(UTC)
    voided = (await uow.session.execute(
        update(tickets)
        .where(tickets.c.order_id == order.order_id, tickets.c.status != TicketStatus.VOIDED.value)
        .values(status=TicketStatus.VOIDED.value)
        .returning(tickets.c.id, tickets.c.number, tickets.c.event_id)
    )).all()
    for ticket in voided:
        await uow.outbox.add(
            contracts.TicketVoided(ticket_id=ticket.id, ticket_number=ticket.number, order_id=order.order_id,
                                   event_id=ticket.event_id, reason=f"order cancelled: {order.reason}",
                                   voided_at=voided_at)
        )
    return len(voided)


async def rotate_secret(uow: UnitOfWork, assigned: contracts.TicketAssigned) -> bool:
    """A new holder gets a new secret: the ticket is reissued and every older QR code is revoked."""
    session = uow.session
    ticket = (await session.execute(select(tickets).where(tickets.c.id == assigned.ticket_id).with_for_update())).first()
    if ticket is None:
        raise LookupError(f"ticket {assigned.ticket_id} is not issued here (yet)")  # retried, then dead-lettered
    if ticket.status == TicketStatus.VOIDED.value:
        return False
    key = await active_signing_key(session, ticket.event_id)
    await _reissue(uow, ticket, key, holder=assigned.holder, holder_unchanged=False,
                   reason="holder changed" if assigned.holder else "holder removed")
    return True


async def _reissue(uow: UnitOfWork, ticket, key: SigningKeyPair, *, holder: contracts.Holder | None,
                   holder_unchanged: bool, reason: str) -> None:
    """A new secret version signed by ``key``: every older QR code of the ticket is revoked."""
    version = ticket.secret_version + 1
    await uow.session.execute(update(tickets).where(tickets.c.id == ticket.id)
                              .values(secret_version=version, key_id=key.key_id))
    await uow.outbox.add(
        contracts.TicketReissued(
            ticket_id=ticket.id, ticket_number=ticket.number, order_id=ticket.order_id, event_id=ticket.event_id,
            ticket_type_name=ticket.ticket_type_name, secret_version=version,
            previous_secret_version=ticket.secret_version, qr_payload=key.sign_ticket(ticket.id, version),
            signing_key=contracts.SigningKey(key_id=qr.key_id_text(key.key_id), public_key=key.public_key_text),
            holder=holder, holder_unchanged=holder_unchanged, reason=reason, reissued_at=datetime.now(UTC),
        )
    )
