"""Kafka handlers of the orders service: the issued-ticket counts per order."""

from ticketflow_runtime import Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketIssued, TicketVoided

from .usecases import ordering

subscriptions = Subscriptions()


@subscriptions.on_batch(TicketIssued)
async def count_issued_tickets(issued: list[Delivery[TicketIssued]], uow: UnitOfWork) -> None:
    """Counts issued tickets per order, for the ticket count status."""
    await ordering.count_tickets(uow, [d.event.order_id for d in issued])


@subscriptions.on_batch(TicketVoided)
async def count_voided_tickets(voided: list[Delivery[TicketVoided]], uow: UnitOfWork) -> None:
    """Counts voided tickets per order."""
    await ordering.count_tickets(uow, [d.event.order_id for d in voided], voided=True)
