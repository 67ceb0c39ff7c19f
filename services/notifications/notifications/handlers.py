"""Kafka handlers of the notifications service: every event that tells someone something."""

from ticketflow_runtime import DISPLAY_LINGER_MS, Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import (OrderCancelled, OrderInvoiceSent, OrderPlaced, OrderSettled, TicketAssigned,
                                       TicketCheckedIn, TicketClaimOffered, TicketIssued, TicketReissued,
                                       TicketVoided)

from . import usecases

subscriptions = Subscriptions()

_settings = None


def configure(settings) -> None:
    """The service's settings, for the handlers that need them (links, the welcome switch)."""
    global _settings
    _settings = settings


def current():
    assert _settings is not None, "create_service configures the handlers"
    return _settings


@subscriptions.on(OrderPlaced)
async def order_placed(event: OrderPlaced, uow: UnitOfWork) -> None:
    """Confirms the order to the buyer, with its summary."""
    await usecases.order_placed(uow, event)


@subscriptions.on(OrderInvoiceSent)
async def invoice_sent(event: OrderInvoiceSent, uow: UnitOfWork) -> None:
    """Mails the invoice PDF to the buyer."""
    await usecases.invoice_sent(uow, event)


@subscriptions.on(OrderSettled)
async def order_settled(event: OrderSettled, uow: UnitOfWork) -> None:
    """Sends the buyer the link to hand the tickets to people."""
    settings = current()
    await usecases.tickets_ready(uow, event, manage_url=settings.manage_tickets_url,
                                 secret=settings.auth_jwt_secret, link_ttl_seconds=settings.buyer_link_ttl_seconds)


@subscriptions.on(OrderCancelled)
async def order_cancelled(event: OrderCancelled, uow: UnitOfWork) -> None:
    """Tells the buyer the order is cancelled (and refunded)."""
    await usecases.order_cancelled(uow, event)


@subscriptions.on_batch(TicketIssued)
async def record_issued(issued: list[Delivery[TicketIssued]], uow: UnitOfWork) -> None:
    """Learns the tickets and their events."""
    await usecases.record_issued(uow, issued)


@subscriptions.on_batch(TicketAssigned)
async def ticket_assigned(assigned: list[Delivery[TicketAssigned]], uow: UnitOfWork) -> None:
    """Keeps who holds each ticket; tells the holders' apps it arrived."""
    await usecases.tickets_assigned(uow, assigned)


@subscriptions.on(TicketClaimOffered)
async def claim_offered(event: TicketClaimOffered, uow: UnitOfWork) -> None:
    """Mails a claim link to the address it was made for."""
    await usecases.claim_offered(uow, event, claim_url=current().claim_url)


@subscriptions.on_batch(TicketReissued)
async def ticket_reissued(reissued: list[Delivery[TicketReissued]], uow: UnitOfWork) -> None:
    """Sends each holder their ticket with the QR code that now admits (older ones no longer do)."""
    await usecases.tickets_reissued(uow, reissued)


@subscriptions.on(TicketVoided)
async def ticket_voided(event: TicketVoided, uow: UnitOfWork) -> None:
    """Tells the holder the ticket no longer admits."""
    await usecases.ticket_voided(uow, event)


@subscriptions.on_batch(TicketCheckedIn, linger_ms=DISPLAY_LINGER_MS)
async def checked_in(admitted: list[Delivery[TicketCheckedIn]], uow: UnitOfWork) -> None:
    """Tells the holders' apps they are in; a welcome email when the organizer wants one."""
    await usecases.checked_in(uow, admitted, welcome=current().welcome_after_check_in)
