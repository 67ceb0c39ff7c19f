"""Wiring of the orders service."""

from pathlib import Path

from ticketflow_runtime import Service, ServiceSettings, database_url_field
from ticketflow_schemas.events import OrderSettled

from . import api, handlers
from .store import tables

NAME = "orders"


class Settings(ServiceSettings):
    database_url: str = database_url_field(NAME)


def create_service(settings: Settings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket orders: the events catalog, orders, payments and settlement.",
        metadata=tables.metadata,
        migrations_dir=Path(tables.__file__).parent / "migrations",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[OrderSettled],
    )
