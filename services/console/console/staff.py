"""Staff sessions: sign in with a password or a platform token; the session cookie holds the staff JWT.

The cookie is signed (itsdangerous) and httponly. Inside is the staff member's own
token, so every API call the console makes for them is held to their scopes.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ticketflow_runtime.auth import decode_token, mint_token

from .settings import Settings, StaffUser

SESSION_COOKIE = "console_session"
_hasher = PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    """Compared against when the username is unknown, so both answers take as long (made on first need)."""
    return _hasher.hash("no such user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class SignInRefused(Exception):
    """Wrong username or password, or a token that is not a valid staff token."""


class SignInRequired(Exception):
    """No (valid) session: the page sends the visitor to the sign-in form."""


@dataclass(frozen=True)
class StaffMember:
    token: str
    username: str
    scopes: frozenset[str]
    expires_at: int

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def _user(settings: Settings, username: str) -> StaffUser | None:
    return next((u for u in settings.staff_users if u.username == username), None)


def sign_in_with_password(settings: Settings, username: str, password: str) -> str:
    """The staff member's own token, minted as the platform would for their scopes."""
    user = _user(settings, username.strip())
    try:
        _hasher.verify(user.password_hash if user else _unknown_user_hash(), password)
    except (VerificationError, InvalidHashError) as error:
        raise SignInRefused from error
    if user is None:
        raise SignInRefused
    return mint_token(settings.auth_jwt_secret, user.username, user.scopes, ttl_seconds=settings.session_hours * 3600,
                      issuer=settings.auth_jwt_issuer)


def staff_member(settings: Settings, token: str) -> StaffMember:
    """The token's holder, if it is a valid, unexpired staff token (links have an audience: refused)."""
    try:
        claims = decode_token(token.strip(), settings.auth_jwt_secret, settings.auth_jwt_issuer)
    except jwt.InvalidTokenError as error:
        raise SignInRefused from error
    if claims.get("aud") is not None:
        raise SignInRefused
    return StaffMember(token=token.strip(), username=str(claims["sub"]),
                       scopes=frozenset(str(claims.get("scope", "")).split()), expires_at=int(claims["exp"]))


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret, salt="console-session")


def session_cookie(settings: Settings, member: StaffMember) -> dict:
    """Arguments for ``response.set_cookie``: the session lasts as long as the token."""
    return {"key": SESSION_COOKIE, "value": _serializer(settings).dumps({"token": member.token}),
            "max_age": max(member.expires_at - int(time.time()), 0), "httponly": True, "samesite": "lax",
            "secure": settings.session_cookie_secure, "path": "/"}


# async: FastAPI runs a plain function dependency in a worker thread, a thread hop per request.
async def current_staff(request: Request) -> StaffMember:
    settings: Settings = request.app.state.settings
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise SignInRequired
    try:
        token = _serializer(settings).loads(raw, max_age=24 * 14 * 3600)["token"]
        member = staff_member(settings, token)
    except (BadSignature, KeyError, TypeError, SignInRefused) as error:
        raise SignInRequired from error
    request.state.staff = member  # the page header shows who is signed in
    return member


Staff = Annotated[StaffMember, Depends(current_staff)]
