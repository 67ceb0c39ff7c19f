"""The checkin database: its own projection of valid tickets and keys, lists, check-ins and scans."""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, BigInteger, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "checkin"

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", BigInteger, primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("ticket_type_name", String(200), nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("voided", Boolean, nullable=False, server_default="false"),
    Column("holder_person_id", UUID(as_uuid=True)),
    Column("holder_name", String(200)),
    Column("holder_company", String(200)),
    # The trace the ticket was issued in: its check-in joins it.
    Column("traceparent", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

check_in_lists = Table(
    "check_in_lists",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("one_default_list_per_event", check_in_lists.c.event_id, unique=True,
      postgresql_where=check_in_lists.c.is_default)

check_ins = Table(
    "check_ins",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("ticket_id", UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False),
    Column("list_id", UUID(as_uuid=True), ForeignKey("check_in_lists.id"), nullable=False),
    Column("gate", String(100), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("checked_in_at", DateTime(timezone=True), nullable=False),
    Column("reverted_at", DateTime(timezone=True)),
)
# Admitted once per list, also under concurrent scans: the database decides.
Index("one_admission_per_list", check_ins.c.ticket_id, check_ins.c.list_id, unique=True,
      postgresql_where=text("reverted_at IS NULL"))

scans = Table(
    "scans",
    metadata,
    Column("nonce", String(100), primary_key=True),
    Column("ticket_id", UUID(as_uuid=True)),
    Column("gate", String(100), nullable=False),
    Column("result", String(40), nullable=False),
    Column("answer", JSONB, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)
