"""The pages over stand-in APIs: sign-in, scopes passed through, CSV passed through, bad input as 4xx."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import httpx
import jwt

from console.charts import arrivals_svg
from console.i18n import LANGUAGE_COOKIE
from console.rendering import when

EMPTY_SUMMARY = {"currencies": ["SEK"], "rows": {}}
EMPTY_PAGE = {"total": 0, "limit": 50, "offset": 0, "rows": []}


def staff_views(apis):
    apis.routes[("GET", "/v1/events")] = lambda r: httpx.Response(200, json=[])
    apis.routes[("GET", "/v1/orders/summary")] = lambda r: httpx.Response(200, json=EMPTY_SUMMARY)
    apis.routes[("GET", "/v1/orders")] = lambda r: httpx.Response(200, json=EMPTY_PAGE)


def test_staff_pages_send_the_visitor_to_sign_in(client):
    response = client.get("/", params={"status": "settled"})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/%3Fstatus%3Dsettled"


def test_a_wrong_password_is_refused_with_a_message(client):
    response = client.post("/sign-in", data={"username": "alice", "password": "wrong"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert client.post("/sign-in", data={"username": "mallory", "password": "x"}).status_code == 401


def test_the_apis_are_called_with_the_staff_members_own_token(signed_in, apis, settings):
    staff_views(apis)
    assert signed_in.get("/").status_code == 200
    token = apis.seen[-1].headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, settings.auth_jwt_secret, algorithms=["HS256"], issuer="ticketflow")
    assert claims["sub"] == "alice" and claims["scope"] == "orders:read orders:write"


def test_a_platform_token_signs_in_too_but_a_link_token_does_not(client, apis, settings):
    staff_token = jwt.encode({"sub": "bob", "scope": "orders:read", "exp": 4102444800, "iss": "ticketflow"},
                             settings.auth_jwt_secret, algorithm="HS256")
    link_token = jwt.encode({"sub": "order:1", "aud": "buyer", "exp": 4102444800, "iss": "ticketflow"},
                            settings.auth_jwt_secret, algorithm="HS256")
    assert client.post("/sign-in", data={"token": link_token}).status_code == 401
    assert client.post("/sign-in", data={"token": staff_token}).status_code == 303
    staff_views(apis)
    assert "bob" in client.get("/").text


def test_a_tampered_session_cookie_is_no_session(client):
    client.cookies.set("console_session", "forged.value.here")
    assert client.get("/").status_code == 303


def test_bad_filters_come_back_as_422_with_the_problem(signed_in, apis):
    staff_views(apis)
    response = signed_in.get("/", params={"from": "yesterday"})
    assert response.status_code == 422 and "From is not a date" in response.text
    assert not [r for r in apis.seen if r.url.path == "/v1/orders"], "the list is not asked for"


class Streamed(httpx.AsyncByteStream):
    """A body that arrives in chunks, as the orders service streams its export."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk


def test_the_csv_export_is_passed_through_with_the_filters(signed_in, apis):
    header, row = "\ufefforder_number,created_at\r\n".encode(), b"TO-1,2026-01-01\r\n"
    body = header + row
    apis.routes[("GET", "/v1/orders/export.csv")] = lambda r: httpx.Response(
        200, stream=Streamed(header, row), headers={"content-type": "text/csv; charset=utf-8"})
    response = signed_in.get("/orders/export.csv", params={"status": "settled", "search": "acme", "offset": "50"})
    assert response.status_code == 200 and response.content == body
    assert response.headers["content-disposition"] == 'attachment; filename="ticket-orders.csv"'
    sent = apis.seen[-1].url.params
    assert sent.get_list("status") == ["settled"] and sent["search"] == "acme" and "offset" not in sent


def test_an_api_refusal_is_shown_with_its_status_and_message(signed_in, apis):
    apis.routes[("GET", "/v1/orders/not-an-id")] = lambda r: httpx.Response(
        422, json={"error": {"code": "invalid_request", "message": "order_id: not a UUID"}})
    response = signed_in.get("/orders/not-an-id")
    assert response.status_code == 422 and "order_id: not a UUID" in response.text


