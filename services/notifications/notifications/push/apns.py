"""Apple Push Notification service: the HTTP/2 provider API with token-based authentication.

Requests carry a provider token, an ES256 JWT (``kid`` = key id, ``iss`` = team id)
signed with the team's .p8 key. Apple refuses tokens older than an hour and throttles
ones renewed more often than every 20 minutes, so one is reused for 50 minutes.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from . import PushMessage, PushOutcome, PushResult, retry_after_seconds

PRODUCTION = "https://api.push.apple.com"
SANDBOX = "https://api.sandbox.push.apple.com"
TOKEN_REUSE_SECONDS = 50 * 60
INVALID_TOKEN_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"}


def apns_payload(message: PushMessage) -> dict[str, Any]:
    """An alert with the app's data as top-level keys, beside ``aps`` as Apple expects."""
    return {**message.data, "aps": {"alert": {"title": message.title, "body": message.body}}}


def apns_outcome(response: httpx.Response) -> PushOutcome:
    """What Apple's answer means for this message and its token."""
    status = response.status_code
    if status == 200:
        return PushOutcome(PushResult.DELIVERED, response.headers.get("apns-id", ""), status)
    try:
        reason = str(json.loads(response.content).get("reason", ""))
    except (ValueError, AttributeError):
        reason = ""
    answer = f"{status} {reason}".strip()
    if status == 410 or reason in INVALID_TOKEN_REASONS:
        return PushOutcome(PushResult.INVALID_TOKEN, answer, status)
    if status == 429 or status >= 500 or reason == "ExpiredProviderToken":
        return PushOutcome(PushResult.RETRY, answer, status, retry_after_seconds(response.headers.get("retry-after")))
    return PushOutcome(PushResult.FAILED, answer, status)


class ApnsProvider:
    def __init__(self, *, key_file: str | Path, key_id: str, team_id: str, topic: str,
                 api_base: str = PRODUCTION, ca_file: str | Path | None = None, priority: int = 10,
                 timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        key = load_pem_private_key(Path(key_file).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{key_file} is not an APNs signing key (EC P-256)")
        self._key = key
        self.key_id, self.team_id, self.topic, self.priority = key_id, team_id, topic, priority
        self._token: str | None = None
        self._token_issued = 0.0
        # A CA file replaces the system's roots: it is how a private endpoint (the local stand-in) is trusted.
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._client = client or httpx.AsyncClient(base_url=api_base, http2=True, verify=verify, timeout=timeout)

    def provider_token(self) -> str:
        now = time.time()
        if self._token is None or now - self._token_issued >= TOKEN_REUSE_SECONDS:
            self._token = jwt.encode({"iss": self.team_id, "iat": int(now)}, self._key, algorithm="ES256",
                                     headers={"kid": self.key_id})
            self._token_issued = now
        return self._token

    async def send(self, message: PushMessage) -> PushOutcome:
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": str(self.priority),
        }
        if message.collapse_key:
            headers["apns-collapse-id"] = message.collapse_key
        try:
            response = await self._client.post(f"/3/device/{quote(message.token, safe='')}",
                                               json=apns_payload(message), headers=headers)
        except httpx.TransportError as error:
            return PushOutcome(PushResult.RETRY, f"{type(error).__name__}: {error}")
        outcome = apns_outcome(response)
        if outcome.status_code == 403 and outcome.result is PushResult.RETRY:
            self._token = None  # Apple found it too old (clocks disagree): sign a new one for the next attempt
        return outcome

    async def aclose(self) -> None:
        await self._client.aclose()
