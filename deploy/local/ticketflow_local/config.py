"""Where the local stack lives and how the services reach it.

Every setting can be overridden from the environment; a part the user points
elsewhere (``KAFKA_BOOTSTRAP_SERVERS``, ``<SERVICE>_DATABASE_URL``,
``SMTP_HOST``, ``STRIPE_API_BASE``, ``FCM_API_BASE``, ``APNS_API_BASE``) is not
started locally.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ticketflow_schemas.topics import SERVICES

REPO_ROOT = Path(os.environ.get("TICKETFLOW_HOME", Path(__file__).resolve().parents[3]))
LOCAL_DIR = REPO_ROOT / ".local"

KAFKA_PORT = 29092
KAFKA_CONTROLLER_PORT = 29093
POSTGRES_PORT = 55432
SMTP_PORT = 2525
STRIPE_STANDIN_PORT = 12111
FCM_STANDIN_PORT = 12112
APNS_STANDIN_PORT = 12113
# Local development only: the services' staff-token secret and the Stripe stand-in's keys.
DEV_AUTH_SECRET = "ticketflow-local-development-only-secret"
DEV_STRIPE_API_KEY = "sk_test_ticketflow_local"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_ticketflow_local_development"
# Local development only: the identities the push stand-ins accept; their keys are
# generated into PATHS.push on first use (see ``push_standins.dev_credentials``).
DEV_FCM_PROJECT_ID = "ticketflow-local"
DEV_APNS_KEY_ID = "TFLOCALKEY"
DEV_APNS_TEAM_ID = "TFLOCALDEV"
DEV_APNS_TOPIC = "app.ticketflow.local"
POSTGRES_USER = "ticketflow"
POSTGRES_PASSWORD = "ticketflow"

# The console (not a Kafka service): its port, its cookie-signing secret and the demo staff
# who sign in to it (passwords in the README; only their argon2 hashes are configured).
CONSOLE_PORT = 8000
DEV_CONSOLE_SESSION_SECRET = "ticketflow-local-console-session-secret-development"
DEMO_STAFF = [
    {"username": "organizer", "password": "ticketflow-demo",
     "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$aJq+QvZ1jJN3BmKSEPmyPQ$2NltpJmGayXuKLW5DMo4w+IyPhB8rUsEstTDQcmoTxw",
     "scopes": ["orders:read", "orders:write", "tickets:read", "tickets:write", "checkin:read", "checkin:write",
                "checkin:scan", "notifications:read"]},
    {"username": "desk", "password": "ticketflow-desk",
     "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$TqJc6wDoV5jNUfNYldOr+w$/p+mZUnTv6PxQIaUHz4Y1rNfrET0GWkqnYKjsF5IT0I",
     "scopes": ["orders:read", "tickets:read", "checkin:read", "checkin:write", "checkin:scan"]},
]

# One HTTP port per service for the local stack (the containers all use 8000).
SERVICE_PORTS = {
    "orders": 8001,
    "issuance": 8002,
    "assignment": 8003,
    "checkin": 8004,
    "notifications": 8005,
}


@dataclass(frozen=True)
class LocalPaths:
    root: Path = LOCAL_DIR

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def postgres(self) -> Path:
        return self.root / "pg"

    @property
    def maildir(self) -> Path:
        return self.root / "mail"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def push(self) -> Path:
        return self.root / "push"


PATHS = LocalPaths()


@dataclass(frozen=True)
class PushCredentials:
    """The push stand-ins' development credentials in ``folder``: who they are and where each file lives."""

    folder: Path
    fcm_project_id: str = DEV_FCM_PROJECT_ID
    apns_key_id: str = DEV_APNS_KEY_ID
    apns_team_id: str = DEV_APNS_TEAM_ID
    apns_topic: str = DEV_APNS_TOPIC

    @property
    def service_account_file(self) -> Path:
        return self.folder / "fcm-service-account.json"

    @property
    def apns_key_file(self) -> Path:
        return self.folder / f"AuthKey_{self.apns_key_id}.p8"  # the name Apple gives the download

    @property
    def ca_file(self) -> Path:
        return self.folder / "standin-ca.crt"

    @property
    def tls_cert_file(self) -> Path:
        return self.folder / "apns-standin.crt"

    @property
    def tls_key_file(self) -> Path:
        return self.folder / "apns-standin.key"


