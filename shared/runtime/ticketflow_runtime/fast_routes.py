"""Fast routes: a service's hottest request answered without the framework's request handling.

A fast route is an ASGI-level handler for one method and path that already
has a regular FastAPI route. It gets the request's headers and body and
either answers (a `FastAnswer`: JSON, a status) or returns None, and the request then
goes to the regular route as if nothing had happened: the body is handed on
again. So the fast route only has to know its common case; validation errors,
authentication failures and every rare case keep their one implementation,
the route's. It sits inside the service's trace and latency middleware, and
its requests are measured under the route's path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from .telemetry import HttpMiddleware

if TYPE_CHECKING:
    from .service import Service

# Larger bodies are not a fast route's common case: they go to the regular route unread.
MAX_FAST_BODY = 16 * 1024

FastHandler = Callable[["Service", "FastRequest"], Awaitable["FastAnswer | None"]]


@dataclass(frozen=True)
class FastRequest:
    headers: Mapping[bytes, bytes]
    body: bytes

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")


@dataclass(frozen=True)
class FastAnswer:
    """A JSON answer: the route's success answer, written as the route would write it."""

    body: bytes
    status: int = 200


@dataclass(frozen=True)
class _RoutePath:
    """What the latency middleware reads of a matched route."""

    path: str


_JSON_HEADERS = [(b"content-type", b"application/json")]
_DECLINED = "fast_route_declined"


def declined_by_fast_route(request: Request) -> bool:
    """Whether this request's fast route saw it and left it to the route: the route need not try
    the same common case again."""
    return request.scope.get("state", {}).get(_DECLINED, False)


class FastRoutes(HttpMiddleware):
    def __init__(self, app: Callable, *, service: Service, routes: Mapping[tuple[str, str], FastHandler]) -> None:
        super().__init__(app)
        self.service = service
        self.routes = dict(routes)

    async def handle(self, scope: dict, receive: Callable, send: Callable) -> None:
        key = (scope["method"], scope["path"])
        handler = self.routes.get(key)
        headers = dict(scope["headers"]) if handler is not None else None
        if (handler is None or int(headers.get(b"content-length", b"0") or 0) > MAX_FAST_BODY
                or not _json_or_unstated(headers.get(b"content-type"))):
            await self.app(scope, receive, send)
            return
        body, more, receive = await _read_body(receive)
        answer = None if more else await handler(self.service, FastRequest(headers, body))
        if answer is None:
            scope.setdefault("state", {})[_DECLINED] = True
            await self.app(scope, receive, send)
            return
        scope["route"] = _RoutePath(scope["path"])
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer.body)).encode())]})
        await send({"type": "http.response.body", "body": answer.body})


def _json_or_unstated(content_type: bytes | None) -> bool:
    """Whether the framework would read the body as JSON (no content type, application/json or +json);
    any other body is the route's to refuse."""
    if content_type is None:
        return True
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or (media_type.startswith(b"application/")
                                                  and media_type.endswith(b"+json"))


async def _read_body(receive: Callable) -> tuple[bytes, bool, Callable]:
    """The body (up to MAX_FAST_BODY), whether more is left, and a ``receive`` that hands on again
    what was read, message by message, before the rest."""
    read: list[dict] = []
    size = 0
    more = True
    while more and size <= MAX_FAST_BODY:
        read.append(message := await receive())
        if message["type"] != "http.request":  # the client left: let the app see it
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)

    async def receive_again() -> dict:
        return read.pop(0) if read else await receive()

    body = b"".join(message.get("body", b"") for message in read)
    return body, more, receive_again
