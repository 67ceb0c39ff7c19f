"""Kafka handlers of the issuance service."""

from ticketflow_runtime import Delivery, Subscriptions, UnitOfWork
from ticketflow_schemas.events import OrderCancelled, OrderSettled, TicketAssigned

from . import usecases

subscriptions = Subscriptions()


@subscriptions.on_batch(OrderSettled)
async def issue_tickets(settled: list[Delivery[OrderSettled]], uow: UnitOfWork) -> None:
    """Generates the settled orders' tickets, each with a signed QR payload."""
    await usecases.issue_tickets(uow, settled)


@subscriptions.on(OrderCancelled)
async def void_tickets(event: OrderCancelled, uow: UnitOfWork) -> None:
    """Voids the cancelled order's tickets."""
    await usecases.void_order_tickets(uow, event)


@subscriptions.on(TicketAssigned)
async def reissue_for_new_holder(event: TicketAssigned, uow: UnitOfWork) -> None:
    """Rotates the ticket's secret when its holder changes: the previous holder's QR stops working."""
    await usecases.rotate_secret(uow, event)
