"""HTTP API of the notifications service: the message log."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from ticketflow_runtime import ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from .store.tables import messages

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["messages"])


class MessageView(BaseModel):
    id: uuid.UUID
    channel: str
    template: str
    recipient: str
    language: str
    subject_id: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/messages", summary="The message log: to whom, which template, when, delivery state")
async def list_messages(
    service: ServiceDep,
    recipient: str | None = None,
    subject_id: str | None = Query(default=None, description="e.g. a ticket id"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[MessageView]:
    conditions = []
    if recipient:
        conditions.append(messages.c.recipient == recipient)
    if subject_id:
        conditions.append(messages.c.subject_id == subject_id)
    async with service.database.sessions() as session:
        rows = (
            await session.execute(select(messages).where(*conditions).order_by(messages.c.created_at.desc()).limit(limit))
        ).all()
    return [MessageView(**r._mapping) for r in rows]
