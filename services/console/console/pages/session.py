"""Sign in (password or platform token), sign out, and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from .. import i18n, staff
from ..rendering import redirect, render

router = APIRouter()


def _local(path: str | None) -> str:
    """Only paths on this site: a crafted ``next`` must not send anyone elsewhere."""
    parts = urlsplit(path or "/")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return path or "/"


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str = "/"):
    return render(request, "sign_in.html.j2", next=_local(next))


@router.post("/sign-in")
async def sign_in(request: Request, username: Annotated[str, Form(max_length=100)] = "",
                  password: Annotated[str, Form(max_length=500)] = "",
                  token: Annotated[str, Form(max_length=4000)] = "", next: Annotated[str, Form()] = "/"):
    settings = request.app.state.settings
    try:
        raw = token.strip() or staff.sign_in_with_password(settings, username, password)
        member = staff.staff_member(settings, raw)
    except staff.SignInRefused:
        return render(request, "sign_in.html.j2", status_code=401, next=_local(next), username=username,
                      error="Wrong username or password, or a token that is not valid here.")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(**staff.session_cookie(settings, member))
    return response


@router.post("/sign-out")
async def sign_out(request: Request):
    response = redirect(request, "/sign-in", "You are signed out.")
    response.delete_cookie(staff.SESSION_COOKIE, path="/")
    return response


@router.get("/language/{language}")
async def choose_language(language: str, next: str = "/"):
    response = RedirectResponse(_local(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(i18n.LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", path="/")
    return response
