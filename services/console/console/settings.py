"""The console's settings, read from the environment."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StaffUser(BaseModel):
    """A staff member who signs in with a password; the token minted for them carries ``scopes``."""

    username: str = Field(min_length=1, max_length=100)
    password_hash: str = Field(description="an argon2 hash (python -m console hash-password)")
    scopes: list[str]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    http_host: str = Field(default="127.0.0.1", description="address the HTTP server binds")
    http_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"

    orders_api_url: str = "http://127.0.0.1:8001"
    issuance_api_url: str = "http://127.0.0.1:8002"
    assignment_api_url: str = "http://127.0.0.1:8003"
    checkin_api_url: str = "http://127.0.0.1:8004"
    notifications_api_url: str = "http://127.0.0.1:8005"
    api_timeout_seconds: float = Field(default=15.0, gt=0)

    # Signs the session and flash cookies; the staff JWT inside is signed by the platform's secret.
    session_secret: str = Field(min_length=32)
    session_hours: int = Field(default=10, ge=1, le=24 * 14, description="how long a password sign-in lasts")
    session_cookie_secure: bool = Field(default=False, description="send cookies over HTTPS only")
    # Mints the staff's own token on a password sign-in and checks pasted tokens.
    auth_jwt_secret: str = Field(min_length=32)
    auth_jwt_issuer: str = "ticketflow"
    staff_users: list[StaffUser] = Field(default_factory=list, description="JSON list of username, "
                                         "password_hash and scopes; empty: sign in with a token only")
    default_language: str = Field(default="en", pattern=r"^(en|sv)$")
    time_zone: str = Field(default="Europe/Stockholm",
                           description="the organizers' time zone: event times typed in the console are in it")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Stockholm") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
