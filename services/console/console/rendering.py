"""Pages: Jinja2 templates with the visitor's language, amounts and dates, and one-shot messages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, pass_context

from . import i18n

# Every template is HTML, named *.html.j2: the default selection by name (.html, .htm, .xml) would leave
# them unescaped, and with them whatever a buyer typed.
TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                            autoescape=True))
FLASH_COOKIE = "console_flash"


def money(minor: int | None, currency: str = "") -> str:
    """Minor units as 1 234.50 SEK (a thin space groups thousands in both languages)."""
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{cents:02d}".replace(",", "\u202f") + (f" {currency}" if currency else "")


def when(value: str | datetime | date | None, with_time: bool = True, zone: ZoneInfo | None = None) -> str:
    """A date, or a moment as the wall-clock time in ``zone`` (the organizers' time zone)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and zone is not None and value.tzinfo is not None:
        value = value.astimezone(zone)
    if isinstance(value, datetime) and with_time:
        return value.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


@pass_context
def _when_here(context, value: str | datetime | date | None, with_time: bool = True) -> str:
    return when(value, with_time, context.get("time_zone"))


def query(params: dict[str, Any], **changes: Any) -> str:
    """The query string of ``params`` with ``changes`` (None removes), for links that keep the filters."""
    merged = {**params, **changes}
    return urlencode([(k, v) for k, value in merged.items() if value not in (None, "", [])
                      for v in (value if isinstance(value, list) else [value])])


TEMPLATES.env.filters.update(money=money, when=_when_here)
TEMPLATES.env.globals.update(query=query)


def signed(request: Request, purpose: str) -> URLSafeSerializer:
    """Signs the console's own cookies; ``purpose`` keeps one kind from passing for another."""
    return URLSafeSerializer(request.app.state.settings.session_secret, salt=f"console-{purpose}")


def signed_cookie(request: Request, name: str, purpose: str) -> Any | None:
    """The value of a cookie the console signed for ``purpose``; None when it is absent or was altered."""
    try:
        return signed(request, purpose).loads(request.cookies.get(name, ""))
    except BadSignature:
        return None


def redirect(request: Request, url: str, message: str | None = None, kind: str = "ok") -> RedirectResponse:
    """303 to ``url``, with a message shown once on the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(FLASH_COOKIE, signed(request, "flash").dumps([kind, message]), max_age=60,
                            httponly=True, samesite="lax", path="/")
    return response


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    language = i18n.language_of(request)
    flash = signed_cookie(request, FLASH_COOKIE, "flash")
    translate = i18n.translator(language)
    response = TEMPLATES.TemplateResponse(request, template, {
        "lang": language, "_": translate, "label": i18n.labeller(language), "flash": flash,
        "staff": getattr(request.state, "staff", None), "time_zone": request.app.state.settings.zone, **context,
    }, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
