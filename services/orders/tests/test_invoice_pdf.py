import io
import re
from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader
from ticketflow_runtime.documents import find_dejavu_sans

from orders import domain, invoice_pdf
from orders.invoice_pdf import InvoiceDocument, InvoiceLine, Party

SELLER = Party(
    name="Biljettbolaget Åre AB",
    address_lines=("Storgatan 12", "831 30 Östersund", "Sverige"),
    organisation_number="556677-8899",
    vat_number="SE556677889901",
    email="faktura@biljettbolaget.se",
)
BUYER = Party(
    name="Müller & Söhne Café AB",
    address_lines=("Kungsgatan 5", "111 43 Stockholm"),
    organisation_number="559900-1122",
    vat_number="SE559900112201",
    email="ekonomi@mullersohne.se",
    contact_name="Åsa Öberg-Hélène",
)
THREE_LINES = [
    ("Ståplats – Göteborgs Jazzfestival, fredag", 2, 49000),
    ("Sittplats parkett – Malmö Operahus, premiär med efterföljande mingel i foajén", 1, 125050),
    ("Ölprovning & smörgåsbord (tillval)", 3, 19900),
]


def make_doc(items=THREE_LINES, language="en", **changes) -> InvoiceDocument:
    lines = []
    for description, quantity, unit_net in items:
        a = domain.line_amounts(unit_net, quantity, domain.DEFAULT_VAT_RATE_BP)
        lines.append(InvoiceLine(description, quantity, unit_net, a.net, a.vat, a.gross))
    total = sum((domain.Amounts(line.net, line.vat, line.gross) for line in lines), domain.ZERO)
    doc = InvoiceDocument(
        invoice_number="INV-2026-00042",
        issue_date=date(2026, 3, 1),
        due_date=date(2026, 3, 31),
        currency="SEK",
        seller=SELLER,
        buyer=BUYER,
        order_number="TO-000123",
        lines=lines,
        net=total.net,
        vat=total.vat,
        gross=total.gross,
        vat_rate_bp=domain.DEFAULT_VAT_RATE_BP,
        payment_reference=invoice_pdf.payment_reference("INV-2026-00042"),
        payment_instructions=("Bankgiro 123-4567", "IBAN SE45 5000 0000 0583 9825 7466, BIC ESSESESS"),
        note="Tack för ert köp!",
        language=language,
    )
    return replace(doc, **changes) if changes else doc


