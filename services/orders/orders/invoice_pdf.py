"""Invoice PDF: the document's facts as frozen dataclasses, and a pure renderer.

`render_invoice` turns an `InvoiceDocument` into the bytes of an A4 PDF; it does
no I/O besides reading a font file. Amounts are integer minor units (two
decimals), as in `orders.domain`; the document only shows them, it computes
nothing but checks that the totals are the sums of the lines.

Text is set in DejaVu Sans, a Unicode TrueType font (Debian's
`fonts-dejavu-core`, on every machine image of this project), so names such as
"Åsa Öberg" or "Müller & Söhne" come out as written. Where no DejaVu font is
found the renderer falls back to the PDF core font Helvetica, which only has
Latin-1: å, ä, ö, é, ü still render, other characters are transliterated or
replaced by "?". Fonts, their fallback and their embedding are those of every
document (``ticketflow_runtime.documents``): parsed once per process.

The same document always renders to the same bytes: the PDF's creation date is
the invoice's issue date and nothing else in the file depends on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from fpdf import FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos

from ticketflow_runtime.documents import FONT_DIRS, DocumentPDF, latin1


Language = Literal["en", "sv"]
LANGUAGES: tuple[Language, ...] = ("en", "sv")

# Thin, non-breaking: groups digits ("4 900,00") without letting a line break
# split an amount.
THIN_SPACE = "\u202f"
NO_BREAK_SPACE = "\u00a0"


# --------------------------------------------------------------------------- #
# The document
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Party:
    """A seller or a buyer: for a buyer, `name` is the company (or the person
    buying privately) and `contact_name` the person the invoice is for."""

    name: str
    address_lines: tuple[str, ...] = ()
    organisation_number: str | None = None
    vat_number: str | None = None
    email: str | None = None
    contact_name: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a party needs a name")
        object.__setattr__(self, "address_lines", tuple(self.address_lines))


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_net: int
    net: int
    vat: int
    gross: int

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError("an invoice line's quantity must be positive")
        if self.net + self.vat != self.gross:
            raise ValueError(f"line {self.description!r}: net + VAT must equal gross")


@dataclass(frozen=True)
class InvoiceDocument:
    invoice_number: str
    issue_date: date
    due_date: date
    currency: str
    seller: Party
    buyer: Party
    order_number: str
    lines: tuple[InvoiceLine, ...]
    net: int
    vat: int
    gross: int
    vat_rate_bp: int
    payment_reference: str
    payment_instructions: tuple[str, ...] = ()
    note: str | None = None
    language: Language = "en"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "payment_instructions", tuple(self.payment_instructions))
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if len(self.currency) != 3 or not self.currency.isascii() or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code such as 'SEK', not {self.currency!r}")
        if not self.lines:
            raise ValueError("an invoice needs at least one line")
        if self.due_date < self.issue_date:
            raise ValueError("the due date cannot be before the issue date")
        if self.vat_rate_bp < 0:
            raise ValueError("the VAT rate cannot be negative")
        for name in ("net", "vat", "gross"):
            total = sum(getattr(line, name) for line in self.lines)
            if getattr(self, name) != total:
                raise ValueError(f"invoice {name} {getattr(self, name)} is not the sum of its lines ({total})")

    @property
    def amount_due(self) -> int:
        return self.gross


# --------------------------------------------------------------------------- #
# Payment reference (Luhn mod 10, as Swedish OCR references)
# --------------------------------------------------------------------------- #

OCR_MAX_DIGITS = 25  # Bankgirot's limit, check digit included


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits` + it pass the Luhn (mod 10) check."""
    if not digits or not all(c in "0123456789" for c in digits):
        raise ValueError(f"not a string of digits: {digits!r}")
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled.
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def payment_reference(invoice_number: str) -> str:
    """A numeric payment reference for an invoice: the invoice number's digits
    followed by a Luhn check digit ("INV-2026-00042" -> "2026000428").

    Only the digits of the invoice number are used, so invoice numbers must
    differ in their digits (a prefix such as "INV-" is dropped).
    """
    digits = "".join(c for c in invoice_number if c in "0123456789")
    if not digits:
        raise ValueError(f"invoice number {invoice_number!r} has no digits to make a payment reference from")
    if len(digits) + 1 > OCR_MAX_DIGITS:
        raise ValueError(f"invoice number {invoice_number!r} has more than {OCR_MAX_DIGITS - 1} digits")
    return digits + str(luhn_check_digit(digits))


def valid_payment_reference(ref: str) -> bool:
    """True when `ref` is 2 to 25 digits whose last digit is the Luhn check digit
    of the others; spaces (as people type them) are ignored."""
    ref = ref.replace(" ", "")
    if not 2 <= len(ref) <= OCR_MAX_DIGITS or not all(c in "0123456789" for c in ref):
        return False
    return luhn_check_digit(ref[:-1]) == int(ref[-1])


