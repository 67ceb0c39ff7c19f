"""Ticket orders: placing, approving, settling and cancelling them.

Capacity is held atomically with each order: single-row counter updates on the
event and on each ticket type (guarded by CHECK constraints), so concurrent
orders can never oversell, and a cancelled order gives its tickets back. A
placed order takes its tickets as its transaction commits (a deferred trigger,
see the migration 5e0c3f1b8d24): the event's hot counter row is then locked
only for the commit itself, not for a round trip to this process and back.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork, Unprocessable
from ticketflow_runtime.outbox import INLINE_INSERT
from ticketflow_runtime.telemetry import continue_trace, current_traceparent
from ticketflow_schemas import events as contracts

from .. import domain
from ..domain import OrderStatus, PaymentMethod
from ..store.tables import (
    event_organizations, events, order_lines, order_number_seq, order_transitions, orders, payments, ticket_types,
)

PUBLIC_PAYMENT_METHODS = (PaymentMethod.CARD, PaymentMethod.INVOICE)
ZERO_PRICED = (PaymentMethod.SPONSORED, PaymentMethod.FREE)


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
    note: str | None = None
    channel: str = "organizer"
    event_organization_id: uuid.UUID | None = None


def now() -> datetime:
    return datetime.now(UTC)


# -- placing


@dataclass(frozen=True)
class PlacedLine:
    line_no: int
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    quantity: int
    unit_net: int
    amounts: domain.Amounts


# A placed order's status, and the reason its first transition records.
PLACED_STATUS = OrderStatus.REQUESTED
PLACED_REASON = "order placed"


@dataclass(frozen=True)
class PlacedOrder:
    """A new order as its placing statement wrote it: enough to show it without reading it back."""

    id: uuid.UUID
    number: str
    spec: OrderSpec
    currency: str
    lines: list[PlacedLine]
    total: domain.Amounts
    hold_expires_at: datetime | None
    created_at: datetime
    actor: str

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


async def place_order(uow: UnitOfWork, spec: OrderSpec, *, actor: str,
                      card_hold: timedelta | None = None) -> PlacedOrder:
    """Create an order in status requested; its tickets are held as the unit of work commits.

    It writes in one statement (order, lines, first transition, order.placed), so it may
    run in a `single_statement_work`. Too few tickets left refuse the order at the commit (sold_out, quota_exhausted: a
    409 with what is left, see ticketflow_runtime.errors), and nothing of it is kept."""
    if spec.channel == "public" and spec.payment_method not in PUBLIC_PAYMENT_METHODS:
        raise Unprocessable("payment_method_not_offered",
                            "Orders on the event page are paid by card or invoice.")
    session = uow.session
    # The event, its ticket types and the next order number, in one round trip.
    rows = (await session.execute(EVENT_FOR_ORDER, {"event_id": spec.event_id})).all()
    if not rows:
        raise NotFound("event_not_found", f"No event {spec.event_id}.")
    event = rows[0]
    types = {
        row.type_id: _TicketType(row.type_id, row.type_name, row.net_price)
        for row in rows if row.type_id is not None
    }
    if not types:
        raise Conflict("event_has_no_ticket_types", f"Event {event.id} has no ticket types to order.")
    default_type = next(iter(types.values()))

    lines = []
    for line_no, line in enumerate(spec.lines, start=1):
        ticket_type = types.get(line.ticket_type_id) if line.ticket_type_id else default_type
        if ticket_type is None:
            raise Unprocessable("unknown_ticket_type", f"Ticket type {line.ticket_type_id} is not sold for this event.")
        unit_net = 0 if spec.payment_method in ZERO_PRICED else ticket_type.net_price
        lines.append(PlacedLine(line_no, ticket_type.id, ticket_type.name, line.quantity, unit_net,
                                domain.line_amounts(unit_net, line.quantity, event.vat_rate_bp)))
    created = now()
    order = PlacedOrder(
        id=uuid.uuid4(), number=domain.order_number(event.next_number), spec=spec, currency=event.currency,
        lines=lines, total=sum((line.amounts for line in lines), domain.ZERO),
        hold_expires_at=created + card_hold if spec.payment_method is PaymentMethod.CARD and card_hold else None,
        created_at=created, actor=actor)
    placed = contracts.OrderPlaced(
        order_id=order.id, order_number=order.number, event_id=event.id, event_name=event.name, buyer=spec.buyer,
        payment_method=spec.payment_method.value,
        lines=[contracts.OrderLine(line_no=line.line_no, ticket_type_id=line.ticket_type_id,
                                   ticket_type_name=line.ticket_type_name, quantity=line.quantity,
                                   unit_net=line.unit_net) for line in lines],
        quantity=order.quantity, amount=contracts.Amount(currency=order.currency, net=order.total.net,
                                                         vat=order.total.vat, gross=order.total.gross),
        status=PLACED_STATUS.value, channel=spec.channel,
        event_organization_id=spec.event_organization_id, placed_at=created,
    )
    # The order, its lines, its first transition and order.placed, in one round trip.
    await session.execute(INSERT_ORDER, {
        **uow.outbox.inline(placed),
        "id": order.id, "number": order.number, "event_id": event.id, "buyer_name": spec.buyer.name,
        "buyer_email": str(spec.buyer.email), "buyer_company": spec.buyer.company, "buyer_phone": spec.buyer.phone,
        "language": spec.buyer.language, "payment_method": spec.payment_method.value,
        "status": PLACED_STATUS.value, "note": spec.note, "currency": order.currency, "quantity": order.quantity,
        "net": order.total.net, "vat": order.total.vat, "gross": order.total.gross, "channel": spec.channel,
        "event_organization_id": spec.event_organization_id, "hold_expires_at": order.hold_expires_at,
        "traceparent": current_traceparent(), "created_by": actor, "created_at": created,
        "line_nos": [line.line_no for line in lines], "type_ids": [line.ticket_type_id for line in lines],
        "type_names": [line.ticket_type_name for line in lines], "quantities": [line.quantity for line in lines],
        "unit_nets": [line.unit_net for line in lines], "nets": [line.amounts.net for line in lines],
        "vats": [line.amounts.vat for line in lines], "grosses": [line.amounts.gross for line in lines],
        "reason": PLACED_REASON,
    })
    return order


# Built once, so its cache key is memoized rather than computed per order.
EVENT_FOR_ORDER = (
    select(events, ticket_types.c.id.label("type_id"), ticket_types.c.name.label("type_name"),
           ticket_types.c.net_price, select(order_number_seq.next_value()).scalar_subquery().label("next_number"))
    .outerjoin(ticket_types, ticket_types.c.event_id == events.c.id)
    .where(events.c.id == bindparam("event_id"))
    .order_by(ticket_types.c.position)
)


@dataclass(frozen=True)
class _TicketType:
    id: uuid.UUID
    name: str
    net_price: int


INSERT_ORDER = text("""
    WITH new_order AS (
        INSERT INTO orders (id, number, event_id, buyer_name, buyer_email, buyer_company, buyer_phone, language,
                            payment_method, status, note, currency, quantity, net, vat, gross, channel,
                            event_organization_id, hold_expires_at, traceparent, created_by, created_at, updated_at)
        VALUES (:id, :number, :event_id, :buyer_name, :buyer_email, :buyer_company, :buyer_phone, :language,
                :payment_method, :status, :note, :currency, :quantity, :net, :vat, :gross, :channel,
                :event_organization_id, :hold_expires_at, :traceparent, :created_by, :created_at, :created_at)
        RETURNING id
    ),
    new_lines AS (
        INSERT INTO order_lines (order_id, line_no, ticket_type_id, ticket_type_name, quantity, unit_net, net, vat,
                                 gross)
        SELECT (SELECT id FROM new_order), l.* FROM unnest(
            CAST(:line_nos AS int[]), CAST(:type_ids AS uuid[]), CAST(:type_names AS text[]),
            CAST(:quantities AS int[]), CAST(:unit_nets AS bigint[]), CAST(:nets AS bigint[]),
            CAST(:vats AS bigint[]), CAST(:grosses AS bigint[])) AS l
    ),
    placed_event AS (""" + INLINE_INSERT + """)
    INSERT INTO order_transitions (order_id, from_status, to_status, actor, reason, at)
    SELECT id, NULL, :status, :created_by, :reason, :created_at FROM new_order
