"""Kafka handlers of the notifications service."""

from ticketflow_runtime import Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketReissued

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on(TicketReissued)
async def ticket_reissued(event: TicketReissued, uow: UnitOfWork) -> None:
    """Sends the new holder their ticket with its new QR code."""
    await usecases.ticket_reissued(uow, event)
