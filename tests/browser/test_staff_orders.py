"""The organizer team in the console: an invoice order from creation to paid, and the summary follows."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect


def summary_cell(page, status: str, method: str):
    return page.locator(f'#summary tr[data-status="{status}"] td[data-method="{method}"]')


def test_staff_create_invoice_order_send_invoice_mark_paid_and_see_the_summary(journey, shop):
    page = journey.page
    journey.sign_in()
    page.goto(f"/?event_id={shop['id']}")
    expect(page.get_by_role("heading", name="Ticket Orders")).to_be_visible()
    expect(summary_cell(page, "settled", "invoice")).to_contain_text("–")
    journey.shot("ticket-orders-before")

    page.get_by_role("link", name="+ New Ticket Order").click()
    page.get_by_label("Event", exact=True).select_option(shop["id"])
    page.wait_for_url(re.compile(r"event_id="))
    page.get_by_label(re.compile("^Conference pass")).fill("3")
    company = f"Invoice Co {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill("Ingrid Invoice")
    page.get_by_label("E-mail").fill(f"ingrid-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Company").fill(company)
    page.get_by_label("Payment method").select_option("invoice")
    journey.shot("new-order-form")
    page.get_by_role("button", name="Create order").click()

    expect(page.locator("#order-status")).to_have_attribute("data-status", "requested")
    expect(page.locator("#lines")).to_contain_text("Conference pass")
    journey.shot("order-requested")

    page.get_by_role("button", name="Send invoice").click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", "invoice_sent")
    expect(page.get_by_role("status")).to_contain_text("The invoice is sent.")
    pdf = page.request.get(page.locator("#invoice-pdf").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    journey.shot("invoice-sent")

    page.get_by_label("Payment reference").fill("BANK-4711")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", "settled")
    expect(page.locator("#history")).to_contain_text("Invoice sent")
    journey.shot("settled")

    page.goto(f"/?event_id={shop['id']}")
    settled = summary_cell(page, "settled", "invoice")
    expect(settled.locator("[data-orders]")).to_have_attribute("data-orders", "1")
    expect(settled.locator("[data-tickets]")).to_have_attribute("data-tickets", "3")
    expect(summary_cell(page, "total", "total").locator("[data-orders]")).to_have_attribute("data-orders", "1")
    expect(page.locator("#orders")).to_contain_text(company)
    journey.shot("ticket-orders-after")

    # The same page in Swedish.
    page.get_by_role("link", name="Svenska").click()
    expect(page.get_by_role("heading", name="Biljettordrar")).to_be_visible()
    journey.shot("ticket-orders-swedish")
    page.get_by_role("link", name="English").click()


def test_staff_create_an_event_with_its_ticket_types_and_its_public_page_sells_them(journey):
    page = journey.page
    journey.sign_in()
    page.goto("/events")
    page.get_by_role("link", name="+ New Event").click()
    name = f"Console event {uuid.uuid4().hex[:6]}"
    page.get_by_label("Event name").fill(name)
    page.get_by_label("Venue").fill("Göteborg")
    page.get_by_label("Starts").fill("2027-09-01T09:00")
    page.get_by_label("Ends").fill("2027-09-01T17:00")
    page.get_by_label("Capacity (tickets)").fill("200")
    first_type = page.get_by_role("group", name="Ticket type 1")
    first_type.get_by_label("Name").fill("Day pass")
    first_type.get_by_label("Net price").fill("1 200,00")
    journey.shot("new-event-form")
    page.get_by_role("button", name="Create event").click()

    expect(page.get_by_role("status")).to_contain_text("The event is created.")
    expect(page.get_by_role("heading", name="Ticket Orders")).to_be_visible()
    event_id = re.search(r"event_id=([0-9a-f-]{36})", page.url).group(1)
    page.goto("/events")
    expect(page.locator("#events")).to_contain_text(name)
    expect(page.locator("#events")).to_contain_text("2027-09-01 09:00")
    page.goto(f"/events/{event_id}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_role("cell", name="Day pass", exact=True)).to_be_visible()
    expect(page.get_by_label("Quantity: Day pass")).to_be_editable()
    journey.shot("new-event-public-page")

    # The organizer adds a workshop and moves the start; the public page follows.
    page.goto("/events")
    page.get_by_role("link", name=f"Edit {name}").click()
    expect(page.get_by_label("Starts")).to_have_value("2027-09-01T09:00")
    page.get_by_label("Starts").fill("2027-09-01T10:00")
    page.get_by_role("button", name="Save the event").click()
    expect(page.get_by_role("status")).to_contain_text("The event is saved.")
    expect(page.get_by_label("Starts")).to_have_value("2027-09-01T10:00")
    adding = page.locator("#add-ticket-type")
    adding.get_by_label("Name").fill("Workshop")
    adding.get_by_label("Net price").fill("300")
    adding.get_by_role("button", name="Add ticket type").click()
    expect(page.get_by_role("status")).to_contain_text("The ticket type is added.")
    journey.shot("event-edited")
    page.goto(f"/events/{event_id}")
    expect(page.get_by_label("Quantity: Workshop")).to_be_editable()


def test_filters_and_export_csv_agree_with_the_list(journey, shop, flow):
    page = journey.page
    marker = uuid.uuid4().hex[:6]
    for method, company in (("invoice", f"Alpha {marker}"), ("invoice", f"Beta {marker}"),
                            ("free", f"Gamma {marker}")):
        flow.place_order(shop["id"], 2, payment_method=method, company=company)
    journey.sign_in()
    page.goto(f"/?event_id={shop['id']}")
    page.get_by_label("Search").fill(marker)
    page.get_by_label("Payment method").select_option(["invoice"])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    expect(page.locator("#orders")).not_to_contain_text(f"Gamma {marker}")
    journey.shot("filtered")

    listed = sorted(page.locator("#orders tbody tr").evaluate_all("rows => rows.map(r => r.dataset.number)"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    exported = sorted(line.split(",")[0] for line in text.strip().splitlines()[1:])
    assert exported == listed
    assert page.locator("#total").get_attribute("data-total") == "2"

    page.get_by_role("link", name="Reset").click()
    expect(page.get_by_label("Search")).to_have_value("")
    journey.shot("reset")

    # A date the browser would never send is refused with a message, not a failure.
    response = page.goto("/?from=31-12-2026")
    assert response.status == 422
    expect(page.get_by_role("alert")).to_contain_text("From is not a date")
    journey.shot("bad-filter")
