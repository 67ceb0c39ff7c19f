"""What the notifications service does: turn events into messages in the log, and keep who holds which ticket.

Handlers only write: the message log (one message per event, recipient and
template), the person's update stream, and the ticket projection, all in the
event's inbox transaction. Workers deliver the messages afterwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert

from ticketflow_runtime import Delivery, UnitOfWork
from ticketflow_runtime.auth import mint_link_token
from ticketflow_runtime.telemetry import current_traceparent
from ticketflow_schemas import events as contracts
from ticketflow_schemas.envelope import Envelope

from .dispatcher import CHANNEL, PUSH_CHANNEL
from .domain import MessageStatus, dedup_key
from .store.tables import person_updates, push_devices, tickets

UPDATES_CHANNEL = "notifications_person_updates"


# Events older than this tell nobody anything new (a replay, a new subscription
# reading a topic's history): they update the projection but send nothing.
MAX_EVENT_AGE = timedelta(hours=72)


def too_old(cause: Envelope) -> bool:
    return cause.time < datetime.now(UTC) - MAX_EVENT_AGE


async def enqueue_email(uow: UnitOfWork, *, template: str, recipient: str, language: str, subject_id: str,
                        context: dict, cause: Envelope | None = None) -> bool:
    """Add an email to the log, once per (event, recipient, template). Returns whether it is new.

    ``cause`` is the event it tells of: the unit of work's own, unless a batch handler names one of its events.
    """
    return await _log_message(uow, channel="email", template=template, recipient=recipient, language=language,
                              subject_id=subject_id, context=context, cause=cause)


# As text: SQLAlchemy compiles PostgreSQL's INSERT ... ON CONFLICT anew on every execution.
_LOG_MESSAGE = text(
    "INSERT INTO messages (id, dedup_key, channel, template, recipient, language, context, subject_id, status,"
    " traceparent) VALUES (:id, :dedup_key, :channel, :template, :recipient, :language, CAST(:context AS jsonb),"
    " :subject_id, :status, :traceparent) ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
)
_DISPATCHER_CHANNELS = {"email": CHANNEL, "push": PUSH_CHANNEL}


async def _log_message(uow: UnitOfWork, *, channel: str, template: str, recipient: str, language: str,
                       subject_id: str, context: dict, cause: Envelope | None) -> bool:
    """A message for the dispatcher of ``channel``, once per (event, recipient, template); woken at commit."""
    cause = cause or uow.envelope
    assert cause is not None, "messages are caused by events"
    if too_old(cause):
        return False
    inserted = await uow.session.execute(_LOG_MESSAGE, {
        "id": uuid.uuid4(), "dedup_key": dedup_key(str(cause.id), recipient, template), "channel": channel,
        "template": template, "recipient": recipient, "language": language, "context": json.dumps(context),
        "subject_id": subject_id, "status": MessageStatus.PENDING.value, "traceparent": current_traceparent()})
    if inserted.first() is None:
        return False
    # The dispatchers claim with SKIP LOCKED in any process: this one's, woken at the commit, will do.
    uow.wake.add(_DISPATCHER_CHANNELS[channel])
    return True


async def record_update(uow: UnitOfWork, person_id: uuid.UUID, ticket_id: uuid.UUID, kind: str,
                        data: dict[str, Any]) -> None:
    """An entry in the person's live stream (the apps refresh at once)."""
    await record_updates(uow, [(person_id, ticket_id, kind, data)])


async def record_updates(uow: UnitOfWork, updates: list[tuple[uuid.UUID, uuid.UUID, str, dict[str, Any]]]) -> None:
    """Entries (person, ticket, kind, data) in their persons' live streams: two statements however many."""
    await uow.session.execute(insert(person_updates), [
        {"person_id": person_id, "ticket_id": ticket_id, "kind": kind, "data": data}
        for person_id, ticket_id, kind, data in updates])
    await uow.session.execute(_NOTIFY_PERSONS, {
        "channel": UPDATES_CHANNEL, "persons": sorted({str(person_id) for person_id, *_ in updates})})


_NOTIFY_PERSONS = text("SELECT pg_notify(:channel, person) FROM unnest(CAST(:persons AS text[])) AS person")


PUSH_TEXTS = {
    "ticket_arrived": {"en": ("Your ticket is here", "{ticket_type}, {event_name}"),
                       "sv": ("Din biljett har kommit", "{ticket_type}, {event_name}")},
    "ticket_changed": {"en": ("Your ticket has a new QR code", "The old code no longer works."),
                       "sv": ("Din biljett har en ny QR-kod", "Den gamla koden fungerar inte längre.")},
    "checked_in": {"en": ("Checked in", "Welcome to {event_name}!"),
                   "sv": ("Incheckad", "Välkommen till {event_name}!")},
}