def test_a_service_that_fails_is_a_502_page_not_a_500(signed_in, apis):
    apis.routes[("GET", "/v1/events")] = lambda r: httpx.Response(500, text="boom")
    assert signed_in.get("/orders/new").status_code == 502


def test_bad_ids_and_unknown_pages_are_4xx(client):
    assert client.get("/events/not-a-uuid").status_code == 422
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/my-tickets/00000000-0000-0000-0000-000000000000/secrets.txt").status_code == 404


def test_an_action_the_order_does_not_allow_shows_the_services_reason(signed_in, apis):
    apis.routes[("POST", "/v1/orders/o1/approve")] = lambda r: httpx.Response(
        409, json={"error": {"code": "illegal_transition", "message": "An invoice order is not approved."}})
    response = signed_in.post("/orders/o1/actions/approve")
    assert response.status_code == 303 and response.headers["location"] == "/orders/o1"
    assert signed_in.post("/orders/o1/actions/explode").status_code == 404
    assert signed_in.post("/orders/o1/actions/mark_paid", data={"payment_reference": " "}).status_code == 303


def test_the_public_order_form_comes_back_with_its_problems(client, apis):
    event = {"id": "e1", "name": "Summit", "starts_at": "2027-05-01T08:00:00Z", "ends_at": "2027-05-01T17:00:00Z",
             "venue": None, "currency": "SEK", "vat_rate_bp": 2500, "available": 10,
             "ticket_types": [{"id": "t1", "name": "Pass", "net_price": 100000, "vat": 25000, "gross_price": 125000,
                               "available": 10}]}
    apis.routes[("GET", "/v1/public/events/8a3c6f0e-2d5b-4b8e-9c1a-0f2e3d4c5b6a")] = \
        lambda r: httpx.Response(200, json=event)
    response = client.post("/events/8a3c6f0e-2d5b-4b8e-9c1a-0f2e3d4c5b6a/orders",
                           data={"qty-t1": "0", "name": "Ann", "email": "ann@example.com", "payment_method": "card"})
    assert response.status_code == 422
    assert "Choose at least one ticket." in response.text and 'value="Ann"' in response.text
    assert "Moms" not in response.text and "VAT 25%" in response.text


def test_a_claim_link_is_mailed_by_the_service_in_the_language_of_the_page(client, apis):
    order, ticket = "8a3c6f0e-2d5b-4b8e-9c1a-0f2e3d4c5b6a", "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b"
    apis.routes[("POST", f"/v1/tickets/{ticket}/claims")] = lambda r: httpx.Response(
        201, json={"token": "c1aim-t0ken", "expires_at": "2027-05-01T08:00:00Z"})
    ticket_view = {"id": ticket, "number": "TF-AAAA-BBBB", "order_id": order, "ticket_type_name": "Pass",
                   "event": {"id": "e1", "name": "Summit", "starts_at": None, "venue": None}, "status": "issued",
                   "holder": None, "updated_at": "2027-01-01T00:00:00Z",
                   "open_claim": {"email": "clara@example.com", "expires_at": "2027-01-15T08:00:00Z"}}
    apis.routes[("GET", f"/v1/orders/{order}/tickets")] = lambda r: httpx.Response(200, json=[ticket_view])
    client.cookies.set(LANGUAGE_COOKIE, "sv")
    response = client.post(f"/buyer/orders/{order}/tickets/{ticket}/claims",
                           data={"access_token": "buyer-token", "email": " clara@example.com "})
    sent = next(r for r in apis.seen if r.method == "POST")
    assert json.loads(sent.content) == {"email": "clara@example.com", "language": "sv"}
    assert sent.headers["Authorization"] == "Bearer buyer-token"
    assert response.status_code == 200 and "En hämtlänk är på väg till clara@example.com" in response.text
    assert "/claims/c1aim-t0ken" in response.text
    # The ticket says where its open link went, and until when (Stockholm time).
    assert "Hämtlänk skickad till clara@example.com, öppen till 2027-01-15 09:00." in response.text


