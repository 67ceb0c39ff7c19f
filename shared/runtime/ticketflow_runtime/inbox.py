"""Inbox: the ids of events a consumer has applied, recorded with their effect."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_schemas.envelope import Envelope

_CLAIM = text(
    "INSERT INTO inbox (consumer, event_id, event_type, subject) "
    "SELECT :consumer, event_id, event_type, subject "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:subjects AS text[])) "
    "AS claimed (event_id, event_type, subject) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


async def claim_all(session: AsyncSession, consumer: str, envelopes: list[Envelope]) -> set[uuid.UUID]:
    """Record a batch of events as applied by ``consumer``; returns the ids that were not yet.

    Runs in the handlers' transaction: if they fail, the claims roll back with
    them and the redelivery is processed again.
    """
    if not envelopes:
        return set()
    result = await session.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "ids": [envelope.id for envelope in envelopes],
            "types": [envelope.type for envelope in envelopes],
            "subjects": [envelope.subject for envelope in envelopes],
        },
    )
    return set(result.scalars())
