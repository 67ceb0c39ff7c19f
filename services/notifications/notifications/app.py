"""Wiring of the notifications service."""

from pathlib import Path

from pydantic import Field

from ticketflow_runtime import Service, ServiceSettings, database_url_field

from . import api, handlers
from .dispatcher import MailDispatcher
from .mail import SmtpSecurity, SmtpSender
from .store import tables

NAME = "notifications"


class Settings(ServiceSettings):
    database_url: str = database_url_field(NAME)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(default="none", description="none, starttls or tls")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "ticketflow <tickets@ticketflow.localhost>"
    mail_batch_size: int = Field(default=50, ge=1)
    mail_max_attempts: int = Field(default=8, ge=1)


def create_service(settings: Settings | None = None) -> Service:
    settings = settings or Settings()
    service = Service(
        NAME,
        settings,
        description="Notifications: email and push to buyers and attendees.",
        metadata=tables.metadata,
        migrations_dir=Path(tables.__file__).parent / "migrations",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
    )
    service.add_worker(
        MailDispatcher(
            database=service.database,
            sender=SmtpSender(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                              username=settings.smtp_username, password=settings.smtp_password,
                              timeout=settings.smtp_timeout_seconds),
            mail_from=settings.mail_from,
            batch_size=settings.mail_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            max_attempts=settings.mail_max_attempts,
        )
    )
    return service
