"""Staff API of ticket orders: "+ New Ticket Order", the order page's actions, and the Ticket Orders view."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import JSON, bindparam, func, literal_column, select, text, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import DBAPIError

from ticketflow_runtime import ApiError, Conflict, NotFound, Service, ServiceDep
from ticketflow_runtime.auth import staff_holding
from ticketflow_runtime.errors import ERROR_RESPONSES, REFUSED_BEFORE_WRITING, find_cause
from ticketflow_runtime.fast_routes import FastAnswer, FastRequest
from ticketflow_schemas.events import Buyer

from .. import domain
from ..domain import OrderStatus, PaymentMethod, TicketCountStatus
from ..store.tables import invoices, order_lines, order_transitions, orders, payments
from ..usecases import idempotency, invoicing, ordering, payments as card_payments, view
from .access import WRITE_SCOPES, Reader, Writer

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["ticket orders"])


class NewOrderLine(BaseModel):
    ticket_type_id: uuid.UUID | None = Field(default=None, description="defaults to the event's first ticket type")
    quantity: int = Field(ge=1, le=1000)


class NewOrder(BaseModel):
    event_id: uuid.UUID
    buyer: Buyer
    payment_method: PaymentMethod
    lines: list[NewOrderLine] = Field(min_length=1, max_length=50)
    event_organization_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=2000)


class OrderLineView(BaseModel):
    line_no: int
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    quantity: int
    unit_net: int
    net: int
    vat: int
    gross: int


class TransitionView(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


class PaymentView(BaseModel):
    kind: str
    provider: str
    reference: str | None
    amount: int
    succeeded: bool
    detail: str | None
    at: datetime


class InvoiceView(BaseModel):
    number: str
    issued_on: date
    due_on: date
    payment_reference: str
    paid_at: datetime | None
    paid_reference: str | None
    pdf_url: str


class OrderView(BaseModel):
    id: uuid.UUID
    number: str
    event_id: uuid.UUID
    buyer: Buyer
    payment_method: str
    status: str
    channel: str
    event_organization_id: uuid.UUID | None
    note: str | None
    currency: str
    quantity: int
    net: int
    vat: int
    gross: int
    issued_count: int
    voided_count: int
    ticket_count_status: TicketCountStatus
    checkout_url: str | None
    hold_expires_at: datetime | None
    created_at: datetime
    actions: list[str]
    lines: list[OrderLineView]
    transitions: list[TransitionView]
    payments: list[PaymentView]
    invoice: InvoiceView | None


class MarkPaid(BaseModel):
    payment_reference: str = Field(min_length=1, max_length=200, description="the bank's reference of the payment")


class Cancellation(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    refund: bool = Field(default=False, description="required for settled orders: card orders are refunded "
                                                      "through Stripe, others record a refund made outside")


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="the client's unique string for this order: a retry with it returns the order already placed")]


class Checkout(BaseModel):
    checkout_url: str


@router.post("/orders", status_code=status.HTTP_201_CREATED, summary="+ New Ticket Order (any payment method)")
async def create_order(body: NewOrder, service: ServiceDep, staff: Writer,
                       idempotency_key: IdempotencyKey = None) -> OrderView:
    # Answered as written, not read back: the tickets are taken only at the commit (so the
    # event's counters are not locked any longer for it), and a refusal there answers instead.
    if idempotency_key is None:
        return placed_order_view(await _place_in_one_statement(service, body, staff.actor))
    async with service.database.unit_of_work() as uow:
        body_hash = idempotency.request_hash(body.model_dump_json())
        if (earlier := await idempotency.earlier_result(uow, staff.actor, idempotency_key, body_hash)) is not None:
            return await order_view(uow.session, earlier)
        placed = await ordering.place_order(uow, _order_spec(body), actor=staff.actor,
                                            card_hold=service.extras["checkout_hold"])
        await idempotency.remember(uow, staff.actor, idempotency_key, placed.id)
    return placed_order_view(placed)


async def create_order_at_once(service: Service, request: FastRequest) -> FastAnswer | None:
    """`create_order` without an Idempotency-Key, as a fast route: the organizer's (and a load's)
    most frequent write skips the framework's request handling. Whatever it does not place (no
    valid token, a body `NewOrder` refuses, an order refused before or by its one statement, so
    with nothing written) returns None, and `create_order` places or refuses it again."""
    if b"idempotency-key" in request.headers:
        return None
    try:
        staff = staff_holding(service.settings, request.header(b"authorization"), WRITE_SCOPES)
        placed = await _place_in_one_statement(service, NewOrder.model_validate_json(request.body), staff.actor)
    except (ApiError, ValidationError):
        return None
    except DBAPIError as error:
        if find_cause(error, REFUSED_BEFORE_WRITING) is None:
            raise  # the connection failed: whether the order was placed is not known, so it is not placed again
        return None
    return FastAnswer(placed_order_view(placed).model_dump_json().encode(), status=status.HTTP_201_CREATED)


def _order_spec(body: NewOrder) -> ordering.OrderSpec:
    return ordering.OrderSpec(event_id=body.event_id, buyer=body.buyer, payment_method=body.payment_method,
                              note=body.note, event_organization_id=body.event_organization_id,
                              lines=[ordering.LineSpec(line.ticket_type_id, line.quantity) for line in body.lines])


async def _place_in_one_statement(service: Service, body: NewOrder, actor: str) -> ordering.PlacedOrder:
    async with service.database.single_statement_work() as uow:
        return await ordering.place_order(uow, _order_spec(body), actor=actor,
                                          card_hold=service.extras["checkout_hold"])


@router.get("/orders/{order_id}", summary="An order: lines, amounts, history, payments, invoice, actions")
async def get_order(order_id: uuid.UUID, service: ServiceDep, staff: Reader) -> OrderView:
    async with service.database.single_reads() as session:
        return await order_view(session, order_id)


@router.post("/orders/{order_id}/approve", summary="Approve a sponsored or free order: it settles")
async def approve(order_id: uuid.UUID, service: ServiceDep, staff: Writer) -> OrderView:
    async with service.database.unit_of_work() as uow:
        await ordering.approve(uow, order_id, actor=staff.actor)
        return await order_view(uow.session, order_id)


@router.post("/orders/{order_id}/invoice", summary="Send the invoice: number, due date, PDF")
async def send_invoice(order_id: uuid.UUID, service: ServiceDep, staff: Writer) -> OrderView:
    async with service.database.unit_of_work() as uow:
        await invoicing.send_invoice(uow, order_id, actor=staff.actor)
        return await order_view(uow.session, order_id)


@router.post("/orders/{order_id}/mark-paid", summary="Record the invoice's payment: the order settles")
async def mark_paid(order_id: uuid.UUID, body: MarkPaid, service: ServiceDep, staff: Writer) -> OrderView:
    async with service.database.unit_of_work() as uow:
        await ordering.mark_paid(uow, order_id, actor=staff.actor, reference=body.payment_reference)
        return await order_view(uow.session, order_id)


@router.post("/orders/{order_id}/checkout", summary="Start (or resume) the card payment: a Stripe Checkout URL")
async def checkout(order_id: uuid.UUID, service: ServiceDep, staff: Writer) -> Checkout:
    url = await card_payments.start_checkout(service.database, stripe_gateway(service), order_id, actor=staff.actor)
    return Checkout(checkout_url=url)


@router.post("/orders/{order_id}/cancel", summary="Cancel an order, refunding it if it was settled")
async def cancel(order_id: uuid.UUID, body: Cancellation, service: ServiceDep, staff: Writer) -> OrderView:
    async with service.database.unit_of_work() as uow:
        order = await ordering.load_order(uow.session, order_id, lock=True)
        settled = order.status == OrderStatus.SETTLED.value
        if settled and not body.refund:
            raise Conflict("refund_required", "A settled order is cancelled by refunding it (refund: true).")
        card_refund = settled and order.payment_method == PaymentMethod.CARD.value
        if not card_refund:
            await ordering.cancel(uow, order, actor=staff.actor, reason=body.reason, refunded=settled)
    if card_refund:
        await card_payments.refund_and_cancel(service.database, stripe_gateway(service), order_id,
                                              actor=staff.actor, reason=body.reason)
    async with service.database.sessions() as session:
        return await order_view(session, order_id)


@router.get("/orders/{order_id}/invoice.pdf", summary="The invoice as issued", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def invoice_pdf(order_id: uuid.UUID, service: ServiceDep, staff: Reader) -> Response:
    async with service.database.sessions() as session:
        found = await invoicing.invoice_pdf(session, order_id)
    if found is None:
        raise NotFound("invoice_not_found", f"Order {order_id} has no invoice.")
    number, pdf = found
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="invoice-{number}.pdf"'})


# -- helpers


def stripe_gateway(service):
    gateway = service.extras.get("stripe")
    if gateway is None:
        raise ApiError(503, "card_payments_not_configured", "Card payments are not configured (STRIPE_API_KEY).")
    return gateway


def _rows_as_json(table, *order_by):
    """The order's rows of ``table`` as one JSON list, in the order's own query."""
    pairs = [item for column in table.c if column.name != "order_id"
             for item in (literal_column(f"'{column.name}'"), column)]
    aggregated = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), *order_by))
    return type_coerce(
        select(func.coalesce(aggregated, text("'[]'::json"))).where(table.c.order_id == orders.c.id)
        .scalar_subquery(), JSON)


# Built once: SQLAlchemy memoizes a statement's cache key, so each request skips
# traversing this statement to find its compiled form.
ORDER_VIEW = select(
    orders,
    _rows_as_json(order_lines, order_lines.c.line_no).label("lines_json"),
    _rows_as_json(order_transitions, order_transitions.c.id).label("transitions_json"),
    _rows_as_json(payments, payments.c.id).label("payments_json"),
    invoices.c.number.label("invoice_number"), invoices.c.issued_on, invoices.c.due_on,
    invoices.c.payment_reference, invoices.c.paid_at, invoices.c.paid_reference,
).outerjoin(invoices, invoices.c.order_id == orders.c.id).where(orders.c.id == bindparam("order_id"))


def placed_order_view(order: ordering.PlacedOrder) -> OrderView:
    """A new order's page from what placing it wrote: what `order_view` would read back."""
    spec = order.spec
    return OrderView(
        id=order.id, number=order.number, event_id=spec.event_id, buyer=spec.buyer,
        payment_method=spec.payment_method.value, status=ordering.PLACED_STATUS.value, channel=spec.channel,
        event_organization_id=spec.event_organization_id, note=spec.note, currency=order.currency,
        quantity=order.quantity, net=order.total.net, vat=order.total.vat, gross=order.total.gross,
        issued_count=0, voided_count=0, ticket_count_status=domain.ticket_count_status(order.quantity, 0),
        checkout_url=None, hold_expires_at=order.hold_expires_at, created_at=order.created_at,
        actions=view.actions_for(ordering.PLACED_STATUS.value, spec.payment_method.value),
        lines=[OrderLineView(line_no=line.line_no, ticket_type_id=line.ticket_type_id,
                             ticket_type_name=line.ticket_type_name, quantity=line.quantity, unit_net=line.unit_net,
                             net=line.amounts.net, vat=line.amounts.vat, gross=line.amounts.gross)
               for line in order.lines],
        transitions=[TransitionView(from_status=None, to_status=ordering.PLACED_STATUS.value, actor=order.actor,
                                    reason=ordering.PLACED_REASON, at=order.created_at)],
        payments=[], invoice=None,
    )


