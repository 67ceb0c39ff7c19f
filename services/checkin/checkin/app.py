"""Wiring of the checkin service."""

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import TicketCheckedIn, TicketCheckInConflicted

from . import api, handlers
from .access import KnownDevices

NAME = "checkin"
Settings = settings_for(NAME)


def create_service(settings: ServiceSettings | None = None) -> Service:
    service = Service(
        NAME,
        settings or Settings(),
        description="Check-in: lists and scanner devices, single admission online and offline, the desk, live counts and badges.",
        subscriptions=handlers.subscriptions,
        routers=api.routers,
        fast_routes={("POST", "/v1/scans"): api.scans.admit_at_once},
        publishes=[TicketCheckedIn, TicketCheckInConflicted],
    )
    service.extras["devices"] = KnownDevices(service.database)
    service.add_worker(service.extras["devices"])
    return service
