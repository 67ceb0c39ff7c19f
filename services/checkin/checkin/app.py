"""Wiring of the checkin service."""

from pathlib import Path

from ticketflow_runtime import Service, ServiceSettings, database_url_field
from ticketflow_schemas.events import TicketCheckedIn

from . import api, handlers
from .store import tables

NAME = "checkin"


class Settings(ServiceSettings):
    database_url: str = database_url_field(NAME)


def create_service(settings: Settings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket checkin: the events catalog, checkin, payments and settlement.",
        metadata=tables.metadata,
        migrations_dir=Path(tables.__file__).parent / "migrations",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketCheckedIn],
    )
