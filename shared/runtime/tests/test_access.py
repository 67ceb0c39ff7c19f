"""Staff scopes and the public rate limit, through a real ASGI app."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from ticketflow_runtime.auth import Principal, mint_token, rate_limited, scopes
from ticketflow_runtime.errors import install_error_handlers

SECRET = "a-test-secret-that-is-long-enough-1234"


def app(limit: str = "3/minute") -> FastAPI:
    application = FastAPI()
    application.state.service = SimpleNamespace(settings=SimpleNamespace(
        auth_jwt_secret=SECRET, auth_jwt_issuer="ticketflow", public_rate_limit=limit))
    install_error_handlers(application)

    @application.get("/staff")
    async def staff(who: Annotated[Principal, Depends(scopes("orders:write"))]) -> dict:
        return {"actor": who.actor}

    @application.get("/public", dependencies=[Depends(rate_limited(f"test-{limit}"))])
    async def public() -> dict:
        return {"ok": True}

    return application


async def call(application: FastAPI, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
        return await client.get(path, headers=headers)


async def test_scopes() -> None:
    application = app()
    assert (await call(application, "/staff")).json()["error"]["code"] == "unauthorized"
    reader = mint_token(SECRET, "ann", ["orders:read"])
    assert (await call(application, "/staff", reader)).json()["error"]["code"] == "insufficient_scope"
    writer = mint_token(SECRET, "ann", ["orders:read", "orders:write"])
    assert (await call(application, "/staff", writer)).json() == {"actor": "staff:ann"}
    other_secret = mint_token("another-secret-that-is-long-enough-99", "ann", ["orders:write"])
    assert (await call(application, "/staff", other_secret)).status_code == 401


async def test_public_endpoints_are_rate_limited_per_client() -> None:
    application = app("3/minute")
    answers = [await call(application, "/public") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[-1].json()["error"]
    assert refused["code"] == "rate_limited" and refused["details"]["retry_after_seconds"] >= 1


def test_a_token_verified_before_is_refused_once_it_expires(monkeypatch) -> None:
    import jwt
    import pytest

    from ticketflow_runtime import auth

    token = mint_token(SECRET, "staff:ida", ["orders:read"], ttl_seconds=60)
    assert auth.decode_token(token, SECRET, "ticketflow")["sub"] == "staff:ida"
    real_time = auth.time.time
    monkeypatch.setattr(auth.time, "time", lambda: real_time() + 61)
    with pytest.raises(jwt.ExpiredSignatureError):
        auth.decode_token(token, SECRET, "ticketflow")
    with pytest.raises(jwt.InvalidSignatureError):  # another installation's secret: verified anew
        auth.decode_token(token, "another-secret-that-is-long-enough-12", "ticketflow")
