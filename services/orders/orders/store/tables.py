"""The orders database: events catalog, ticket orders, their lines and transitions."""

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, Sequence,
    String, Table, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ticketflow_runtime.tables import service_metadata

metadata, outbox, inbox = service_metadata()
metadata.info["service"] = "orders"

order_number_seq = Sequence("order_number_seq", metadata=metadata, start=1)

# The seller on invoices; events belong to one. Invoice numbers run gap-free per organizer.
organizers = Table(
    "organizers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("registration_number", String(50)),
    Column("vat_number", String(50)),
    Column("email", String(320)),
    Column("payment_instructions", Text, nullable=False, server_default=""),
    Column("invoice_prefix", String(20), nullable=False),
    Column("payment_terms_days", Integer, nullable=False, server_default="30"),
    Column("next_invoice_number", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

events = Table(
    "events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organizer_id", UUID(as_uuid=True), ForeignKey("organizers.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("venue", String(200)),
    Column("currency", String(3), nullable=False),
    Column("vat_rate_bp", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    # Tickets held or sold by orders that are not cancelled; moved atomically with each order.
    Column("sold", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
    CheckConstraint("capacity >= 0", name="capacity_non_negative"),
    CheckConstraint("sold >= 0 AND sold <= capacity", name="sold_within_capacity"),
)

ticket_types = Table(
    "ticket_types",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("net_price", BigInteger, nullable=False),
    Column("quota", Integer),
    Column("sold", Integer, nullable=False, server_default="0"),
    Column("position", Integer, nullable=False),
    UniqueConstraint("event_id", "name"),
    CheckConstraint("sold >= 0 AND (quota IS NULL OR sold <= quota)", name="sold_within_quota"),
)

companies = Table(
    "companies",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("registration_number", String(50)),
    Column("address", Text),
    Column("postal_code", String(20)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("website", String(300)),
    Column("contacts", JSONB, nullable=False, server_default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

event_organizations = Table(
    "event_organizations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.id"), nullable=False, index=True),
    Column("company_id", UUID(as_uuid=True), ForeignKey("companies.id"), nullable=False),
    Column("relationship", String(20), nullable=False),
    Column("lifecycle_status", String(20), nullable=False),
    Column("commercial_status", String(20), nullable=False),
    Column("visibility", String(20), nullable=False),
    Column("category", String(100)),
    Column("package", String(100)),
    Column("booth", String(50)),
    Column("sponsored_ticket_grant", Integer, nullable=False, server_default="0"),
    Column("sponsored_tickets_used", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("event_id", "company_id"),
    CheckConstraint("sponsored_tickets_used >= 0 AND sponsored_tickets_used <= sponsored_ticket_grant",
                    name="grant_not_exceeded"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.id"), nullable=False),
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
    Column("voided_count", Integer, nullable=False, server_default="0"),
    Column("channel", String(20), nullable=False, server_default="organizer"),
    Column("event_organization_id", UUID(as_uuid=True), ForeignKey("event_organizations.id")),
    # Card orders hold their tickets until the checkout expires.
    Column("hold_expires_at", DateTime(timezone=True)),
    Column("checkout_session_id", String(255), unique=True),
    Column("checkout_url", Text),
    Column("payment_intent_id", String(255), index=True),
    # The trace the order was created in: later steps (approval, payment, refund) join it.
    Column("traceparent", String(64)),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_orders_created_at", orders.c.created_at)
# The summary's grouping and sums from the index alone (see migration order_summary_index).
Index("ix_orders_event_summary", orders.c.event_id, orders.c.status, orders.c.payment_method, orders.c.currency,
      postgresql_include=["quantity", "net", "vat", "gross"])
Index("ix_orders_status_method", orders.c.status, orders.c.payment_method)
Index("ix_orders_pending_holds", orders.c.hold_expires_at, postgresql_where=text("status = 'payment_pending'"))

# What the Ticket Orders view's search box looks in, lower-cased; a trigram index answers
# "contains" searches without scanning every order.
ORDER_SEARCH_TEXT = func.lower(
    func.coalesce(orders.c.buyer_company, "") + " " + orders.c.buyer_name + " " + orders.c.buyer_email + " "
    + orders.c.number
)
Index("ix_orders_search_trgm", ORDER_SEARCH_TEXT.label("search_text"), postgresql_using="gin",
      postgresql_ops={"search_text": "gin_trgm_ops"})

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

invoices = Table(
    "invoices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("organizer_id", UUID(as_uuid=True), ForeignKey("organizers.id"), nullable=False),
    Column("number", String(40), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("payment_reference", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("gross", BigInteger, nullable=False),
    # The document as issued: an invoice never changes once sent.
    Column("pdf", LargeBinary, nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    Column("paid_reference", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("organizer_id", "number"),
)
Index("ix_invoices_unpaid_due", invoices.c.due_on, postgresql_where=text("paid_at IS NULL"))

# Every Stripe event id is recorded before the webhook is answered; duplicates are no-ops.
stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("order_id", UUID(as_uuid=True)),
    Column("payload", JSONB, nullable=False),
    Column("outcome", String(100), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

payments = Table(
    "payments",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.id"), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("reference", String(255)),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("detail", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

# An order creation retried with the same Idempotency-Key places one order: the key
# remembers the order it placed, per caller, and the request it came with.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
