"""My Tickets: a ticket's QR code as SVG and PNG, and the printable ticket PDF.

Pure: no I/O besides reading a font file, and the same input always gives the
same bytes (the PDF's creation date comes from the event's start, not the clock).

The PDF is A4 portrait, one ticket per page as a framed card at the top: buyers
print at home on A4, and a page of the paper's size prints at 100 % (an A6 page
gets scaled by "fit to page", and its QR code with it). The QR code is drawn as
vector squares, 50 mm across without its quiet zone, sharp at any resolution.
Text is DejaVu Sans so "Åsa Öberg" or "Łukasz" come out as written; without it,
Helvetica (Latin-1 only) with a warning, as `orders.invoice_pdf` does.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Literal

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

log = logging.getLogger(__name__)

Language = Literal["en", "sv"]
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
             Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts"))
QUIET_ZONE = 4  # modules
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


def _qr(payload: str) -> segno.QRCode:
    # Level M exactly (no boosting), a full QR code (not Micro QR), whatever the payload's length.
    return segno.make(payload, error="m", boost_error=False, micro=False)


def qr_svg(payload: str, *, scale: int = 8, title: str | None = None) -> str:
    """A self-contained SVG of the payload's QR code: width/height of `scale`
    px per module, and a viewBox so CSS can scale it to a phone's width."""
    code, buffer = _qr(payload), io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, dark="#000", light="#fff",
              title=title or "QR code", xmldecl=False, omitsize=True, svgclass=None, lineclass=None)
    size = code.symbol_size(scale=scale, border=QUIET_ZONE)[0]
    svg = buffer.getvalue().decode("utf-8")
    return svg.replace("<svg ", f'<svg width="{size}" height="{size}" role="img" ', 1)


def qr_png(payload: str, *, scale: int = 10) -> bytes:
    """The payload's QR code as a PNG, `scale` px per module, quiet zone included."""
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
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


def format_starts_at(value: datetime, language: Language) -> str:
    """"14 March 2026, 19:00 CET" (en), "14 mars 2026 kl. 19.00 CET" (sv)."""
    day = f"{value.day} {MONTHS[language][value.month - 1]} {value.year}"
    zone = f" {value.tzname()}" if value.tzname() else ""
    if language == "sv":
        return f"{day} kl. {value:%H.%M}{zone}"
    return f"{day}, {value:%H:%M}{zone}"


@lru_cache(maxsize=1)
def find_dejavu_sans() -> tuple[Path, Path] | None:
    """The regular and bold DejaVu Sans files, or None (with a warning) when there are none."""
    for directory in FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    log.warning("no DejaVu Sans font in %s: tickets fall back to Helvetica, which only shows Latin-1 "
                "(install Debian's fonts-dejavu-core)", ", ".join(map(str, FONT_DIRS)))
    return None


def _latin1(text: str) -> str:
    """For the core fonts: Latin-1 kept, other letters without their accents ("Ł" -> "?", "ő" -> "o")."""
    out = []
    for ch in text:
        if ord(ch) > 0xFF:
            ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            ch = ch if ch and all(ord(c) <= 0xFF for c in ch) else "?"
        out.append(ch)
    return "".join(out)


class _TicketPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        fonts = find_dejavu_sans()
        self.family = "dejavu" if fonts else "helvetica"
        if fonts:
            self.add_font(self.family, "", fonts[0])
            self.add_font(self.family, "B", fonts[1])
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)

    def text_row(self, x: float, width: float, height: float, text: str, size: float, *, bold: bool = False,
                 colour: tuple[int, int, int] = (0, 0, 0), align: Align = Align.L) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)
        self.set_x(x)
        self.multi_cell(width, height, text if self.family == "dejavu" else _latin1(text), align=align, **NEXT_LINE)

    def qr_code(self, payload: str, centre_x: float, y: float) -> float:
        """The QR code and its quiet zone (left blank on the white page), centred on centre_x below y; returns its total size in mm."""
        matrix = _qr(payload).matrix
        module = QR_SYMBOL_MM / len(matrix)
        total = module * (len(matrix) + 2 * QUIET_ZONE)
        x = centre_x - total / 2
        self.set_fill_color(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            for dark, run in groupby(row, key=lambda m: m & 1):  # one rectangle per run of dark modules
                n = len(list(run))
                if dark:
                    self.rect(x + (QUIET_ZONE + c) * module, y + (QUIET_ZONE + r) * module, n * module, module, "F")
                c += n
        return total

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
        size = self.qr_code(t.qr_payload, qr_x + QR_COLUMN / 2, top + PAD)
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
    pdf.set_creation_date(min(t.event_starts_at for t in tickets).astimezone(UTC).replace(microsecond=0))
    title = f"{labels['ticket']} {first.ticket_number}" if len(tickets) == 1 else first.event_name
    pdf.set_title(title if pdf.family == "dejavu" else _latin1(title))
    pdf.set_creator("ticketflow assignment")
    pdf.set_lang(first.language)
    for ticket in tickets:
        pdf.ticket_page(ticket)
    return bytes(pdf.output())


def render_ticket_pdf(ticket: TicketDocument) -> bytes:
    """One ticket as a one-page A4 PDF."""
    return render_tickets_pdf([ticket])
