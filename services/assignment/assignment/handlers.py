"""Kafka handlers of the assignment service."""

from ticketflow_runtime import DISPLAY_LINGER_MS, Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import TicketCheckedIn, TicketIssued, TicketReissued, TicketVoided

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on_batch(TicketIssued)
async def record_issued_tickets(issued: list[Delivery[TicketIssued]], uow: UnitOfWork) -> None:
    """Makes newly issued tickets assignable."""
    await usecases.record_issued_tickets(uow, issued)


@subscriptions.on(TicketVoided)
async def record_voided(event: TicketVoided, uow: UnitOfWork) -> None:
    """A voided ticket cannot be assigned any more."""
    await usecases.record_voided(uow, event)


@subscriptions.on(TicketReissued)
async def record_reissue(event: TicketReissued, uow: UnitOfWork) -> None:
    """Keeps the ticket's current QR code."""
    await usecases.record_reissue(uow, event)


@subscriptions.on_batch(TicketCheckedIn, linger_ms=DISPLAY_LINGER_MS)
async def record_check_ins(admitted: list[Delivery[TicketCheckedIn]], uow: UnitOfWork) -> None:
    """Shows the tickets as checked in on My Tickets."""
    await usecases.record_check_ins(uow, [delivery.event for delivery in admitted])
