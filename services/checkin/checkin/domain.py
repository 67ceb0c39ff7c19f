"""Gate rules: the answers a scan can get and which rule gives which. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum


class ScanResult(StrEnum):
    ADMITTED = "admitted"
    EXITED = "exited"
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_INSIDE = "not_inside"
    VOIDED = "voided"
    REVOKED = "revoked"
    UNKNOWN_TICKET = "unknown_ticket"
    OTHER_EVENT = "other_event"
    TICKET_TYPE_NOT_ON_LIST = "ticket_type_not_on_list"
    NOT_VALID_YET = "not_valid_yet"
    NO_LONGER_VALID = "no_longer_valid"
    INVALID_SIGNATURE = "invalid_signature"


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class Mode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    MANUAL = "manual"


MESSAGES = {
    ScanResult.ADMITTED: "Admitted.",
    ScanResult.EXITED: "Exit recorded.",
    ScanResult.ALREADY_CHECKED_IN: "Already checked in.",
    ScanResult.NOT_INSIDE: "This ticket is not inside: there is no entry to leave by.",
    ScanResult.VOIDED: "This ticket has been voided.",
    ScanResult.REVOKED: "This QR code was replaced by a newer one (the ticket was reassigned).",
    ScanResult.UNKNOWN_TICKET: "Unknown ticket.",
    ScanResult.OTHER_EVENT: "This ticket is for another event.",
    ScanResult.TICKET_TYPE_NOT_ON_LIST: "This ticket type does not enter here.",
    ScanResult.NOT_VALID_YET: "This entrance does not admit yet.",
    ScanResult.NO_LONGER_VALID: "This entrance no longer admits.",
    ScanResult.INVALID_SIGNATURE: "Not a valid ticket code: the signature does not match.",
}


def ticket_state_result(*, voided: bool, current_secret_version: int, scanned_secret_version: int | None) -> ScanResult | None:
    """Why a genuine, known ticket is refused before admission, or None if it may enter.

    ``scanned_secret_version`` is None when the ticket number was typed in: there is no code to be revoked.
    """
    if voided:
        return ScanResult.VOIDED
    if scanned_secret_version is not None and scanned_secret_version < current_secret_version:
        return ScanResult.REVOKED
    # A newer version than the projection knows is still genuine (it is signed):
    # the reissue has not reached the gate yet.
    return None


def list_rule_result(*, admits_types: Sequence[uuid.UUID] | None, valid_from: datetime | None,
                     valid_until: datetime | None, ticket_type_id: uuid.UUID | None, at: datetime) -> ScanResult | None:
    """Why a check-in list refuses the ticket at ``at``, or None if its rules let it in."""
    if admits_types is not None and ticket_type_id not in admits_types:
        return ScanResult.TICKET_TYPE_NOT_ON_LIST
    if valid_from is not None and at < valid_from:
        return ScanResult.NOT_VALID_YET
    if valid_until is not None and at >= valid_until:
        return ScanResult.NO_LONGER_VALID
    return None


def passage_result(*, direction: Direction, admitted: bool, inside: bool, allow_reentry: bool) -> ScanResult:
    """On a list that scans exits: the answer for a ticket admitted before (``admitted``)."""
    if direction is Direction.EXIT:
        return ScanResult.EXITED if inside else ScanResult.NOT_INSIDE
    if not admitted:
        return ScanResult.ADMITTED
    return ScanResult.ADMITTED if (not inside and allow_reentry) else ScanResult.ALREADY_CHECKED_IN
