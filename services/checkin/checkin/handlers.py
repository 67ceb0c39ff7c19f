"""Kafka handlers of the checkin service: its own projection of valid tickets."""

from ticketflow_runtime import Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketAssigned, TicketIssued, TicketReissued, TicketVoided

from .usecases import projection

subscriptions = Subscriptions()


@subscriptions.on_batch(TicketIssued)
async def record_issued_tickets(issued: list[Delivery[TicketIssued]], uow: UnitOfWork) -> None:
    """Learns the tickets, their secret versions and the events' public keys."""
    await projection.record_issued_tickets(uow, issued)


@subscriptions.on_batch(TicketAssigned)
async def record_assignments(assigned: list[Delivery[TicketAssigned]], uow: UnitOfWork) -> None:
    """Keeps the holders' names for the gate staff."""
    await projection.record_assignments(uow, assigned)


@subscriptions.on(TicketVoided)
async def record_voided(event: TicketVoided, uow: UnitOfWork) -> None:
    """Refuses the ticket from now on."""
    await projection.record_voided(uow, event)


@subscriptions.on_batch(TicketReissued)
async def record_reissues(reissued: list[Delivery[TicketReissued]], uow: UnitOfWork) -> None:
    """Revokes the tickets' older QR codes."""
    await projection.record_reissues(uow, reissued)
