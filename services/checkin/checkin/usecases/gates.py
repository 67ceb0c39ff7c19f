"""Setting up the gates: check-in lists with their rules, and the scanner devices allowed to scan them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import Conflict, NotFound, UnitOfWork, Unprocessable

from ..access import DEVICES_CHANNEL, new_device_token
from ..store.tables import check_in_lists, devices


@dataclass(frozen=True)
class ListRules:
    name: str
    ticket_type_ids: list[uuid.UUID] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    allow_exit: bool = False
    allow_reentry: bool = False

    def check(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise Unprocessable("invalid_validity", "valid_until must be after valid_from.")
        if self.allow_reentry and not self.allow_exit:
            raise Unprocessable("reentry_needs_exit", "Re-entry needs a list that scans exits (allow_exit).")
        if self.ticket_type_ids is not None and not self.ticket_type_ids:
            raise Unprocessable("no_ticket_types", "A list admits at least one ticket type (or null for all).")


def _values(rules: ListRules) -> dict:
    return {"name": rules.name, "ticket_type_ids": rules.ticket_type_ids, "valid_from": rules.valid_from,
            "valid_until": rules.valid_until, "allow_exit": rules.allow_exit, "allow_reentry": rules.allow_reentry}


async def create_list(uow: UnitOfWork, event_id: uuid.UUID, rules: ListRules) -> uuid.UUID:
    rules.check()
    list_id = uuid.uuid4()
    await uow.session.execute(insert(check_in_lists).values(id=list_id, event_id=event_id, **_values(rules)))
    return list_id


async def update_list(uow: UnitOfWork, list_id: uuid.UUID, rules: ListRules) -> None:
    rules.check()
    updated = await uow.session.execute(
        update(check_in_lists).where(check_in_lists.c.id == list_id).values(**_values(rules))
        .returning(check_in_lists.c.id))
    if updated.first() is None:
        raise NotFound("check_in_list_not_found", f"No check-in list {list_id}.")


async def load_list(session: AsyncSession, list_id: uuid.UUID):
    found = (await session.execute(select(check_in_lists).where(check_in_lists.c.id == list_id))).first()
    if found is None:
        raise NotFound("check_in_list_not_found", f"No check-in list {list_id}.")
    return found


async def event_lists(session: AsyncSession, event_id: uuid.UUID) -> list:
    return list((await session.execute(
        select(check_in_lists).where(check_in_lists.c.event_id == event_id)
        .order_by(check_in_lists.c.is_default.desc(), check_in_lists.c.created_at))).all())


async def register_device(uow: UnitOfWork, event_id: uuid.UUID, *, name: str, gate: str,
                          list_ids: list[uuid.UUID], actor: str) -> tuple[uuid.UUID, str]:
    """A scanner for the event's ``list_ids`` at ``gate``; returns its id and its token (shown once)."""
    if not list_ids:
        raise Unprocessable("no_lists", "A device scans for at least one check-in list.")
    found = set((await uow.session.scalars(select(check_in_lists.c.id).where(
        check_in_lists.c.id.in_(list_ids), check_in_lists.c.event_id == event_id))).all())
    if missing := [str(i) for i in list_ids if i not in found]:
        raise Unprocessable("unknown_lists", "These lists are not the event's.", lists=missing)
    device_id = uuid.uuid4()
    token, digest = new_device_token()
    await uow.session.execute(insert(devices).values(
        id=device_id, event_id=event_id, name=name, gate=gate, list_ids=sorted(set(list_ids)), token_hash=digest,
        created_by=actor))
    return device_id, token


async def revoke_device(uow: UnitOfWork, device_id: uuid.UUID) -> str:
    """Revokes the device; returns its token's hash."""
    device = (await uow.session.execute(select(devices).where(devices.c.id == device_id).with_for_update())).first()
    if device is None:
        raise NotFound("device_not_found", f"No device {device_id}.")
    if device.revoked_at is not None:
        raise Conflict("device_already_revoked", "This device was revoked already.")
    await uow.session.execute(update(devices).where(devices.c.id == device_id).values(revoked_at=datetime.now(UTC)))
    # Every process of the service forgets the device it may hold in memory.
    await uow.session.execute(text("SELECT pg_notify(:channel, :digest)"),
                              {"channel": DEVICES_CHANNEL, "digest": device.token_hash})
    return device.token_hash


async def event_devices(session: AsyncSession, event_id: uuid.UUID) -> list:
    return list((await session.execute(
        select(devices).where(devices.c.event_id == event_id).order_by(devices.c.created_at))).all())
