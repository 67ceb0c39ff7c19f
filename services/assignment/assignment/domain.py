"""Assignment rules. No I/O."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

CLAIM_TOKEN_BYTES = 32


@dataclass(frozen=True)
class PersonDetails:
    name: str
    email: str
    company: str | None = None
    language: str = "en"
    job_title: str | None = None
    phone: str | None = None
    custom: dict[str, str] = field(default_factory=dict)

    @property
    def email_key(self) -> str:
        """Emails identify a person per event, case-insensitively."""
        return self.email.strip().lower()


def holder_changes(current_holder_email: str | None, new: PersonDetails | None) -> bool:
    """Whether assigning ``new`` changes who holds the ticket (re-assigning the holder is a no-op)."""
    if new is None:
        return current_holder_email is not None
    return current_holder_email is None or current_holder_email.strip().lower() != new.email_key


def changes_locked(locked_at: datetime | None, now: datetime, *, by_staff: bool) -> bool:
    """After the organizer's deadline, buyers and attendees can no longer move tickets; staff still can."""
    return not by_staff and locked_at is not None and now >= locked_at


def new_claim_token() -> tuple[str, str]:
    """A claim link's secret and the hash stored in its place."""
    token = secrets.token_urlsafe(CLAIM_TOKEN_BYTES)
    return token, claim_token_hash(token)


def claim_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PersonField:
    key: str
    label: str
    required: bool = False


def custom_field_problems(fields: list[PersonField], custom: dict[str, str]) -> list[str]:
    """What is wrong with a person's custom values, against the fields the organizer defined."""
    if not fields:
        return [f"unknown field {key!r}" for key in sorted(custom)] if custom else []
    known = {field.key for field in fields}
    problems = [f"unknown field {key!r}" for key in sorted(custom) if key not in known]
    problems += [f"{field.label} ({field.key}) is required" for field in fields
                 if field.required and not (custom.get(field.key) or "").strip()]
    return problems