def normalise(text: str) -> str:
    """One plain space for any run of whitespace (line breaks in wrapped cells,
    the thin spaces that group digits)."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def pages_text(pdf: bytes) -> list[str]:
    return [normalise(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_invoice_shows_parties_numbers_lines_totals_and_payment() -> None:
    doc = make_doc()
    pdf = invoice_pdf.render_invoice(doc)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = pages_text(pdf)[0]

    for expected in (
        "Biljettbolaget Åre AB",
        "831 30 Östersund",
        "556677-8899",
        "SE556677889901",
        "Müller & Söhne Café AB",
        "Åsa Öberg-Hélène",
        "Kungsgatan 5",
        "INV-2026-00042",
        "TO-000123",
        "2026-03-01",
        "2026-03-31",
        "Bankgiro 123-4567",
        "IBAN SE45 5000 0000 0583 9825 7466",
        "Tack för ert köp!",
        "Invoice",
        "Due date 2026-03-31",
        "Payment reference 2026000428",
    ):
        assert expected in text, expected

    for line in doc.lines:
        assert normalise(line.description) in text, line.description
        amounts = [invoice_pdf.format_amount(a, "en") for a in (line.unit_net, line.net, line.vat, line.gross)]
        row = " ".join([str(line.quantity), *amounts])
        assert normalise(row) in text, row
    # 2 x 490.00 = 980.00 net, 245.00 VAT, 1 225.00 gross
    assert "2 490.00 980.00 245.00 1 225.00" in text

    assert doc.net == 98000 + 125050 + 59700
    assert f"Net total {normalise(invoice_pdf.format_money(doc.net, 'SEK', 'en'))}" in text
    assert "Net total 2 827.50 SEK" in text
    assert "VAT 25% 706.88 SEK" in text  # 245.00 + 312.63 (half up) + 149.25
    assert "Gross total 3 534.38 SEK" in text
    assert "Amount due 3 534.38 SEK" in text
    assert "Please pay 3 534.38 SEK by 2026-03-31, quoting the payment reference 2026000428." in text


def test_sixty_lines_flow_over_pages_with_the_heading_repeated() -> None:
    long_tail = ", includes a very long description that has to wrap over several lines of its cell"
    items = [
        (f"Ticket no. {i:02d} – Kulturhuset Östersund{long_tail if i % 9 == 0 else ''}", i % 4 + 1, 10000 + i * 137)
        for i in range(1, 61)
    ]
    doc = make_doc(items)
    pdf = invoice_pdf.render_invoice(doc)
    pages = pages_text(pdf)
    assert len(pages) > 1
    everything = " ".join(pages)
    for line in doc.lines:
        assert normalise(line.description) in everything, line.description
        assert everything.count(normalise(line.description)) == 1
    heading = "Description Qty Unit price Net VAT Gross"
    assert all(heading in page for page in pages)
    for number, page in enumerate(pages, start=1):
        assert f"Invoice INV-2026-00042 · Page {number} of {len(pages)}" in page
    assert f"Amount due {normalise(invoice_pdf.format_money(doc.gross, 'SEK', 'en'))}" in pages[-1]
    assert "Amount due" not in " ".join(pages[:-1])


def test_swedish_invoice_has_swedish_labels_and_decimal_commas() -> None:
    pdf = invoice_pdf.render_invoice(make_doc(language="sv"))
    text = pages_text(pdf)[0]
    for label in (
        "Faktura",
        "Fakturanummer INV-2026-00042",
        "Fakturadatum 2026-03-01",
        "Förfallodatum 2026-03-31",
        "Ordernummer TO-000123",
        "Betalningsreferens 2026000428",
        "Fakturamottagare",
        "Er referens: Åsa Öberg-Hélène",
        "Org.nr 559900-1122",
        "Momsreg.nr SE559900112201",
        "Beskrivning Antal À-pris Netto Moms Brutto",
        "Summa exkl. moms 2 827,50 SEK",
        "Moms 25 % 706,88 SEK",
        "Summa inkl. moms 3 534,38 SEK",
        "Att betala 3 534,38 SEK",
        "Betalning",
        "Sida 1 av 1",
    ):
        assert label in text, label
    for english in ("Invoice number", "Due date", "Amount due", "VAT 25%"):
        assert english not in text


def test_same_document_renders_to_the_same_bytes() -> None:
    doc = make_doc()
    first = invoice_pdf.render_invoice(doc)
    assert invoice_pdf.render_invoice(make_doc()) == first
    assert invoice_pdf.render_invoice(make_doc(order_number="TO-000124")) != first
    metadata = PdfReader(io.BytesIO(first)).metadata
    assert metadata.creation_date.date() == doc.issue_date
    assert metadata.title == "Invoice INV-2026-00042"


def test_unicode_font_is_embedded_when_the_machine_has_one() -> None:
    if find_dejavu_sans() is None:
        pytest.skip("no DejaVu Sans on this machine (Debian: fonts-dejavu-core)")
    pdf = invoice_pdf.render_invoice(make_doc(buyer=replace(BUYER, name="Łódź Żółć Ærø AB")))
    assert b"DejaVuSans" in pdf
    assert "Łódź Żółć Ærø AB" in pages_text(pdf)[0]


def test_without_a_unicode_font_latin1_names_still_render(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(invoice_pdf, "FONT_DIRS", (tmp_path,))
    pdf = invoice_pdf.render_invoice(make_doc(language="sv"))
    assert b"DejaVuSans" not in pdf
    text = pages_text(pdf)[0]
    names = ("Biljettbolaget Åre AB", "Müller & Söhne Café AB", "Åsa Öberg-Hélène")
    for expected in (*names, "Att betala 3 534,38 SEK"):
        assert expected in text, expected


def test_document_refuses_totals_that_are_not_the_sum_of_its_lines() -> None:
    doc = make_doc()
    with pytest.raises(ValueError, match="gross"):
        replace(doc, gross=doc.gross + 1)
    with pytest.raises(ValueError, match="language"):
        replace(doc, language="de")
    with pytest.raises(ValueError, match="due date"):
        replace(doc, due_date=date(2026, 2, 1))
    with pytest.raises(ValueError):
        InvoiceLine("x", 1, 100, 100, 25, 126)


@pytest.mark.parametrize(
    ("minor", "language", "expected"),
    [
        (490000, "en", "4 900.00 SEK"),
        (490000, "sv", "4 900,00 SEK"),
        (5, "en", "0.05 SEK"),
        (123456789, "sv", "1 234 567,89 SEK"),
        (-150, "en", "-1.50 SEK"),
    ],
)
def test_money_is_grouped_by_thin_spaces_with_the_language_decimal_mark(minor, language, expected) -> None:
    formatted = invoice_pdf.format_money(minor, "SEK", language)
    assert formatted.replace(invoice_pdf.THIN_SPACE, " ") == expected
    assert " " not in formatted.removesuffix(" SEK")  # groups never break across lines


@pytest.mark.parametrize(
    ("bp", "en", "sv"), [(2500, "25%", "25 %"), (1200, "12%", "12 %"), (1250, "12.5%", "12,5 %"), (0, "0%", "0 %")]
)
def test_vat_rate_label(bp, en, sv) -> None:
    assert invoice_pdf.format_vat_rate(bp, "en") == en
    assert invoice_pdf.format_vat_rate(bp, "sv") == sv


def test_payment_reference_appends_a_luhn_check_digit() -> None:
    assert invoice_pdf.payment_reference("7992739871") == "79927398713"  # the textbook Luhn example
    assert invoice_pdf.payment_reference("INV-2026-00042") == "2026000428"
    assert invoice_pdf.luhn_check_digit("2026") == 3
    for number in ("1", "INV-1", "000123", "2026-000001", "TO-999999", "12345678901234567890123"):
        ref = invoice_pdf.payment_reference(number)
        assert ref.isdigit()
        assert invoice_pdf.valid_payment_reference(ref), ref
    assert invoice_pdf.valid_payment_reference("2026 0004 28")


def test_payment_reference_detects_every_single_digit_error() -> None:
    for number in ("INV-2026-00042", "7992739871", "TO-000123", "1"):
        ref = invoice_pdf.payment_reference(number)
        for position, original in enumerate(ref):
            for digit in "0123456789":
                if digit != original:
                    wrong = ref[:position] + digit + ref[position + 1 :]
                    assert not invoice_pdf.valid_payment_reference(wrong), wrong


def test_payment_reference_refuses_what_cannot_be_one() -> None:
    with pytest.raises(ValueError):
        invoice_pdf.payment_reference("INV-ABC")
    with pytest.raises(ValueError):
        invoice_pdf.payment_reference("1" * 25)
    for bad in ("", "7", "79927398710", "7992739871X", "1" * 26, "٣٤"):
        assert not invoice_pdf.valid_payment_reference(bad), bad
