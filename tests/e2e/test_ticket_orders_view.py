"""The Ticket Orders view on real data: capacity under concurrency, gap-free invoices,
summary against list, and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_payment_methods import ORDERS
from ticketflow_local.flow import Flow


def staff_event(flow: Flow, *, capacity: int, name: str, organizer_id: str | None = None) -> dict:
    body = {"name": name, "starts_at": "2027-06-01T08:00:00Z", "ends_at": "2027-06-01T17:00:00Z",
            "capacity": capacity, "ticket_types": [{"name": "Pass", "net_price": 123450}]}
    if organizer_id:
        body["organizer_id"] = organizer_id
    response = flow.http.post(f"{ORDERS}/v1/events", json=body)
    response.raise_for_status()
    return response.json()


async def test_fifty_concurrent_public_orders_for_twenty_tickets_sell_exactly_twenty(flow: Flow) -> None:
    event = staff_event(flow, capacity=20, name="Twenty seats")

    async def order(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(f"{ORDERS}/v1/public/events/{event['id']}/orders", json={
            "payment_method": "invoice", "lines": [{"quantity": 1}],
            "buyer": {"name": f"Buyer {n}", "email": f"b{n}.{uuid.uuid4().hex[:6]}@example.com"}})

    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(order(client, n) for n in range(50)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 20 and codes.count(409) == 30, codes
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"sold_out"}
    assert flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"] == 20


async def test_fifty_concurrent_organizer_orders_for_twenty_tickets_sell_exactly_twenty(flow: Flow) -> None:
    """The organizer's orders take the fast route, and a refused one is placed again by the route:
    under contention that must neither oversell nor place an order twice."""
    event = staff_event(flow, capacity=20, name="Twenty seats, organizer side")
    async with httpx.AsyncClient(timeout=30, headers=dict(flow.http.headers)) as client:
        answers = await asyncio.gather(*(client.post(f"{ORDERS}/v1/orders", json={
            "event_id": event["id"], "payment_method": ("invoice", "sponsored", "free")[n % 3],
            "lines": [{"quantity": 1}], "buyer": {"name": f"Guest {n}", "email": f"guest{n}@example.com"}})
            for n in range(50)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 20 and codes.count(409) == 30, codes
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"sold_out"}
    placed = {a.json()["id"] for a in answers if a.status_code == 201}
    listed = flow.http.get(f"{ORDERS}/v1/orders", params={"event_id": event["id"], "limit": 100}).json()
    assert {row["id"] for row in listed["rows"]} == placed and listed["total"] == 20
    assert flow.http.get(f"{ORDERS}/v1/events/{event['id']}").json()["sold"] == 20


async def test_concurrent_invoices_get_gap_free_numbers_per_organizer(flow: Flow) -> None:
    prefix = f"T{uuid.uuid4().hex[:4].upper()}-"
    organizer = flow.http.post(f"{ORDERS}/v1/organizers", json={
        "name": "Nordic Events AB", "invoice_prefix": prefix, "address": "Storgatan 1\n111 22 Stockholm",
        "vat_number": "SE556677889901", "payment_instructions": "Bankgiro 5050-1055"}).json()
    event = staff_event(flow, capacity=100, name="Invoiced event", organizer_id=organizer["id"])
    orders = [flow.place_order(event["id"], 1, payment_method="invoice") for _ in range(12)]
    headers = dict(flow.http.headers)
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        answers = await asyncio.gather(*(client.post(f"{ORDERS}/v1/orders/{o['id']}/invoice") for o in orders))
    assert [a.status_code for a in answers] == [200] * 12
    numbers = sorted(a.json()["invoice"]["number"] for a in answers)
    assert numbers == [f"{prefix}{n:06d}" for n in range(1, 13)]


def test_summary_equals_the_list_for_random_filters(flow: Flow) -> None:
    event = staff_event(flow, capacity=500, name="Summary event")
    companies = ["Acme AB", "Björk & Co", "Cobalt Oy"]
    for i in range(24):
        method = ["invoice", "card", "sponsored", "free"][i % 4]
        order = flow.place_order(event["id"], 1 + i % 3, payment_method=method, company=companies[i % 3])
        if method in ("sponsored", "free") and i % 8 < 4:
            flow.order_action(order["id"], "approve")
        elif method == "invoice" and i % 8 == 0:
            flow.order_action(order["id"], "invoice")
        elif i % 5 == 0:
            flow.order_action(order["id"], "cancel", reason="test")

    statuses = ["requested", "payment_pending", "invoice_sent", "settled", "cancelled"]
    methods = ["card", "invoice", "sponsored", "free"]
    counts = ["none_issued", "partially_issued", "all_issued", "mismatch"]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(statuses), unique=True, max_size=3),
           st.lists(st.sampled_from(methods), unique=True, max_size=3),
           st.sampled_from([None, "acme", "björk", "TO-", "@example.com", "zzz"]),
           st.lists(st.sampled_from(counts), unique=True, max_size=2))
    def check(status, method, search, count_status):
        params = [("event_id", event["id"])] + [("status", s) for s in status] + \
            [("payment_method", m) for m in method] + [("ticket_count_status", c) for c in count_status]
        if search:
            params.append(("search", search))
        rows = flow.http.get(f"{ORDERS}/v1/orders", params=params + [("limit", "500")]).json()
        summary = flow.http.get(f"{ORDERS}/v1/orders/summary", params=params).json()
        total = summary["rows"]["total"]["total"]
        assert rows["total"] == len(rows["rows"]) == total["orders"]
        assert sum(r["ordered"] for r in rows["rows"]) == total["tickets"]
        assert sum(r["gross"] for r in rows["rows"]) == total["gross"]
        assert sum(r["vat"] for r in rows["rows"]) == total["vat"]
        for s in statuses:
            assert summary["rows"][s]["total"]["orders"] == sum(r["status"] == s for r in rows["rows"])
        for m in methods:
            assert summary["rows"]["total"][m]["gross"] == sum(r["gross"] for r in rows["rows"]
                                                               if r["payment_method"] == m)

    check()


def test_a_search_pages_through_its_matches_in_order(flow: Flow) -> None:
    """A search is sorted from its matches (the few-matches plan): pages, totals and order as without it."""
    event = staff_event(flow, capacity=200, name="Search pages event")
    tag = uuid.uuid4().hex[:8]
    for quantity in (1, 3, 2, 3, 1):
        flow.place_order(event["id"], quantity, payment_method="invoice", company=f"Pager {tag} AB")
    flow.place_order(event["id"], 1, payment_method="invoice", company="Somebody Else AB")

    def page(offset: int, **params: str) -> dict:
        return flow.http.get(f"{ORDERS}/v1/orders", params={"event_id": event["id"], "search": f"pager {tag}",
                                                             "limit": "2", "offset": str(offset), **params}).json()

    pages = [page(offset, sort="-gross") for offset in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    grosses = [row["gross"] for p in pages for row in p["rows"]]
    assert len(grosses) == 5 and grosses == sorted(grosses, reverse=True)
    assert len({row["id"] for p in pages for row in p["rows"]}) == 5
    past_the_end = page(10)
    assert past_the_end["rows"] == [] and past_the_end["total"] == 5
    assert page(0, search="nobody by that name")["total"] == 0


def test_csv_export_quotes_streams_and_matches_the_list(flow: Flow) -> None:
    event = staff_event(flow, capacity=50, name="Export event")
    awkward = 'Quote "Q" AB, Göteborg\nLine two'
    flow.place_order(event["id"], 2, payment_method="invoice", company=awkward)
    flow.place_order(event["id"], 1, payment_method="free", company="Plain AB")
    response = flow.http.get(f"{ORDERS}/v1/orders/export.csv", params={"event_id": event["id"], "bom": "true"})
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == flow.http.get(f"{ORDERS}/v1/orders", params={"event_id": event["id"]}).json()["total"] == 2
    quoted = next(r for r in rows if r["company"] == awkward)
    assert quoted["tickets_ordered"] == "2" and quoted["vat_rate"] == "25%"
    assert quoted["gross"] == "3086.25" and quoted["net"] == "2469.00" and quoted["vat"] == "617.25"
    plain = flow.http.get(f"{ORDERS}/v1/orders/export.csv", params={"event_id": event["id"]}).content
    assert not plain.startswith(b"\xef\xbb\xbf")
