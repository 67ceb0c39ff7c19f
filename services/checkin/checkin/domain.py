"""Gate rules: verify a QR payload and decide the scan's answer. No I/O."""

from __future__ import annotations

from enum import StrEnum

from ticketflow_schemas import qr


class ScanResult(StrEnum):
    ADMITTED = "admitted"
    ALREADY_CHECKED_IN = "already_checked_in"
    VOIDED = "voided"
    REVOKED = "revoked"
    UNKNOWN_TICKET = "unknown_ticket"
    OTHER_EVENT = "other_event"
    INVALID_SIGNATURE = "invalid_signature"


MESSAGES = {
    ScanResult.ADMITTED: "Admitted.",
    ScanResult.ALREADY_CHECKED_IN: "Already checked in.",
    ScanResult.VOIDED: "This ticket has been voided.",
    ScanResult.REVOKED: "This QR code was replaced by a newer one (the ticket was reassigned).",
    ScanResult.UNKNOWN_TICKET: "Unknown ticket.",
    ScanResult.OTHER_EVENT: "This ticket is for another event.",
    ScanResult.INVALID_SIGNATURE: "Not a valid ticket code: the signature does not match.",
}


def ticket_state_result(*, voided: bool, current_secret_version: int, scanned_secret_version: int) -> ScanResult | None:
    """Why a genuine, known ticket is refused before admission, or None if it may enter."""
    if voided:
        return ScanResult.VOIDED
    if scanned_secret_version < current_secret_version:
        return ScanResult.REVOKED
    # A newer version than the projection knows is still genuine (it is signed):
    # the reissue has not reached the gate yet.
    return None
