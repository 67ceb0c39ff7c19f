"""Offline scanning: what a scanner downloads to decide alone, and the scans it uploads later.

The download is incremental: every change to a ticket takes the next number of
the ``ticket_changes`` sequence, and a scanner asks for the changes after the
cursor it holds. A ticket's ``secret_version`` says which QR code is current:
a code with a lower version is revoked; a voided ticket is refused whatever
its code.

Uploaded scans are decided as if online at the scanner's time, each in its own
savepoint and under its own nonce: a batch sent twice changes nothing, and an
admission that meets an earlier one is reported as a conflict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import ApiError, UnitOfWork
from ticketflow_schemas import qr

from . import scanning
from ..access import Scanner
from ..domain import Mode
from ..store.tables import check_in_lists, signing_keys, tickets


async def sync(session: AsyncSession, event_id: uuid.UUID, *, after: int, limit: int, scanner: Scanner) -> dict:
    scanner.check_event(event_id)
    keys = (await session.execute(
        select(signing_keys).where(signing_keys.c.event_id == event_id).order_by(signing_keys.c.first_seen_at))).all()
    lists_query = select(check_in_lists).where(check_in_lists.c.event_id == event_id)
    if scanner.list_ids is not None:
        lists_query = lists_query.where(check_in_lists.c.id.in_(scanner.list_ids))
    lists = (await session.execute(lists_query.order_by(check_in_lists.c.created_at))).all()
    changed = (await session.execute(
        select(tickets.c.id, tickets.c.number, tickets.c.ticket_type_id, tickets.c.ticket_type_name,
               tickets.c.secret_version, tickets.c.voided, tickets.c.holder_name, tickets.c.holder_company,
               tickets.c.change_seq)
        .where(tickets.c.event_id == event_id, tickets.c.change_seq > after)
        .order_by(tickets.c.change_seq).limit(limit + 1))).all()
    more = len(changed) > limit
    changed = changed[:limit]
    return {
        "event_id": event_id,
        "keys": [{"key_id": qr.key_id_text(k.key_id), "public_key": qr.encode_raw(k.public_key)} for k in keys],
        "lists": [{"id": li.id, "name": li.name, "ticket_type_ids": li.ticket_type_ids, "valid_from": li.valid_from,
                   "valid_until": li.valid_until, "allow_exit": li.allow_exit, "allow_reentry": li.allow_reentry}
                  for li in lists],
        "tickets": [{"id": t.id, "number": t.number, "ticket_type_id": t.ticket_type_id,
                     "ticket_type": t.ticket_type_name, "secret_version": t.secret_version, "voided": t.voided,
                     "holder_name": t.holder_name, "holder_company": t.holder_company} for t in changed],
        "voided_ticket_ids": [t.id for t in changed if t.voided],
        "cursor": changed[-1].change_seq if changed else after,
        "more": more,
    }


@dataclass(frozen=True)
class OfflineScan:
    nonce: str
    scanned_at: datetime
    payload: str | None = None
    ticket_number: str | None = None
    list_id: uuid.UUID | None = None
    gate: str | None = None


async def upload(uow: UnitOfWork, batch: list[OfflineScan], scanner: Scanner) -> list[dict]:
    """Apply a batch of offline scans in the order they happened; one result per scan."""
    results = []
    for item in sorted(batch, key=lambda s: s.scanned_at):
        request = scanning.ScanInput(
            gate=item.gate or scanner.gate or "offline", nonce=item.nonce, payload=item.payload,
            ticket_number=item.ticket_number, list_id=item.list_id, mode=Mode.OFFLINE, at=item.scanned_at)
        try:
            async with uow.session.begin_nested():
                answer = await scanning.scan(uow, request, scanner)
        except ApiError as error:
            results.append({"nonce": item.nonce, "error": {"code": error.code, "message": error.message}})
            continue
        results.append({"nonce": item.nonce, **answer})
    return results
