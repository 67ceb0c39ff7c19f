"""Invoices: gap-free numbers per organizer, an immutable PDF, paid with a reference."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, UnitOfWork
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_schemas import events as contracts

from .. import domain
from ..domain import OrderStatus, PaymentMethod
from ..invoice_pdf import InvoiceDocument, InvoiceLine, Party, payment_reference, render_invoice
from ..store.tables import events, invoices, order_lines, organizers
from .ordering import _amount, _order_facts, load_order, transition


async def send_invoice(uow: UnitOfWork, order_id: uuid.UUID, *, actor: str, today: date | None = None) -> uuid.UUID:
    """Issue the order's invoice: number, due date, PDF; the order becomes invoice_sent."""
    session = uow.session
    order = await load_order(session, order_id, lock=True)
    if order.payment_method != PaymentMethod.INVOICE.value:
        raise Conflict("not_an_invoice_order", f"Order {order.number} is paid by {order.payment_method}.")
    if order.status != OrderStatus.REQUESTED.value:
        raise Conflict("illegal_transition", f"An order in status {order.status!r} cannot be invoiced.",
                       status=order.status)
    event = (await session.execute(select(events).where(events.c.id == order.event_id))).one()
    # The organizer row is the counter: locked and advanced in this transaction, so a
    # rollback returns the number and numbers stay gap-free.
    seller = (await session.execute(
        select(organizers).where(organizers.c.id == event.organizer_id).with_for_update()
    )).one()
    await session.execute(update(organizers).where(organizers.c.id == seller.id)
                          .values(next_invoice_number=organizers.c.next_invoice_number + 1))
    number = domain.invoice_number(seller.invoice_prefix, seller.next_invoice_number)
    issued_on = today or datetime.now(UTC).date()
    due_on = issued_on + timedelta(days=seller.payment_terms_days)
    reference = payment_reference(number)
    pdf = render_invoice(await _document(session, order, event, seller, number, issued_on, due_on, reference))

    invoice_id = uuid.uuid4()
    await session.execute(
        insert(invoices).values(
            id=invoice_id, order_id=order.id, organizer_id=seller.id, number=number, issued_on=issued_on,
            due_on=due_on, payment_reference=reference, currency=order.currency, net=order.net, vat=order.vat,
            gross=order.gross, pdf=pdf,
        )
    )
    with continue_trace(order.traceparent, "send invoice", **{"order.id": str(order.id)}):
        await transition(uow, order, OrderStatus.INVOICE_SENT, actor=actor, reason=f"invoice {number} sent")
        await _publish_invoice(uow, order, number, issued_on, due_on, reference, pdf)
    return invoice_id


async def _publish_invoice(uow: UnitOfWork, order, number: str, issued_on: date, due_on: date, reference: str,
                           pdf: bytes) -> None:
    await uow.outbox.add(
        contracts.OrderInvoiceSent(
            **await _order_facts(uow.session, order), invoice_number=number, issued_on=issued_on, due_on=due_on,
            amount=_amount(order), payment_reference=reference, pdf_filename=f"invoice-{number}.pdf",
            pdf_base64=base64.b64encode(pdf).decode("ascii"), sent_at=datetime.now(UTC),
        )
    )


async def mark_invoice_paid(session: AsyncSession, order_id: uuid.UUID, reference: str) -> None:
    await session.execute(update(invoices).where(invoices.c.order_id == order_id, invoices.c.paid_at.is_(None))
                          .values(paid_at=datetime.now(UTC), paid_reference=reference))


async def _document(session: AsyncSession, order, event, seller, number: str, issued_on: date, due_on: date,
                    reference: str) -> InvoiceDocument:
    lines = (await session.execute(
        select(order_lines).where(order_lines.c.order_id == order.id).order_by(order_lines.c.line_no)
    )).all()
    return InvoiceDocument(
        invoice_number=number, issue_date=issued_on, due_date=due_on, currency=order.currency,
        seller=Party(name=seller.name, address_lines=tuple(filter(None, seller.address.splitlines())),
                     organisation_number=seller.registration_number, vat_number=seller.vat_number,
                     email=seller.email),
        buyer=Party(name=order.buyer_company or order.buyer_name,
                    contact_name=order.buyer_name if order.buyer_company else None, email=order.buyer_email),
        order_number=order.number,
        lines=tuple(
            InvoiceLine(description=f"{event.name}: {line.ticket_type_name}", quantity=line.quantity,
                        unit_net=line.unit_net, net=line.net, vat=line.vat, gross=line.gross)
            for line in lines
        ),
        net=order.net, vat=order.vat, gross=order.gross, vat_rate_bp=event.vat_rate_bp,
        payment_reference=reference,
        payment_instructions=tuple(filter(None, seller.payment_instructions.splitlines())),
        note=None, language="sv" if order.language == "sv" else "en",
    )


async def invoice_pdf(session: AsyncSession, order_id: uuid.UUID) -> tuple[str, bytes] | None:
    """The invoice as it was issued: its number and PDF."""
    row = (await session.execute(select(invoices.c.number, invoices.c.pdf).where(invoices.c.order_id == order_id))).first()
    return (row.number, row.pdf) if row else None
