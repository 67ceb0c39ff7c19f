"""Wiring of the notifications service."""

from pydantic import Field

from ticketflow_runtime import Service, ServiceSettings, settings_for

from . import api, handlers
from .dispatcher import MailDispatcher
from .mail import SmtpSecurity, SmtpSender

NAME = "notifications"


class MailSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(default="none", description="none, starttls or tls")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "ticketflow <tickets@ticketflow.localhost>"
    mail_batch_size: int = Field(default=50, ge=1)
    mail_max_attempts: int = Field(default=8, ge=1)


Settings = settings_for(NAME, MailSettings)


def create_service(settings: ServiceSettings | None = None) -> Service:
    settings = settings or Settings()
    service = Service(
        NAME,
        settings,
        description="Notifications: email and push to buyers and attendees.",
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