def test_a_new_event_is_created_with_its_ticket_types_or_comes_back_with_its_problems(signed_in, apis):
    created = []
    apis.routes[("POST", "/v1/events")] = lambda r: (created.append(json.loads(r.content)),
                                                     httpx.Response(201, json={"id": "e9"}))[1]
    form = {"name": "Summit", "starts_at": "2027-01-15T09:00", "ends_at": "2027-01-15T17:00", "capacity": "300",
            "currency": "SEK", "vat_percent": "25", "type_0_name": "Pass", "type_0_price": "990"}
    response = signed_in.post("/events/new", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/?event_id=e9"
    assert created == [{"name": "Summit", "venue": None, "currency": "SEK", "vat_rate_bp": 2500, "capacity": 300,
                        "starts_at": "2027-01-15T09:00:00+01:00", "ends_at": "2027-01-15T17:00:00+01:00",
                        "ticket_types": [{"name": "Pass", "net_price": 99000, "quota": None}]}]

    refused = signed_in.post("/events/new", data={**form, "type_0_name": "", "type_0_price": ""})
    assert refused.status_code == 422 and "Add at least one ticket type." in refused.text
    assert 'value="Summit"' in refused.text and len(created) == 1
    apis.routes[("POST", "/v1/events")] = lambda r: httpx.Response(
        403, json={"error": {"code": "insufficient_scope", "message": "This needs the orders:write scope."}})
    forbidden = signed_in.post("/events/new", data=form)
    assert forbidden.status_code == 422 and "This needs the orders:write scope." in forbidden.text


def test_the_arrivals_chart_is_an_accessible_svg():
    svg = arrivals_svg([{"from": "2026-05-01T08:00:00Z", "arrivals": 4},
                        {"from": "2026-05-01T08:05:00Z", "arrivals": 2}], "Arrivals <per> five minutes")
    assert svg.startswith('<svg class="chart" role="img"')
    assert "<title>Arrivals &lt;per&gt; five minutes</title>" in svg
    assert svg.count('class="bar"') == 2 and "08:05: 2" in svg
    # In the organizers' time zone: Stockholm is two hours ahead of UTC in May.
    local = arrivals_svg([{"from": "2026-05-01T08:05:00Z", "arrivals": 2}], "Arrivals", ZoneInfo("Europe/Stockholm"))
    assert "10:05: 2" in local


def test_moments_read_as_the_organizers_wall_clock_and_dates_stay_dates():
    stockholm = ZoneInfo("Europe/Stockholm")
    assert when("2027-01-15T08:00:00Z", zone=stockholm) == "2027-01-15 09:00"
    assert when("2027-07-15T08:00:00+00:00", zone=stockholm) == "2027-07-15 10:00"
    assert when("2027-07-15T08:00:00Z") == "2027-07-15 08:00"  # no zone: as the API wrote it
    assert when("2027-03-31", with_time=False, zone=stockholm) == "2027-03-31"


EVENT_ID = "8a3c6f0e-2d5b-4b8e-9c1a-0f2e3d4c5b6a"
CHECK_IN_ID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"  # any id of the check-in service (a check-in, a device)


def test_the_dashboard_lists_the_offline_conflicts(signed_in, apis):
    apis.routes[("GET", "/v1/events")] = lambda r: httpx.Response(200, json=[{"id": EVENT_ID, "name": "Summit"}])
    apis.routes[("GET", f"/v1/events/{EVENT_ID}/counts")] = lambda r: httpx.Response(200, json={
        "event_id": EVENT_ID, "lists": [], "gates": [], "ticket_types": [], "arrivals": []})
    apis.routes[("GET", f"/v1/events/{EVENT_ID}/check-in-conflicts")] = lambda r: httpx.Response(200, json=[{
        "id": "c1", "ticket_id": "t1", "ticket_number": "TF-AAAA-BBBB", "holder_name": "Åsa Öberg", "list_id": "l1",
        "kept_check_in_id": "k1", "kept_gate": "North gate", "kept_checked_in_at": "2027-01-15T08:00:00Z",
        "gate": "South gate", "device_id": None, "scanned_at": "2027-01-15T08:03:00Z",
        "reported_at": "2027-01-15T09:30:00Z"}])
    page = signed_in.get(f"/check-in?event_id={EVENT_ID}")
    assert page.status_code == 200
    assert "TF-AAAA-BBBB" in page.text and "2027-01-15 09:00 (North gate)" in page.text
    assert "2027-01-15 09:03 (South gate)" in page.text


def test_a_check_in_is_undone_only_with_a_reason(signed_in, apis):
    undone = []
    apis.routes[("POST", f"/v1/check-ins/{CHECK_IN_ID}/undo")] = lambda r: (
        undone.append(json.loads(r.content)), httpx.Response(204))[1]
    url = f"/check-in/{EVENT_ID}/check-ins/{CHECK_IN_ID}/undo"
    without = signed_in.post(url, data={"reason": " x ", "q": "Åsa"})
    assert without.status_code == 303 and undone == []
    done = signed_in.post(url, data={"reason": " scanned the wrong ticket ", "q": "Åsa"})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/check-in?event_id={EVENT_ID}&q=")
    assert undone == [{"reason": "scanned the wrong ticket"}]
    apis.routes[("POST", f"/v1/check-ins/{CHECK_IN_ID}/undo")] = lambda r: httpx.Response(
        409, json={"error": {"code": "already_undone", "message": "This check-in is undone already."}})
    again = signed_in.post(url, data={"reason": "twice"}, follow_redirects=True)
    assert "This check-in is undone already." in again.text


def test_a_scanner_is_registered_with_its_token_shown_once_and_revoked(signed_in, apis):
    lists = [{"id": "l1", "name": "Main entrance"}, {"id": "l2", "name": "VIP"}]
    registered = []
    apis.routes[("GET", f"/v1/events/{EVENT_ID}")] = lambda r: httpx.Response(200, json={"id": EVENT_ID,
                                                                                           "name": "Summit"})
    apis.routes[("GET", f"/v1/events/{EVENT_ID}/lists")] = lambda r: httpx.Response(200, json=lists)
    apis.routes[("GET", f"/v1/events/{EVENT_ID}/devices")] = lambda r: httpx.Response(200, json=[{
        "id": "d0", "event_id": EVENT_ID, "name": "Scanner 1", "gate": "South gate", "list_ids": ["l1", "l2"],
        "created_by": "staff:alice", "created_at": "2027-01-15T07:00:00Z", "revoked_at": None}])
    apis.routes[("POST", f"/v1/events/{EVENT_ID}/devices")] = lambda r: (
        registered.append(json.loads(r.content)),
        httpx.Response(201, json={"id": "d1", "name": "Scanner 3", "gate": "North gate", "token": "tfd_s3cr3t"}))[1]
    refused = signed_in.post(f"/check-in/{EVENT_ID}/scanners", data={"name": "Scanner 3", "gate": " "})
    assert refused.status_code == 422 and "Name the gate." in refused.text and "Choose at least one" in refused.text
    assert registered == [] and 'value="Scanner 3"' in refused.text
    assert "Main entrance, VIP" in refused.text and "2027-01-15 08:00" in refused.text  # the scanners so far

    done = signed_in.post(f"/check-in/{EVENT_ID}/scanners",
                          data={"name": " Scanner 3 ", "gate": "North gate", "list_ids": ["l2"]})
    assert registered == [{"name": "Scanner 3", "gate": "North gate", "list_ids": ["l2"]}]
    assert done.status_code == 303 and done.headers["location"] == f"/check-in/{EVENT_ID}/scanners"
    page = signed_in.get(done.headers["location"])
    assert '<code id="scanner-token">tfd_s3cr3t</code>' in page.text
    assert "<svg" in page.text  # the token as a QR code, for the scanner app to read
    reloaded = signed_in.get(done.headers["location"])  # shown once; reloading registers nothing either
    assert "tfd_s3cr3t" not in reloaded.text and len(registered) == 1

    apis.routes[("POST", f"/v1/devices/{CHECK_IN_ID}/revoke")] = lambda r: httpx.Response(204)
    revoked = signed_in.post(f"/check-in/{EVENT_ID}/scanners/{CHECK_IN_ID}/revoke", follow_redirects=True)
    assert "The scanner is revoked: its token no longer works." in revoked.text
    assert "tfd_s3cr3t" not in revoked.text  # never shown again


def test_an_event_and_its_ticket_types_are_edited(signed_in, apis):
    event = {"id": EVENT_ID, "name": "Summit", "venue": "Stockholm", "starts_at": "2027-01-15T08:00:00Z",
             "ends_at": "2027-01-15T16:00:00Z", "currency": "SEK", "vat_rate_bp": 2500, "capacity": 300, "sold": 4,
             "ticket_types": [{"id": CHECK_IN_ID, "name": "Pass", "net_price": 99000, "quota": None, "sold": 4}]}
    sent = []

    def answer(request):
        sent.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(200, json=event)

    apis.routes[("GET", f"/v1/events/{EVENT_ID}")] = lambda r: httpx.Response(200, json=event)
    apis.routes[("PATCH", f"/v1/events/{EVENT_ID}")] = answer
    apis.routes[("PATCH", f"/v1/ticket-types/{CHECK_IN_ID}")] = answer
    apis.routes[("POST", f"/v1/events/{EVENT_ID}/ticket-types")] = answer
    page = signed_in.get(f"/events/{EVENT_ID}/edit")
    assert 'value="2027-01-15T09:00"' in page.text and 'value="990.00"' in page.text  # Stockholm time, major units

    saved = signed_in.post(f"/events/{EVENT_ID}/edit", data={
        "name": "Summit 2027", "venue": "", "starts_at": "2027-01-15T09:00", "ends_at": "2027-01-15T18:00",
        "capacity": "350", "vat_percent": "25"})
    assert saved.status_code == 303
    signed_in.post(f"/events/{EVENT_ID}/ticket-types/{CHECK_IN_ID}", data={"type_name": "Pass", "type_price": "1 090",
                                                                         "type_quota": ""})
    signed_in.post(f"/events/{EVENT_ID}/ticket-types", data={"type_name": "Workshop", "type_price": "300",
                                                             "type_quota": "40"})
    assert sent == [
        ("PATCH", f"/v1/events/{EVENT_ID}", {"name": "Summit 2027", "venue": None, "capacity": 350, "vat_rate_bp": 2500,
                                             "starts_at": "2027-01-15T09:00:00+01:00",
                                             "ends_at": "2027-01-15T18:00:00+01:00"}),
        ("PATCH", f"/v1/ticket-types/{CHECK_IN_ID}", {"name": "Pass", "net_price": 109000, "quota": None}),
        ("POST", f"/v1/events/{EVENT_ID}/ticket-types", {"name": "Workshop", "net_price": 30000, "quota": 40})]
    refused = signed_in.post(f"/events/{EVENT_ID}/edit", data={"name": "", "capacity": "0"})
    assert refused.status_code == 422 and "Enter the event&#39;s name." in refused.text and len(sent) == 3


def test_what_people_typed_is_escaped_on_every_page(signed_in, apis):
    """A buyer's company, or any text from the APIs, is shown as text, never run as markup."""
    hostile = "<script>alert('x')</script>"
    apis.routes[("GET", "/v1/events")] = lambda r: httpx.Response(200, json=[{
        "id": EVENT_ID, "name": hostile, "starts_at": "2027-01-15T08:00:00Z", "venue": hostile, "sold": 0,
        "capacity": 10}])
    page = signed_in.get("/events")
    assert page.status_code == 200 and hostile not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
