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
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
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


def decode_token(token: str, secret: str, issuer: str) -> dict[str, Any]:
    """The claims of a token we signed and issued, unexpired; its audience (if any) is the caller's to check.

    A client sends the same token with every request: its signature is checked once, and
    its expiry every time. The claims are shared between those calls, not to be changed."""
    claims = _verified_claims(token, secret, issuer)
    if claims["exp"] <= time.time():  # as PyJWT decides it, without leeway
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str, issuer: str) -> dict[str, Any]:
    return jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer,
                      options={"require": ["exp", "sub"], "verify_aud": False})


def _principal(request: Request, audiences: tuple[str, ...] = ()) -> Principal:
    token = bearer_token(request.headers.get("authorization", ""))
    if not token and audiences:  # a link's token may come in its URL
        token = request.query_params.get("access_token", "")
    return principal_of(request.app.state.service.settings, token, audiences)


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer ...`` header value; empty for any other scheme."""
    scheme, _, token = authorization.partition(" ")
    return token if scheme.lower() == "bearer" else ""


def staff_holding(settings: Any, authorization: str, required: tuple[str, ...]) -> Principal:
    """The staff member an ``Authorization`` header's bearer token names, holding every ``required`` scope."""
    principal = principal_of(settings, bearer_token(authorization))
    missing = sorted(set(required) - principal.scopes)
    if not principal.is_staff or missing:
        raise ApiError(403, "insufficient_scope", f"This needs the scope {', '.join(missing)}.",
                       required=list(required))
    return principal


def principal_of(settings: Any, token: str, audiences: tuple[str, ...] = ()) -> Principal:
    """Who a token (staff, or a link of one of ``audiences``) names; refused when missing or not valid."""
    if not settings.auth_jwt_secret:
        raise ApiError(503, "auth_not_configured", "Access is not configured (AUTH_JWT_SECRET).")
    if not token:
        raise Unauthorized("A bearer token is required.")
    try:
        # The audience is checked below: staff tokens have none, links one of ``audiences``.
        claims = decode_token(token, settings.auth_jwt_secret, settings.auth_jwt_issuer)
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The token has expired.") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"The token is not valid: {error}.") from error
    if claims.get("aud") is not None and claims["aud"] not in audiences:
        raise Unauthorized("This link does not give access here.")
    return Principal(subject=str(claims["sub"]), scopes=frozenset(str(claims.get("scope", "")).split()),
                     audience=str(claims.get("aud") or STAFF), claims=claims)


@dataclass(frozen=True)
class AccessRule:
    """Who a dependency admits, for the OpenAPI document (see ``document_access``)."""

    scopes: tuple[str, ...]
    audiences: tuple[str, ...] = ()
    """Kinds of signed link admitted besides staff tokens."""
    devices: bool = False
    """Whether registered scanner devices are admitted (their own opaque tokens)."""


def requires(rule: AccessRule) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a dependency with the access it checks, so the service's OpenAPI document shows it."""

    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        dependency.access_rule = rule  # type: ignore[attr-defined]
        return dependency

    return mark


def scopes(*required: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that admits a bearer token holding every ``required`` scope."""

    # async: FastAPI would run a plain function in a worker thread for every request.
    @requires(AccessRule(scopes=required))
    async def check(request: Request) -> Principal:
        return staff_holding(request.app.state.service.settings, request.headers.get("authorization", ""),
                             required)

    return check


_limiter = MovingWindowRateLimiter(MemoryStorage())


def staff_or_link(scope: str, *audiences: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Staff with ``scope``, or the holder of a signed link of one of ``audiences``.

    The route then checks the link's claims against the object asked for.
    """

    @requires(AccessRule(scopes=(scope,), audiences=audiences))
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
                           headers={"Retry-After": str(retry_after)}, retry_after_seconds=retry_after)

    check.rate_limited = True  # type: ignore[attr-defined]
    return check


SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "staff": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
              "description": "A staff token issued by the platform (HS256 JWT); its scope claim must hold "
                             "every scope the operation lists."},
    "link": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "The signed token of a link sent to a buyer (their order) or an attendee (their "
                            "tickets), as a bearer token or ?access_token=; the operation lists the kinds it "
                            "admits, and checks the link's claims against the object asked for."},
    "device": {"type": "http", "scheme": "bearer",
               "description": "A registered scanner device's token (tfd_...), bound to an event, its lists "
                              "and a gate; refused from the moment the device is revoked."},
}

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}


def document_access(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Write into the OpenAPI ``document`` who each operation admits and which are rate limited.

    Read off the routes' dependencies (``requires``, ``rate_limited``), so the
    document cannot drift from what the code checks.
    """
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    # Routes of included routers are reached through their contexts (prefix and dependencies applied).
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        calls = list(_dependency_calls(route.dependant))
        rules = [rule for call in calls if (rule := getattr(call, "access_rule", None)) is not None]
        limited = any(getattr(call, "rate_limited", False) for call in calls)
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if rules:
                operation["security"] = [requirement for rule in rules for requirement in _requirements(rule)]
                responses["401"] = _error_response("No valid token: missing, malformed, expired or not ours")
                responses["403"] = _error_response("The token does not give access to this")
            else:
                operation["security"] = []
            if limited:
                responses["429"] = _error_response("Rate limited: retry after the Retry-After header's seconds")
    return document


def _requirements(rule: AccessRule) -> list[dict[str, list[str]]]:
    requirements = [{"staff": list(rule.scopes)}]
    if rule.audiences:
        requirements.append({"link": list(rule.audiences)})
    if rule.devices:
        requirements.append({"device": []})
    return requirements


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


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
