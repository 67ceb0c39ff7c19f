"""The Ticket Orders view: one filter, three readings (list, summary, CSV export).

The list, the summary and the export share ``order_conditions``, so the
summary's totals are by construction the sums of the list they summarize.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import domain
from ..domain import OrderStatus, PaymentMethod, TicketCountStatus
from ..store.tables import ORDER_SEARCH_TEXT, events, orders

SUMMARY_STATUSES = [s.value for s in (OrderStatus.REQUESTED, OrderStatus.PAYMENT_PENDING, OrderStatus.INVOICE_SENT,
                                      OrderStatus.SETTLED, OrderStatus.CANCELLED)]
SUMMARY_METHODS = [m.value for m in (PaymentMethod.INVOICE, PaymentMethod.CARD, PaymentMethod.SPONSORED,
                                     PaymentMethod.FREE)]

TICKET_COUNT_STATUS: ColumnElement[str] = case(
    (orders.c.issued_count == 0, literal(TicketCountStatus.NONE_ISSUED.value)),
    (orders.c.issued_count < orders.c.quantity, literal(TicketCountStatus.PARTIALLY_ISSUED.value)),
    (orders.c.issued_count == orders.c.quantity, literal(TicketCountStatus.ALL_ISSUED.value)),
    else_=literal(TicketCountStatus.MISMATCH.value),
).label("ticket_count_status")

SORTS = {
    "created_at": orders.c.created_at,
    "number": orders.c.number,
    "company": func.coalesce(orders.c.buyer_company, orders.c.buyer_name),
    "contact": orders.c.buyer_name,
    "quantity": orders.c.quantity,
    "issued": orders.c.issued_count,
    "gross": orders.c.gross,
    "status": orders.c.status,
    "payment_method": orders.c.payment_method,
}


@dataclass(frozen=True)
class OrderFilters:
    event_id: uuid.UUID | None = None
    search: str | None = None
    statuses: tuple[str, ...] = ()
    payment_methods: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    ticket_count_statuses: tuple[str, ...] = ()

    @property
    def searched(self) -> str | None:
        """The search text, without surrounding space; None when there is nothing to search for."""
        return (self.search or "").strip() or None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def order_conditions(filters: OrderFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.event_id:
        conditions.append(orders.c.event_id == filters.event_id)
    if filters.searched:
        conditions.append(ORDER_SEARCH_TEXT.like(_like(filters.searched.lower()), escape="\\"))
    if filters.statuses:
        conditions.append(orders.c.status.in_(filters.statuses))
    if filters.payment_methods:
        conditions.append(orders.c.payment_method.in_(filters.payment_methods))
    if filters.date_from:
        conditions.append(orders.c.created_at >= _day_start(filters.date_from))
    if filters.date_to:  # inclusive: the whole of that day (UTC)
        conditions.append(orders.c.created_at < _day_start(filters.date_to + timedelta(days=1)))
    if filters.ticket_count_statuses:
        conditions.append(TICKET_COUNT_STATUS.in_(filters.ticket_count_statuses))
    return conditions


def _order_by(sort: str):
    descending = sort.startswith("-")
    column = SORTS[sort.lstrip("-")]
    # The id breaks ties, so pages never overlap or skip.
    return (column.desc(), orders.c.id.desc()) if descending else (column.asc(), orders.c.id.asc())


LIST_COLUMNS = (
    orders.c.id, orders.c.number, orders.c.event_id, orders.c.created_at, orders.c.buyer_company,
    orders.c.buyer_name, orders.c.buyer_email, orders.c.buyer_phone, orders.c.payment_method, orders.c.status,
    orders.c.quantity, orders.c.issued_count, orders.c.voided_count, orders.c.currency, orders.c.net, orders.c.vat,
    orders.c.gross, events.c.vat_rate_bp, events.c.name.label("event_name"), TICKET_COUNT_STATUS,
)


def _listing(filters: OrderFilters, sort: str):
    return (
        select(*LIST_COLUMNS)
        .join(events, events.c.id == orders.c.event_id)
        .where(*order_conditions(filters))
        .order_by(*_order_by(sort))
    )


@dataclass
class Page:
    rows: list
    total: int


# A search first collects its matches with the trigram index, at most this many, and sorts
# them for the page. Left to itself, the planner may instead walk an index in the sort's order
# hoping to meet a page of matches early, and read most of the table when they are old; with
# more matches than this, it is right to, and the listing is planned as usual.
SEARCH_MATCHES_SORTED = 2000


async def list_orders(session: AsyncSession, filters: OrderFilters, *, sort: str, limit: int, offset: int) -> Page:
    if filters.searched:
        if (page := await _page_of_few_matches(session, filters, sort=sort, limit=limit, offset=offset)) is not None:
            return page
    rows = (await session.execute(_listing(filters, sort).limit(limit).offset(offset))).all()
    total = await session.scalar(select(func.count()).select_from(orders).where(*order_conditions(filters)))
    return Page(rows=rows, total=total)


async def _page_of_few_matches(session: AsyncSession, filters: OrderFilters, *, sort: str, limit: int,
                               offset: int) -> Page | None:
    """The page, when the search matches at most `SEARCH_MATCHES_SORTED` orders (with the count of them)."""
    matched = (select(orders.c.id).where(*order_conditions(filters)).limit(SEARCH_MATCHES_SORTED + 1)
               .cte("matched").prefix_with("MATERIALIZED"))
    found = select(func.count()).select_from(matched).scalar_subquery().label("matched")
    rows = (await session.execute(
        select(*LIST_COLUMNS, found).join(events, events.c.id == orders.c.event_id)
        .where(orders.c.id.in_(select(matched.c.id))).order_by(*_order_by(sort)).limit(limit).offset(offset)
    )).all()
    if not rows:
        return Page(rows=[], total=0) if offset == 0 else None  # a page past the end: counted as usual
    return Page(rows=rows, total=rows[0].matched) if rows[0].matched <= SEARCH_MATCHES_SORTED else None


@dataclass
class Cell:
    orders: int = 0
    tickets: int = 0
    net: int = 0
    vat: int = 0
    gross: int = 0

    def add(self, other: Cell) -> None:
        self.orders += other.orders
        self.tickets += other.tickets
        self.net += other.net
        self.vat += other.vat
        self.gross += other.gross


@dataclass
class Summary:
    """Rows by status, columns by payment method; totals per row, per column and overall."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=list)


