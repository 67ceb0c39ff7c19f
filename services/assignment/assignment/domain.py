"""Assignment rules. No I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonDetails:
    name: str
    email: str
    company: str | None = None
    language: str = "en"

    @property
    def email_key(self) -> str:
        """Emails identify a person per event, case-insensitively."""
        return self.email.strip().lower()


def holder_changes(current_holder_email: str | None, new: PersonDetails | None) -> bool:
    """Whether assigning ``new`` changes who holds the ticket (re-assigning the holder is a no-op)."""
    if new is None:
        return current_holder_email is not None
    return current_holder_email is None or current_holder_email.strip().lower() != new.email_key
