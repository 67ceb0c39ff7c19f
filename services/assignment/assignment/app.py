"""Wiring of the assignment service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketAssigned, TicketClaimOffered

from . import api, handlers

NAME = "assignment"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket assignment: the events catalog, assignment, payments and settlement.",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketAssigned, TicketClaimOffered],
    )
