"""Wiring of the checkin service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketCheckedIn, TicketCheckInConflicted

from . import api, handlers

NAME = "checkin"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Check-in: lists and scanner devices, single admission online and offline, the desk, live counts and badges.",
        subscriptions=handlers.subscriptions,
        routers=api.routers,
        publishes=[TicketCheckedIn, TicketCheckInConflicted],
    )
