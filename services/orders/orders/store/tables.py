"""The orders database: events catalog, ticket orders, their lines and transitions."""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Integer, Sequence, String, Table, Text,
    UniqueConstraint, func,
)
from sqlalchemy.dialects.postgresql import UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "orders"

order_number_seq = Sequence("order_number_seq", metadata=metadata, start=1)

events = Table(
    "events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("venue", String(200)),
    Column("currency", String(3), nullable=False),
    Column("vat_rate_bp", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
    CheckConstraint("capacity >= 0", name="capacity_non_negative"),
)

ticket_types = Table(
    "ticket_types",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("net_price", BigInteger, nullable=False),
    Column("quota", Integer),
    Column("position", Integer, nullable=False),
    UniqueConstraint("event_id", "name"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.id"), nullable=False, index=True),
    Column("buyer_name", String(200), nullable=False),
    Column("buyer_email", String(320), nullable=False),
    Column("buyer_company", String(200)),
    Column("buyer_phone", String(50)),
    Column("language", String(2), nullable=False),
    Column("payment_method", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("note", Text),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("issued_count", Integer, nullable=False, server_default="0"),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("ticket_type_id", UUID(as_uuid=True), ForeignKey("ticket_types.id"), nullable=False),
    Column("ticket_type_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_net", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("gross", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

order_transitions = Table(
    "order_transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.id"), nullable=False, index=True),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)
