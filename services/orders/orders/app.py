"""Wiring of the orders service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import OrderSettled

from . import api, handlers

NAME = "orders"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket orders: the events catalog, orders, payments and settlement.",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[OrderSettled],
    )