async def summarize(session: AsyncSession, filters: OrderFilters) -> Summary:
    # One pass over the orders (an index-only scan for a whole event): the currencies come with the groups.
    grouped = (await session.execute(
        select(orders.c.status, orders.c.payment_method, orders.c.currency, func.count(), func.sum(orders.c.quantity),
               func.sum(orders.c.net), func.sum(orders.c.vat), func.sum(orders.c.gross))
        .where(*order_conditions(filters))
        .group_by(orders.c.status, orders.c.payment_method, orders.c.currency)
    )).all()
    currencies = sorted({currency for _, _, currency, *_ in grouped})
    rows = SUMMARY_STATUSES + ["total"]
    columns = SUMMARY_METHODS + ["total"]
    summary = Summary(cells={r: {c: Cell() for c in columns} for r in rows}, currencies=currencies)
    for status, method, _, count, tickets, net, vat, gross in grouped:
        cell = Cell(count, int(tickets or 0), int(net or 0), int(vat or 0), int(gross or 0))
        for row in (status, "total"):
            for column in (method, "total"):
                summary.cells[row][column].add(cell)
    return summary


# -- CSV export

CSV_HEADER = [
    "order_number", "created_at", "event", "company", "contact", "email", "phone", "payment_method", "status",
    "tickets_ordered", "tickets_issued", "tickets_voided", "ticket_count_status", "currency", "net", "vat_rate",
    "vat", "gross",
]


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def csv_row(row) -> list[str]:
    return [
        row.number, row.created_at.astimezone(timezone.utc).isoformat(), row.event_name, row.buyer_company or "",
        row.buyer_name, row.buyer_email, row.buyer_phone or "", row.payment_method, row.status, str(row.quantity),
        str(row.issued_count), str(row.voided_count), row.ticket_count_status, row.currency, _money(row.net),
        f"{row.vat_rate_bp / 100:g}%", _money(row.vat), _money(row.gross),
    ]


async def export_csv(sessions, filters: OrderFilters, *, sort: str, bom: bool,
                     batch: int = 2000) -> AsyncIterator[bytes]:
    """The filtered list as CSV, streamed from a server-side cursor: memory stays flat."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    if bom:
        buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    yield flush()
    async with sessions() as session:
        result = await session.stream(_listing(filters, sort).execution_options(yield_per=batch))
        async for partition in result.partitions(batch):
            for row in partition:
                writer.writerow(csv_row(row))
            yield flush()


def actions_for(status: str, method: str) -> list[str]:
    return [a.value for a in domain.available_actions(OrderStatus(status), PaymentMethod(method))]
