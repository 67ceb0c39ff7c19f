"""Buyers and attendees: order by card through Stripe Checkout, hand the tickets out, show the QR at the gate."""

from __future__ import annotations

import re
import uuid

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from ticketflow_local.config import service_url
from ticketflow_local.flow import mails_to, wait_until


def manage_link(address: str) -> str:
    """The link in the "tickets ready" mail (the buyer also gets the order summary)."""
    def probe() -> str | None:
        for message in mails_to(address):
            found = re.search(r"http://\S+/buyer/orders/\S+", message.get_body(preferencelist=("plain",)).get_content())
            if found:
                return found.group(0)
        return None

    return wait_until(probe, timeout=30, interval=0.2, what=f"the buyer's link mailed to {address}")


def test_buyer_orders_by_card_through_stripe_checkout_and_assigns_the_tickets(journey, shop, flow):
    page = journey.page
    buyer = f"card-buyer-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"/events/{shop['id']}")
    expect(page.get_by_role("heading", name=shop["name"])).to_be_visible()
    expect(page.locator("#ticket-types")).to_contain_text("VAT 25%")
    expect(page.locator("#ticket-types")).to_contain_text("3\u202f125.00 SEK")  # 2 500 + 25 % VAT
    page.get_by_label(re.compile("^Quantity")).fill("2")
    page.get_by_label("Name").fill("Cora Card")
    page.get_by_label("E-mail").fill(buyer)
    page.get_by_label("Company").fill("Card Buyers AB")
    page.get_by_label("Pay by card").check()
    journey.shot("event-page")
    page.get_by_role("button", name="Order").click()

    # Stripe Checkout (the local stand-in), then back to the console.
    expect(page.get_by_role("heading", name="Test checkout")).to_be_visible()
    journey.shot("stripe-checkout")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order_number = page.locator("#order-number").inner_text()
    journey.shot("confirmation")

    # The e-mailed link opens the buyer's order page once the order is settled.
    page.goto(manage_link(buyer))
    wait_until(lambda: page.reload() and page.locator("#buyer-tickets section").count() == 2, timeout=30,
               interval=0.5, what="the two tickets on the buyer's page")
    journey.shot("buyer-order")

    first, second = page.locator("#buyer-tickets section").all()
    first.get_by_label("Name", exact=True).fill("Ada Attendee")
    first.get_by_label("E-mail", exact=True).fill(f"ada-{uuid.uuid4().hex[:6]}@example.com")
    first.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("The ticket is assigned.")
    journey.shot("first-assigned")

    second_number = second.get_attribute("data-ticket")
    csv = f"ticket,name,email\n{second_number},Bo Bulk,bo-{uuid.uuid4().hex[:6]}@example.com\n"
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "holders.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-report [data-accepted]")).to_have_attribute("data-accepted", "1")
    journey.shot("csv-report")

    statuses = [section.locator(".badge").inner_text() for section in page.locator("#buyer-tickets section").all()]
    assert statuses == ["Assigned", "Assigned"], statuses
    rows = flow.http.get(f"{service_url('orders')}/v1/orders", params={"search": order_number}).json()["rows"]
    assert [(r["status"], r["payment_method"]) for r in rows] == [("settled", "card")]


def test_attendee_opens_my_tickets_and_the_qr_shown_is_admitted(journey, shop, flow):
    page = journey.page
    order = flow.place_free_order(shop["id"], 1, company="QR Checkers AB")
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    flow.assign(ticket["id"], "Quinn Qr", f"quinn-{uuid.uuid4().hex[:6]}@example.com", "QR Checkers AB")

    # Staff hand the attendee their My Tickets link from the order page.
    journey.sign_in()
    page.goto(f"/orders/{order['id']}")
    expect(page.locator("#tickets")).to_contain_text("Quinn Qr")
    page.get_by_role("button", name="My Tickets link").click()
    link = page.locator("#issued-link").get_attribute("href")
    journey.shot("order-with-link")

    page.context.clear_cookies()  # the attendee is not signed in
    page.goto(link)
    expect(page.get_by_role("heading", name="My Tickets")).to_be_visible()
    card = page.locator(f'[data-ticket="{ticket["number"]}"]')
    expect(card).to_contain_text(shop["name"])
    qr = card.get_by_role("img")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 300, "large enough to scan from a phone"
    picture = journey.folder / "qr.png"
    qr.screenshot(path=picture)
    journey.shot("my-tickets")
    pdf = page.request.get(card.get_by_role("link", name="Download the ticket (PDF)").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone at the gate
    assert qr.bounding_box()["width"] >= 300
    journey.shot("my-tickets-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    decoded = zxingcpp.read_barcodes(Image.open(picture))
    assert decoded, "the QR code on the page must be readable"
    answer = flow.scan_when_known(decoded[0].text)
    assert answer["result"] == "admitted"

    # The desk sees the admission in the live counts and in the search.
    journey.sign_in()
    page.goto(f"/check-in?event_id={shop['id']}&q=Quinn")
    expect(page.locator("#desk-results")).to_contain_text("Quinn Qr")
    expect(page.locator("#counts-gates")).to_contain_text("North gate")
    expect(page.locator(".chart")).to_be_visible()
    journey.shot("check-in-dashboard")
