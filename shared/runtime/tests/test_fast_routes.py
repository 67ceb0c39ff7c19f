"""Fast routes: the common case answered at the ASGI level, everything else by the route, body intact."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from ticketflow_runtime.fast_routes import MAX_FAST_BODY, FastAnswer, FastRequest, FastRoutes, _read_body, declined_by_fast_route


class Greeting(BaseModel):
    name: str
    note: str = ""


def build(seen_by_route: list, routes_seen_by_metrics: list, fast_calls: list):
    app = FastAPI()

    @app.post("/greet")
    async def greet(body: Greeting, request: Request) -> dict:
        seen_by_route.append((body, declined_by_fast_route(request)))
        return {"by": "route", "name": body.name}

    @app.post("/other")
    async def other(body: Greeting) -> dict:
        return {"by": "other", "name": body.name}

    async def greet_at_once(service, request: FastRequest) -> FastAnswer | None:
        fast_calls.append(request)
        try:
            body = json.loads(request.body)
        except ValueError:
            return None
        if body.get("name") == "fast" and request.headers.get(b"x-fast") == b"yes":
            return FastAnswer(json.dumps({"by": "fast route", "service": service}).encode(), status=201)
        return None

    def metrics(inner):
        async def measured(scope, receive, send):
            await inner(scope, receive, send)
            if scope["type"] == "http":
                routes_seen_by_metrics.append(getattr(scope.get("route"), "path", "unmatched"))
        return measured

    app.add_middleware(FastRoutes, service="greeter", routes={("POST", "/greet"): greet_at_once})
    return metrics(app)


@pytest.fixture
def setting():
    seen, paths, calls = [], [], []
    return build(seen, paths, calls), seen, paths, calls


async def post(app, path: str, body: bytes, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.post(path, content=body, headers={"content-type": "application/json", **(headers or {})})


async def test_the_common_case_is_answered_without_the_route_and_measured_under_its_path(setting) -> None:
    app, seen, paths, calls = setting
    response = await post(app, "/greet", b'{"name": "fast"}', {"x-fast": "yes"})
    assert response.status_code == 201
    assert response.json() == {"by": "fast route", "service": "greeter"}
    assert response.headers["content-type"] == "application/json"
    assert seen == [] and len(calls) == 1
    assert paths == ["/greet"]


async def test_a_declined_request_reaches_the_route_with_its_body_and_knows_it_was_tried(setting) -> None:
    app, seen, paths, calls = setting
    response = await post(app, "/greet", b'{"name": "slow", "note": "\xc3\xa9"}')
    assert response.json() == {"by": "route", "name": "slow"}
    assert seen == [(Greeting(name="slow", note="é"), True)]
    assert len(calls) == 1 and paths == ["/greet"]


async def test_a_body_the_route_refuses_gets_the_routes_own_error(setting) -> None:
    app, seen, _, calls = setting
    response = await post(app, "/greet", b'{"name": "fast"', {"x-fast": "yes"})  # not JSON: the handler declines
    assert response.status_code in (400, 422)
    assert seen == []
    assert len(calls) == 1


async def test_large_bodies_and_other_routes_go_to_the_framework_unread(setting) -> None:
    app, seen, paths, calls = setting
    large = json.dumps({"name": "fast", "note": "x" * MAX_FAST_BODY}).encode()
    response = await post(app, "/greet", large, {"x-fast": "yes"})
    assert response.json() == {"by": "route", "name": "fast"}
    assert seen[0][0].note == "x" * MAX_FAST_BODY and seen[0][1] is False
    response = await post(app, "/other", b'{"name": "fast"}', {"x-fast": "yes"})
    assert response.json() == {"by": "other", "name": "fast"}
    assert calls == []
    assert paths == ["/greet", "/other"]


async def test_a_body_the_framework_would_not_read_as_json_goes_to_the_route(setting) -> None:
    app, seen, _, calls = setting
    response = await post(app, "/greet", b'{"name": "fast"}', {"x-fast": "yes", "content-type": "text/plain"})
    assert response.status_code == 422 and seen == [] and calls == []
    response = await post(app, "/greet", b'{"name": "fast"}',
                          {"x-fast": "yes", "content-type": "application/vnd.greeting+json; charset=utf-8"})
    assert response.status_code == 201 and len(calls) == 1


async def test_a_body_in_chunks_is_handed_on_chunk_by_chunk() -> None:
    messages = [{"type": "http.request", "body": b"ab", "more_body": True},
                {"type": "http.request", "body": b"cd", "more_body": False},
                {"type": "http.disconnect"}]

    async def receive() -> dict:
        return messages.pop(0)

    body, more, receive_again = await _read_body(receive)
    assert (body, more) == (b"abcd", False)
    assert [await receive_again() for _ in range(3)] == [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
        {"type": "http.disconnect"}]
