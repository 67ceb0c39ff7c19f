"""The check-in dashboard: live counts per list, gate and ticket type, arrivals, offline conflicts, and the
desk (check in by hand, undo a check-in with the reason)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from markupsafe import Markup

from ..charts import arrivals_svg
from ..catalog import LABELS
from ..i18n import language_of, translate
from ..rendering import query, redirect, render
from ..staff import Staff
from .common import api, attempt, chosen, events

router = APIRouter()
DESK_GATE = "Help desk"


async def _counts(request: Request, staff, event_id: str) -> dict:
    counts = await api(request, staff).get("checkin", f"/v1/events/{event_id}/counts")
    title = translate(language_of(request), "Arrivals per five minutes")
    zone = request.app.state.settings.zone
    return {"counts": counts, "chart": Markup(arrivals_svg(counts["arrivals"], title, zone))}


async def _attendees(request: Request, staff, event_id: str, q: str) -> list[dict] | None:
    q = q.strip()[:200]
    if len(q) < 2:
        return None
    return await api(request, staff).get("checkin", f"/v1/events/{event_id}/attendees", q=q)


@router.get("/check-in")
async def dashboard(request: Request, staff: Staff, event_id: str | None = None, q: str = ""):
    all_events = await events(api(request, staff))
    event = chosen(all_events, event_id)
    context = {"section": "checkin", "events": all_events, "event": event, "q": q, "attendees": None}
    if event:
        context.update(await _counts(request, staff, event["id"]))
        context["attendees"] = await _attendees(request, staff, event["id"], q)
        context["conflicts"] = await api(request, staff).get("checkin", f"/v1/events/{event['id']}/check-in-conflicts")
    return render(request, "checkin.html.j2", **context)


@router.get("/check-in/{event_id}/counts")
async def live_counts(request: Request, staff: Staff, event_id: uuid.UUID):
    """The counts alone, which the dashboard reloads every few seconds."""
    return render(request, "checkin_counts.html.j2", **await _counts(request, staff, str(event_id)))


@router.get("/check-in/{event_id}/attendees")
async def desk_search(request: Request, staff: Staff, event_id: uuid.UUID, q: str = ""):
    return render(request, "checkin_attendees.html.j2", event={"id": str(event_id)}, q=q,
                  attendees=await _attendees(request, staff, str(event_id), q))


@router.post("/check-in/{event_id}/check-ins")
async def check_in_by_hand(request: Request, staff: Staff, event_id: uuid.UUID,
                           ticket_id: Annotated[uuid.UUID, Form()], q: Annotated[str, Form(max_length=200)] = ""):
    back = f"/check-in?{query({'event_id': str(event_id), 'q': q})}"
    answer, refused = await attempt(api(request, staff).send("POST", "checkin", f"/v1/events/{event_id}/check-ins",
                                                             {"ticket_id": str(ticket_id), "gate": DESK_GATE}))
    if refused:
        return redirect(request, back, refused, "error")
    admitted = answer["admitted"]
    return redirect(request, back, LABELS.get(answer["result"], answer["message"]), "ok" if admitted else "error")


@router.post("/check-in/{event_id}/check-ins/{check_in_id}/undo")
async def undo_check_in(request: Request, staff: Staff, event_id: uuid.UUID, check_in_id: uuid.UUID,
                        reason: Annotated[str, Form(max_length=500)] = "",
                        q: Annotated[str, Form(max_length=200)] = ""):
    back = f"/check-in?{query({'event_id': str(event_id), 'q': q})}"
    if len(reason.strip()) < 3:
        return redirect(request, back, "Give the reason for undoing the check-in.", "error")
    _, refused = await attempt(api(request, staff).send("POST", "checkin", f"/v1/check-ins/{check_in_id}/undo",
                                                        {"reason": reason.strip()}))
    return redirect(request, back, refused or "The check-in is undone.", "error" if refused else "ok")
