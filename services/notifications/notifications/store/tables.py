"""The notifications database: the message log, with each message's delivery state."""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "notifications"

messages = Table(
    "messages",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # One message per (event id, recipient, template): redelivered events send nothing new.
    Column("dedup_key", String(400), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("template", String(100), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("language", String(2), nullable=False),
    Column("context", JSONB, nullable=False),
    Column("subject_id", String(100), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("traceparent", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
)
Index("messages_due", messages.c.next_attempt_at, postgresql_where=text("status = 'pending'"))
