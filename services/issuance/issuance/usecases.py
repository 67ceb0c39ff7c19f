"""What the issuance service does: tickets from settled orders, signed with the event's key."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, Delivery, NotFound, UnitOfWork
from ticketflow_schemas import events as contracts
from ticketflow_schemas import qr

from .domain import SigningKeyPair, TicketStatus, new_ticket_number
from .store.tables import cancelled_orders, signing_keys, tickets


async def issue_tickets(uow: UnitOfWork, settled: list[Delivery[contracts.OrderSettled]]) -> int:
    """Create exactly ``quantity`` tickets per order line of each settled order; returns how many are new.

    Set-based, for a whole consumed batch. The (order, line, seq) key makes this
    idempotent beyond the inbox: a second, different order.settled for the same
    order creates nothing.
    """
    session = uow.session
    await lock_orders(session, [delivery.event.order_id for delivery in settled])
    cancelled = set((await session.scalars(select(cancelled_orders.c.order_id).where(
        cancelled_orders.c.order_id.in_([delivery.event.order_id for delivery in settled])))).all())
    issued_at = datetime.now(UTC)
    per_order = [
        (delivery, [_PlannedTicket(delivery, line, seq, uuid.uuid4())
                    for line in delivery.event.lines for seq in range(1, line.quantity + 1)])
        for delivery in settled if delivery.event.order_id not in cancelled
    ]
    # Keys only for events that get tickets: a cancelled order's event needs none made for it.
    keys = {event_id: await active_signing_key(session, event_id)
            for event_id in sorted({delivery.event.event_id for delivery, _ in per_order})}
    numbers = await _insert_tickets(session, [t for _, planned in per_order for t in planned], keys, issued_at)
    for delivery, planned in per_order:
        order, key = delivery.event, keys[delivery.event.event_id]
        new_tickets = [t for t in planned if t.ticket_id in numbers]
        if not new_tickets:
            continue  # its tickets exist already
        with delivery.handling("issue tickets"):
            first = new_tickets[0]
            # Validated once per order; each ticket copies it with what is its own.
            template = contracts.TicketIssued(
                ticket_id=first.ticket_id, ticket_number=numbers[first.ticket_id], order_id=order.order_id,
                event_id=order.event_id, line_no=first.line.line_no, ticket_type_id=first.line.ticket_type_id,
                ticket_type_name=first.line.ticket_type_name, secret_version=1,
                qr_payload=key.sign_ticket(first.ticket_id, 1),
                signing_key=contracts.SigningKey(key_id=qr.key_id_text(key.key_id), public_key=key.public_key_text),
                buyer_email=order.buyer.email, issued_at=issued_at, event_name=order.event_name,
                event_starts_at=order.event_starts_at, event_venue=order.event_venue,
            )
            uow.outbox.stage(template)
            for ticket in new_tickets[1:]:
                uow.outbox.stage(template.model_copy(update={
                    "ticket_id": ticket.ticket_id, "ticket_number": numbers[ticket.ticket_id],
                    "line_no": ticket.line.line_no, "ticket_type_id": ticket.line.ticket_type_id,
                    "ticket_type_name": ticket.line.ticket_type_name,
                    "qr_payload": key.sign_ticket(ticket.ticket_id, 1),
                }))
    return len(numbers)


@dataclass(frozen=True)
class _PlannedTicket:
    delivery: Delivery[contracts.OrderSettled]
    line: contracts.OrderLine
    seq: int
    ticket_id: uuid.UUID


_INSERT_TICKETS = text(
    "INSERT INTO tickets (id, number, order_id, line_no, seq, event_id, ticket_type_id, ticket_type_name,"
    " buyer_email, status, secret_version, key_id, issued_at)"
    " SELECT id, number, order_id, line_no, seq, event_id, ticket_type_id, ticket_type_name, buyer_email,"
    "        :status, 1, key_id, :issued_at"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:numbers AS text[]), CAST(:order_ids AS uuid[]),"
    "             CAST(:line_nos AS int[]), CAST(:seqs AS int[]), CAST(:event_ids AS uuid[]),"
    "             CAST(:type_ids AS uuid[]), CAST(:type_names AS text[]), CAST(:emails AS text[]),"
    "             CAST(:key_ids AS bigint[]))"
    " AS planned (id, number, order_id, line_no, seq, event_id, ticket_type_id, ticket_type_name, buyer_email, key_id)"
    " ON CONFLICT DO NOTHING RETURNING id, number"
)
_NATURAL_KEYS_TAKEN = text(
    "SELECT t.order_id, t.line_no, t.seq FROM tickets t"
    " JOIN unnest(CAST(:order_ids AS uuid[]), CAST(:line_nos AS int[]), CAST(:seqs AS int[]))"
    " AS wanted (order_id, line_no, seq) USING (order_id, line_no, seq)"
)


async def _insert_tickets(session: AsyncSession, planned: list[_PlannedTicket], keys: dict[uuid.UUID, SigningKeyPair],
                          issued_at: datetime) -> dict[uuid.UUID, str]:
    """Insert the planned tickets that do not exist yet; returns the new ones' numbers by id."""
    numbers: dict[uuid.UUID, str] = {}
    while planned:
        rows = (await session.execute(_INSERT_TICKETS, {
            "ids": [t.ticket_id for t in planned],
            "numbers": [new_ticket_number() for _ in planned],
            "order_ids": [t.delivery.event.order_id for t in planned],
            "line_nos": [t.line.line_no for t in planned],
            "seqs": [t.seq for t in planned],
            "event_ids": [t.delivery.event.event_id for t in planned],
            "type_ids": [t.line.ticket_type_id for t in planned],
            "type_names": [t.line.ticket_type_name for t in planned],
            "emails": [str(t.delivery.event.buyer.email) for t in planned],
            "key_ids": [keys[t.delivery.event.event_id].key_id for t in planned],
            "status": TicketStatus.ISSUED.value,
            "issued_at": issued_at,
        })).all()
        numbers.update({row.id: row.number for row in rows})
        missing = [t for t in planned if t.ticket_id not in numbers]
        if not missing:
            break
        taken = set((await session.execute(_NATURAL_KEYS_TAKEN, {
            "order_ids": [t.delivery.event.order_id for t in missing],
            "line_nos": [t.line.line_no for t in missing],
            "seqs": [t.seq for t in missing],
        })).tuples())
        # The rest collided on a random ticket number: draw again.
        planned = [t for t in missing if (t.delivery.event.order_id, t.line.line_no, t.seq) not in taken]
    return numbers


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


async def lock_orders(session: AsyncSession, order_ids: list[uuid.UUID]) -> None:
    """Serialize the handlers of an order (settled and cancelled come on different topics).

    Taken in one order, so two batches locking overlapping orders cannot deadlock.
    """
    await session.execute(_LOCK_ORDERS, {"keys": sorted({zlib.crc32(b"order:" + o.bytes) for o in order_ids})})


_LOCK_ORDERS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS l (k, n) ORDER BY n")


async def void_order_tickets(uow: UnitOfWork, order: contracts.OrderCancelled) -> int:
    """Void every ticket of a cancelled order, once each; remember the cancellation."""
    await lock_orders(uow.session, [order.order_id])
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
