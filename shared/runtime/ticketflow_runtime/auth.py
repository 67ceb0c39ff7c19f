"""Staff access: bearer tokens (JWT, HS256) carrying scopes, and rate limits for public endpoints.

    @router.get("/v1/orders")
    async def list_orders(staff: Annotated[Principal, Depends(scopes("orders:read"))]) ...

Tokens are issued by the platform (its identity provider or
``python -m ticketflow_runtime.auth mint``) and signed with ``AUTH_JWT_SECRET``;
the ``scope`` claim lists the scopes, space-separated, as in OAuth 2.0.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from .errors import ApiError

ALGORITHM = "HS256"


STAFF = "staff"


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    audience: str = STAFF
    """staff, or the kind of signed link: buyer (an order's tickets), attendee (their own tickets)."""
    claims: dict[str, Any] | None = None

    @property
    def actor(self) -> str:
        """How the principal appears in audit trails (transitions, history)."""
        return f"{self.audience}:{self.subject}"

    @property
    def is_staff(self) -> bool:
        return self.audience == STAFF


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


def mint_token(secret: str, subject: str, scopes: list[str], *, ttl_seconds: int = 3600,
               issuer: str = "ticketflow") -> str:
    now = int(time.time())
    claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_seconds, "iss": issuer}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def mint_link_token(secret: str, audience: str, subject: str, claims: dict[str, str], *, ttl_seconds: int,
                    issuer: str = "ticketflow") -> str:
    """A signed, expiring token for a link sent to a buyer or an attendee (no scopes: its claims say what)."""
    now = int(time.time())
    return jwt.encode({"sub": subject, "aud": audience, "iat": now, "exp": now + ttl_seconds, "iss": issuer,
                       **claims}, secret, algorithm=ALGORITHM)


def _principal(request: Request, audiences: tuple[str, ...] = ()) -> Principal:
    settings = request.app.state.service.settings
    if not settings.auth_jwt_secret:
        raise ApiError(503, "auth_not_configured", "Access is not configured (AUTH_JWT_SECRET).")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        token = request.query_params.get("access_token", "") if audiences else ""
        if not token:
            raise Unauthorized("A bearer token is required.")
    try:
        # The audience is checked below: staff tokens have none, links one of ``audiences``.
        claims = jwt.decode(token, settings.auth_jwt_secret, algorithms=[ALGORITHM], issuer=settings.auth_jwt_issuer,
                            options={"require": ["exp", "sub"], "verify_aud": False})
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The token has expired.") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"The token is not valid: {error}.") from error
    if claims.get("aud") is not None and claims["aud"] not in audiences:
        raise Unauthorized("This link does not give access here.")
    return Principal(subject=str(claims["sub"]), scopes=frozenset(str(claims.get("scope", "")).split()),
                     audience=str(claims.get("aud") or STAFF), claims=claims)


def scopes(*required: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that admits a bearer token holding every ``required`` scope."""

    # async: FastAPI would run a plain function in a worker thread for every request.
    async def check(request: Request) -> Principal:
        principal = _principal(request)
        missing = sorted(set(required) - principal.scopes)
        if not principal.is_staff or missing:
            raise ApiError(403, "insufficient_scope", f"This needs the scope {', '.join(missing)}.",
                           required=list(required))
        return principal

    return check


_limiter = MovingWindowRateLimiter(MemoryStorage())


def staff_or_link(scope: str, *audiences: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Staff with ``scope``, or the holder of a signed link of one of ``audiences``.

    The route then checks the link's claims against the object asked for.
    """

    async def check(request: Request) -> Principal:
        principal = _principal(request, audiences)
        if principal.is_staff and scope not in principal.scopes:
            raise ApiError(403, "insufficient_scope", f"This needs the scope {scope}.", required=[scope])
        return principal

    return check


@functools.lru_cache(maxsize=16)
def _parsed_limit(limit: str) -> RateLimitItem:
    return parse(limit)


def rate_limited(name: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency limiting each client address to the service's ``PUBLIC_RATE_LIMIT`` on this replica."""

    async def check(request: Request) -> None:
        item = _parsed_limit(request.app.state.service.settings.public_rate_limit)
        client = request.client.host if request.client else "unknown"
        if not await _limiter.hit(item, name, client):
            reset, _ = await _limiter.get_window_stats(item, name, client)
            retry_after = max(int(reset - time.time()), 1)
            raise ApiError(429, "rate_limited", f"Too many requests; try again in {retry_after} s.",
                           retry_after_seconds=retry_after)

    return check


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_runtime.auth", description="Mint a staff token.")
    parser.add_argument("command", choices=["mint"])
    parser.add_argument("--sub", required=True, help="who the token is for")
    parser.add_argument("--scope", required=True, help='space-separated, e.g. "orders:read orders:write"')
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args()
    secret = os.environ.get("AUTH_JWT_SECRET")
    if not secret:
        raise SystemExit("set AUTH_JWT_SECRET")
    print(mint_token(secret, args.sub, args.scope.split(), ttl_seconds=args.ttl))


if __name__ == "__main__":
    main()
