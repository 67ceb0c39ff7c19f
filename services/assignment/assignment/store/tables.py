"""The assignment database: event persons, the tickets they can hold, and who holds which."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "assignment"

# What this service knows of each event (from ticket.issued), and the organizer's lock on changes.
events = Table(
    "events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200)),
    Column("starts_at", DateTime(timezone=True)),
    Column("venue", String(200)),
    Column("changes_locked_at", DateTime(timezone=True)),
)

persons = Table(
    "persons",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("company", String(200)),
    Column("job_title", String(200)),
    Column("phone", String(50)),
    Column("custom", JSONB, nullable=False, server_default="{}"),
    Column("language", String(2), nullable=False, server_default="en"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
# A person is specific to one event; their email identifies them there.
Index("uq_persons_event_email", persons.c.event_id, func.lower(persons.c.email), unique=True)

tickets = Table(
    "tickets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False),
    Column("order_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("ticket_type_name", String(200), nullable=False),
    Column("buyer_email", String(320), nullable=False),
    Column("qr_payload", Text, nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("holder_id", UUID(as_uuid=True), ForeignKey("persons.id")),
    Column("voided", Boolean, nullable=False, server_default="false"),
    Column("checked_in_at", DateTime(timezone=True)),
    # The trace the ticket was issued in: later changes by people join it.
    Column("traceparent", String(64)),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

holder_history = Table(
    "holder_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("ticket_id", UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id")),
    Column("changed_by", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# Voids that arrived before their ticket's issue (another topic): applied when it comes.
early_voids = Table(
    "early_voids",
    metadata,
    Column("ticket_id", UUID(as_uuid=True), primary_key=True),
)

# Claim links: the buyer sends a ticket to an address; whoever opens the link there
# confirms their details and becomes the holder. Only the token's hash is kept.
claims = Table(
    "claims",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("ticket_id", UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("email", String(320), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id")),
    # A newer link for the ticket, or the ticket changing hands, withdraws the links still open.
    Column("withdrawn_at", DateTime(timezone=True)),
)

# The custom person fields an organizer asks for at an event (diet, T-shirt size...).
person_fields = Table(
    "person_fields",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("key", String(50), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("required", Boolean, nullable=False, server_default="false"),
    Column("position", Integer, nullable=False),
)