async def order_view(session, order_id: uuid.UUID) -> OrderView:
    """The order page in one round trip: the order with its lines, transitions, payments and invoice.

    Called inside a unit of work, it shows the order as that transaction leaves it."""
    order = (await session.execute(ORDER_VIEW, {"order_id": order_id})).first()
    if order is None:
        raise NotFound("order_not_found", f"No order {order_id}.")
    return OrderView(
        id=order.id, number=order.number, event_id=order.event_id,
        buyer=Buyer(name=order.buyer_name, email=order.buyer_email, company=order.buyer_company,
                    phone=order.buyer_phone, language=order.language),
        payment_method=order.payment_method, status=order.status, channel=order.channel,
        event_organization_id=order.event_organization_id, note=order.note, currency=order.currency,
        quantity=order.quantity, net=order.net, vat=order.vat, gross=order.gross, issued_count=order.issued_count,
        voided_count=order.voided_count,
        ticket_count_status=domain.ticket_count_status(order.quantity, order.issued_count),
        checkout_url=order.checkout_url, hold_expires_at=order.hold_expires_at, created_at=order.created_at,
        actions=view.actions_for(order.status, order.payment_method),
        lines=order.lines_json, transitions=order.transitions_json, payments=order.payments_json,
        invoice=InvoiceView(number=order.invoice_number, issued_on=order.issued_on, due_on=order.due_on,
                            payment_reference=order.payment_reference, paid_at=order.paid_at,
                            paid_reference=order.paid_reference,
                            pdf_url=f"/v1/orders/{order_id}/invoice.pdf") if order.invoice_number else None,
    )