async def enqueue_push(uow: UnitOfWork, kind: str, ticket, language: str, devices: list, cause: Envelope) -> int:
    """A push to each of a person's ``devices`` (from ``devices_of``), once per (event, device, kind)."""
    title, body = PUSH_TEXTS[kind].get(language, PUSH_TEXTS[kind]["en"])
    facts = {"ticket_type": ticket.ticket_type_name, "event_name": ticket.event_name or ""}
    for device in devices:
        await _log_message(uow, channel="push", template=kind, recipient=str(device.id), language=language,
                           subject_id=str(ticket.id), cause=cause, context={
                               "device_id": str(device.id), "platform": device.platform, "token": device.token,
                               "title": title, "body": body.format(**facts),
                               "data": {"kind": kind, "ticket_id": str(ticket.id),
                                        "ticket_number": ticket.ticket_number}})
    return len(devices)


async def devices_of(uow: UnitOfWork, person_ids) -> dict[uuid.UUID, list]:
    """The registered devices of each of these persons who has any (most have none)."""
    found: dict[uuid.UUID, list] = {}
    if not person_ids:
        return found
    rows = await uow.session.execute(select(push_devices).where(push_devices.c.person_id.in_(set(person_ids))))
    for device in rows.all():
        found.setdefault(device.person_id, []).append(device)
    return found


# -- to the buyer


def _buyer(order: contracts.OrderFacts) -> dict[str, Any]:
    return {"name": order.buyer.name, "language": order.buyer.language, "order_number": order.order_number,
            "event_name": order.event_name, "payment_method": order.payment_method}


def _amount(amount: contracts.Amount | None) -> dict[str, Any] | None:
    return None if amount is None else {"net": amount.net, "vat": amount.vat, "gross": amount.gross}


async def order_placed(uow: UnitOfWork, order: contracts.OrderPlaced) -> None:
    await enqueue_email(uow, template="order_placed", recipient=str(order.buyer.email), language=order.buyer.language,
                        subject_id=str(order.order_id), context={
                            **_buyer(order), "currency": order.amount.currency, "amount": _amount(order.amount),
                            "lines": [{"ticket_type_name": line.ticket_type_name, "quantity": line.quantity,
                                       "unit_net": line.unit_net} for line in order.lines]})


async def invoice_sent(uow: UnitOfWork, invoice: contracts.OrderInvoiceSent) -> None:
    await enqueue_email(uow, template="invoice_sent", recipient=str(invoice.buyer.email),
                        language=invoice.buyer.language, subject_id=str(invoice.order_id), context={
                            **_buyer(invoice), "invoice_number": invoice.invoice_number,
                            "due_on": invoice.due_on.isoformat(), "currency": invoice.amount.currency,
                            "amount": _amount(invoice.amount), "payment_reference": invoice.payment_reference,
                            "pdf_filename": invoice.pdf_filename, "pdf_base64": invoice.pdf_base64})


async def tickets_ready(uow: UnitOfWork, order: contracts.OrderSettled, *, manage_url: str, secret: str,
                        link_ttl_seconds: int) -> None:
    """The buyer's link to hand the tickets to people (a signed buyer link, as assignment issues them)."""
    token = mint_link_token(secret, "buyer", f"order:{order.order_id}", {"order_id": str(order.order_id)},
                            ttl_seconds=link_ttl_seconds)
    url = manage_url.format(order_id=order.order_id)
    await enqueue_email(uow, template="tickets_ready", recipient=str(order.buyer.email),
                        language=order.buyer.language, subject_id=str(order.order_id), context={
                            **_buyer(order), "quantity": order.quantity,
                            "manage_url": f"{url}{'&' if '?' in url else '?'}access_token={token}"})


async def claim_offered(uow: UnitOfWork, offer: contracts.TicketClaimOffered, *, claim_url: str) -> None:
    """The link to take a ticket, to the address it was made for; with the event as this service knows it."""
    ticket = (await _tickets(uow, [offer.ticket_id])).get(offer.ticket_id)
    await enqueue_email(uow, template="claim_offered", recipient=offer.email, language=offer.language,
                        subject_id=str(offer.ticket_id), context={
                            "language": offer.language, "ticket_number": offer.ticket_number,
                            "ticket_type": offer.ticket_type_name,
                            "event_name": ticket.event_name if ticket else None,
                            "event_on": ticket.event_starts_at.date().isoformat()
                            if ticket and ticket.event_starts_at else None,
                            "event_venue": ticket.event_venue if ticket else None,
                            "claim_url": claim_url.format(token=offer.claim_token),
                            "expires_on": offer.expires_at.date().isoformat()})


