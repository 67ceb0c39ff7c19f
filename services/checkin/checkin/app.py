"""Wiring of the checkin service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketCheckedIn

from . import api, handlers

NAME = "checkin"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket checkin: the events catalog, checkin, payments and settlement.",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketCheckedIn],
    )
