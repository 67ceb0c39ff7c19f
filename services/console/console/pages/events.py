"""The events: each with its public page, organizations and check-in dashboard; "+ New Event" creates one
with its ticket types."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .. import forms
from ..rendering import redirect, render
from ..staff import Staff
from .common import api, attempt, events, form_of

router = APIRouter()


@router.get("/events")
async def event_list(request: Request, staff: Staff):
    return render(request, "events.html.j2", section="events", events=await events(api(request, staff)))


@router.get("/events/new")
async def new_event_form(request: Request, staff: Staff):
    return _new_event_page(request, values={"currency": "SEK", "vat_percent": "25"}, problems=[])


@router.post("/events/new")
async def create_event(request: Request, staff: Staff):
    form = await form_of(request)
    checked = forms.new_event(form, request.app.state.settings.zone)
    if checked.ok:
        event, refused = await attempt(api(request, staff).send("POST", "orders", "/v1/events", checked.values))
        if event:
            return redirect(request, f"/?event_id={event['id']}", "The event is created.")
        checked.problems.append(refused)
    return _new_event_page(request, values=dict(form), problems=checked.problems, status_code=422)


def _new_event_page(request: Request, *, values: dict, problems: list[str], status_code: int = 200):
    return render(request, "event_new.html.j2", status_code=status_code, section="events", values=values,
                  problems=problems, rows=range(forms.TICKET_TYPE_ROWS),
                  zone_name=request.app.state.settings.time_zone)
