"""The check-in dashboard: live counts per list, gate and ticket type, arrivals, offline conflicts, and the
desk (check in by hand, undo a check-in with the reason); and the event's scanners (register one and show
its token once, revoke one)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from markupsafe import Markup

from ticketflow_runtime.ticket_pdf import qr_svg

from .. import forms
from ..catalog import LABELS
from ..charts import arrivals_svg
from ..i18n import language_of, translate
from ..rendering import query, redirect, render, signed, signed_cookie
from ..staff import Staff
from .common import api, attempt, chosen, events, form_of

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


def _desk(event_id: uuid.UUID, q: str) -> str:
    """The dashboard with the desk's search as it was."""
    return f"/check-in?{query({'event_id': str(event_id), 'q': q})}"


@router.post("/check-in/{event_id}/check-ins")
async def check_in_by_hand(request: Request, staff: Staff, event_id: uuid.UUID,
                           ticket_id: Annotated[uuid.UUID, Form()], q: Annotated[str, Form(max_length=200)] = ""):
    back = _desk(event_id, q)
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
    back = _desk(event_id, q)
    if len(reason.strip()) < 3:
        return redirect(request, back, "Give the reason for undoing the check-in.", "error")
    _, refused = await attempt(api(request, staff).send("POST", "checkin", f"/v1/check-ins/{check_in_id}/undo",
                                                        {"reason": reason.strip()}))
    return redirect(request, back, refused or "The check-in is undone.", "error" if refused else "ok")


async def _scanners_page(request: Request, staff, event_id: uuid.UUID, *, status_code: int = 200, **extra):
    upstream = api(request, staff)
    event = await upstream.get("orders", f"/v1/events/{event_id}")
    lists = await upstream.get("checkin", f"/v1/events/{event_id}/lists")
    names = {item["id"]: item["name"] for item in lists}
    devices = [{**device, "lists": [names.get(list_id, list_id) for list_id in device["list_ids"]]}
               for device in await upstream.get("checkin", f"/v1/events/{event_id}/devices")]
    context = {"registered": None, "problems": [], "values": {}, **extra}
    return render(request, "scanners.html.j2", status_code=status_code, section="checkin", event=event,
                  lists=lists, devices=devices, **context)


def _scanners_url(event_id: uuid.UUID) -> str:
    return f"/check-in/{event_id}/scanners"


# A registered scanner's token travels to the page that shows it in a short-lived cookie of that page
# alone, deleted as it is shown: reloading the page neither shows it again nor registers another scanner.
NEW_SCANNER_COOKIE = "console_new_scanner"


@router.get("/check-in/{event_id}/scanners")
async def scanners(request: Request, staff: Staff, event_id: uuid.UUID):
    registered = signed_cookie(request, NEW_SCANNER_COOKIE, "new-scanner")
    if registered:
        # The token as text and as a QR code the scanner app can read.
        registered["qr"] = Markup(qr_svg(registered["token"], scale=4, title=registered["name"]))
    response = await _scanners_page(request, staff, event_id, registered=registered)
    if NEW_SCANNER_COOKIE in request.cookies:
        response.delete_cookie(NEW_SCANNER_COOKIE, path=_scanners_url(event_id))
    return response


@router.post("/check-in/{event_id}/scanners")
async def register_scanner(request: Request, staff: Staff, event_id: uuid.UUID):
    checked = forms.scanner(await form_of(request))
    if checked.ok:
        device, refused = await attempt(api(request, staff).send(
            "POST", "checkin", f"/v1/events/{event_id}/devices", checked.values))
        if device:
            # Shown this once: the service keeps only the token's hash.
            page = _scanners_url(event_id)
            response = redirect(request, page, "The scanner is registered.")
            response.set_cookie(NEW_SCANNER_COOKIE, signed(request, "new-scanner").dumps(
                {key: device[key] for key in ("name", "gate", "token")}), max_age=120, httponly=True,
                samesite="strict", secure=request.app.state.settings.session_cookie_secure, path=page)
            return response
        checked.problems.append(refused)
    return await _scanners_page(request, staff, event_id, status_code=422, problems=checked.problems,
                                values=checked.values)


@router.post("/check-in/{event_id}/scanners/{device_id}/revoke")
async def revoke_scanner(request: Request, staff: Staff, event_id: uuid.UUID, device_id: uuid.UUID):
    back = _scanners_url(event_id)
    _, refused = await attempt(api(request, staff).send("POST", "checkin", f"/v1/devices/{device_id}/revoke"))
    return redirect(request, back, refused or "The scanner is revoked: its token no longer works.",
                    "error" if refused else "ok")
