"""Kafka handlers of the orders service."""

from ticketflow_runtime import Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketIssued

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on(TicketIssued)
async def count_issued_ticket(event: TicketIssued, uow: UnitOfWork) -> None:
    """Counts issued tickets per order, for the ticket count status."""
    await usecases.count_issued_ticket(uow, event.order_id)
