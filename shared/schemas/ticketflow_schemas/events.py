"""Event contracts: one Pydantic model per event type and version.

Compatibility rule: a published version only ever gains optional fields. A
breaking change is a new ``vN`` type (``tests/contract`` enforces this against
the snapshots in ``tests/contract/snapshots``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from . import topics

PaymentMethod = Literal["card", "invoice", "sponsored", "free"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
MinorUnits = Annotated[int, Field(ge=0, description="amount in the currency's minor units")]
# Addresses in events were validated in full where they entered the system (the
# services' APIs); a consumer checks only their shape, which costs a regular
# expression instead of a full address parse on every event.
Email = Annotated[
    str,
    Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320),
    WithJsonSchema({"format": "email", "type": "string"}),
]


class Contract(BaseModel):
    """Base of every payload: unknown fields are ignored so producers may add optional ones."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(Contract):
    """An event published on Kafka. Subclasses name their type, topic and key field."""

    ce_type: ClassVar[str]
    topic: ClassVar[str]
    key_field: ClassVar[str]
    """Keys keep per-entity order: order events by order id, ticket events by ticket id."""

    def kafka_key(self) -> str:
        return str(getattr(self, self.key_field))


class Amount(Contract):
    currency: Currency
    net: MinorUnits
    vat: MinorUnits
    gross: MinorUnits


class Buyer(Contract):
    name: str = Field(min_length=1, max_length=200)
    email: Email
    company: str | None = None
    phone: str | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")


class OrderLine(Contract):
    line_no: int = Field(ge=1)
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    quantity: int = Field(ge=1)
    unit_net: MinorUnits


class OrderFacts(Event):
    """What every order event says about the order (not an event type of its own)."""

    order_id: uuid.UUID
    order_number: str
    event_id: uuid.UUID
    event_name: str
    buyer: Buyer
    payment_method: PaymentMethod

    key_field: ClassVar[str] = "order_id"


class OrderPlaced(OrderFacts):
    """An order exists (any payment method); its tickets are held against capacity."""

    ce_type: ClassVar[str] = "ticketflow.order.placed.v1"
    topic: ClassVar[str] = topics.ORDER_PLACED

    lines: list[OrderLine] = Field(min_length=1)
    quantity: int = Field(ge=1, description="total tickets over all lines")
    amount: Amount
    status: str = Field(description="the status it was placed in: requested or payment_pending")
    channel: Literal["public", "organizer"]
    event_organization_id: uuid.UUID | None = None
    placed_at: AwareDatetime


class OrderInvoiceSent(OrderFacts):
    """An invoice was issued to the buyer; the PDF travels with the event for mailing."""

    ce_type: ClassVar[str] = "ticketflow.order.invoice_sent.v1"
    topic: ClassVar[str] = topics.ORDER_INVOICE_SENT

    invoice_number: str
    issued_on: date
    due_on: date
    amount: Amount
    payment_reference: str
    pdf_filename: str
    pdf_base64: str = Field(description="the invoice PDF, base64")
    sent_at: AwareDatetime


class OrderSettled(OrderFacts):
    """Paid or approved: tickets may now be generated from the order."""

    ce_type: ClassVar[str] = "ticketflow.order.settled.v1"
    topic: ClassVar[str] = topics.ORDER_SETTLED

    lines: list[OrderLine] = Field(min_length=1)
    quantity: int = Field(ge=1, description="total tickets over all lines")
    amount: Amount
    settled_at: AwareDatetime
    event_starts_at: AwareDatetime | None = None
    event_venue: str | None = None


class OrderCancelled(OrderFacts):
    """Cancelled, or refunded when it was settled: its tickets must be voided."""

    ce_type: ClassVar[str] = "ticketflow.order.cancelled.v1"
    topic: ClassVar[str] = topics.ORDER_CANCELLED

    previous_status: str
    refunded: bool = Field(description="money was returned to the buyer")
    refund: Amount | None = None
    reason: str
    cancelled_by: str
    cancelled_at: AwareDatetime


class SigningKey(Contract):
    key_id: str = Field(pattern=r"^[0-9a-f]{8}$", description="the event's Ed25519 key that signed the QR")
    public_key: str = Field(description="raw Ed25519 public key, base64url without padding")


class TicketIssued(Event):
    """One ticket generated from a settled order."""

    ce_type: ClassVar[str] = "ticketflow.ticket.issued.v1"
    topic: ClassVar[str] = topics.TICKET_ISSUED
    key_field: ClassVar[str] = "ticket_id"

    ticket_id: uuid.UUID
    ticket_number: str
    order_id: uuid.UUID
    event_id: uuid.UUID
    line_no: int = Field(ge=1)
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    secret_version: int = Field(ge=1)
    qr_payload: str = Field(description="signed QR payload, base64url; no personal data")
    signing_key: SigningKey
    buyer_email: Email
    issued_at: AwareDatetime
    event_name: str | None = None
    event_starts_at: AwareDatetime | None = None
    event_venue: str | None = None