""")


def _per_type(quantities) -> dict[uuid.UUID, int]:
    totals: dict[uuid.UUID, int] = {}
    for type_id, quantity in quantities:
        totals[type_id] = totals.get(type_id, 0) + quantity
    return totals


async def _release(session: AsyncSession, order) -> None:
    """Give a cancelled order's tickets back to the event and its ticket types."""
    await session.execute(update(events).where(events.c.id == order.event_id).values(sold=events.c.sold - order.quantity))
    lines = (await session.execute(select(order_lines).where(order_lines.c.order_id == order.id))).all()
    for ticket_type_id, quantity in sorted(_per_type((line.ticket_type_id, line.quantity) for line in lines).items()):
        await session.execute(update(ticket_types).where(ticket_types.c.id == ticket_type_id)
                              .values(sold=ticket_types.c.sold - quantity))
    if order.event_organization_id and order.payment_method == PaymentMethod.SPONSORED.value:
        await session.execute(
            update(event_organizations).where(event_organizations.c.id == order.event_organization_id)
            .values(sponsored_tickets_used=event_organizations.c.sponsored_tickets_used - order.quantity)
        )


# -- transitions


async def load_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False):
    statement = select(orders).where(orders.c.id == order_id)
    order = (await session.execute(statement.with_for_update() if lock else statement)).first()
    if order is None:
        raise NotFound("order_not_found", f"No order {order_id}.")
    return order