async def order_cancelled(uow: UnitOfWork, order: contracts.OrderCancelled) -> None:
    await enqueue_email(uow, template="order_cancelled", recipient=str(order.buyer.email),
                        language=order.buyer.language, subject_id=str(order.order_id), context={
                            **_buyer(order), "reason": order.reason, "refunded": order.refunded,
                            "currency": order.refund.currency if order.refund else "",
                            "refund": _amount(order.refund)})


# -- the ticket projection


async def record_issued(uow: UnitOfWork, issued: list[Delivery[contracts.TicketIssued]]) -> None:
    upsert = insert(tickets)
    # An assignment seen first created the row: it keeps its holder and gains the event's details.
    await uow.session.execute(upsert.on_conflict_do_update(index_elements=[tickets.c.id], set_={
        column: upsert.excluded[column] for column in ("event_name", "event_starts_at", "event_venue")
    }), [
        {"id": e.ticket_id, "order_id": e.order_id, "event_id": e.event_id, "event_name": e.event_name,
         "event_starts_at": e.event_starts_at, "event_venue": e.event_venue, "ticket_number": e.ticket_number,
         "ticket_type_name": e.ticket_type_name}
        for d in issued for e in [d.event]])


async def _ensure_tickets(uow: UnitOfWork, events: list[contracts.TicketAssigned | contracts.TicketReissued]) -> None:
    """The tickets' rows, started from events that came before their issue (another topic)."""
    await uow.session.execute(insert(tickets).on_conflict_do_nothing(), [
        {"id": e.ticket_id, "order_id": e.order_id, "event_id": e.event_id, "ticket_number": e.ticket_number,
         "ticket_type_name": e.ticket_type_name} for e in events])


async def _ticket(uow: UnitOfWork, ticket_id: uuid.UUID):
    return (await uow.session.execute(select(tickets).where(tickets.c.id == ticket_id).with_for_update())).first()


async def _tickets(uow: UnitOfWork, ticket_ids) -> dict[uuid.UUID, Any]:
    found = await uow.session.execute(select(tickets).where(tickets.c.id.in_(set(ticket_ids))))
    return {ticket.id: ticket for ticket in found.all()}


def _holder_context(ticket, holder: contracts.Holder | None = None) -> dict[str, Any]:
    return {
        "name": holder.name if holder else ticket.holder_name, "company": holder.company if holder else ticket.holder_company,
        "language": holder.language if holder else (ticket.holder_language or "en"),
        "ticket_number": ticket.ticket_number, "ticket_type": ticket.ticket_type_name,
        "event_id": str(ticket.event_id), "event_name": ticket.event_name,
        "event_starts_at": ticket.event_starts_at.isoformat() if ticket.event_starts_at else None,
        "event_venue": ticket.event_venue,
    }


async def tickets_assigned(uow: UnitOfWork, assigned: list[Delivery[contracts.TicketAssigned]]) -> None:
    """Keeps who holds each ticket (the batch's last assignment of a ticket wins, as it came last); the
    holders' apps learn it at once. A statement each for the rows, holders, stream entries and devices."""
    events = [delivery.event for delivery in assigned]
    await _ensure_tickets(uow, events)
    rows = await _tickets(uow, [e.ticket_id for e in events])
    now = datetime.now(UTC)
    await uow.session.execute(update(tickets).where(tickets.c.id == bindparam("assigned_ticket")).values(
        holder_person_id=bindparam("person_id"), holder_name=bindparam("name"), holder_email=bindparam("email"),
        holder_company=bindparam("company"), holder_language=bindparam("language"), updated_at=now), [
        {"assigned_ticket": e.ticket_id, "person_id": e.holder.person_id if e.holder else None,
         "name": e.holder.name if e.holder else None, "email": str(e.holder.email) if e.holder else None,
         "company": e.holder.company if e.holder else None, "language": e.holder.language if e.holder else None}
        for e in events])
    updates = []
    for e in events:
        ticket = rows[e.ticket_id]
        if e.previous_person_id and (e.holder is None or e.holder.person_id != e.previous_person_id):
            updates.append((e.previous_person_id, e.ticket_id, "ticket_removed", {"ticket_number": ticket.ticket_number}))
        if e.holder is not None:
            updates.append((e.holder.person_id, e.ticket_id, "ticket_arrived",
                            {"ticket_number": ticket.ticket_number, "ticket_type": ticket.ticket_type_name,
                             "event_name": ticket.event_name}))
    if updates:
        await record_updates(uow, updates)
    devices = await devices_of(uow, {e.holder.person_id for e in events if e.holder is not None})
    for delivery in assigned:
        if (holder := delivery.event.holder) is not None and holder.person_id in devices:
            await enqueue_push(uow, "ticket_arrived", rows[delivery.event.ticket_id], holder.language,
                               devices[holder.person_id], cause=delivery.envelope)


