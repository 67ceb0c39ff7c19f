"""The issuance database: tickets, their secret versions, and event signing keys."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Table, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "issuance"

tickets = Table(
    "tickets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("ticket_type_id", UUID(as_uuid=True), nullable=False),
    Column("ticket_type_name", String(200), nullable=False),
    Column("buyer_email", String(320), nullable=False),
    Column("status", String(20), nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("key_id", BigInteger, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    # The natural key: one ticket set per order, whatever the redeliveries.
    UniqueConstraint("order_id", "line_no", "seq"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", BigInteger, primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("private_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The newest key that is not retired signs; older ones keep verifying until retired.
    Column("retired_at", DateTime(timezone=True)),
    Index("ix_signing_keys_event_created", "event_id", "created_at"),
)

# Cancelled orders, whichever of order.settled and order.cancelled arrives first:
# a settlement seen after its cancellation issues nothing.
cancelled_orders = Table(
    "cancelled_orders",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("reason", String(500), nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=False),
)
