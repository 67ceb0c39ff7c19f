"""Calls to the five services' HTTP APIs, as the signed-in staff member or a link holder.

The APIs answer errors as ``{"error": {"code", "message", "details"}}``; they become
``UpstreamError`` so a page can show the service's own message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from .settings import Settings

SERVICES = ("orders", "issuance", "assignment", "checkin", "notifications")


class UpstreamError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def _error_of(response: httpx.Response) -> UpstreamError:
    try:
        body = response.json()["error"]
        return UpstreamError(response.status_code, body.get("code", "error"), body.get("message", ""),
                             body.get("details"))
    except (ValueError, KeyError, TypeError):
        return UpstreamError(response.status_code, "error", response.text[:300] or response.reason_phrase)


@dataclass
class Upstream:
    """One caller's view of the APIs: every request carries ``token`` (staff JWT or link token)."""

    http: httpx.AsyncClient
    bases: dict[str, str]
    token: str | None = None

    def as_caller(self, token: str | None) -> Upstream:
        return Upstream(self.http, self.bases, token)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def request(self, method: str, service: str, path: str, *, params: Any = None, json: Any = None,
                      content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = await self.http.request(method, f"{self.bases[service]}{path}", params=params, json=json,
                                               content=content, headers=self._headers(headers))
        except httpx.HTTPError as error:
            raise UpstreamError(503, "service_unavailable", f"The {service} service did not answer.") from error
        if response.status_code >= 400:
            raise _error_of(response)
        return response

    async def get(self, service: str, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, "", [])}
        return (await self.request("GET", service, path, params=clean)).json()

    async def send(self, method: str, service: str, path: str, body: Any = None) -> Any:
        response = await self.request(method, service, path, json=body)
        return response.json() if response.content else None

    async def stream(self, service: str, path: str, params: Any = None) -> tuple[httpx.Response, AsyncIterator[bytes]]:
        """A response passed through as it arrives (CSV export): headers first, then the body."""
        request = self.http.build_request("GET", f"{self.bases[service]}{path}", params=params,
                                          headers=self._headers())
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise UpstreamError(503, "service_unavailable", f"The {service} service did not answer.") from error
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise _error_of(response)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        return response, body()


def upstream_for(settings: Settings) -> Upstream:
    bases = {service: getattr(settings, f"{service}_api_url").rstrip("/") for service in SERVICES}
    return Upstream(httpx.AsyncClient(timeout=settings.api_timeout_seconds), bases)
