"""Kafka handlers of the orders service: the issued-ticket counts per order."""

from ticketflow_runtime import Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketIssued, TicketVoided

from .usecases import ordering

subscriptions = Subscriptions()


@subscriptions.on(TicketIssued)
async def count_issued_ticket(event: TicketIssued, uow: UnitOfWork) -> None:
    """Counts issued tickets per order, for the ticket count status."""
    await ordering.count_ticket(uow, event.order_id)


@subscriptions.on(TicketVoided)
async def count_voided_ticket(event: TicketVoided, uow: UnitOfWork) -> None:
    """Counts voided tickets per order."""
    await ordering.count_ticket(uow, event.order_id, voided=True)
