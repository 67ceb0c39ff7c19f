"""The ticketflow service chassis: what every service is built on, wired the same way."""

from .consumers import DISPLAY_LINGER_MS, Delivery, PermanentError, Subscriptions
from .database import UnitOfWork
from .errors import ApiError, Conflict, NotFound, Unprocessable
from .service import Service, ServiceDep
from .settings import ServiceSettings, database_url_field, settings_for

__all__ = [
    "DISPLAY_LINGER_MS",
    "ApiError",
    "Conflict",
    "Delivery",
    "NotFound",
    "PermanentError",
    "Service",
    "ServiceDep",
    "ServiceSettings",
    "Subscriptions",
    "UnitOfWork",
    "Unprocessable",
    "database_url_field",
    "settings_for",
]
