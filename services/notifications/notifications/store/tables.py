"""The notifications database: the message log, with each message's delivery state."""

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Identity, Index, Integer, String, Table, Text,
                        UniqueConstraint, func, text)
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
    # While an attempt is out (status "sending"); one left behind by a crash is taken back after a lease.
    Column("attempt_started_at", DateTime(timezone=True)),
    # Attempts cut short by a crash after the send: each may have delivered a copy already.
    Column("interrupted_attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("traceparent", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
)
Index("messages_due", messages.c.next_attempt_at, postgresql_where=text("status = 'pending'"))
# The attempts out, looked through before every batch for one a crash left behind.
Index("messages_out", messages.c.attempt_started_at, postgresql_where=text("status = 'sending'"))

# Who holds which ticket, learnt from issuance and assignment: the recipients of ticket messages.
tickets = Table(
    "tickets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_name", String(200)),
    Column("event_starts_at", DateTime(timezone=True)),
    Column("event_venue", String(200)),
    Column("ticket_number", String(20), nullable=False),
    Column("ticket_type_name", String(200), nullable=False),
    Column("holder_person_id", UUID(as_uuid=True), index=True),
    Column("holder_name", String(200)),
    Column("holder_email", String(320)),
    Column("holder_company", String(200)),
    Column("holder_language", String(2)),
    Column("voided", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What changed for a person, in order: the live stream replays it from Last-Event-ID.
person_updates = Table(
    "person_updates",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False),
    Column("ticket_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_person_updates_person", person_updates.c.person_id, person_updates.c.id)

# The native apps' push tokens, per person; a token the provider reports dead is removed.
push_devices = Table(
    "push_devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("platform", String(10), nullable=False),
    Column("token", String(512), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("platform", "token"),
)
