"""What several pages share: the API as the current caller, and the events to choose from."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..i18n import language_of
from ..staff import StaffMember
from ..upstream import Upstream, UpstreamError


def api(request: Request, caller: StaffMember | str | None) -> Upstream:
    """The APIs as the signed-in staff member (their token) or a link holder (the link's token)."""
    token = caller.token if isinstance(caller, StaffMember) else caller
    return request.app.state.upstream.as_caller(token)


async def events(upstream: Upstream) -> list[dict]:
    return await upstream.get("orders", "/v1/events")


def chosen(events_list: list[dict], event_id: str | None) -> dict | None:
    """The event asked for, else the soonest one (the list comes soonest first)."""
    return next((e for e in events_list if e["id"] == event_id), events_list[0] if events_list else None)


async def form_of(request: Request):
    return await request.form(max_files=1, max_fields=200)


def language(request: Request) -> str:
    return language_of(request)


async def attempt(call) -> tuple[Any, str | None]:
    """The call's result, or the service's reason for refusing it, for the page to show beside the form.

    What the visitor cannot fix there (not signed in, nothing there, a service failing) stays an error page.
    """
    try:
        return await call, None
    except UpstreamError as error:
        if error.status >= 500 or error.status in (401, 404):
            raise
        return None, error.message
