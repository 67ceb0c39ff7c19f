"""The checkin database: its own projection of valid tickets and keys, lists, check-ins and scans."""

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, Sequence,
                        String, Table, Text, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

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

# Every change to a ticket takes the next number: scanners sync what changed after their cursor.
ticket_changes = Sequence("ticket_changes", metadata=metadata)

tickets = Table(
    "tickets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("event_name", String(200)),
    Column("ticket_type_id", UUID(as_uuid=True)),
    Column("ticket_type_name", String(200), nullable=False),
    Column("secret_version", Integer, nullable=False),
    # The current QR code, for badges.
    Column("qr_payload", Text),
    Column("voided", Boolean, nullable=False, server_default="false"),
    Column("holder_person_id", UUID(as_uuid=True)),
    Column("holder_name", String(200)),
    Column("holder_email", String(320)),
    Column("holder_company", String(200)),
    # The trace the ticket was issued in: its check-in joins it.
    Column("traceparent", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("change_seq", BigInteger, ticket_changes, nullable=False, server_default=ticket_changes.next_value()),
)
Index("ix_tickets_event_changes", tickets.c.event_id, tickets.c.change_seq)
# Desk search by name or e-mail.
Index("ix_tickets_holder_search", tickets.c.event_id, func.lower(tickets.c.holder_name))
Index("ix_tickets_holder_email", tickets.c.event_id, func.lower(tickets.c.holder_email))

check_in_lists = Table(
    "check_in_lists",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default="false"),
    # The ticket types it admits; null admits every type.
    Column("ticket_type_ids", ARRAY(UUID(as_uuid=True))),
    Column("valid_from", DateTime(timezone=True)),
    Column("valid_until", DateTime(timezone=True)),
    # Entry only, or entry and exit (exits are scanned too); re-entry after an exit.
    Column("allow_exit", Boolean, nullable=False, server_default="false"),
    Column("allow_reentry", Boolean, nullable=False, server_default="false"),
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
    Column("device_id", UUID(as_uuid=True)),
    # When the scan happened (offline: the scanner's clock), and when it reached the server.
    Column("checked_in_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reverted_at", DateTime(timezone=True)),
    Column("reverted_by", String(200)),
    Column("revert_reason", String(500)),
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
    Column("device_id", UUID(as_uuid=True)),
    Column("result", String(40), nullable=False),
    Column("answer", JSONB, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

# Entries and exits after the first admission, on lists that scan exits.
passages = Table(
    "passages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("ticket_id", UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False),
    Column("list_id", UUID(as_uuid=True), ForeignKey("check_in_lists.id"), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("gate", String(100), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_passages_ticket_list", passages.c.ticket_id, passages.c.list_id, passages.c.id)

devices = Table(
    "devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("gate", String(100), nullable=False),
    Column("list_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    # Only a hash of the token is kept: a leaked table admits no scanner.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
)

# A second offline admission of a ticket already admitted on the list: reported, never merged.
check_in_conflicts = Table(
    "check_in_conflicts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("ticket_id", UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False),
    Column("list_id", UUID(as_uuid=True), ForeignKey("check_in_lists.id"), nullable=False),
    Column("kept_check_in_id", UUID(as_uuid=True), ForeignKey("check_ins.id"), nullable=False),
    Column("device_id", UUID(as_uuid=True)),
    Column("gate", String(100), nullable=False),
    Column("nonce", String(100), nullable=False, unique=True),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_check_in_conflicts_list", check_in_conflicts.c.list_id, check_in_conflicts.c.reported_at)
