"""Event Organizations: the list with its filters, "+ Add Event Organization", and an organization's page
with its package, booth and the sponsored-ticket grant (which places the sponsored order)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .. import forms
from ..rendering import redirect, render
from ..staff import Staff
from .common import api, attempt, chosen, events, form_of, language

router = APIRouter()

RELATIONSHIPS = ("sponsor", "partner", "exhibitor", "other")
LIFECYCLE_STATUSES = ("prospect", "confirmed", "active", "completed", "cancelled")
COMMERCIAL_STATUSES = ("none", "offered", "negotiating", "contracted", "invoiced", "paid")
VISIBILITIES = ("public", "hidden")
CHOICES = {"relationship": RELATIONSHIPS, "lifecycle_status": LIFECYCLE_STATUSES,
           "commercial_status": COMMERCIAL_STATUSES, "visibility": VISIBILITIES}


def _choices(source) -> dict[str, str | None]:
    """Only the values each filter or field knows; anything else counts as not chosen."""
    return {name: source.get(name) if source.get(name) in allowed else None for name, allowed in CHOICES.items()}


@router.get("/organizations")
async def organization_list(request: Request, staff: Staff, event_id: str | None = None, search: str = ""):
    upstream = api(request, staff)
    all_events = await events(upstream)
    event = chosen(all_events, event_id)
    filters = {"search": search.strip()[:200] or None, **_choices(request.query_params)}
    organizations = (await upstream.get("orders", f"/v1/events/{event['id']}/organizations", **filters)
                     if event else [])
    return render(request, "organizations.html.j2", section="organizations", events=all_events, event=event,
                  filters=filters, organizations=organizations, choices=CHOICES, values={}, problems=[])


async def _add(upstream, event_id: str, company_name: str, relationship: dict) -> dict:
    company = await upstream.send("POST", "orders", "/v1/companies", {"name": company_name})
    return await upstream.send("POST", "orders", f"/v1/events/{event_id}/organizations",
                               {"company_id": company["id"], **relationship})


@router.post("/organizations")
async def add_organization(request: Request, staff: Staff):
    form = await form_of(request)
    upstream = api(request, staff)
    event_id = str(form.get("event_id") or "")
    problems: list[str] = []
    name = str(form.get("company_name") or "").strip()[:200]
    if not name:
        problems.append("Enter the company's name.")
    picked = _choices(form)
    if not picked["relationship"]:
        problems.append("Choose the relationship.")
    grant = forms.ticket_count(form, "sponsored_ticket_grant", problems)
    if not problems:
        organization, refused = await attempt(_add(upstream, event_id, name, {
            **{k: v for k, v in picked.items() if v}, "package": str(form.get("package") or "").strip()[:100] or None,
            "booth": str(form.get("booth") or "").strip()[:50] or None, "sponsored_ticket_grant": grant}))
        if organization:
            return redirect(request, f"/organizations/{organization['id']}", "The organization is added.")
        problems.append(refused)
    all_events = await events(upstream)
    return render(request, "organizations.html.j2", status_code=422, section="organizations", events=all_events,
                  event=chosen(all_events, event_id), filters={}, organizations=[], choices=CHOICES,
                  values=dict(form), problems=problems)


async def _organization_page(request: Request, staff, organization_id: str, *, status_code: int = 200,
                             problems: list[str] | None = None, values: dict | None = None):
    upstream = api(request, staff)
    organization = await upstream.get("orders", f"/v1/event-organizations/{organization_id}")
    event = await upstream.get("orders", f"/v1/events/{organization['event_id']}")
    sponsored = await upstream.get("orders", "/v1/orders", event_id=event["id"], payment_method="sponsored",
                                   search=organization["company"]["name"], limit=50)
    return render(request, "organization.html.j2", status_code=status_code, section="organizations",
                  organization=organization, event=event, orders=sponsored["rows"], choices=CHOICES,
                  problems=problems or [], values=values or {})


@router.get("/organizations/{organization_id}")
async def organization_page(request: Request, staff: Staff, organization_id: str):
    return await _organization_page(request, staff, organization_id)


@router.post("/organizations/{organization_id}")
async def update_organization(request: Request, staff: Staff, organization_id: str):
    form = await form_of(request)
    problems: list[str] = []
    changes = {k: v for k, v in _choices(form).items() if v}
    changes.update(package=str(form.get("package") or "").strip()[:100] or None,
                   booth=str(form.get("booth") or "").strip()[:50] or None,
                   sponsored_ticket_grant=forms.ticket_count(form, "sponsored_ticket_grant", problems))
    if problems:
        return await _organization_page(request, staff, organization_id, status_code=422, problems=problems)
    await api(request, staff).send("PATCH", "orders", f"/v1/event-organizations/{organization_id}", changes)
    return redirect(request, f"/organizations/{organization_id}", "The organization is saved.")


@router.post("/organizations/{organization_id}/sponsored-orders")
async def grant_sponsored_tickets(request: Request, staff: Staff, organization_id: str):
    form = await form_of(request)
    problems: list[str] = []
    quantity = forms.ticket_count(form, "quantity", problems, minimum=1)
    contact = forms.buyer(form, problems, language(request), missing_name="Enter the contact's name.")
    if not problems:
        order, refused = await attempt(api(request, staff).send(
            "POST", "orders", f"/v1/event-organizations/{organization_id}/sponsored-orders",
            {"quantity": quantity, "contact": contact}))
        if order:
            return redirect(request, f"/orders/{order['id']}", "The sponsored order is created.")
        problems.append(refused)
    return await _organization_page(request, staff, organization_id, status_code=422, problems=problems,
                                    values=dict(form))
