"""Inbox: the ids of events a consumer has applied, recorded with their effect."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope


async def claim(session: AsyncSession, consumer: str, envelope: Envelope) -> bool:
    """Record the event as applied by ``consumer``; False when it already was.

    Runs in the handler's transaction: if the handler fails, the claim rolls
    back with it and the redelivery is processed again.
    """
    result = await session.execute(
        text(
            "INSERT INTO inbox (consumer, event_id, event_type, subject) "
            "VALUES (:consumer, :event_id, :event_type, :subject) "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        ),
        {
            "consumer": consumer,
            "event_id": envelope.id,
            "event_type": envelope.type,
            "subject": envelope.subject,
        },
    )
    return result.first() is not None
