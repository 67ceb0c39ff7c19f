"""Service settings, read from the environment (pydantic-settings).

Each service subclasses ``ServiceSettings`` and names its database variable,
``<SERVICE>_DATABASE_URL``, so one environment can hold all five.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict


def database_url_field(service: str) -> object:
    """The ``database_url`` field of a service: ``<SERVICE>_DATABASE_URL`` or ``DATABASE_URL``."""
    return Field(
        validation_alias=AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the service's own PostgreSQL database (postgresql+asyncpg://...)",
    )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    database_url: str
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:29092", description="Kafka bootstrap servers, comma-separated")
    http_host: str = Field(default="127.0.0.1", description="address the HTTP server binds")
    http_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    run_migrations: bool = Field(default=True, description="apply Alembic migrations at startup")

    # Consumers: bounded retries with exponential backoff, then the dead-letter topic.
    consumer_batch_size: int = Field(default=200, ge=1, description="most records applied in one transaction")
    consumer_poll_ms: int = Field(
        default=500, ge=1, le=5000,
        description="how long an idle consumer waits for records before it polls again (a record ends the wait)")
    inbox_retention_hours: float = Field(
        default=720, gt=0,
        description="how long the ids of applied events are kept against redelivery; "
                    "longer than the topics' retention (Kafka's default: 168 hours)")
    handler_max_attempts: int = Field(default=5, ge=1)
    handler_retry_backoff_seconds: float = Field(default=0.2, gt=0)
    handler_retry_backoff_max_seconds: float = Field(default=5.0, gt=0)

    # Outbox relay: woken when the service commits events, polls as a fallback.
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_retention_hours: float = Field(default=168, gt=0, description="how long published events stay in the outbox")
    kafka_request_timeout_ms: int = Field(default=30_000, ge=1000, description="producer request and delivery timeout")

    # Graceful shutdown: in-flight handlers get this long to finish (Kubernetes'
    # terminationGracePeriodSeconds must be longer).
    graceful_timeout_seconds: float = Field(default=20.0, gt=0)

    # Telemetry: spans are exported over OTLP/HTTP when an endpoint is set
    # (the exporter also reads the other standard OTEL_* variables).
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str | None = None
    database_pool_size: int = Field(default=32, ge=1, description="connections each process keeps")

    # Staff access: JWTs signed with this secret (HS256); unset, staff endpoints answer 503.
    auth_jwt_secret: str | None = Field(default=None, min_length=32)
    auth_jwt_issuer: str = "ticketflow"
    public_rate_limit: str = Field(default="60/minute", description="per client address, for public endpoints")


def settings_for(service: str, base: type[ServiceSettings] = ServiceSettings) -> type[ServiceSettings]:
    """The settings class of ``service``: ``base`` plus its ``<SERVICE>_DATABASE_URL``."""
    return create_model(
        f"{service.title()}Settings", __base__=base, database_url=(str, database_url_field(service))
    )
