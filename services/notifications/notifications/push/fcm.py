"""Firebase Cloud Messaging, HTTP v1 API, authorized as a Google service account.

The OAuth2 access token comes from the account's ``token_uri`` through ``google-auth``
(an RS256-signed JWT-bearer grant) and is reused until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import requests
from google.oauth2 import service_account

from . import PushMessage, PushOutcome, PushResult, retry_after_seconds

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
DEFAULT_API_BASE = "https://fcm.googleapis.com"


def fcm_message(message: PushMessage) -> dict[str, Any]:
    """The v1 ``message`` object for one device token."""
    body: dict[str, Any] = {"token": message.token,
                            "notification": {"title": message.title, "body": message.body}}
    if message.data:
        body["data"] = dict(message.data)
    if message.collapse_key:
        body["android"] = {"collapse_key": message.collapse_key}
        body["apns"] = {"headers": {"apns-collapse-id": message.collapse_key}}  # iOS devices reached through FCM
    return body


def fcm_outcome(response: httpx.Response) -> PushOutcome:
    """What FCM's answer means for this message and its token."""
    status = response.status_code
    if status == 200:
        return PushOutcome(PushResult.DELIVERED, response.json().get("name", ""), status)
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {}
    details = error.get("details") or []
    fcm_code = next((d.get("errorCode") for d in details if d.get("errorCode")), None)
    fields = {v.get("field") for d in details for v in d.get("fieldViolations") or []}
    message = error.get("message", "")
    answer = " ".join(dict.fromkeys(str(part) for part in (status, error.get("status"), fcm_code, message) if part))
    if status == 404 or fcm_code == "UNREGISTERED":
        return PushOutcome(PushResult.INVALID_TOKEN, answer, status)
    if status == 400 and error.get("status") == "INVALID_ARGUMENT" and (
            "message.token" in fields or "registration token" in message.lower()):
        return PushOutcome(PushResult.INVALID_TOKEN, answer, status)
    if status == 429 or status >= 500:
        return PushOutcome(PushResult.RETRY, answer, status, retry_after_seconds(response.headers.get("retry-after")))
    return PushOutcome(PushResult.FAILED, answer, status)


class FcmProvider:
    def __init__(self, *, service_account_file: str | Path, project_id: str | None = None,
                 api_base: str = DEFAULT_API_BASE, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        info = json.loads(Path(service_account_file).read_text())
        self.project_id = project_id or info["project_id"]
        self._credentials = service_account.Credentials.from_service_account_info(info, scopes=[FCM_SCOPE])
        self._session = requests.Session()
        # google-auth's transport has no default timeout of its own worth keeping (120 s).
        self._token_request = functools.partial(google.auth.transport.requests.Request(self._session),
                                                timeout=timeout)
        self._refreshing = asyncio.Lock()
        self._url = f"{api_base.rstrip('/')}/v1/projects/{self.project_id}/messages:send"
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def access_token(self) -> str:
        """The cached access token; refreshed in a thread (google-auth is synchronous), one refresh at a time."""
        async with self._refreshing:
            if not self._credentials.valid:
                await asyncio.to_thread(self._credentials.refresh, self._token_request)
            return self._credentials.token

    async def send(self, message: PushMessage) -> PushOutcome:
        try:
            token = await self.access_token()
        except google.auth.exceptions.RefreshError as error:  # the token endpoint said no
            return PushOutcome(PushResult.RETRY if error.retryable else PushResult.FAILED,
                               f"access token refused: {error}")
        except google.auth.exceptions.GoogleAuthError as error:  # it could not be reached
            return PushOutcome(PushResult.RETRY, f"access token unavailable: {error}")
        try:
            response = await self._client.post(self._url, json={"message": fcm_message(message)},
                                               headers={"authorization": f"Bearer {token}"})
        except httpx.TransportError as error:
            return PushOutcome(PushResult.RETRY, f"{type(error).__name__}: {error}")
        if response.status_code == 401:
            # Revoked or expired early: fetch a new one for the next attempt.
            self._credentials.token = None
            outcome = fcm_outcome(response)
            return PushOutcome(PushResult.RETRY, outcome.answer, outcome.status_code)
        return fcm_outcome(response)

    async def aclose(self) -> None:
        await self._client.aclose()
        self._session.close()
