"""The ticket as people get it: its QR code as SVG and PNG, and the printable ticket PDF.

Shared by assignment (My Tickets) and notifications (the ticket attached to its email),
so a ticket looks the same wherever it comes from.

Pure: no I/O besides reading a font file, and the same input always gives the
same bytes (the PDF's creation date comes from the event's start, not the clock).

The PDF is A4 portrait, one ticket per page as a framed card at the top: buyers
print at home on A4, and a page of the paper's size prints at 100 % (an A6 page
gets scaled by "fit to page", and its QR code with it). The QR code is drawn as
vector squares, 50 mm across without its quiet zone, sharp at any resolution.
Text is DejaVu Sans so "Åsa Öberg" or "Łukasz" come out as written; without it,
Helvetica (Latin-1 only) with a warning (both, and the QR drawing, from
`ticketflow_runtime.documents`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from xml.sax.saxutils import escape

from fpdf.enums import Align, XPos, YPos
from PIL import Image

from .documents import FONT_DIRS, QUIET_ZONE, DocumentPDF, find_dejavu_sans, make_qr

__all__ = ["FONT_DIRS", "TicketDocument", "find_dejavu_sans", "format_starts_at", "qr_png", "qr_svg",
           "render_ticket_pdf", "render_tickets_pdf"]

Language = Literal["en", "sv"]
QR_SYMBOL_MM = 50.0  # the symbol without its quiet zone; scanners want >= 45 mm from paper
MARGIN, PAD, QR_COLUMN = 18.0, 7.0, 70.0  # mm
GREY, RULE = (95, 95, 95), (170, 170, 170)
NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

LABELS: dict[str, dict[str, str]] = {
    "en": {"ticket": "Ticket", "order": "Order", "type": "Ticket type", "holder": "Name", "company": "Company",
           "number": "Ticket number",
           "note": "This ticket is personal. If it is given to someone else, this code stops working."},
    "sv": {"ticket": "Biljett", "order": "Order", "type": "Biljettyp", "holder": "Namn", "company": "Företag",
           "number": "Biljettnummer",
           "note": "Biljetten är personlig. Om den ges till någon annan slutar koden att fungera."},
}
MONTHS = {"en": "January February March April May June July August September October November December".split(),
          "sv": "januari februari mars april maj juni juli augusti september oktober november december".split()}


def qr_svg(payload: str, *, scale: int = 8, title: str | None = None) -> str:
    """A self-contained SVG of the payload's QR code: width/height of `scale`
    px per module, and a viewBox so CSS can scale it to a phone's width."""
    symbol = make_qr(payload)
    size = (symbol.size + 2 * QUIET_ZONE) * scale
    modules = "".join(f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{n}v1h-{n}z" for r, c, n in symbol.dark_runs)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
            f'role="img"><title>{escape(title or "QR code")}</title><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path transform="scale({scale})" shape-rendering="crispEdges" fill="#000" d="{modules}"/></svg>')


def qr_png(payload: str, *, scale: int = 10) -> bytes:
    """The payload's QR code as a black-and-white PNG, `scale` px per module, quiet zone included."""
    symbol = make_qr(payload)
    modules = Image.frombytes("L", (symbol.size, symbol.size), symbol.pixels)
    side = symbol.size + 2 * QUIET_ZONE
    image = Image.new("L", (side, side), 255)
    image.paste(modules, (QUIET_ZONE, QUIET_ZONE))
    buffer = io.BytesIO()
    image.resize((side * scale, side * scale), Image.Resampling.NEAREST).convert("1").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class TicketDocument:
    ticket_number: str
    ticket_type: str
    holder_name: str | None
    holder_company: str | None
    event_name: str
    event_starts_at: datetime  # aware; shown in its own zone, so pass it in the venue's zone
    event_venue: str | None
    qr_payload: str
    order_number: str | None = None
    language: Language = "en"

    def __post_init__(self) -> None:
        if self.language not in LABELS:
            raise ValueError(f"language must be one of {tuple(LABELS)}, not {self.language!r}")
        if self.event_starts_at.tzinfo is None or self.event_starts_at.utcoffset() is None:
            raise ValueError("event_starts_at must be timezone-aware")
        for name in ("ticket_number", "ticket_type", "event_name", "qr_payload"):
            if not getattr(self, name).strip():
                raise ValueError(f"a ticket document needs a {name}")


