"""Staff API of organizations: companies and their relationship to an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from ticketflow_runtime import NotFound, ServiceDep
from ticketflow_runtime.api_models import Changes
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_schemas.events import Buyer

from ..store.tables import companies, event_organizations
from ..usecases import organizations as orgs
from .access import Reader, Writer
from .ticket_orders import OrderView, order_view

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["organizations"])

Relationship = Literal[orgs.RELATIONSHIPS]  # type: ignore[valid-type]
Lifecycle = Literal[orgs.LIFECYCLE_STATUSES]  # type: ignore[valid-type]
Commercial = Literal[orgs.COMMERCIAL_STATUSES]  # type: ignore[valid-type]
Visibility = Literal[orgs.VISIBILITIES]  # type: ignore[valid-type]


class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=50)
    role: str | None = Field(default=None, max_length=100)


class NewCompany(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    registration_number: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=500)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    website: str | None = Field(default=None, max_length=300)
    contacts: list[Contact] = []


class CompanyView(NewCompany):
    id: uuid.UUID
    created_at: datetime


class NewEventOrganization(BaseModel):
    company_id: uuid.UUID
    relationship: Relationship
    lifecycle_status: Lifecycle = "prospect"
    commercial_status: Commercial = "none"
    visibility: Visibility = "public"
    category: str | None = Field(default=None, max_length=100)
    package: str | None = Field(default=None, max_length=100)
    booth: str | None = Field(default=None, max_length=50)
    sponsored_ticket_grant: int = Field(default=0, ge=0, le=10_000)


class EventOrganizationChanges(Changes):
    nullable = frozenset({"category", "package", "booth"})
    relationship: Relationship | None = None
    lifecycle_status: Lifecycle | None = None
    commercial_status: Commercial | None = None
    visibility: Visibility | None = None
    category: str | None = Field(default=None, max_length=100)
    package: str | None = Field(default=None, max_length=100)
    booth: str | None = Field(default=None, max_length=50)
    sponsored_ticket_grant: int | None = Field(default=None, ge=0, le=10_000)


class EventOrganizationView(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    company: CompanyView
    relationship: str
    lifecycle_status: str
    commercial_status: str
    visibility: str
    category: str | None
    package: str | None
    booth: str | None
    sponsored_ticket_grant: int
    sponsored_tickets_used: int


class SponsoredOrder(BaseModel):
    quantity: int = Field(ge=1, le=1000)
    contact: Buyer
    ticket_type_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=2000)


@router.post("/companies", status_code=status.HTTP_201_CREATED, summary="Create a company")
async def create_company(body: NewCompany, service: ServiceDep, staff: Writer) -> CompanyView:
    async with service.database.unit_of_work() as uow:
        company_id = await orgs.create_company(uow, body.model_dump(mode="json"))
    return await _company(service, company_id)


@router.get("/companies", summary="Companies, searched by name or registration number")
async def list_companies(service: ServiceDep, staff: Reader, search: str | None = Query(default=None, max_length=200),
                         limit: int = Query(default=50, ge=1, le=500)) -> list[CompanyView]:
    statement = select(companies).order_by(companies.c.name).limit(limit)
    if search:
        statement = statement.where(companies.c.name.ilike(f"%{search}%")
                                    | companies.c.registration_number.ilike(f"%{search}%"))
    async with service.database.sessions() as session:
        rows = (await session.execute(statement)).all()
    return [CompanyView.model_validate(r._mapping) for r in rows]


@router.post("/events/{event_id}/organizations", status_code=status.HTTP_201_CREATED,
             summary="+ Add Event Organization")
async def add_event_organization(event_id: uuid.UUID, body: NewEventOrganization, service: ServiceDep,
                                 staff: Writer) -> EventOrganizationView:
    async with service.database.unit_of_work() as uow:
        organization_id = await orgs.add_event_organization(uow, event_id, body.model_dump())
    return await _organization(service, organization_id)


@router.get("/events/{event_id}/organizations", summary="The event's organizations, with search and filters")
async def list_event_organizations(
    event_id: uuid.UUID, service: ServiceDep, staff: Reader,
    search: str | None = Query(default=None, max_length=200), relationship: Relationship | None = None,
    lifecycle_status: Lifecycle | None = None, commercial_status: Commercial | None = None,
    visibility: Visibility | None = None,
) -> list[EventOrganizationView]:
    conditions = orgs.organization_conditions(event_id, search=search, relationship=relationship,
                                              lifecycle_status=lifecycle_status,
                                              commercial_status=commercial_status, visibility=visibility)
    async with service.database.sessions() as session:
        ids = (await session.execute(
            select(event_organizations.c.id).join(companies, companies.c.id == event_organizations.c.company_id)
            .where(*conditions).order_by(companies.c.name))).scalars().all()
    return [await _organization(service, organization_id) for organization_id in ids]


@router.get("/event-organizations/{organization_id}", summary="An event organization")
async def get_event_organization(organization_id: uuid.UUID, service: ServiceDep,
                                 staff: Reader) -> EventOrganizationView:
    return await _organization(service, organization_id)


@router.patch("/event-organizations/{organization_id}", summary="Edit an event organization")
async def update_event_organization(organization_id: uuid.UUID, body: EventOrganizationChanges, service: ServiceDep,
                                    staff: Writer) -> EventOrganizationView:
    async with service.database.unit_of_work() as uow:
        await orgs.update_event_organization(uow, organization_id, body.model_dump(exclude_unset=True))
    return await _organization(service, organization_id)


@router.post("/event-organizations/{organization_id}/sponsored-orders", status_code=status.HTTP_201_CREATED,
             summary="Use the sponsor package's grant: a sponsored ticket order")
async def order_sponsored_tickets(organization_id: uuid.UUID, body: SponsoredOrder, service: ServiceDep,
                                  staff: Writer) -> OrderView:
    async with service.database.unit_of_work() as uow:
        order_id = await orgs.order_sponsored_tickets(
            uow, organization_id,
            orgs.SponsoredOrderSpec(quantity=body.quantity, contact=body.contact, ticket_type_id=body.ticket_type_id,
                                    note=body.note),
            actor=staff.actor,
        )
        return await order_view(uow.session, order_id)


async def _company(service, company_id: uuid.UUID) -> CompanyView:
    async with service.database.sessions() as session:
        row = (await session.execute(select(companies).where(companies.c.id == company_id))).first()
    if row is None:
        raise NotFound("company_not_found", f"No company {company_id}.")
    return CompanyView.model_validate(row._mapping)


async def _organization(service, organization_id: uuid.UUID) -> EventOrganizationView:
    async with service.database.sessions() as session:
        row = (await session.execute(
            select(event_organizations).where(event_organizations.c.id == organization_id))).first()
    if row is None:
        raise NotFound("event_organization_not_found", f"No event organization {organization_id}.")
    values = {k: v for k, v in row._mapping.items() if k in EventOrganizationView.model_fields}
    return EventOrganizationView(**values, company=await _company(service, row.company_id))