async def tickets_reissued(uow: UnitOfWork, reissued: list[Delivery[contracts.TicketReissued]]) -> None:
    """A new holder gets their ticket; a holder whose code changed gets the new one.

    A reissue may come before the ticket's issue or assignment (other topics): it
    carries what the message needs, and starts the ticket's row if need be.
    """
    events = [delivery.event for delivery in reissued]
    await _ensure_tickets(uow, events)
    rows = await _tickets(uow, [e.ticket_id for e in events])
    sent, updates = [], []
    for delivery in reissued:
        event, ticket = delivery.event, rows[delivery.event.ticket_id]
        holder = event.holder
        person_id = holder.person_id if holder else ticket.holder_person_id
        email = str(holder.email) if holder else ticket.holder_email
        if person_id is None or email is None:
            continue
        context = _holder_context(ticket, holder)
        await enqueue_email(uow, template="ticket_updated" if event.holder_unchanged else "your_ticket",
                            recipient=email, language=context["language"], subject_id=str(event.ticket_id),
                            context={**context, "qr_payload": event.qr_payload, "attach_ticket_pdf": True},
                            cause=delivery.envelope)
        updates.append((person_id, event.ticket_id, "ticket_changed",
                        {"ticket_number": ticket.ticket_number, "secret_version": event.secret_version}))
        if event.holder_unchanged:  # a new holder was pushed "ticket arrived" on assignment
            sent.append((delivery, person_id, ticket, context["language"]))
    if updates:
        await record_updates(uow, updates)
    devices = await devices_of(uow, {person_id for _, person_id, _, _ in sent})
    for delivery, person_id, ticket, language in sent:
        if person_id in devices:
            await enqueue_push(uow, "ticket_changed", ticket, language, devices[person_id], cause=delivery.envelope)


async def ticket_voided(uow: UnitOfWork, event: contracts.TicketVoided) -> None:
    await uow.session.execute(update(tickets).where(tickets.c.id == event.ticket_id).values(
        voided=True, updated_at=datetime.now(UTC)))
    ticket = await _ticket(uow, event.ticket_id)
    if ticket is None or ticket.holder_person_id is None or ticket.holder_email is None:
        return
    await enqueue_email(uow, template="ticket_voided", recipient=ticket.holder_email,
                        language=ticket.holder_language or "en", subject_id=str(event.ticket_id),
                        context={**_holder_context(ticket), "reason": event.reason})
    await record_update(uow, ticket.holder_person_id, event.ticket_id, "ticket_voided",
                        {"ticket_number": ticket.ticket_number})


async def checked_in(uow: UnitOfWork, admitted: list[Delivery[contracts.TicketCheckedIn]], *, welcome: bool) -> None:
    """Each holder's apps learn they are in (a welcome email too when the organizer wants one). A gate
    admits hundreds a minute: the batch's tickets, stream entries and devices take a statement each."""
    rows = await _tickets(uow, [delivery.event.ticket_id for delivery in admitted])
    admissions = [(delivery, ticket) for delivery in admitted
                  if (ticket := rows.get(delivery.event.ticket_id)) is not None and ticket.holder_person_id is not None]
    if not admissions:
        return
    await record_updates(uow, [
        (ticket.holder_person_id, ticket.id, "checked_in",
         {"ticket_number": ticket.ticket_number, "gate": delivery.event.gate,
          "checked_in_at": delivery.event.checked_in_at.isoformat()})
        for delivery, ticket in admissions])
    devices = await devices_of(uow, {ticket.holder_person_id for _, ticket in admissions})
    for delivery, ticket in admissions:
        language = ticket.holder_language or "en"
        if welcome and ticket.holder_email:
            await enqueue_email(uow, template="welcome", recipient=ticket.holder_email, language=language,
                                subject_id=str(ticket.id), context={**_holder_context(ticket), "gate": delivery.event.gate},
                                cause=delivery.envelope)
        await enqueue_push(uow, "checked_in", ticket, language, devices.get(ticket.holder_person_id, []),
                           cause=delivery.envelope)