class Holder(Contract):
    person_id: uuid.UUID
    name: str
    email: Email
    company: str | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")


class TicketFacts(Event):
    """What the events of a ticket's hands say about the ticket (not an event type of its own)."""

    key_field: ClassVar[str] = "ticket_id"

    ticket_id: uuid.UUID
    ticket_number: str
    order_id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_name: str


class TicketAssigned(TicketFacts):
    """A ticket now belongs to a person, or to nobody again (``holder`` is null)."""

    ce_type: ClassVar[str] = "ticketflow.ticket.assigned.v1"
    topic: ClassVar[str] = topics.TICKET_ASSIGNED

    holder: Holder | None
    previous_person_id: uuid.UUID | None = None
    qr_payload: str = Field(description="the ticket's current signed QR payload")
    secret_version: int = Field(ge=1)
    assigned_at: AwareDatetime
    assigned_by: str = Field(description="who made the change: buyer, staff:<name>, claim")


class TicketClaimOffered(TicketFacts):
    """A ticket offered to an address with a claim link: who opens it, confirms their details and becomes the
    holder. Carries the link's secret, for the one email that delivers it."""

    ce_type: ClassVar[str] = "ticketflow.ticket.claim_offered.v1"
    topic: ClassVar[str] = topics.TICKET_CLAIM_OFFERED

    email: Email = Field(description="where the link goes; only this address can claim with it")
    claim_token: str = Field(min_length=16, description="the link's secret: works once, until expires_at")
    expires_at: AwareDatetime
    language: str = Field(default="en", pattern=r"^[a-z]{2}$", description="the email's language")
    offered_by: str = Field(description="who sent it: buyer, staff:<name>")
    offered_at: AwareDatetime


class TicketCheckedIn(Event):
    """Admitted on a check-in list."""

    ce_type: ClassVar[str] = "ticketflow.ticket.checked_in.v1"
    topic: ClassVar[str] = topics.TICKET_CHECKED_IN
    key_field: ClassVar[str] = "ticket_id"

    ticket_id: uuid.UUID
    event_id: uuid.UUID
    check_in_id: uuid.UUID
    check_in_list_id: uuid.UUID
    check_in_list_name: str
    gate: str
    mode: Literal["online", "offline", "manual"]
    checked_in_at: AwareDatetime
    holder_person_id: uuid.UUID | None = None


class TicketCheckInConflicted(Event):
    """A scanner admitted a ticket offline that was already admitted on the list: reported, never merged."""

    ce_type: ClassVar[str] = "ticketflow.ticket.check_in_conflicted.v1"
    topic: ClassVar[str] = topics.TICKET_CHECK_IN_CONFLICTED
    key_field: ClassVar[str] = "ticket_id"

    conflict_id: uuid.UUID
    ticket_id: uuid.UUID
    event_id: uuid.UUID
    check_in_list_id: uuid.UUID
    kept_check_in_id: uuid.UUID = Field(description="the admission that stands")
    kept_gate: str
    kept_checked_in_at: AwareDatetime
    gate: str = Field(description="where the conflicting offline admission happened")
    device_id: uuid.UUID | None = None
    scanned_at: AwareDatetime = Field(description="the scanner's time of the offline admission")


class TicketReissued(TicketFacts):
    """The ticket's secret rotated (its holder changed): older QR codes no longer admit."""

    ce_type: ClassVar[str] = "ticketflow.ticket.reissued.v1"
    topic: ClassVar[str] = topics.TICKET_REISSUED

    secret_version: int = Field(ge=2)
    previous_secret_version: int = Field(ge=1)
    qr_payload: str = Field(description="the new signed QR payload, base64url; no personal data")
    signing_key: SigningKey
    holder: Holder | None = Field(description="who the ticket was reissued for; null when it has no holder")
    reason: str
    reissued_at: AwareDatetime
    holder_unchanged: bool = Field(default=False, description="reissued for another reason (a retired signing "
                                                               "key): ignore holder, it is who it was")


class TicketVoided(Event):
    """The ticket is no longer valid (its order was cancelled)."""

    ce_type: ClassVar[str] = "ticketflow.ticket.voided.v1"
    topic: ClassVar[str] = topics.TICKET_VOIDED
    key_field: ClassVar[str] = "ticket_id"

    ticket_id: uuid.UUID
    ticket_number: str
    order_id: uuid.UUID
    event_id: uuid.UUID
    reason: str
    voided_at: AwareDatetime


EVENT_TYPES: dict[str, type[Event]] = {
    model.ce_type: model
    for model in (OrderPlaced, OrderInvoiceSent, OrderSettled, OrderCancelled, TicketIssued, TicketAssigned,
                  TicketClaimOffered, TicketReissued, TicketCheckedIn, TicketCheckInConflicted, TicketVoided)
}