# --------------------------------------------------------------------------- #
# Formatting
# --------------------------------------------------------------------------- #


def format_amount(minor: int, language: Language) -> str:
    """Minor units as a number with two decimals: "4 900.00" (en), "4 900,00" (sv),
    digits grouped by a thin non-breaking space."""
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    grouped = f"{major:,}".replace(",", THIN_SPACE)
    decimal_mark = "," if language == "sv" else "."
    return f"{sign}{grouped}{decimal_mark}{cents:02d}"


def format_money(minor: int, currency: str, language: Language) -> str:
    """"4 900.00 SEK" (en), "4 900,00 SEK" (sv)."""
    return f"{format_amount(minor, language)} {currency}"


def format_vat_rate(vat_rate_bp: int, language: Language) -> str:
    """2500 -> "25%" (en), "25 %" (sv); 1250 -> "12.5%", "12,5 %"."""
    whole, frac = divmod(vat_rate_bp, 100)
    number = str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")
    if language == "sv":
        return f"{number.replace('.', ',')} %"
    return f"{number}%"


def format_date(value: date, language: Language) -> str:
    # ISO 8601 reads unambiguously in both languages (and is the Swedish norm).
    return value.isoformat()


# --------------------------------------------------------------------------- #
# Labels
# --------------------------------------------------------------------------- #

LABELS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Invoice",
        "invoice_number": "Invoice number",
        "issue_date": "Invoice date",
        "due_date": "Due date",
        "order_number": "Order number",
        "payment_reference": "Payment reference",
        "bill_to": "Bill to",
        "attn": "Attn:",
        "org_no": "Org. no.",
        "vat_no": "VAT no.",
        "email": "Email",
        "description": "Description",
        "qty": "Qty",
        "unit_price": "Unit price",
        "net": "Net",
        "vat": "VAT",
        "gross": "Gross",
        "amounts_in": "Amounts in {currency}",
        "net_total": "Net total",
        "vat_total": "VAT {rate}",
        "gross_total": "Gross total",
        "amount_due": "Amount due",
        "payment": "Payment",
        "pay_by": "Please pay {amount} by {due}, quoting the payment reference {ref}.",
        "note": "Note",
        "page": "Page {page} of {pages}",
    },
    "sv": {
        "title": "Faktura",
        "invoice_number": "Fakturanummer",
        "issue_date": "Fakturadatum",
        "due_date": "Förfallodatum",
        "order_number": "Ordernummer",
        "payment_reference": "Betalningsreferens",
        "bill_to": "Fakturamottagare",
        "attn": "Er referens:",
        "org_no": "Org.nr",
        "vat_no": "Momsreg.nr",
        "email": "E-post",
        "description": "Beskrivning",
        "qty": "Antal",
        "unit_price": "À-pris",
        "net": "Netto",
        "vat": "Moms",
        "gross": "Brutto",
        "amounts_in": "Belopp i {currency}",
        "net_total": "Summa exkl. moms",
        "vat_total": "Moms {rate}",
        "gross_total": "Summa inkl. moms",
        "amount_due": "Att betala",
        "payment": "Betalning",
        "pay_by": "Betala {amount} senast {due} och ange betalningsreferens {ref}.",
        "note": "Meddelande",
        "page": "Sida {page} av {pages}",
    },
}


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #

MARGIN = 18.0  # mm
FOOTER_SPACE = 22.0  # mm kept free at the bottom of each page for the footer
# Description, qty, unit price, net, VAT, gross: mm, adding up to the 174 mm text width.
COL_WIDTHS = (64.0, 13.0, 24.0, 24.0, 22.0, 27.0)
GREY = (100, 100, 100)
RULE = (180, 180, 180)
HEADING_FILL = (235, 235, 235)
# After a cell: back to the left margin, on the next line.
NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


