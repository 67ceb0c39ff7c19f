"""Wiring of the issuance service."""

from pathlib import Path

from ticketflow_runtime import Service, ServiceSettings, database_url_field
from ticketflow_schemas.events import TicketIssued

from . import api, handlers
from .store import tables

NAME = "issuance"


class Settings(ServiceSettings):
    database_url: str = database_url_field(NAME)


def create_service(settings: Settings | None = None) -> Service:
    return Service(
        NAME,
        settings or Settings(),
        description="Ticket issuance: tickets generated from settled orders, with signed QR payloads.",
        metadata=tables.metadata,
        migrations_dir=Path(tables.__file__).parent / "migrations",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
        publishes=[TicketIssued],
    )
