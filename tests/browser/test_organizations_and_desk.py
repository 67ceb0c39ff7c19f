"""Event Organizations with a sponsor's grant becoming a sponsored order, the desk checking in by hand, and a
scanner registered and revoked."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import httpx
from playwright.sync_api import expect
from ticketflow_local.config import service_url
from ticketflow_local.flow import wait_until


def test_a_sponsor_is_added_and_its_grant_becomes_a_sponsored_order(journey, shop):
    page = journey.page
    company = f"Sponsor {uuid.uuid4().hex[:6]}"
    journey.sign_in()
    page.goto(f"/organizations?event_id={shop['id']}")
    page.get_by_text("+ Add Event Organization").click()
    form = page.locator("#add-organization")
    form.get_by_label("Company").fill(company)
    form.get_by_label("Relationship").select_option("sponsor")
    form.get_by_label("Commercial status").select_option("contracted")
    form.get_by_label("Package").fill("Gold")
    form.get_by_label("Booth").fill("B12")
    form.get_by_label("Sponsored tickets granted").fill("5")
    journey.shot("add-organization")
    form.get_by_role("button", name="Add").click()

    expect(page.get_by_role("heading", name=company)).to_be_visible()
    expect(page.locator("#grant-left")).to_contain_text("0 / 5")
    grant = page.locator("form[action$='/sponsored-orders']")
    grant.get_by_label("Tickets").fill("2")
    grant.get_by_label("Name").fill("Sam Sponsor")
    grant.get_by_label("E-mail").fill(f"sam-{uuid.uuid4().hex[:6]}@example.com")
    journey.shot("organization")
    grant.get_by_role("button", name="Create the sponsored order").click()

    expect(page.locator("#order-status")).to_have_attribute("data-status", "requested")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", "settled")
    journey.shot("sponsored-order-settled")

    page.goto(f"/organizations?{urlencode({'event_id': shop['id'], 'relationship': 'sponsor', 'search': company})}")
    row = page.locator("#organizations tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2 / 5")
    expect(row).to_contain_text("Gold")
    journey.shot("organizations-filtered")


def test_the_desk_finds_an_attendee_and_checks_them_in_by_hand(journey, shop, flow):
    page = journey.page
    order = flow.place_free_order(shop["id"], 1, company="Desk Visitors AB")
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    name = f"Dana Desk {uuid.uuid4().hex[:4]}"
    flow.assign(ticket["id"], name, f"dana-{uuid.uuid4().hex[:6]}@example.com")
    # The gate's projection learns the holder from the assignment event.
    wait_until(lambda: flow.http.get(f"{service_url('checkin')}/v1/events/{shop['id']}/attendees",
                                     params={"q": name}).json(), what=f"the desk to find {name}")

    journey.sign_in("desk")
    page.goto(f"/check-in?event_id={shop['id']}")
    page.get_by_label("Name, e-mail or ticket number").fill(name)
    results = page.locator("#desk-results")
    expect(results).to_contain_text(name)  # found as the name is typed
    journey.shot("desk-search")

    def press(button: str, answer: str) -> None:
        """A button in the desk's results; the page comes back with ``answer``."""
        page.locator("#desk-results").get_by_role("button", name=button).click()
        expect(page.get_by_role("status")).to_contain_text(answer)

    press(f"Check in {ticket['number']}", "Checked in.")
    expect(page.locator("#desk-results")).to_contain_text("Help desk")
    journey.shot("checked-in")
    press(f"Check in {ticket['number']}", "Already checked in.")

    # A check-in made by mistake is undone, with the reason; the ticket can then be checked in again.
    page.locator("#desk-results").get_by_text("Undo", exact=True).first.click()
    page.locator("#desk-results").get_by_label("Reason").fill("checked in the wrong Dana")
    press(f"Undo the check-in of {ticket['number']}", "The check-in is undone.")
    expect(page.locator("#desk-results")).not_to_contain_text("Help desk")
    journey.shot("check-in-undone")
    press(f"Check in {ticket['number']}", "Checked in.")
    expect(page.locator("#conflicts")).to_be_visible()

    # The desk signs in with its own scopes: it reads orders but may not change them.
    page.goto(f"/orders/{order['id']}")
    page.get_by_label("Reason").fill("asked at the desk")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_role("status")).to_contain_text("orders:write")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "settled")
    journey.shot("desk-may-not-refund")


def test_a_scanner_registered_in_the_console_scans_until_it_is_revoked(journey, shop, flow):
    page = journey.page
    order = flow.place_free_order(shop["id"], 1)
    ticket = flow.assignable_tickets(order["id"], 1)[0]
    checkin = service_url("checkin")

    def scan_with(token: str) -> httpx.Response:
        return httpx.post(f"{checkin}/v1/scans", headers={"Authorization": f"Bearer {token}"},
                          json={"ticket_number": ticket["number"], "nonce": uuid.uuid4().hex})

    journey.sign_in()
    page.goto(f"/check-in?event_id={shop['id']}")
    page.get_by_role("link", name="Scanners").click()
    page.get_by_label("Name", exact=True).fill("Scanner 7")
    page.get_by_label("Gate").fill("East gate")
    page.get_by_role("button", name="Register scanner").click()
    expect(page.locator("#registered-scanner")).to_contain_text("shown only once")
    token = page.locator("#scanner-token").inner_text()
    journey.shot("scanner-registered")
    page.reload()  # the token is shown once, and reloading registers no second scanner
    expect(page.locator("#registered-scanner")).to_have_count(0)
    expect(page.locator("#scanners tbody tr")).to_have_count(1)

    # The gate learns the ticket from ticket.issued; then the new scanner admits it at its own gate.
    answer = wait_until(lambda: (r := scan_with(token)).json().get("result") != "unknown_ticket" and r,
                        what="the gate to know the ticket")
    assert answer.json()["result"] == "admitted" and answer.json()["check_in"]["gate"] == "East gate"

    page.get_by_role("button", name="Revoke Scanner 7").click()
    expect(page.get_by_role("status")).to_contain_text("its token no longer works")
    expect(page.locator("#scanners")).to_contain_text("Revoked")
    journey.shot("scanner-revoked")
    assert scan_with(token).status_code == 401
