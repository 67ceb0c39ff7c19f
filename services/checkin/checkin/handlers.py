"""Kafka handlers of the checkin service: its own projection of valid tickets."""

from ticketflow_runtime import Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketAssigned, TicketIssued, TicketReissued, TicketVoided

from .usecases import projection

subscriptions = Subscriptions()


@subscriptions.on_batch(TicketIssued)
async def record_issued_tickets(issued: list[Delivery[TicketIssued]], uow: UnitOfWork) -> None:
    """Learns the tickets, their secret versions and the events' public keys."""
    await projection.record_issued_tickets(uow, issued)


@subscriptions.on(TicketAssigned)
async def record_assignment(event: TicketAssigned, uow: UnitOfWork) -> None:
    """Keeps the holder's name for the gate staff."""
    await projection.record_assignment(uow, event)


@subscriptions.on(TicketVoided)
async def record_voided(event: TicketVoided, uow: UnitOfWork) -> None:
    """Refuses the ticket from now on."""
    await projection.record_voided(uow, event)


@subscriptions.on(TicketReissued)
async def record_reissue(event: TicketReissued, uow: UnitOfWork) -> None:
    """Revokes the ticket's older QR codes."""
    await projection.record_reissue(uow, event)
