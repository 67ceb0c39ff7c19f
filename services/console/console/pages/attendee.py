"""My Tickets (from the attendee's signed link): each ticket with a large QR code, its status, the event,
and the printable PDF. The QR code and PDF are fetched with the same link."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..rendering import render
from .common import api

router = APIRouter()


@router.get("/my-tickets")
async def my_tickets(request: Request, access_token: str = ""):
    tickets = await api(request, access_token).get("assignment", "/v1/me/tickets")
    return render(request, "my_tickets.html.j2", tickets=tickets, token=access_token)


@router.get("/my-tickets/{ticket_id}/{document}")
async def ticket_document(request: Request, ticket_id: uuid.UUID, document: str, access_token: str = ""):
    if document not in ("qr.svg", "ticket.pdf"):
        return render(request, "error.html.j2", status_code=404, status=404, code="not_found",
                      message="There is no such page.")
    upstream = await api(request, access_token).request("GET", "assignment", f"/v1/me/tickets/{ticket_id}/{document}")
    headers = {"Cache-Control": "no-store"}
    if disposition := upstream.headers.get("content-disposition"):
        headers["Content-Disposition"] = disposition
    return Response(upstream.content, media_type=upstream.headers.get("content-type"), headers=headers)
