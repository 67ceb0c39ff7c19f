"""Wiring of the notifications service."""

from pydantic import Field

from ticketflow_runtime import Service, ServiceSettings, settings_for

from . import api, handlers
from .dispatcher import MailDispatcher, PushDispatcher
from .mail import SmtpSecurity, SmtpSender
from .push import providers_from_settings
from .updates import UpdatesHub

NAME = "notifications"


class MailSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(default="none", description="none, starttls or tls")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(default=8, ge=1, description="SMTP connections kept open and used at once")
    mail_from: str = "ticketflow <tickets@ticketflow.localhost>"
    mail_batch_size: int = Field(default=50, ge=1)
    mail_render_processes: int = Field(
        default=2, ge=0, description="processes rendering emails (templates, QR code, ticket PDF) beside the "
                                     "service, about one per core; 0 renders in a thread of the service")
    mail_max_attempts: int = Field(default=8, ge=1)
    mail_retry_base_seconds: float = Field(default=5.0, gt=0, description="first retry delay; it doubles each time")
    delivery_lease_seconds: float = Field(
        default=120.0, gt=0,
        description="an attempt still out after this long was cut short by a crash: it is sent again")
    manage_tickets_url: str = Field(
        default="http://127.0.0.1:8003/v1/orders/{order_id}/tickets",
        description="the buyer's page to assign tickets; {order_id} is filled in and access_token appended")
    buyer_link_ttl_seconds: int = Field(default=60 * 86400, gt=0)
    claim_url: str = Field(
        default="http://127.0.0.1:8000/claims/{token}",
        description="the page where a claim link's recipient takes the ticket; {token} is filled in")
    welcome_after_check_in: bool = Field(default=False, description="mail a welcome when a holder is checked in")


class PushSettings(MailSettings):
    fcm_api_base: str = "https://fcm.googleapis.com"
    fcm_service_account_file: str | None = Field(default=None, description="Google service-account JSON (Android)")
    fcm_project_id: str | None = Field(default=None, description="the Firebase project; the account's if unset")
    apns_api_base: str = "https://api.push.apple.com"
    apns_key_file: str | None = Field(default=None, description="the .p8 token-signing key (iOS)")
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str | None = Field(default=None, description="the iOS app's bundle id")
    apns_ca_file: str | None = Field(default=None, description="trust this CA instead of the system's (stand-ins)")
    push_batch_size: int = Field(default=100, ge=1)
    push_max_attempts: int = Field(default=6, ge=1)


Settings = settings_for(NAME, PushSettings)


def create_service(settings: ServiceSettings | None = None) -> Service:
    settings = settings or Settings()
    service = Service(
        NAME,
        settings,
        description="Notifications: email and push to buyers and attendees.",
        subscriptions=handlers.subscriptions,
        routers=[api.router],
    )
    handlers.configure(settings)
    service.extras["updates"] = UpdatesHub(service.database)
    service.add_worker(service.extras["updates"])
    delivery = {"database": service.database, "poll_seconds": settings.outbox_poll_seconds,
                "retry_base_seconds": settings.mail_retry_base_seconds,
                "lease_seconds": settings.delivery_lease_seconds}
    service.add_worker(
        MailDispatcher(
            sender=SmtpSender(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                              username=settings.smtp_username, password=settings.smtp_password,
                              timeout=settings.smtp_timeout_seconds, connections=settings.smtp_connections),
            mail_from=settings.mail_from, batch_size=settings.mail_batch_size,
            render_processes=settings.mail_render_processes, concurrency=settings.smtp_connections,
            max_attempts=settings.mail_max_attempts, **delivery,
        )
    )
    service.add_worker(
        PushDispatcher(
            provider=providers_from_settings(
                fcm_api_base=settings.fcm_api_base, fcm_service_account_file=settings.fcm_service_account_file,
                fcm_project_id=settings.fcm_project_id, apns_api_base=settings.apns_api_base,
                apns_key_file=settings.apns_key_file, apns_key_id=settings.apns_key_id,
                apns_team_id=settings.apns_team_id, apns_topic=settings.apns_topic,
                apns_ca_file=settings.apns_ca_file),
            batch_size=settings.push_batch_size, max_attempts=settings.push_max_attempts, **delivery,
        )
    )
    return service