def _check(order, target: OrderStatus) -> OrderStatus:
    current = OrderStatus(order.status)
    try:
        domain.check_transition(current, target)
    except domain.IllegalTransition as error:
        raise Conflict("illegal_transition", str(error), status=current.value, target=target.value) from error
    return current


async def record_transition(session: AsyncSession, order_id: uuid.UUID, current: OrderStatus | None,
                            target: OrderStatus, actor: str, reason: str, *, at: datetime | None = None) -> None:
    await session.execute(
        insert(order_transitions).values(
            order_id=order_id, from_status=current.value if current else None, to_status=target.value,
            actor=actor, reason=reason, at=at or now(),
        )
    )


async def transition(uow: UnitOfWork, order, target: OrderStatus, *, actor: str, reason: str,
                     **changes) -> OrderStatus:
    """Move a (locked) order to ``target`` and record who, when and why."""
    current = _check(order, target)
    at = now()
    await uow.session.execute(
        update(orders).where(orders.c.id == order.id).values(status=target.value, updated_at=at, **changes)
    )
    await record_transition(uow.session, order.id, current, target, actor, reason, at=at)
    return current


async def approve(uow: UnitOfWork, order_id: uuid.UUID, *, actor: str) -> None:
    """Sponsored and free orders settle on staff approval."""
    order = await load_order(uow.session, order_id, lock=True)
    if not domain.settlement_path_allows(PaymentMethod(order.payment_method), OrderStatus(order.status),
                                         domain.Action.APPROVE):
        raise Conflict("approval_not_applicable",
                       f"A {order.payment_method} order in status {order.status} is not settled by approval.")
    await settle(uow, order, actor=actor, reason="approved")


async def mark_paid(uow: UnitOfWork, order_id: uuid.UUID, *, actor: str, reference: str) -> None:
    """An invoice was paid: record the payment and settle."""
    order = await load_order(uow.session, order_id, lock=True)
    if not domain.settlement_path_allows(PaymentMethod(order.payment_method), OrderStatus(order.status),
                                         domain.Action.MARK_PAID):
        raise Conflict("mark_paid_not_applicable",
                       f"A {order.payment_method} order in status {order.status} cannot be marked paid.")
    await record_payment(uow.session, order, kind="invoice_payment", provider="bank", reference=reference,
                         succeeded=True)
    from .invoicing import mark_invoice_paid  # an invoice order always has its invoice here

    await mark_invoice_paid(uow.session, order.id, reference)
    await settle(uow, order, actor=actor, reason=f"invoice paid ({reference})")


