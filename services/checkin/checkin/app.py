"""Wiring of the checkin service."""

from pydantic import Field

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketCheckedIn, TicketCheckInConflicted

from . import api, handlers
from .access import KnownDevices
from .directory import GateDirectory

NAME = "checkin"


class GateSettings(ServiceSettings):
    gate_directory_max_tickets: int = Field(
        default=250_000, ge=0, description="tickets kept in memory for online scans (about 600 bytes each); "
                                           "0 reads every scan's ticket from the database")
    gate_directory_refresh_seconds: float = Field(
        default=1.0, gt=0, description="how often the kept tickets and lists follow their changes")


Settings = settings_for(NAME, GateSettings)


def create_service(settings: GateSettings | None = None) -> Service:
    settings = settings or Settings()
    service = Service(
        NAME,
        settings,
        description="Check-in: lists and scanner devices, single admission online and offline, the desk, live counts and badges.",
        subscriptions=handlers.subscriptions,
        routers=api.routers,
        fast_routes={("POST", "/v1/scans"): api.scans.admit_at_once},
        publishes=[TicketCheckedIn, TicketCheckInConflicted],
    )
    service.extras["devices"] = KnownDevices(service.database)
    service.add_worker(service.extras["devices"])
    service.extras["directory"] = GateDirectory(service.database, max_tickets=settings.gate_directory_max_tickets,
                                                refresh_seconds=settings.gate_directory_refresh_seconds)
    service.add_worker(service.extras["directory"])
    return service
