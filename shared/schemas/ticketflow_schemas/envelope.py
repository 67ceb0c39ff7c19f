"""CloudEvents 1.0 envelope, Kafka protocol binding, binary content mode.

The record value is the event data as JSON; the context attributes travel as
``ce_*`` headers (design section 4). Any subscriber written with the official
``cloudevents`` SDK can read our records.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
TRACEPARENT = "traceparent"

HeaderPairs = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


class EnvelopeError(ValueError):
    """The record's headers are not a valid CloudEvents binary-mode envelope."""


class Envelope(BaseModel):
    """The CloudEvents context attributes of one event."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(pattern=r"^/ticketflow/[a-z]+$")
    type: str = Field(pattern=r"^ticketflow\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    specversion: str = SPEC_VERSION
    datacontenttype: str = CONTENT_TYPE

    @classmethod
    def for_service(cls, service: str, *, type: str, subject: str) -> Envelope:
        return cls(source=f"/ticketflow/{service}", type=type, subject=subject)

    def to_headers(self) -> dict[str, str]:
        return {
            "ce_specversion": self.specversion,
            "ce_id": str(self.id),
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "content-type": self.datacontenttype,
        }

    @classmethod
    def from_headers(cls, headers: HeaderPairs) -> Envelope:
        values = _decode_headers(headers)
        try:
            if values.get("ce_specversion") != SPEC_VERSION:
                raise EnvelopeError(
                    f"ce_specversion must be {SPEC_VERSION!r}, got {values.get('ce_specversion')!r}"
                )
            return cls(
                id=values.get("ce_id"),
                source=values.get("ce_source"),
                type=values.get("ce_type"),
                subject=values.get("ce_subject"),
                time=values.get("ce_time"),
                datacontenttype=values.get("content-type") or CONTENT_TYPE,
            )
        except ValidationError as error:
            raise EnvelopeError(f"invalid CloudEvents headers: {error}") from error


def _decode_headers(headers: HeaderPairs) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    decoded: dict[str, str] = {}
    for name, value in items:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        decoded[name] = value if value is not None else ""
    return decoded