async def settle(uow: UnitOfWork, order, *, actor: str, reason: str) -> None:
    """Settled: publish order.settled, issuance takes it from here."""
    with continue_trace(order.traceparent, "settle order", **{"order.id": str(order.id)}):
        await transition(uow, order, OrderStatus.SETTLED, actor=actor, reason=reason, hold_expires_at=None)
        await uow.outbox.add(
            contracts.OrderSettled(
                **await _order_facts(uow.session, order, event_details=True),
                lines=await _contract_lines(uow.session, order.id),
                quantity=order.quantity, amount=_amount(order), settled_at=now(),
            )
        )


async def cancel(uow: UnitOfWork, order, *, actor: str, reason: str, refunded: bool = False) -> None:
    """Cancel a (locked) order: its tickets are released and order.cancelled voids any issued."""
    with continue_trace(order.traceparent, "cancel order", **{"order.id": str(order.id)}):
        previous = await transition(uow, order, OrderStatus.CANCELLED, actor=actor, reason=reason,
                                    hold_expires_at=None)
        await _release(uow.session, order)
        await uow.outbox.add(
            contracts.OrderCancelled(
                **await _order_facts(uow.session, order), previous_status=previous.value, refunded=refunded,
                refund=_amount(order) if refunded else None, reason=reason, cancelled_by=actor, cancelled_at=now(),
            )
        )


async def record_payment(session: AsyncSession, order, *, kind: str, provider: str, reference: str | None,
                         succeeded: bool, amount: int | None = None, detail: str | None = None) -> None:
    await session.execute(
        insert(payments).values(order_id=order.id, kind=kind, provider=provider, reference=reference,
                                amount=order.gross if amount is None else amount, currency=order.currency,
                                succeeded=succeeded, detail=detail, at=now())
    )


# -- read model of issued tickets


async def count_tickets(uow: UnitOfWork, order_ids: list[uuid.UUID], *, voided: bool = False) -> None:
    """Add a batch of issued (or voided) tickets to their orders' counts, one statement for all orders."""
    counts = Counter(order_ids)
    column = "voided_count" if voided else "issued_count"
    await uow.session.execute(
        text(f"UPDATE orders SET {column} = {column} + counted.n"
             " FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS int[])) AS counted (id, n) WHERE orders.id = counted.id"),
        {"ids": list(counts), "ns": list(counts.values())},
    )


# -- contract helpers


def _amount(order) -> contracts.Amount:
    return contracts.Amount(currency=order.currency, net=order.net, vat=order.vat, gross=order.gross)


async def _order_facts(session: AsyncSession, order, *, event_details: bool = False) -> dict:
    """What every order event says about the order; with ``event_details``, also when and where the event is."""
    event = (await session.execute(
        select(events.c.name, events.c.starts_at, events.c.venue).where(events.c.id == order.event_id))).one()
    details = {"event_starts_at": event.starts_at, "event_venue": event.venue} if event_details else {}
    return {
        **details,
        "order_id": order.id, "order_number": order.number, "event_id": order.event_id, "event_name": event.name,
        "buyer": contracts.Buyer(name=order.buyer_name, email=order.buyer_email, company=order.buyer_company,
                                 phone=order.buyer_phone, language=order.language),
        "payment_method": order.payment_method,
    }


async def _contract_lines(session: AsyncSession, order_id: uuid.UUID) -> list[contracts.OrderLine]:
    lines = (await session.execute(
        select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.line_no)
    )).all()
    return [
        contracts.OrderLine(line_no=line.line_no, ticket_type_id=line.ticket_type_id,
                            ticket_type_name=line.ticket_type_name, quantity=line.quantity, unit_net=line.unit_net)
        for line in lines
    ]