def database_env_name(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def plain_database_url(service: str) -> str:
    """The service's database as asyncpg takes it (without SQLAlchemy's driver name)."""
    return stack_env()[database_env_name(service)].replace("+asyncpg", "")


def local_database_url(service: str) -> str:
    return (
        f"postgresql+asyncpg://{POSTGRES_USER}:{POSTGRES_PASSWORD}"
        f"@127.0.0.1:{POSTGRES_PORT}/{service}"
    )


def kafka_is_external() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))


def smtp_is_external() -> bool:
    return bool(os.environ.get("SMTP_HOST"))


def stripe_is_external() -> bool:
    return bool(os.environ.get("STRIPE_API_BASE"))


def fcm_is_external() -> bool:
    return bool(os.environ.get("FCM_API_BASE"))


def apns_is_external() -> bool:
    return bool(os.environ.get("APNS_API_BASE"))


def services_on_local_postgres() -> list[str]:
    return [s for s in SERVICES if not os.environ.get(database_env_name(s))]


def stack_env() -> dict[str, str]:
    """The connection settings every service and test should use."""
    push = PushCredentials(PATHS.push)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get(
            "KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{KAFKA_PORT}"
        ),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": os.environ.get("SMTP_PORT", str(SMTP_PORT)),
        "SMTP_MAILDIR": os.environ.get("SMTP_MAILDIR", str(PATHS.maildir)),
        "AUTH_JWT_SECRET": os.environ.get("AUTH_JWT_SECRET", DEV_AUTH_SECRET),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", f"http://127.0.0.1:{STRIPE_STANDIN_PORT}"),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY", DEV_STRIPE_API_KEY),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", DEV_STRIPE_WEBHOOK_SECRET),
        "FCM_API_BASE": os.environ.get("FCM_API_BASE", f"http://127.0.0.1:{FCM_STANDIN_PORT}"),
        "FCM_SERVICE_ACCOUNT_FILE": os.environ.get("FCM_SERVICE_ACCOUNT_FILE", str(push.service_account_file)),
        "FCM_PROJECT_ID": os.environ.get("FCM_PROJECT_ID", push.fcm_project_id),
        "APNS_API_BASE": os.environ.get("APNS_API_BASE", f"https://127.0.0.1:{APNS_STANDIN_PORT}"),
        "APNS_KEY_FILE": os.environ.get("APNS_KEY_FILE", str(push.apns_key_file)),
        "APNS_KEY_ID": os.environ.get("APNS_KEY_ID", push.apns_key_id),
        "APNS_TEAM_ID": os.environ.get("APNS_TEAM_ID", push.apns_team_id),
        "APNS_TOPIC": os.environ.get("APNS_TOPIC", push.apns_topic),
        # Empty against the real APNs: the system's trust store applies.
        "APNS_CA_FILE": os.environ.get("APNS_CA_FILE", "" if apns_is_external() else str(push.ca_file)),
        # Buyers come back from Stripe Checkout, and open their e-mailed link, on the console's pages.
        "CHECKOUT_SUCCESS_URL": f"{console_url()}/checkout/{{ORDER_ID}}/done",
        "CHECKOUT_CANCEL_URL": f"{console_url()}/checkout/{{ORDER_ID}}/cancelled",
        "MANAGE_TICKETS_URL": f"{console_url()}/buyer/orders/{{order_id}}",
        "CLAIM_URL": f"{console_url()}/claims/{{token}}",
    }
    for service in SERVICES:
        name = database_env_name(service)
        env[name] = os.environ.get(name, local_database_url(service))
    return env


def service_url(service: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[service]}"


def console_url() -> str:
    return f"http://127.0.0.1:{CONSOLE_PORT}"


def console_env() -> dict[str, str]:
    """The console's settings: where the five APIs answer, its secrets and the demo staff."""
    return {
        **{f"{service.upper()}_API_URL": service_url(service) for service in SERVICES},
        "AUTH_JWT_SECRET": stack_env()["AUTH_JWT_SECRET"],
        "SESSION_SECRET": os.environ.get("CONSOLE_SESSION_SECRET", DEV_CONSOLE_SESSION_SECRET),
        "STAFF_USERS": json.dumps([{k: user[k] for k in ("username", "password_hash", "scopes")}
                                   for user in DEMO_STAFF]),
    }
