"""Kafka handlers of the assignment service."""

from ticketflow_runtime import Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketIssued

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on(TicketIssued)
async def record_issued_ticket(event: TicketIssued, uow: UnitOfWork) -> None:
    """Makes a newly issued ticket assignable."""
    await usecases.record_issued_ticket(uow, event)
