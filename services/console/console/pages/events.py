"""The events: each with its public page, organizations and check-in dashboard; "+ New Event" creates one
with its ticket types, and an event's edit page changes its details and its ticket types or adds one."""

from __future__ import annotations

import uuid

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


async def _edit_page(request: Request, staff, event_id: uuid.UUID, *, status_code: int = 200,
                     values: dict | None = None, problems: list[str] | None = None):
    event = await api(request, staff).get("orders", f"/v1/events/{event_id}")
    return render(request, "event_edit.html.j2", status_code=status_code, section="events", event=event,
                  values=values or forms.event_form_values(event, request.app.state.settings.zone),
                  problems=problems or [], zone_name=request.app.state.settings.time_zone)


@router.get("/events/{event_id}/edit")
async def edit_event_form(request: Request, staff: Staff, event_id: uuid.UUID):
    return await _edit_page(request, staff, event_id)


@router.post("/events/{event_id}/edit")
async def edit_event(request: Request, staff: Staff, event_id: uuid.UUID):
    form = await form_of(request)
    checked = forms.event_changes(form, request.app.state.settings.zone)
    if checked.ok:
        changed, refused = await attempt(api(request, staff).send("PATCH", "orders", f"/v1/events/{event_id}",
                                                                  checked.values))
        if changed:
            return redirect(request, f"/events/{event_id}/edit", "The event is saved.")
        checked.problems.append(refused)
    return await _edit_page(request, staff, event_id, status_code=422, values=dict(form), problems=checked.problems)


@router.post("/events/{event_id}/ticket-types")
async def add_ticket_type(request: Request, staff: Staff, event_id: uuid.UUID):
    return await _save_ticket_type(request, staff, event_id, "POST", f"/v1/events/{event_id}/ticket-types",
                                   "The ticket type is added.")


@router.post("/events/{event_id}/ticket-types/{type_id}")
async def change_ticket_type(request: Request, staff: Staff, event_id: uuid.UUID, type_id: uuid.UUID):
    return await _save_ticket_type(request, staff, event_id, "PATCH", f"/v1/ticket-types/{type_id}",
                                   "The ticket type is saved; its price applies to new orders.")


async def _save_ticket_type(request: Request, staff, event_id: uuid.UUID, method: str, path: str, done: str):
    problems: list[str] = []
    values = forms.ticket_type(await form_of(request), "type_", problems)
    if values is None:
        problems.append("Name each ticket type.")
    back = f"/events/{event_id}/edit"
    if problems:
        return redirect(request, back, problems[0], "error")
    _, refused = await attempt(api(request, staff).send(method, "orders", path, values))
    return redirect(request, back, refused or done, "error" if refused else "ok")
