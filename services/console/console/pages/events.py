"""The events: each with its public page, organizations and check-in dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..rendering import render
from ..staff import Staff
from .common import api, events

router = APIRouter()


@router.get("/events")
async def event_list(request: Request, staff: Staff):
    return render(request, "events.html.j2", section="events", events=await events(api(request, staff)))
