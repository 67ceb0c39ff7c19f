"""Kafka handlers of the notifications service."""

from ticketflow_runtime import Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketAssigned

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on(TicketAssigned)
async def ticket_assigned(event: TicketAssigned, uow: UnitOfWork) -> None:
    """Sends the new holder their ticket with its QR code."""
    await usecases.ticket_assigned(uow, event)
