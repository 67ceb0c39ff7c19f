"""The public event page: ticket types with prices and VAT, the buyer's details, card or invoice;
the way back from Stripe Checkout, and the confirmation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from .. import forms
from ..rendering import render, signed, signed_cookie
from .common import api, attempt, form_of, language

router = APIRouter()
RECEIPT_COOKIE = "console_receipt"


async def _event_page(request: Request, event_id: uuid.UUID, *, status_code: int = 200, values: dict | None = None,
                      problems: list[str] | None = None):
    event = await api(request, None).get("orders", f"/v1/public/events/{event_id}")
    return render(request, "public_event.html.j2", status_code=status_code, event=event,
                  vat_percent=f"{event['vat_rate_bp'] / 100:g}",
                  methods=forms.PUBLIC_PAYMENT_METHODS, values=values or {}, problems=problems or [])


@router.get("/events/{event_id}")
async def event_page(request: Request, event_id: uuid.UUID):
    return await _event_page(request, event_id)


@router.post("/events/{event_id}/orders")
async def place_order(request: Request, event_id: uuid.UUID):
    form = await form_of(request)
    upstream = api(request, None)
    event = await upstream.get("orders", f"/v1/public/events/{event_id}")
    checked = forms.new_order(form, event, language(request), methods=forms.PUBLIC_PAYMENT_METHODS)
    if checked.ok:
        receipt, refused = await attempt(upstream.send("POST", "orders", f"/v1/public/events/{event_id}/orders",
                                                       checked.values))
        if refused:
            checked.problems.append(refused)
    if not checked.ok:
        return await _event_page(request, event_id, status_code=422, values=dict(form), problems=checked.problems)
    # The confirmation shows the receipt; the buyer has no other access to the order until it is settled.
    kept = {**receipt, "event_name": event["name"], "payment_method": checked.values["payment_method"],
            "email": checked.values["buyer"]["email"]}
    target = receipt["checkout_url"] or f"/checkout/{receipt['order_id']}/done"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(RECEIPT_COOKIE, signed(request, "receipt").dumps(kept), max_age=2 * 3600, httponly=True,
                        samesite="lax", path="/")
    return response


def _receipt(request: Request, order_id: uuid.UUID) -> dict | None:
    receipt = signed_cookie(request, RECEIPT_COOKIE, "receipt")
    return receipt if receipt and receipt.get("order_id") == str(order_id) else None


@router.get("/checkout/{order_id}/done")
async def confirmation(request: Request, order_id: uuid.UUID):
    return render(request, "confirmation.html.j2", receipt=_receipt(request, order_id), order_id=order_id,
                  cancelled=False)


@router.get("/checkout/{order_id}/cancelled")
async def payment_cancelled(request: Request, order_id: uuid.UUID):
    return render(request, "confirmation.html.j2", receipt=_receipt(request, order_id), order_id=order_id,
                  cancelled=True)
