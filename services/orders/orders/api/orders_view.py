"""The Ticket Orders view: list, summary and CSV export over one set of filters, and overdue invoices."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from ticketflow_runtime import ApiError, ServiceDep
from ticketflow_runtime.api_models import MAX_INT
from ticketflow_runtime.errors import ERROR_RESPONSES

from ..domain import OrderStatus, PaymentMethod, TicketCountStatus
from ..store.tables import invoices, orders
from ..usecases import view
from .access import Reader

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["ticket orders view"])

SortKey = Literal[tuple(f"{sign}{key}" for key in view.SORTS for sign in ("", "-"))]  # type: ignore[misc]


class ViewFilters(BaseModel):
    event_id: uuid.UUID | None = None
    search: str | None = Field(default=None, max_length=200, description="company, contact, email or order number")
    status: list[OrderStatus] = []
    payment_method: list[PaymentMethod] = []
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    ticket_count_status: list[TicketCountStatus] = []

    def to_filters(self) -> view.OrderFilters:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ApiError(422, "invalid_date_range", "'to' is before 'from'.")
        return view.OrderFilters(
            event_id=self.event_id, search=self.search, statuses=tuple(s.value for s in self.status),
            payment_methods=tuple(m.value for m in self.payment_method), date_from=self.date_from,
            date_to=self.date_to, ticket_count_statuses=tuple(t.value for t in self.ticket_count_status),
        )


class OrderRow(BaseModel):
    id: uuid.UUID
    number: str
    company: str | None
    contact: str
    email: str
    date: datetime
    ordered: int
    tickets_issued: int
    ticket_count_status: TicketCountStatus
    currency: str
    net: int
    vat: int
    vat_rate_bp: int
    gross: int
    payment_method: str
    status: str
    actions: list[str]


class OrderList(BaseModel):
    total: int
    limit: int
    offset: int
    rows: list[OrderRow]


class SummaryCell(BaseModel):
    orders: int
    tickets: int
    net: int
    vat: int
    gross: int


class OrderSummary(BaseModel):
    currencies: list[str]
    rows: dict[str, dict[str, SummaryCell]] = Field(
        description="status (and total) -> payment method (and total) -> orders, tickets and amounts")


Filters = Annotated[ViewFilters, Query()]


@router.get("/orders", summary="The Ticket Orders list: filters, sort, pagination")
async def list_orders(filters: Filters, service: ServiceDep, staff: Reader,
                      sort: SortKey = "-created_at",
                      limit: int = Query(default=50, ge=1, le=500),
                      offset: int = Query(default=0, ge=0, le=MAX_INT)) -> OrderList:
    async with service.database.sessions() as session:
        page = await view.list_orders(session, filters.to_filters(), sort=sort, limit=limit, offset=offset)
    return OrderList(total=page.total, limit=limit, offset=offset, rows=[
        OrderRow(id=r.id, number=r.number, company=r.buyer_company, contact=r.buyer_name, email=r.buyer_email,
                 date=r.created_at, ordered=r.quantity, tickets_issued=r.issued_count,
                 ticket_count_status=r.ticket_count_status, currency=r.currency, net=r.net, vat=r.vat,
                 vat_rate_bp=r.vat_rate_bp, gross=r.gross, payment_method=r.payment_method, status=r.status,
                 actions=view.actions_for(r.status, r.payment_method))
        for r in page.rows
    ])


@router.get("/orders/summary", summary="Status x payment method: orders, tickets and amounts, with totals")
async def summary(filters: Filters, service: ServiceDep, staff: Reader) -> OrderSummary:
    async with service.database.single_reads() as session:
        result = await view.summarize(session, filters.to_filters())
    return OrderSummary(currencies=result.currencies, rows={
        row: {column: SummaryCell(**vars(cell)) for column, cell in columns.items()}
        for row, columns in result.cells.items()
    })


@router.get("/orders/export.csv", summary="CSV export of the filtered list (streamed)", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export(filters: Filters, service: ServiceDep, staff: Reader, sort: SortKey = "-created_at",
                 bom: bool = Query(default=False, description="start with a UTF-8 BOM for spreadsheets")):
    chunks = view.export_csv(service.database.sessions, filters.to_filters(), sort=sort, bom=bom)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="ticket-orders.csv"'})


class OverdueInvoice(BaseModel):
    order_id: uuid.UUID
    order_number: str
    number: str
    company: str | None
    email: str
    due_on: date
    days_overdue: int
    currency: str
    gross: int


@router.get("/invoices/overdue", summary="Unpaid invoices past their due date")
async def overdue_invoices(service: ServiceDep, staff: Reader) -> list[OverdueInvoice]:
    today = func.current_date()
    async with service.database.sessions() as session:
        rows = (await session.execute(
            select(invoices, orders.c.number.label("order_number"), orders.c.buyer_company, orders.c.buyer_email,
                   (today - invoices.c.due_on).label("days_overdue"))
            .join(orders, orders.c.id == invoices.c.order_id)
            .where(invoices.c.paid_at.is_(None), invoices.c.due_on < today,
                   orders.c.status == OrderStatus.INVOICE_SENT.value)
            .order_by(invoices.c.due_on)
        )).all()
    return [OverdueInvoice(order_id=r.order_id, order_number=r.order_number, number=r.number,
                           company=r.buyer_company, email=r.buyer_email, due_on=r.due_on,
                           days_overdue=r.days_overdue, currency=r.currency, gross=r.gross) for r in rows]
