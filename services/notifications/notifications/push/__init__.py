"""Push notifications to the native apps: one interface, FCM for Android and APNs for iOS.

A provider never raises for a failed delivery: it answers with a ``PushOutcome`` that
tells the caller what to do next (done, drop the token, try later, give up).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Mapping, Protocol

Platform = Literal["ios", "android"]


@dataclass(frozen=True)
class PushMessage:
    """One notification for one device."""

    token: str
    platform: Platform
    title: str
    body: str
    data: Mapping[str, str] = field(default_factory=dict)
    # A newer message with the same key replaces an older one the device has not shown yet.
    collapse_key: str | None = None


class PushResult(StrEnum):
    DELIVERED = "delivered"  # the provider accepted it for the device
    INVALID_TOKEN = "invalid_token"  # the token is dead: remove it, never send to it again
    RETRY = "retry"  # transient: send again later (not before retry_after when given)
    FAILED = "failed"  # permanent for this message: sending it again will not help


@dataclass(frozen=True)
class PushOutcome:
    result: PushResult
    answer: str  # the provider's message id when delivered, otherwise what it said
    status_code: int | None = None  # the provider's HTTP status, None when none came back
    retry_after: float | None = None  # seconds, when the provider asked for a pause

    @property
    def delivered(self) -> bool:
        return self.result is PushResult.DELIVERED


class PushProvider(Protocol):
    async def send(self, message: PushMessage) -> PushOutcome: ...

    async def aclose(self) -> None: ...


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` value (seconds or a date) as seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class PushRouter:
    """A ``PushProvider`` that hands each message to the provider for its platform."""

    def __init__(self, providers: Mapping[Platform, PushProvider]) -> None:
        self.providers = dict(providers)

    async def send(self, message: PushMessage) -> PushOutcome:
        provider = self.providers.get(message.platform)
        if provider is None:
            return PushOutcome(PushResult.FAILED, f"no push provider configured for {message.platform}")
        return await provider.send(message)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


def providers_from_settings(
    *,
    fcm_api_base: str = "https://fcm.googleapis.com",
    fcm_service_account_file: str | Path | None = None,
    fcm_project_id: str | None = None,
    apns_api_base: str = "https://api.push.apple.com",
    apns_key_file: str | Path | None = None,
    apns_key_id: str | None = None,
    apns_team_id: str | None = None,
    apns_topic: str | None = None,
    apns_ca_file: str | Path | None = None,
    timeout: float = 10.0,
) -> PushRouter:
    """FCM for Android when a service account is given, APNs for iOS when its key, ids and topic are.

    Empty strings count as unset, so environment variables can be left blank.
    """
    from .apns import ApnsProvider
    from .fcm import FcmProvider

    providers: dict[Platform, PushProvider] = {}
    if fcm_service_account_file:
        providers["android"] = FcmProvider(service_account_file=fcm_service_account_file,
                                           project_id=fcm_project_id or None, api_base=fcm_api_base, timeout=timeout)
    if apns_key_file and apns_key_id and apns_team_id and apns_topic:
        providers["ios"] = ApnsProvider(key_file=apns_key_file, key_id=apns_key_id, team_id=apns_team_id,
                                        topic=apns_topic, api_base=apns_api_base, ca_file=apns_ca_file or None,
                                        timeout=timeout)
    return PushRouter(providers)


__all__ = ["Platform", "PushMessage", "PushOutcome", "PushProvider", "PushResult", "PushRouter",
           "providers_from_settings", "retry_after_seconds"]
