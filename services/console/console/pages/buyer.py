"""The buyer's order page (from the buyer's signed link): assign each ticket, hand out claim links, or
upload a CSV and read the per-row report; and the claim page the recipient of a claim link opens."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from .. import forms
from ..rendering import query, redirect, render
from ..upstream import UpstreamError
from .common import api, attempt, form_of, language

router = APIRouter()
MAX_UPLOAD_BYTES = 2 * 2**20  # the assignment service refuses more anyway


def _page_url(order_id: uuid.UUID, token: str) -> str:
    return f"/buyer/orders/{order_id}?{query({'access_token': token})}"


async def _order_page(request: Request, order_id: uuid.UUID, token: str, *, status_code: int = 200, **extra):
    tickets = await api(request, token).get("assignment", f"/v1/orders/{order_id}/tickets")
    context = {"problems": [], "report": None, "claim": None, **extra}
    return render(request, "buyer_order.html.j2", status_code=status_code, order_id=order_id, token=token,
                  tickets=tickets, **context)


@router.get("/buyer/orders/{order_id}")
async def buyer_order(request: Request, order_id: uuid.UUID, access_token: str = ""):
    return await _order_page(request, order_id, access_token)


@router.post("/buyer/orders/{order_id}/tickets/{ticket_id}/holder")
async def assign(request: Request, order_id: uuid.UUID, ticket_id: uuid.UUID):
    form = await form_of(request)
    token = str(form.get("access_token") or "")
    checked = forms.holder(form, language(request))
    if not checked.ok:
        return redirect(request, _page_url(order_id, token), checked.problems[0], "error")
    _, refused = await attempt(api(request, token).send("PUT", "assignment", f"/v1/tickets/{ticket_id}/holder",
                                                         checked.values))
    return redirect(request, _page_url(order_id, token), refused or "The ticket is assigned.",
                    "error" if refused else "ok")


@router.post("/buyer/orders/{order_id}/tickets/{ticket_id}/claims")
async def claim_link(request: Request, order_id: uuid.UUID, ticket_id: uuid.UUID,
                     access_token: Annotated[str, Form()] = "", email: Annotated[str, Form(max_length=200)] = ""):
    if not forms.EMAIL.match(email.strip()):
        return redirect(request, _page_url(order_id, access_token), "Enter a valid e-mail address.", "error")
    # Mailed in the language the buyer reads the page in: the recipient's own is not known yet.
    link, refused = await attempt(api(request, access_token).send(
        "POST", "assignment", f"/v1/tickets/{ticket_id}/claims", {"email": email.strip(),
                                                                  "language": language(request)}))
    if refused:
        return redirect(request, _page_url(order_id, access_token), refused, "error")
    claim = {"email": email.strip(), "url": f"{request.base_url}claims/{link['token']}",
             "expires_at": link["expires_at"]}
    return await _order_page(request, order_id, access_token, claim=claim)


@router.post("/buyer/orders/{order_id}/assignments")
async def upload(request: Request, order_id: uuid.UUID, access_token: Annotated[str, Form()] = "",
                 file: Annotated[UploadFile | None, File()] = None):
    data = await file.read(MAX_UPLOAD_BYTES + 1) if file else b""
    if not data:
        return await _order_page(request, order_id, access_token, status_code=422,
                                 problems=["Choose a CSV file to upload."])
    try:
        response = await api(request, access_token).request(
            "POST", "assignment", f"/v1/orders/{order_id}/assignments.csv", content=data,
            headers={"Content-Type": "text/csv"})
    except UpstreamError as error:
        if error.status >= 500 or error.status in (401, 404):
            raise
        # The file check lists every problem; the page shows them all.
        problems = error.details.get("problems") or [error.message]
        return await _order_page(request, order_id, access_token, status_code=422, problems=problems)
    return await _order_page(request, order_id, access_token, report=response.json())


@router.get("/claims/{token}")
async def claim_page(request: Request, token: str):
    claim = await api(request, None).get("assignment", f"/v1/claims/{token}")
    return render(request, "claim.html.j2", claim=claim, token=token, values={}, problems=[], claimed=None)


@router.post("/claims/{token}")
async def redeem(request: Request, token: str):
    form = await form_of(request)
    upstream = api(request, None)
    claim = await upstream.get("assignment", f"/v1/claims/{token}")
    name = str(form.get("name") or "").strip()[:200]
    if not name:
        return render(request, "claim.html.j2", status_code=422, claim=claim, token=token, values=dict(form),
                      problems=["Enter your name."], claimed=None)
    ticket = await upstream.send("POST", "assignment", f"/v1/claims/{token}", {
        "name": name, "company": str(form.get("company") or "").strip()[:200] or None,
        "language": language(request)})
    return render(request, "claim.html.j2", claim=claim, token=token, values={}, problems=[], claimed=ticket)
