"""The checks on what visitors type: clear problems, never a failure."""

from __future__ import annotations

from starlette.datastructures import FormData, QueryParams

from console import forms

EVENT = {"ticket_types": [{"id": "t1"}, {"id": "t2"}]}


def test_filters_keep_only_known_values_and_refuse_bad_dates():
    checked = forms.order_filters(QueryParams("status=settled&status=bogus&payment_method=card&from=2026-13-01"
                                              "&sort=drop+table&offset=-5"))
    assert checked.values["status"] == ["settled"]
    assert checked.values["payment_method"] == ["card"]
    assert checked.values["sort"] == "-created_at" and checked.values["offset"] == 0
    assert checked.problems == ["From is not a date (YYYY-MM-DD)."]


def test_filters_refuse_to_before_from():
    assert forms.order_filters(QueryParams("from=2026-05-02&to=2026-05-01")).problems == ["To is before From."]


def test_api_filters_leave_out_empty_values_and_paging():
    values = forms.order_filters(QueryParams("search=+acme+&status=settled")).values
    assert forms.api_filters(values) == {"search": "acme", "status": ["settled"]}


def test_a_new_order_needs_a_buyer_a_method_and_a_ticket():
    checked = forms.new_order(FormData({"qty-t1": "0", "qty-t2": "0", "name": "", "email": "nope"}), EVENT, "en")
    assert set(checked.problems) == {"Choose a payment method.", "Choose at least one ticket.",
                                     "Enter the buyer's name.", "Enter a valid e-mail address."}


def test_a_valid_new_order_becomes_the_api_request():
    form = FormData({"qty-t1": "2", "qty-t2": "0", "name": "Britt", "email": "britt@example.com",
                     "company": "Acme", "payment_method": "invoice"})
    checked = forms.new_order(form, EVENT, "sv")
    assert checked.ok
    assert checked.values == {"buyer": {"name": "Britt", "email": "britt@example.com", "company": "Acme",
                                        "phone": None, "language": "sv"},
                              "payment_method": "invoice", "lines": [{"ticket_type_id": "t1", "quantity": 2}]}


def test_quantities_are_whole_numbers_within_bounds():
    for bad in ("-1", "1.5", "abc", "1001"):
        problems: list[str] = []
        forms.quantities(FormData({"qty-t1": bad}), ["t1"], problems)
        assert problems == ["Quantities are whole numbers from 0 to 1000."], bad


def test_the_public_page_offers_card_and_invoice_only():
    form = FormData({"qty-t1": "1", "name": "A", "email": "a@example.com", "payment_method": "free"})
    assert "Choose a payment method." in forms.new_order(form, EVENT, "en", methods=forms.PUBLIC_PAYMENT_METHODS).problems


STOCKHOLM = forms.ZoneInfo("Europe/Stockholm")
NEW_EVENT = {"name": " Nordic Summit ", "venue": "Stockholm", "starts_at": "2027-05-01T09:00",
             "ends_at": "2027-05-02T17:30", "capacity": "500", "currency": "sek", "vat_percent": "12,5",
             "type_0_name": "Conference pass", "type_0_price": "1 250,50", "type_0_quota": "",
             "type_1_name": "", "type_1_price": "", "type_1_quota": "",
             "type_2_name": "Workshop", "type_2_price": "300", "type_2_quota": "40"}


def test_a_new_event_is_read_as_the_organizer_writes_it():
    checked = forms.new_event(FormData(NEW_EVENT), STOCKHOLM)
    assert checked.ok, checked.problems
    assert checked.values == {
        "name": "Nordic Summit", "venue": "Stockholm", "currency": "SEK", "vat_rate_bp": 1250, "capacity": 500,
        # Wall-clock time in the organizers' zone: summer time in Stockholm is two hours ahead of UTC.
        "starts_at": "2027-05-01T09:00:00+02:00", "ends_at": "2027-05-02T17:30:00+02:00",
        "ticket_types": [{"name": "Conference pass", "net_price": 125050, "quota": None},
                         {"name": "Workshop", "net_price": 30000, "quota": 40}]}


def test_a_new_event_comes_back_with_every_problem():
    bad = {**NEW_EVENT, "name": "", "ends_at": "2027-04-30T09:00", "currency": "kronor", "vat_percent": "125",
           "capacity": "0", "type_0_price": "12.345", "type_2_name": "", "type_2_quota": "some"}
    assert forms.new_event(FormData(bad), STOCKHOLM).problems == [
        "Enter the event's name.", "The event cannot end before it starts.", "VAT is a percentage from 0 to 100.",
        "The capacity is a whole number of tickets, at least 1.", "The currency is a three-letter code, such as SEK.",
        "Prices are amounts such as 1 250,00 (excl. VAT).",
        "Name each ticket type.", "A quota is a whole number of tickets, or empty for none."]
    empty = forms.new_event(FormData({"starts_at": "next tuesday"}), STOCKHOLM).problems
    assert "Enter dates and times as 2027-05-01 09:00." in empty and "Enter when the event ends." in empty
    assert "Add at least one ticket type." in empty


def test_an_event_is_edited_in_the_form_it_was_created_in():
    event = {"name": "Summit", "venue": None, "starts_at": "2027-05-01T07:00:00Z", "ends_at": "2027-05-01T15:30:00Z",
             "capacity": 500, "vat_rate_bp": 1250, "currency": "SEK"}
    shown = forms.event_form_values(event, STOCKHOLM)
    assert shown == {"name": "Summit", "venue": "", "starts_at": "2027-05-01T09:00", "ends_at": "2027-05-01T17:30",
                     "capacity": "500", "vat_percent": "12.5"}
    assert forms.event_form_values({**event, "vat_rate_bp": 2500}, STOCKHOLM)["vat_percent"] == "25"
    # What the form shows is read back to the same event.
    assert forms.event_changes(FormData(shown), STOCKHOLM).values == {
        "name": "Summit", "venue": None, "starts_at": "2027-05-01T09:00:00+02:00",
        "ends_at": "2027-05-01T17:30:00+02:00", "capacity": 500, "vat_rate_bp": 1250}


def test_a_ticket_type_is_read_from_its_own_form():
    problems: list[str] = []
    assert forms.ticket_type(FormData({"type_name": "Workshop", "type_price": "1 000", "type_quota": "30"}), "type_",
                             problems) == {"name": "Workshop", "net_price": 100000, "quota": 30}
    assert forms.ticket_type(FormData({}), "type_", problems) is None and problems == []
