"""Wiring of the assignment service."""

from pathlib import Path

from ticketflow_runtime import Service, ServiceSettings, database_url_field
from ticketflow_schemas.events import TicketAssigned

from . import api, handlers
from .store import tables

NAME = "assignment"


class Settings(ServiceSettings):
    database_url: str = database_url_field(NAME)


def create_service(settings: Settings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket assignment: the events catalog, assignment, payments and settlement.",
        metadata=tables.metadata,
        migrations_dir=Path(tables.__file__).parent / "migrations",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketAssigned],
    )
