"""Card payments: Checkout Sessions out, Stripe webhooks in, refunds.

Webhooks are applied idempotently and in any order of arrival: every Stripe
event id is recorded in the transaction that applies it (a duplicate is a
no-op), and each event only moves an order along a transition that is still
legal, so an order settles at most once and a refund cancels it whenever it
arrives.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from ticketflow_runtime import ApiError, Conflict, UnitOfWork
from ticketflow_runtime.database import Database

from ..domain import OrderStatus, PaymentMethod
from ..store.tables import order_lines, orders, stripe_events
from ..stripe_gateway import CheckoutLine, PaymentProviderError, StripeGateway, checkout_deadline
from .ordering import cancel, load_order, record_payment, settle, transition

log = logging.getLogger(__name__)

HOLD_GRACE = timedelta(minutes=5)


class PaymentProviderUnavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(502, "payment_provider_unavailable", message)


async def start_checkout(database: Database, gateway: StripeGateway, order_id: uuid.UUID, *, actor: str) -> str:
    """A Stripe Checkout Session for a card order; the order becomes payment_pending. Returns its URL."""
    async with database.unit_of_work() as uow:
        order = await load_order(uow.session, order_id, lock=True)
        if order.payment_method != PaymentMethod.CARD.value:
            raise Conflict("not_a_card_order", f"Order {order.number} is paid by {order.payment_method}.")
        if order.status == OrderStatus.PAYMENT_PENDING.value and order.checkout_url:
            return order.checkout_url
        if order.status != OrderStatus.REQUESTED.value:
            raise Conflict("illegal_transition", f"An order in status {order.status!r} cannot be paid.",
                           status=order.status)
        lines = (await uow.session.execute(
            select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.line_no))).all()
        # The session's deadline is the order's hold; a renewed one is kept with the order before
        # Stripe is called (the hold as placed needs no write: it truncates to the same second).
        held_until = order.hold_expires_at - HOLD_GRACE if order.hold_expires_at else None
        expires_at = checkout_deadline(held_until, datetime.now(UTC), gateway.checkout_ttl)
        if held_until is None or expires_at != held_until.replace(microsecond=0):
            await uow.session.execute(
                update(orders).where(orders.c.id == order_id).values(hold_expires_at=expires_at + HOLD_GRACE))
    try:
        # The idempotency key is the order's and its deadline's, and so are all the parameters:
        # a retry after a lost answer gets the session Stripe already created.
        session = await gateway.create_checkout_session(
            order_id=str(order.id), order_number=order.number, email=order.buyer_email, currency=order.currency,
            lines=[CheckoutLine(name=line.ticket_type_name, unit_gross=line.gross // line.quantity,
                                quantity=line.quantity) for line in lines],
            expires_at=expires_at,
        )
    except PaymentProviderError as error:
        raise PaymentProviderUnavailable(f"Card payment could not be started: {error}") from error
    async with database.unit_of_work() as uow:
        order = await load_order(uow.session, order_id, lock=True)
        if order.status == OrderStatus.REQUESTED.value:
            await transition(uow, order, OrderStatus.PAYMENT_PENDING, actor=actor,
                             reason=f"checkout session {session.id}", checkout_session_id=session.id,
                             checkout_url=session.url, hold_expires_at=session.expires_at + HOLD_GRACE)
    return session.url


async def refund_and_cancel(database: Database, gateway: StripeGateway, order_id: uuid.UUID, *, actor: str,
                            reason: str) -> None:
    """Refund a settled card order through Stripe, then cancel it."""
    async with database.unit_of_work() as uow:
        order = await load_order(uow.session, order_id)
    if not order.payment_intent_id:
        raise Conflict("no_card_payment", f"Order {order.number} has no card payment to refund.")
    try:
        refund_id = await gateway.refund(payment_intent=order.payment_intent_id, order_id=str(order.id))
    except PaymentProviderError as error:
        raise PaymentProviderUnavailable(f"The refund failed: {error}") from error
    async with database.unit_of_work() as uow:
        order = await load_order(uow.session, order_id, lock=True)
        if order.status != OrderStatus.CANCELLED.value:  # the charge.refunded webhook may have won the race
            await record_payment(uow.session, order, kind="refund", provider="stripe", reference=refund_id,
                                 succeeded=True, amount=-order.gross)
            await cancel(uow, order, actor=actor, reason=reason, refunded=True)


# -- webhooks


async def apply_stripe_event(uow: UnitOfWork, event: dict) -> str:
    """Record and apply one verified Stripe event; returns what it did."""
    recorded = await uow.session.execute(
        insert(stripe_events)
        .values(id=event["id"], type=str(event["type"]), payload=event, outcome="received")
        .on_conflict_do_nothing()
        .returning(stripe_events.c.id)
    )
    if recorded.first() is None:
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    handler = HANDLERS.get(event["type"])
    order_id = _order_id(obj)
    if handler is None:
        outcome = "ignored"
    elif order_id is None:
        outcome = "no_order_reference"
    else:
        order = (await uow.session.execute(select(orders).where(orders.c.id == order_id).with_for_update())).first()
        if order is None and obj.get("payment_intent"):
            order = (await uow.session.execute(
                select(orders).where(orders.c.payment_intent_id == obj["payment_intent"]).with_for_update())).first()
        outcome = await handler(uow, order, obj) if order is not None else "unknown_order"
    await uow.session.execute(update(stripe_events).where(stripe_events.c.id == event["id"])
                              .values(outcome=outcome, order_id=order_id))
    return outcome


def _order_id(obj: dict) -> uuid.UUID | None:
    candidate = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_id")
    try:
        return uuid.UUID(str(candidate)) if candidate else None
    except ValueError:
        return None


async def _checkout_completed(uow: UnitOfWork, order, session: dict) -> str:
    if session.get("payment_status") != "paid":
        return "not_paid_yet"
    status = OrderStatus(order.status)
    payment_intent = session.get("payment_intent")
    if status is OrderStatus.SETTLED:
        return "already_settled"
    if status is OrderStatus.CANCELLED:
        # Paid after the hold was given up (or refunded first): staff must refund it.
        log.error("card payment for a cancelled order", extra={"order_id": str(order.id)})
        await record_payment(uow.session, order, kind="card_payment", provider="stripe", reference=payment_intent,
                             succeeded=True, amount=session.get("amount_total"), detail="paid after cancellation")
        return "paid_after_cancellation"
    if session.get("amount_total") is not None and int(session["amount_total"]) != order.gross:
        return "amount_mismatch"
    await record_payment(uow.session, order, kind="card_payment", provider="stripe", reference=payment_intent,
                         succeeded=True)
    await uow.session.execute(update(orders).where(orders.c.id == order.id).values(payment_intent_id=payment_intent))
    await settle(uow, order, actor="stripe", reason=f"card payment {payment_intent}")
    return "settled"


async def _checkout_expired(uow: UnitOfWork, order, session: dict) -> str:
    if order.status not in (OrderStatus.REQUESTED.value, OrderStatus.PAYMENT_PENDING.value):
        return f"ignored_in_{order.status}"
    await cancel(uow, order, actor="stripe", reason="checkout expired: tickets released")
    return "cancelled"


async def _payment_failed(uow: UnitOfWork, order, intent: dict) -> str:
    error = intent.get("last_payment_error") or {}
    await record_payment(uow.session, order, kind="card_payment", provider="stripe", reference=intent.get("id"),
                         succeeded=False, detail=error.get("message") or error.get("code") or "payment failed")
    return "failure_recorded"  # the buyer may try again until the checkout expires


async def _charge_refunded(uow: UnitOfWork, order, charge: dict) -> str:
    refunded = int(charge.get("amount_refunded") or 0)
    await record_payment(uow.session, order, kind="refund", provider="stripe", reference=charge.get("id"),
                         succeeded=True, amount=-refunded)
    if order.status == OrderStatus.CANCELLED.value:
        return "already_cancelled"
    if not charge.get("refunded") and refunded < order.gross:
        return "partial_refund_recorded"
    await cancel(uow, order, actor="stripe", reason="refunded", refunded=True)
    return "cancelled_refunded"


HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.expired": _checkout_expired,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
}


async def cancel_expired_holds(uow: UnitOfWork, *, limit: int = 100) -> int:
    """Card orders whose checkout ended without payment give their tickets back
    (the fallback when checkout.session.expired never arrives)."""
    expired = (await uow.session.execute(
        select(orders)
        .where(orders.c.status.in_([OrderStatus.REQUESTED.value, OrderStatus.PAYMENT_PENDING.value]),
               orders.c.hold_expires_at < datetime.now(UTC))
        .order_by(orders.c.hold_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )).all()
    for order in expired:
        await cancel(uow, order, actor="system", reason="checkout expired: tickets released")
    return len(expired)