class _InvoicePDF(DocumentPDF):
    """An invoice's pages, in the fonts every document of the service shares (parsed once)."""

    def __init__(self, doc: InvoiceDocument) -> None:
        # This module's FONT_DIRS, looked up now, so it can be pointed elsewhere.
        super().__init__("A4", margin=MARGIN, font_dirs=FONT_DIRS)
        self.invoice = doc
        self.labels = LABELS[doc.language]
        self.set_auto_page_break(True, margin=FOOTER_SPACE)

    def showable(self, text: str) -> str:
        """As DocumentPDF's, and in Helvetica (no thin spaces) amounts' thin spaces as no-break spaces."""
        if self.family == "dejavu":
            return text
        return latin1(text.replace(THIN_SPACE, NO_BREAK_SPACE).replace("\u2009", NO_BREAK_SPACE))

    def footer(self) -> None:
        doc, labels = self.invoice, self.labels
        self.set_y(-MARGIN + 2)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y() - 2, self.w - MARGIN, self.get_y() - 2)
        self.use_font(7.5, colour=GREY)
        seller = doc.seller
        parts = [seller.name]
        if seller.organisation_number:
            parts.append(f"{labels['org_no']} {seller.organisation_number}")
        if seller.vat_number:
            parts.append(f"{labels['vat_no']} {seller.vat_number}")
        width = self.w - 2 * MARGIN
        self.set_x(MARGIN)
        self.cell(width * 0.65, 4, self.showable(" · ".join(parts)))
        page = labels["page"].format(page=self.page_no(), pages="{nb}")
        self.cell(width * 0.35, 4, self.showable(f"{labels['title']} {doc.invoice_number} · {page}"), align=Align.R)


def render_invoice(doc: InvoiceDocument) -> bytes:
    """The invoice as the bytes of an A4 PDF; the same document gives the same bytes."""
    pdf = _InvoicePDF(doc)
    labels = LABELS[doc.language]
    title = f"{labels['title']} {doc.invoice_number}"
    pdf.set_author(pdf.showable(doc.seller.name))
    pdf.set_subject(pdf.showable(f"{title} · {doc.buyer.name}"))
    pdf.alias_nb_pages()
    pdf.add_page()

    _header(pdf, doc)
    _buyer(pdf, doc)
    _lines_table(pdf, doc)
    _totals(pdf, doc)
    _payment(pdf, doc)
    return pdf.finish(created_at=datetime.combine(doc.issue_date, time(0, 0), tzinfo=UTC), title=title,
                      language=doc.language)


def _party_lines(pdf: _InvoicePDF, party: Party, with_contact: bool) -> list[str]:
    labels = pdf.labels
    rows: list[str] = []
    if with_contact and party.contact_name:
        rows.append(f"{labels['attn']} {party.contact_name}")
    rows.extend(party.address_lines)
    if party.organisation_number:
        rows.append(f"{labels['org_no']} {party.organisation_number}")
    if party.vat_number:
        rows.append(f"{labels['vat_no']} {party.vat_number}")
    if party.email:
        rows.append(f"{labels['email']} {party.email}")
    return rows


def _block(pdf: _InvoicePDF, x: float, width: float, heading: str | None, party: Party, with_contact: bool) -> float:
    """A party's name and details at x, from the current y; returns the y below it."""
    if heading:
        pdf.set_x(x)
        pdf.use_font(8, bold=True, colour=GREY)
        pdf.multi_cell(width, 4.5, pdf.showable(heading), **NEXT_LINE)
    pdf.set_x(x)
    pdf.use_font(11, bold=True)
    pdf.multi_cell(width, 5.5, pdf.showable(party.name), **NEXT_LINE)
    pdf.use_font(9)
    for row in _party_lines(pdf, party, with_contact):
        pdf.set_x(x)
        pdf.multi_cell(width, 4.5, pdf.showable(row), **NEXT_LINE)
    return pdf.get_y()


def _header(pdf: _InvoicePDF, doc: InvoiceDocument) -> None:
    labels = pdf.labels
    top = pdf.get_y()
    left_end = _block(pdf, MARGIN, 92, None, doc.seller, with_contact=False)

    right_x, label_w, value_w = 116.0, 32.0, pdf.w - MARGIN - 116.0 - 32.0
    pdf.set_xy(right_x, top)
    pdf.use_font(20, bold=True)
    pdf.cell(label_w + value_w, 9, pdf.showable(labels["title"]), align=Align.R, **NEXT_LINE)
    pdf.ln(2)
    facts = [
        (labels["invoice_number"], doc.invoice_number),
        (labels["issue_date"], format_date(doc.issue_date, doc.language)),
        (labels["due_date"], format_date(doc.due_date, doc.language)),
        (labels["order_number"], doc.order_number),
        (labels["payment_reference"], doc.payment_reference),
    ]
    for label, value in facts:
        y = pdf.get_y()
        pdf.set_xy(right_x, y)
        pdf.use_font(8.5, colour=GREY)
        pdf.multi_cell(label_w, 4.8, pdf.showable(label), **NEXT_LINE)
        label_end = pdf.get_y()
        pdf.set_xy(right_x + label_w, y)
        pdf.use_font(9, bold=True)
        pdf.multi_cell(value_w, 4.8, pdf.showable(value), align=Align.R, **NEXT_LINE)
        pdf.set_y(max(label_end, pdf.get_y()))
    pdf.set_y(max(left_end, pdf.get_y()) + 8)


