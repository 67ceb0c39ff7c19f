"""What the orders service does: catalog, ordering, settlement, issued counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork, Unprocessable
from ticketflow_schemas import events as contracts

from . import domain
from .domain import OrderStatus, PaymentMethod
from .store.tables import events, order_lines, order_number_seq, order_transitions, orders, ticket_types


@dataclass(frozen=True)
class TicketTypeSpec:
    name: str
    net_price: int
    quota: int | None


@dataclass(frozen=True)
class EventSpec:
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    currency: str
    vat_rate_bp: int
    capacity: int
    ticket_types: list[TicketTypeSpec]


@dataclass(frozen=True)
class LineSpec:
    ticket_type_id: uuid.UUID | None
    quantity: int


@dataclass(frozen=True)
class OrderSpec:
    event_id: uuid.UUID
    buyer: contracts.Buyer
    lines: list[LineSpec]
    payment_method: PaymentMethod
    note: str | None


def now() -> datetime:
    return datetime.now(UTC)


async def create_event(uow: UnitOfWork, spec: EventSpec) -> uuid.UUID:
    event_id = uuid.uuid4()
    await uow.session.execute(
        insert(events).values(
            id=event_id, name=spec.name, starts_at=spec.starts_at, ends_at=spec.ends_at, venue=spec.venue,
            currency=spec.currency, vat_rate_bp=spec.vat_rate_bp, capacity=spec.capacity,
        )
    )
    await uow.session.execute(
        insert(ticket_types),
        [
            {"id": uuid.uuid4(), "event_id": event_id, "name": t.name, "net_price": t.net_price,
             "quota": t.quota, "position": position}
            for position, t in enumerate(spec.ticket_types, start=1)
        ],
    )
    return event_id


async def place_order(uow: UnitOfWork, spec: OrderSpec, *, actor: str) -> uuid.UUID:
    """Create an order; free orders placed by the organizer settle at once (approval)."""
    if spec.payment_method is not PaymentMethod.FREE:
        raise Unprocessable(
            "payment_method_unavailable",
            f"Orders paid by {spec.payment_method.value} cannot be placed yet; use 'free'.",
        )
    session = uow.session
    # Lock the event: capacity and quotas are checked and taken atomically.
    event = (await session.execute(select(events).where(events.c.id == spec.event_id).with_for_update())).first()
    if event is None:
        raise NotFound("event_not_found", f"No event {spec.event_id}.")
    types = {
        row.id: row
        for row in (
            await session.execute(
                select(ticket_types).where(ticket_types.c.event_id == event.id).order_by(ticket_types.c.position)
            )
        ).all()
    }
    if not types:
        raise Conflict("event_has_no_ticket_types", f"Event {event.id} has no ticket types to order.")
    default_type = next(iter(types.values()))

    lines = []
    total = domain.ZERO
    for line_no, line in enumerate(spec.lines, start=1):
        ticket_type = types.get(line.ticket_type_id) if line.ticket_type_id else default_type
        if ticket_type is None:
            raise Unprocessable("unknown_ticket_type", f"Ticket type {line.ticket_type_id} is not sold for this event.")
        unit_net = 0 if spec.payment_method is PaymentMethod.FREE else ticket_type.net_price
        amounts = domain.line_amounts(unit_net, line.quantity, event.vat_rate_bp)
        total += amounts
        lines.append((line_no, ticket_type, line.quantity, unit_net, amounts))

    quantity = sum(q for _, _, q, _, _ in lines)
    await _check_capacity(session, event, lines, quantity)

    order_id = uuid.uuid4()
    sequence_value = await session.scalar(order_number_seq.next_value())
    created = now()
    await session.execute(
        insert(orders).values(
            id=order_id, number=domain.order_number(sequence_value), event_id=event.id,
            buyer_name=spec.buyer.name, buyer_email=str(spec.buyer.email), buyer_company=spec.buyer.company,
            buyer_phone=spec.buyer.phone, language=spec.buyer.language, payment_method=spec.payment_method.value,
            status=OrderStatus.REQUESTED.value, note=spec.note, currency=event.currency, quantity=quantity,
            net=total.net, vat=total.vat, gross=total.gross, created_by=actor, created_at=created, updated_at=created,
        )
    )
    await session.execute(
        insert(order_lines),
        [
            {"order_id": order_id, "line_no": line_no, "ticket_type_id": t.id, "ticket_type_name": t.name,
             "quantity": q, "unit_net": unit_net, "net": a.net, "vat": a.vat, "gross": a.gross}
            for line_no, t, q, unit_net, a in lines
        ],
    )
    await _record_transition(session, order_id, None, OrderStatus.REQUESTED, actor, "order placed")
    if spec.payment_method is PaymentMethod.FREE:
        await settle(uow, order_id, actor=actor, reason="free order approved")
    return order_id


async def _check_capacity(session: AsyncSession, event, lines, quantity: int) -> None:
    taken_by_type = dict(
        (
            await session.execute(
                select(order_lines.c.ticket_type_id, func.sum(order_lines.c.quantity))
                .join(orders, orders.c.id == order_lines.c.order_id)
                .where(orders.c.event_id == event.id, orders.c.status != OrderStatus.CANCELLED.value)
                .group_by(order_lines.c.ticket_type_id)
            )
        ).all()
    )
    if sum(taken_by_type.values()) + quantity > event.capacity:
        raise Conflict("sold_out", f"Only {event.capacity - sum(taken_by_type.values())} tickets are left for this event.",
                       available=max(event.capacity - sum(taken_by_type.values()), 0))
    wanted: dict[uuid.UUID, int] = {}
    for _, ticket_type, q, _, _ in lines:
        wanted[ticket_type.id] = wanted.get(ticket_type.id, 0) + q
    for _, ticket_type, _, _, _ in lines:
        if ticket_type.quota is not None and taken_by_type.get(ticket_type.id, 0) + wanted[ticket_type.id] > ticket_type.quota:
            left = max(ticket_type.quota - taken_by_type.get(ticket_type.id, 0), 0)
            raise Conflict("quota_exhausted", f"Only {left} '{ticket_type.name}' tickets are left.",
                           ticket_type_id=str(ticket_type.id), available=left)


async def settle(uow: UnitOfWork, order_id: uuid.UUID, *, actor: str, reason: str) -> None:
    """Mark the order settled and publish order.settled: issuance takes it from here."""
    session = uow.session
    order = (await session.execute(select(orders).where(orders.c.id == order_id).with_for_update())).one()
    current = OrderStatus(order.status)
    try:
        domain.check_transition(current, OrderStatus.SETTLED)
    except domain.IllegalTransition as error:
        raise Conflict("illegal_transition", str(error), status=current.value) from error
    settled_at = now()
    await session.execute(
        update(orders).where(orders.c.id == order_id).values(status=OrderStatus.SETTLED.value, updated_at=settled_at)
    )
    await _record_transition(session, order_id, current, OrderStatus.SETTLED, actor, reason, at=settled_at)
    event = (await session.execute(select(events.c.name).where(events.c.id == order.event_id))).one()
    lines = (await session.execute(select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.line_no))).all()
    await uow.outbox.add(
        contracts.OrderSettled(
            order_id=order.id, order_number=order.number, event_id=order.event_id, event_name=event.name,
            buyer=contracts.Buyer(name=order.buyer_name, email=order.buyer_email, company=order.buyer_company,
                                  phone=order.buyer_phone, language=order.language),
            payment_method=order.payment_method,
            lines=[
                contracts.OrderLine(line_no=line.line_no, ticket_type_id=line.ticket_type_id,
                                    ticket_type_name=line.ticket_type_name, quantity=line.quantity,
                                    unit_net=line.unit_net)
                for line in lines
            ],
            quantity=order.quantity,
            amount=contracts.Amount(currency=order.currency, net=order.net, vat=order.vat, gross=order.gross),
            settled_at=settled_at,
        )
    )


async def _record_transition(session: AsyncSession, order_id: uuid.UUID, current: OrderStatus | None,
                             target: OrderStatus, actor: str, reason: str, *, at: datetime | None = None) -> None:
    await session.execute(
        insert(order_transitions).values(
            order_id=order_id, from_status=current.value if current else None, to_status=target.value,
            actor=actor, reason=reason, at=at or now(),
        )
    )


async def count_issued_ticket(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    """The read model of issued tickets per order (ticket count status)."""
    await uow.session.execute(
        update(orders).where(orders.c.id == order_id).values(issued_count=orders.c.issued_count + 1)
    )
