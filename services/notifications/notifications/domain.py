"""Notification rules: which message an event causes, delivery states, SMTP outcomes. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from .push import PushOutcome, PushResult


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    """What happened to one send attempt."""

    status: MessageStatus
    error: str | None = None
    drop_device: bool = False
    """The push provider says the device token is dead."""


def smtp_outcome(code: int | None, message: str) -> Delivery:
    """Classify an SMTP failure: 5xx is permanent, anything else (4xx, no answer) is retried."""
    if code is not None and 500 <= code < 600:
        return Delivery(MessageStatus.FAILED, f"{code} {message}".strip())
    return Delivery(MessageStatus.PENDING, f"{code or 'no answer'} {message}".strip())


def push_outcome(outcome: PushOutcome) -> Delivery:
    """A push provider's answer as a delivery: retried, or recorded as failed (a dead token too)."""
    if outcome.result is PushResult.DELIVERED:
        return Delivery(MessageStatus.SENT)
    answer = f"{outcome.status_code or 'no answer'} {outcome.answer}".strip()
    if outcome.result is PushResult.RETRY:
        return Delivery(MessageStatus.PENDING, answer)
    return Delivery(MessageStatus.FAILED, answer, drop_device=outcome.result is PushResult.INVALID_TOKEN)


def retry_delay(attempts: int, *, base_seconds: float = 5.0, max_seconds: float = 900.0) -> timedelta:
    """Exponential backoff between delivery attempts."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def dedup_key(event_id: str, recipient: str, template: str) -> str:
    return f"{event_id}:{recipient.strip().lower()}:{template}"
