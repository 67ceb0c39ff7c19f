"""Who may scan: registered scanner devices (opaque tokens bound to an event, its lists and a gate) and staff.

Device tokens are random and stored only as a SHA-256 hash; revoking a device
refuses its token from the next request on.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from ticketflow_runtime import ApiError, ServiceDep
from ticketflow_runtime.auth import AccessRule, Principal, Unauthorized, requires, scopes


DEVICE_TOKEN_PREFIX = "tfd_"

StaffReader = Annotated[Principal, Depends(scopes("checkin:read"))]
StaffWriter = Annotated[Principal, Depends(scopes("checkin:write"))]
_staff_scanner = scopes("checkin:scan")


_DEVICE = "SELECT id, event_id, gate, list_ids, revoked_at FROM devices WHERE token_hash = $1"


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

    def check_list(self, list_id: uuid.UUID) -> None:
        if self.list_ids is not None and list_id not in self.list_ids:
            raise ApiError(403, "list_not_allowed", "This scanner does not scan for that check-in list.")


@requires(AccessRule(scopes=("checkin:scan",), devices=True))
async def _scanner(request: Request, service: ServiceDep) -> Scanner:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.startswith(DEVICE_TOKEN_PREFIX):
        # Read on every request, so a revoked token stops at once; one statement, no transaction around it.
        async with service.database.driver_connection() as connection:
            device = await connection.fetchrow(_DEVICE, token_hash(token))
        if device is None:
            raise Unauthorized("Unknown device token.")
        if device["revoked_at"] is not None:
            raise ApiError(401, "device_revoked", "This device was revoked: register it again to scan.")
        return Scanner(actor=f"device:{device['id']}", device_id=device["id"], event_id=device["event_id"],
                       list_ids=frozenset(device["list_ids"]), gate=device["gate"])
    staff = await _staff_scanner(request)
    return Scanner(actor=staff.actor)


ScannerDep = Annotated[Scanner, Depends(_scanner)]
