"""Kafka topic names. Topic names are the event names (design section 3)."""

from typing import Final

ORDER_PLACED: Final = "order.placed"
ORDER_INVOICE_SENT: Final = "order.invoice_sent"
ORDER_SETTLED: Final = "order.settled"
ORDER_CANCELLED: Final = "order.cancelled"
TICKET_ISSUED: Final = "ticket.issued"
TICKET_ASSIGNED: Final = "ticket.assigned"
TICKET_CLAIM_OFFERED: Final = "ticket.claim_offered"
TICKET_REISSUED: Final = "ticket.reissued"
TICKET_VOIDED: Final = "ticket.voided"
TICKET_CHECKED_IN: Final = "ticket.checked_in"
TICKET_CHECK_IN_CONFLICTED: Final = "ticket.check_in_conflicted"

EVENT_TOPICS: Final = (
    ORDER_PLACED,
    ORDER_INVOICE_SENT,
    ORDER_SETTLED,
    ORDER_CANCELLED,
    TICKET_ISSUED,
    TICKET_ASSIGNED,
    TICKET_CLAIM_OFFERED,
    TICKET_REISSUED,
    TICKET_VOIDED,
    TICKET_CHECKED_IN,
    TICKET_CHECK_IN_CONFLICTED,
)

SERVICES: Final = ("orders", "issuance", "assignment", "checkin", "notifications")


def dead_letter_topic(service: str) -> str:
    """Each consuming service parks the messages it cannot process here."""
    return f"dlq.{service}"


ALL_TOPICS: Final = EVENT_TOPICS + tuple(dead_letter_topic(s) for s in SERVICES)

PARTITIONS: Final = 3

# The largest record a topic takes. Events are a few kilobytes; the headroom lets an
# oversized record reach its consumer, which parks it whole on the dead-letter topic
# (same limit) instead of a producer somewhere losing it with only an error to show.
MAX_MESSAGE_BYTES: Final = 8 * 1024 * 1024
