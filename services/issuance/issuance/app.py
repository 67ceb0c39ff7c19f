"""Wiring of the issuance service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketIssued, TicketReissued, TicketVoided

from . import api, handlers

NAME = "issuance"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket issuance: tickets generated from settled orders, with signed QR payloads.",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketIssued, TicketReissued, TicketVoided],
    )
