"""Ticket Orders (filters, summary, list, CSV export, "+ New Ticket Order") and the order page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse

from .. import forms
from ..rendering import redirect, render
from ..staff import Staff
from .common import api, attempt, chosen, events, form_of, language

router = APIRouter()

SUMMARY_ROWS = (*forms.ORDER_STATUSES, "total")
SUMMARY_COLUMNS = (*forms.PAYMENT_METHODS, "total")


@router.get("/")
async def ticket_orders(request: Request, staff: Staff):
    checked = forms.order_filters(request.query_params)
    upstream = api(request, staff)
    context = {"section": "orders", "filters": checked.values, "problems": checked.problems,
               "events": await events(upstream), "summary": None, "page": None,
               "statuses": forms.ORDER_STATUSES, "methods": forms.PAYMENT_METHODS,
               "count_statuses": forms.TICKET_COUNT_STATUSES, "summary_rows": SUMMARY_ROWS,
               "summary_columns": SUMMARY_COLUMNS, "page_size": forms.PAGE_SIZE}
    if checked.ok:
        filters = forms.api_filters(checked.values)
        context["summary"] = await upstream.get("orders", "/v1/orders/summary", **filters)
        context["page"] = await upstream.get("orders", "/v1/orders", **filters, sort=checked.values["sort"],
                                             limit=forms.PAGE_SIZE, offset=checked.values["offset"])
    # htmx swaps only the results when a filter changes (and swaps only 2xx answers, so the
    # problems come with 200 there); the full page works without script.
    if request.headers.get("hx-request"):
        return render(request, "orders_results.html.j2", **context)
    return render(request, "orders.html.j2", status_code=200 if checked.ok else 422, **context)


@router.get("/orders/export.csv")
async def export_csv(request: Request, staff: Staff):
    checked = forms.order_filters(request.query_params)
    if not checked.ok:
        return render(request, "error.html.j2", status_code=422, status=422, code="invalid_filters",
                      message=checked.problems[0])
    params = {**forms.api_filters(checked.values), "sort": checked.values["sort"], "bom": "true"}
    upstream_response, body = await api(request, staff).stream("orders", "/v1/orders/export.csv", params)
    # Passed through as the orders service streams it: a large export never sits in memory here.
    return StreamingResponse(body, media_type=upstream_response.headers.get("content-type", "text/csv"),
                             headers={"Content-Disposition": 'attachment; filename="ticket-orders.csv"'})


async def _new_order_page(request: Request, staff, *, status_code: int = 200, values: dict | None = None,
                          problems: list[str] | None = None, event_id: str | None = None):
    all_events = await events(api(request, staff))
    return render(request, "order_new.html.j2", status_code=status_code, section="orders", events=all_events,
                  event=chosen(all_events, event_id), methods=forms.PAYMENT_METHODS, values=values or {}, problems=problems or [])


@router.get("/orders/new")
async def new_order_form(request: Request, staff: Staff, event_id: str | None = None):
    return await _new_order_page(request, staff, event_id=event_id)


@router.post("/orders/new")
async def create_order(request: Request, staff: Staff):
    form = await form_of(request)
    upstream = api(request, staff)
    event_id = str(form.get("event_id") or "")
    event = next((e for e in await events(upstream) if e["id"] == event_id), None)
    if event is None:
        return await _new_order_page(request, staff, status_code=422, values=dict(form),
                                     problems=["Choose an event."])
    checked = forms.new_order(form, event, language(request))
    if checked.ok:
        order, refused = await attempt(upstream.send("POST", "orders", "/v1/orders",
                                                     {"event_id": event_id, **checked.values}))
        if order:
            return redirect(request, f"/orders/{order['id']}", "The ticket order is created.")
        checked.problems.append(refused)
    return await _new_order_page(request, staff, status_code=422, values=dict(form), problems=checked.problems,
                                 event_id=event_id)


async def _order_page(request: Request, staff, order_id: str, *, link: dict | None = None):
    upstream = api(request, staff)
    order = await upstream.get("orders", f"/v1/orders/{order_id}")
    event = await upstream.get("orders", f"/v1/events/{order['event_id']}")
    tickets = await upstream.get("assignment", f"/v1/orders/{order_id}/tickets") if staff.may("tickets:read") else []
    return render(request, "order.html.j2", section="orders", order=order, event=event, tickets=tickets, link=link)


@router.get("/orders/{order_id}")
async def order_page(request: Request, staff: Staff, order_id: str):
    return await _order_page(request, staff, order_id)


@router.get("/orders/{order_id}/invoice.pdf")
async def invoice_pdf(request: Request, staff: Staff, order_id: str):
    upstream_response = await api(request, staff).request("GET", "orders", f"/v1/orders/{order_id}/invoice.pdf")
    return Response(upstream_response.content, media_type="application/pdf",
                    headers={"Content-Disposition": upstream_response.headers.get("content-disposition", "inline")})


ACTIONS = {  # the page's action -> the orders API's endpoint, and what the staff member is told
    "send_invoice": ("invoice", "The invoice is sent."),
    "mark_paid": ("mark-paid", "The payment is recorded: the order is settled."),
    "approve": ("approve", "The order is approved: it is settled."),
    "cancel": ("cancel", "The order is cancelled."),
    "refund": ("cancel", "The order is refunded and cancelled."),
}


@router.post("/orders/{order_id}/actions/{action}")
async def order_action(request: Request, staff: Staff, order_id: str, action: str,
                       payment_reference: Annotated[str, Form(max_length=200)] = "",
                       reason: Annotated[str, Form(max_length=500)] = ""):
    if action not in ACTIONS:
        return render(request, "error.html.j2", status_code=404, status=404, code="no_such_action",
                      message="There is no such action.")
    endpoint, done = ACTIONS[action]
    body = None
    if action == "mark_paid":
        if not payment_reference.strip():
            return redirect(request, f"/orders/{order_id}", "Enter the payment's reference.", "error")
        body = {"payment_reference": payment_reference.strip()}
    elif action in ("cancel", "refund"):
        if not reason.strip():
            return redirect(request, f"/orders/{order_id}", "Enter the reason.", "error")
        body = {"reason": reason.strip(), "refund": action == "refund"}
    _, refused = await attempt(api(request, staff).send("POST", "orders", f"/v1/orders/{order_id}/{endpoint}", body))
    return redirect(request, f"/orders/{order_id}", refused or done, "error" if refused else "ok")


@router.post("/orders/{order_id}/buyer-link")
async def buyer_link(request: Request, staff: Staff, order_id: str):
    link = await api(request, staff).send("POST", "assignment", f"/v1/orders/{order_id}/buyer-link")
    url = f"{request.base_url}buyer/orders/{order_id}?access_token={link['token']}"
    return await _order_page(request, staff, order_id, link={"what": "The buyer's link", "url": url,
                                                              "expires_at": link["expires_at"]})


@router.post("/orders/{order_id}/persons/{person_id}/my-tickets-link")
async def my_tickets_link(request: Request, staff: Staff, order_id: str, person_id: str):
    link = await api(request, staff).send("POST", "assignment", f"/v1/persons/{person_id}/my-tickets-link")
    url = f"{request.base_url}my-tickets?access_token={link['token']}"
    return await _order_page(request, staff, order_id, link={"what": "My Tickets link", "url": url,
                                                              "expires_at": link["expires_at"]})
