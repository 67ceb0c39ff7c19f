"""What visitors type, checked before any API is called: each problem is a message for the form.

The APIs check again; these checks exist so a form comes back with its values and a
clear message instead of a bare error page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, QueryParams

ORDER_STATUSES = ("requested", "payment_pending", "invoice_sent", "settled", "cancelled")
PAYMENT_METHODS = ("card", "invoice", "sponsored", "free")
PUBLIC_PAYMENT_METHODS = ("card", "invoice")
TICKET_COUNT_STATUSES = ("none_issued", "partially_issued", "all_issued", "mismatch")
SORTS = ("-created_at", "created_at", "company", "-company", "-gross", "gross", "status", "number")
PAGE_SIZE = 50
MAX_QUANTITY = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Checked:
    """A form's cleaned values and its problems (English phrases, translated on the page)."""

    values: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _uuid(text: str | None) -> str | None:
    try:
        return str(uuid.UUID(text)) if text else None
    except ValueError:
        return None


def _date(text: str | None, problems: list[str], problem: str) -> str | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        problems.append(problem)
        return None


def _chosen(values: list[str], allowed: tuple[str, ...]) -> list[str]:
    return [v for v in values if v in allowed]


def order_filters(params: QueryParams) -> Checked:
    """The Ticket Orders filters: the same set drives the summary, the list and the CSV export."""
    checked = Checked()
    problems = checked.problems
    search = (params.get("search") or "").strip()[:200]
    start = _date(params.get("from"), problems, "From is not a date (YYYY-MM-DD).")
    end = _date(params.get("to"), problems, "To is not a date (YYYY-MM-DD).")
    if start and end and end < start:
        problems.append("To is before From.")
    try:
        offset = max(int(params.get("offset") or 0), 0)
    except ValueError:
        offset = 0
    checked.values = {
        "event_id": _uuid(params.get("event_id")), "search": search or None,
        "status": _chosen(params.getlist("status"), ORDER_STATUSES),
        "payment_method": _chosen(params.getlist("payment_method"), PAYMENT_METHODS),
        "from": start, "to": end,
        "ticket_count_status": _chosen(params.getlist("ticket_count_status"), TICKET_COUNT_STATUSES),
        "sort": params.get("sort") if params.get("sort") in SORTS else "-created_at",
        "offset": offset,
    }
    return checked


def api_filters(values: dict) -> dict:
    """The filters as the orders API names them (no paging)."""
    return {k: v for k, v in values.items() if k not in ("offset", "sort") and v not in (None, "", [])}


def _text(form: FormData, name: str, limit: int = 200) -> str:
    return str(form.get(name) or "").strip()[:limit]


def buyer(form: FormData, problems: list[str], language: str, missing_name: str = "Enter the buyer's name.") -> dict:
    """Name, e-mail, company and phone of whoever orders (or is the sponsor's contact, or a holder)."""
    name, email = _text(form, "name"), _text(form, "email")
    if not name:
        problems.append(missing_name)
    if not EMAIL.match(email):
        problems.append("Enter a valid e-mail address.")
    return {"name": name, "email": email, "company": _text(form, "company") or None,
            "phone": _text(form, "phone", 50) or None, "language": language}


def quantities(form: FormData, ticket_type_ids: list[str], problems: list[str]) -> list[dict]:
    """Order lines from ``qty-<ticket type id>`` fields; at least one ticket."""
    lines = []
    for type_id in ticket_type_ids:
        raw = _text(form, f"qty-{type_id}", 10) or "0"
        if not raw.isdigit() or int(raw) > MAX_QUANTITY:
            problems.append("Quantities are whole numbers from 0 to 1000.")
            return []
        if int(raw):
            lines.append({"ticket_type_id": type_id, "quantity": int(raw)})
    if not lines:
        problems.append("Choose at least one ticket.")
    return lines


def new_order(form: FormData, event: dict, language: str, methods: tuple[str, ...] = PAYMENT_METHODS) -> Checked:
    checked = Checked()
    method = _text(form, "payment_method")
    if method not in methods:
        checked.problems.append("Choose a payment method.")
    lines = quantities(form, [t["id"] for t in event["ticket_types"]], checked.problems)
    checked.values = {"buyer": buyer(form, checked.problems, language), "payment_method": method, "lines": lines}
    note = _text(form, "note", 2000)
    if note:
        checked.values["note"] = note
    return checked


def ticket_count(form: FormData, name: str, problems: list[str], *, minimum: int = 0) -> int:
    """A number of tickets, 0 (or ``minimum``) to 1000."""
    raw = _text(form, name, 10)
    if not raw.isdigit() or not minimum <= int(raw) <= MAX_QUANTITY:
        problems.append("Quantities are whole numbers from 0 to 1000." if minimum == 0
                        else "Enter a number of tickets from 1 to 1000.")
        return minimum
    return int(raw)


TICKET_TYPE_ROWS = 4
MAX_MINOR_UNITS = 10**12  # as the orders service takes