def format_day(value: date, language: Language) -> str:
    """"14 March 2026" (en), "14 mars 2026" (sv)."""
    return f"{value.day} {MONTHS[language][value.month - 1]} {value.year}"


def format_starts_at(value: datetime, language: Language) -> str:
    """"14 March 2026, 19:00 CET" (en), "14 mars 2026 kl. 19.00 CET" (sv)."""
    day = format_day(value, language)
    zone = f" {value.tzname()}" if value.tzname() else ""
    if language == "sv":
        return f"{day} kl. {value:%H.%M}{zone}"
    return f"{day}, {value:%H:%M}{zone}"


class _TicketPDF(DocumentPDF):
    def __init__(self) -> None:
        # This module's FONT_DIRS, looked up now, so it can be pointed elsewhere.
        super().__init__("A4", margin=MARGIN, font_dirs=FONT_DIRS)

    def text_row(self, x: float, width: float, height: float, text: str, size: float, *, bold: bool = False,
                 colour: tuple[int, int, int] = (0, 0, 0), align: Align = Align.L) -> None:
        self.use_font(size, bold=bold, colour=colour)
        self.set_x(x)
        text = self.showable(text)
        if self.get_string_width(text) <= width - 2 * self.c_margin:  # one line: cell() is the cheaper layout
            self.cell(width, height, text, align=align, **NEXT_LINE)
        else:
            self.multi_cell(width, height, text, align=align, **NEXT_LINE)

    def ticket_page(self, t: TicketDocument) -> None:
        labels = LABELS[t.language]
        self.add_page()
        top, width = MARGIN, self.w - 2 * MARGIN
        left, left_w = MARGIN + PAD, width - 2 * PAD - QR_COLUMN - 4
        self.set_y(top + PAD)
        header = f"{labels['ticket']} · {labels['order']} {t.order_number}" if t.order_number else labels["ticket"]
        self.text_row(left, left_w, 5, header, 9, colour=GREY)
        self.ln(2)
        self.text_row(left, left_w, 10, t.event_name, 22, bold=True)
        self.ln(1)
        self.text_row(left, left_w, 6, format_starts_at(t.event_starts_at, t.language), 12)
        if t.event_venue:
            self.text_row(left, left_w, 6, t.event_venue, 12)
        self.ln(5)
        for label, value in ((labels["type"], t.ticket_type), (labels["holder"], t.holder_name),
                             (labels["company"], t.holder_company)):
            if value:
                self.text_row(left, left_w, 4.5, label, 8.5, colour=GREY)
                self.text_row(left, left_w, 7, value, 14, bold=True)
                self.ln(2)
        info_end = self.get_y()

        qr_x = MARGIN + width - PAD - QR_COLUMN
        size = self.qr_code(t.qr_payload, qr_x + QR_COLUMN / 2, top + PAD, QR_SYMBOL_MM)
        self.set_y(top + PAD + size + 1)
        self.text_row(qr_x, QR_COLUMN, 4.5, labels["number"], 8.5, colour=GREY, align=Align.C)
        self.text_row(qr_x, QR_COLUMN, 7, t.ticket_number, 14, bold=True, align=Align.C)

        self.set_y(max(info_end, self.get_y()) + 4)
        self.set_draw_color(*RULE)
        self.line(left, self.get_y(), MARGIN + width - PAD, self.get_y())
        self.ln(3)
        self.text_row(left, width - 2 * PAD, 5, labels["note"], 10)
        bottom = self.get_y() + PAD - 2
        self.set_line_width(0.3)
        self.rect(MARGIN, top, width, bottom - top)


def render_tickets_pdf(tickets: list[TicketDocument]) -> bytes:
    """All the tickets (an order's, say) as one A4 PDF, one ticket per page; same tickets, same bytes."""
    if not tickets:
        raise ValueError("no tickets to render")
    pdf = _TicketPDF()
    first = tickets[0]
    labels = LABELS[first.language]
    for ticket in tickets:
        pdf.ticket_page(ticket)
    title = f"{labels['ticket']} {first.ticket_number}" if len(tickets) == 1 else first.event_name
    return pdf.finish(created_at=min(t.event_starts_at for t in tickets), title=title, language=first.language)


def render_ticket_pdf(ticket: TicketDocument) -> bytes:
    """One ticket as a one-page A4 PDF."""
    return render_tickets_pdf([ticket])