def _buyer(pdf: _InvoicePDF, doc: InvoiceDocument) -> None:
    end = _block(pdf, MARGIN, 100, pdf.labels["bill_to"], doc.buyer, with_contact=True)
    pdf.set_y(end + 8)


def _lines_table(pdf: _InvoicePDF, doc: InvoiceDocument) -> None:
    labels, lang = pdf.labels, doc.language
    pdf.use_font(8, colour=GREY)
    pdf.cell(0, 5, pdf.showable(labels["amounts_in"].format(currency=doc.currency)), **NEXT_LINE)
    pdf.use_font(9)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    heading = [labels[k] for k in ("description", "qty", "unit_price", "net", "vat", "gross")]
    with pdf.table(
        col_widths=COL_WIDTHS,
        width=sum(COL_WIDTHS),
        align=Align.L,
        text_align=(Align.L, Align.R, Align.R, Align.R, Align.R, Align.R),
        v_align="TOP",
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", fill_color=HEADING_FILL),
        line_height=4.6,
        padding=(1.4, 1.5),
        repeat_headings=1,
    ) as table:
        row = table.row()
        for text in heading:
            row.cell(pdf.showable(text))
        for line in doc.lines:
            row = table.row()
            row.cell(pdf.showable(line.description))
            row.cell(str(line.quantity))
            for amount in (line.unit_net, line.net, line.vat, line.gross):
                row.cell(pdf.showable(format_amount(amount, lang)))
    pdf.ln(4)


def _keep_together(pdf: _InvoicePDF, height: float) -> None:
    """Start a new page unless `height` mm still fit above the footer."""
    if pdf.get_y() + height > pdf.h - FOOTER_SPACE:
        pdf.add_page()


def _totals(pdf: _InvoicePDF, doc: InvoiceDocument) -> None:
    labels, lang, cur = pdf.labels, doc.language, doc.currency
    rows = [
        (labels["net_total"], format_money(doc.net, cur, lang)),
        (labels["vat_total"].format(rate=format_vat_rate(doc.vat_rate_bp, lang)), format_money(doc.vat, cur, lang)),
        (labels["gross_total"], format_money(doc.gross, cur, lang)),
    ]
    _keep_together(pdf, 6 * len(rows) + 10)
    label_w, value_w = 50.0, 42.0
    x = pdf.w - MARGIN - label_w - value_w
    for label, value in rows:
        pdf.set_x(x)
        pdf.use_font(9.5)
        pdf.cell(label_w, 6, pdf.showable(label))
        pdf.cell(value_w, 6, pdf.showable(value), align=Align.R, **NEXT_LINE)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.4)
    y = pdf.get_y() + 1
    pdf.line(x, y, pdf.w - MARGIN, y)
    pdf.set_y(y + 1.5)
    pdf.set_x(x)
    pdf.use_font(11.5, bold=True)
    pdf.cell(label_w, 7, pdf.showable(labels["amount_due"]))
    pdf.cell(value_w, 7, pdf.showable(format_money(doc.amount_due, cur, lang)), align=Align.R, **NEXT_LINE)
    pdf.set_line_width(0.2)
    pdf.ln(8)


def _payment(pdf: _InvoicePDF, doc: InvoiceDocument) -> None:
    labels, lang = pdf.labels, doc.language
    _keep_together(pdf, 30 + 4.8 * len(doc.payment_instructions))
    width = pdf.w - 2 * MARGIN
    pdf.use_font(8, bold=True, colour=GREY)
    pdf.cell(0, 5, pdf.showable(labels["payment"]), **NEXT_LINE)
    pdf.use_font(9)
    facts = [
        (labels["due_date"], format_date(doc.due_date, lang)),
        (labels["payment_reference"], doc.payment_reference),
    ]
    for label, value in facts:
        pdf.use_font(9)
        pdf.cell(40, 5, pdf.showable(label))
        pdf.use_font(9, bold=True)
        pdf.cell(0, 5, pdf.showable(value), **NEXT_LINE)
    pdf.use_font(9)
    for instruction in doc.payment_instructions:
        pdf.multi_cell(width, 4.8, pdf.showable(instruction), **NEXT_LINE)
    pdf.ln(2)
    amount = format_money(doc.amount_due, doc.currency, lang)
    text = labels["pay_by"].format(amount=amount, due=format_date(doc.due_date, lang), ref=doc.payment_reference)
    pdf.multi_cell(width, 4.8, pdf.showable(text), **NEXT_LINE)
    if doc.note:
        pdf.ln(4)
        pdf.use_font(8, bold=True, colour=GREY)
        pdf.cell(0, 5, pdf.showable(labels["note"]), **NEXT_LINE)
        pdf.use_font(9)
        pdf.multi_cell(width, 4.8, pdf.showable(doc.note), **NEXT_LINE)