def new_event(form: FormData, zone: ZoneInfo) -> Checked:
    """"+ New Event": the event, its currency, and the ticket types filled in (blank rows are skipped).

    Times are entered as the organizer's wall-clock time in ``zone``; prices and VAT as people write them
    (1 250,50 or 1250.50; 25 or 12,5)."""
    checked = Checked()
    problems = checked.problems
    details = _event_details(form, zone, problems)
    currency = (_text(form, "currency", 10) or "SEK").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append("The currency is a three-letter code, such as SEK.")
    types = [t for n in range(TICKET_TYPE_ROWS) if (t := ticket_type(form, f"type_{n}_", problems))]
    if not types:
        problems.append("Add at least one ticket type.")
    checked.values = {**details, "currency": currency, "ticket_types": types}
    return checked


def event_changes(form: FormData, zone: ZoneInfo) -> Checked:
    """The event's edit form: the same details as a new event's (the currency stays what it is)."""
    checked = Checked()
    checked.values = _event_details(form, zone, checked.problems)
    return checked


def _event_details(form: FormData, zone: ZoneInfo, problems: list[str]) -> dict:
    name = _text(form, "name")
    if not name:
        problems.append("Enter the event's name.")
    starts = _local_time(form, "starts_at", zone, problems, "Enter when the event starts.")
    ends = _local_time(form, "ends_at", zone, problems, "Enter when the event ends.")
    if starts and ends and ends < starts:
        problems.append("The event cannot end before it starts.")
    vat = _decimal(_text(form, "vat_percent", 10) or "25")
    if vat is None or not 0 <= vat <= 100 or vat != round(vat, 2):
        problems.append("VAT is a percentage from 0 to 100.")
    capacity = _text(form, "capacity", 10)
    if not capacity.isdigit() or not 1 <= int(capacity) <= 10_000_000:
        problems.append("The capacity is a whole number of tickets, at least 1.")
    return {"name": name, "venue": _text(form, "venue") or None,
            "starts_at": starts.isoformat() if starts else None, "ends_at": ends.isoformat() if ends else None,
            "vat_rate_bp": int(vat * 100) if vat is not None else None,
            "capacity": int(capacity) if capacity.isdigit() else None}


def ticket_type(form: FormData, prefix: str, problems: list[str]) -> dict | None:
    """A ticket type's ``<prefix>name``, ``<prefix>price`` and ``<prefix>quota``; None when all are blank."""
    name, price, quota = (_text(form, f"{prefix}name"), _text(form, f"{prefix}price", 30),
                          _text(form, f"{prefix}quota", 10))
    if not (name or price or quota):
        return None
    if not name:
        problems.append("Name each ticket type.")
    net = _decimal(price or "0")
    if net is None or net < 0 or net != round(net, 2) or net * 100 > MAX_MINOR_UNITS:
        problems.append("Prices are amounts such as 1 250,00 (excl. VAT).")
        net = Decimal(0)
    if quota and not quota.isdigit():
        problems.append("A quota is a whole number of tickets, or empty for none.")
        quota = ""
    return {"name": name, "net_price": int(net * 100), "quota": int(quota) if quota else None}


def event_form_values(event: dict, zone: ZoneInfo) -> dict:
    """An event as its edit form shows it: wall-clock times in ``zone``, VAT in percent."""
    def local(moment: str) -> str:
        return datetime.fromisoformat(moment).astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    return {"name": event["name"], "venue": event.get("venue") or "", "starts_at": local(event["starts_at"]),
            "ends_at": local(event["ends_at"]), "capacity": str(event["capacity"]),
            "vat_percent": f"{Decimal(event['vat_rate_bp']) / 100:f}".rstrip("0").rstrip(".")}


def _decimal(text: str) -> Decimal | None:
    """1 250,50 / 1250.50 / 12,5 as a Decimal; None when it is not a number."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", text)
    if "," in compact and "." not in compact:
        compact = compact.replace(",", ".")
    try:
        value = Decimal(compact)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _local_time(form: FormData, name: str, zone: ZoneInfo, problems: list[str], missing: str) -> datetime | None:
    """A datetime-local field ("2027-05-01T09:00") as that wall-clock time in ``zone``."""
    text = _text(form, name, 30)
    if not text:
        problems.append(missing)
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        problems.append("Enter dates and times as 2027-05-01 09:00.")
        return None


def scanner(form: FormData) -> Checked:
    """A scanner to register: its name, its gate and the check-in lists it scans for."""
    checked = Checked()
    name, gate = _text(form, "name"), _text(form, "gate", 100)
    list_ids = [str(value) for value in form.getlist("list_ids")][:50]
    checked.problems = [problem for problem, missing in (
        ("Name the scanner.", not name), ("Name the gate.", not gate),
        ("Choose at least one check-in list.", not list_ids)) if missing]
    checked.values = {"name": name, "gate": gate, "list_ids": list_ids}
    return checked


def holder(form: FormData, language: str) -> Checked:
    """A ticket holder typed by the buyer: name and e-mail required."""
    checked = Checked()
    details = buyer(form, checked.problems, language, missing_name="Enter the holder's name.")
    checked.values = {k: v for k, v in details.items() if k != "phone"}
    return checked
