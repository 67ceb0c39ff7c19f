"""Who may scan: registered scanner devices (opaque tokens bound to an event, its lists and a gate) and staff.

Device tokens are random and stored only as a SHA-256 hash; revoking a device
refuses its token from the next request on.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

import asyncpg

from fastapi import Depends, Request
from ticketflow_runtime import ApiError, Service, ServiceDep
from ticketflow_runtime.database import Database
from ticketflow_runtime.auth import AccessRule, Principal, Unauthorized, bearer_token, requires, scopes


DEVICE_TOKEN_PREFIX = "tfd_"

StaffReader = Annotated[Principal, Depends(scopes("checkin:read"))]
StaffWriter = Annotated[Principal, Depends(scopes("checkin:write"))]
_staff_scanner = scopes("checkin:scan")


_DEVICE = "SELECT id, event_id, gate, list_ids, revoked_at FROM devices WHERE token_hash = $1"
DEVICES_CHANNEL = "checkin_devices"


class KnownDevices:
    """Devices by token hash, kept in memory so that a scan reads no device row.

    Revoking a device forgets it in this process at once and, by a NOTIFY sent
    in the revocation's transaction, in the service's other processes. Entries
    are read again after ``keep_seconds`` in any case, which bounds what a missed
    notification could let through; without a LISTEN connection nothing is kept.
    """

    name = "known-devices"

    def __init__(self, database: Database, *, keep_seconds: float = 30.0) -> None:
        self.database = database
        self.keep_seconds = keep_seconds
        self._entries: dict[str, tuple[float, asyncpg.Record]] = {}
        self._forgotten = 0  # bumped by every revocation: a read that raced one is not kept
        self._listener = None
        self._next_listen = 0.0

    async def start(self) -> None:
        self._listener = await self.database.listen(DEVICES_CHANNEL, self.forget)

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.close()

    async def _listening(self) -> bool:
        """Whether revocations reach this process; after a loss nothing is kept, and it listens again
        (at most every few seconds)."""
        if self._listener is not None and not self._listener.closed:
            return True
        self._forgotten += 1
        self._entries.clear()
        if time.monotonic() >= self._next_listen:
            self._next_listen = time.monotonic() + 5
            await self.start()
        return False

    def forget(self, digest: str) -> None:
        self._forgotten += 1
        self._entries.pop(digest, None)

    async def find(self, digest: str) -> asyncpg.Record | None:
        listening = await self._listening()
        if listening and (entry := self._entries.get(digest)) is not None and entry[0] > time.monotonic():
            return entry[1]
        forgotten = self._forgotten
        async with self.database.driver_connection() as connection:
            device = await connection.fetchrow(_DEVICE, digest)
        if device is not None and listening and forgotten == self._forgotten:
            self._entries[digest] = (time.monotonic() + self.keep_seconds, device)
        return device


def new_device_token() -> tuple[str, str]:
    """A device token and the hash that is stored."""
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Scanner:
    """A device (bound to one event, its lists and a gate) or a staff member (any event, any list)."""

    actor: str
    device_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    list_ids: frozenset[uuid.UUID] | None = None
    gate: str | None = None

    def check_event(self, event_id: uuid.UUID) -> None:
        if self.event_id is not None and self.event_id != event_id:
            raise ApiError(403, "other_event", "This scanner is registered for another event.")

    def only_list(self) -> uuid.UUID | None:
        """The one list this scanner scans for, when it has exactly one."""
        return next(iter(self.list_ids)) if self.list_ids is not None and len(self.list_ids) == 1 else None

    def check_list(self, list_id: uuid.UUID) -> None:
        if self.list_ids is not None and list_id not in self.list_ids:
            raise ApiError(403, "list_not_allowed", "This scanner does not scan for that check-in list.")


async def device_scanner(service: Service, authorization: str) -> Scanner | None:
    """The device an ``Authorization`` header names, None when it names no device token;
    an unknown or revoked device's token is refused."""
    token = bearer_token(authorization)
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    device = await service.extras["devices"].find(token_hash(token))
    if device is None:
        raise Unauthorized("Unknown device token.")
    if device["revoked_at"] is not None:
        raise ApiError(401, "device_revoked", "This device was revoked: register it again to scan.")
    return Scanner(actor=f"device:{device['id']}", device_id=device["id"], event_id=device["event_id"],
                   list_ids=frozenset(device["list_ids"]), gate=device["gate"])


@requires(AccessRule(scopes=("checkin:scan",), devices=True))
async def _scanner(request: Request, service: ServiceDep) -> Scanner:
    if (device := await device_scanner(service, request.headers.get("authorization", ""))) is not None:
        return device
    staff = await _staff_scanner(request)
    return Scanner(actor=staff.actor)


ScannerDep = Annotated[Scanner, Depends(_scanner)]
