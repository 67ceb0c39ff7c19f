"""What the notifications service does: turn events into messages in the log."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from ticketflow_runtime import UnitOfWork
from ticketflow_runtime.telemetry import current_traceparent
from ticketflow_schemas import events as contracts

from .dispatcher import CHANNEL
from .domain import MessageStatus, dedup_key
from .store.tables import messages


async def enqueue_email(uow: UnitOfWork, *, template: str, recipient: str, language: str, subject_id: str,
                        context: dict) -> bool:
    """Add an email to the log, once per (event, recipient, template). Returns whether it is new."""
    assert uow.envelope is not None, "messages are caused by events"
    inserted = await uow.session.execute(
        insert(messages)
        .values(id=uuid.uuid4(), dedup_key=dedup_key(str(uow.envelope.id), recipient, template), channel="email",
                template=template, recipient=recipient, language=language, context=context, subject_id=subject_id,
                status=MessageStatus.PENDING.value, traceparent=current_traceparent())
        .on_conflict_do_nothing()
        .returning(messages.c.id)
    )
    if inserted.first() is None:
        return False
    await uow.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return True


async def ticket_reissued(uow: UnitOfWork, event: contracts.TicketReissued) -> None:
    """The new holder's ticket, with the QR code that now admits (older ones no longer do)."""
    if event.holder is None or event.holder_unchanged:
        return
    await enqueue_email(
        uow,
        template="your_ticket",
        recipient=str(event.holder.email),
        language=event.holder.language,
        subject_id=str(event.ticket_id),
        context={
            "name": event.holder.name,
            "language": event.holder.language,
            "ticket_number": event.ticket_number,
            "ticket_type": event.ticket_type_name,
            "qr_payload": event.qr_payload,
            "event_id": str(event.event_id),
        },
    )
