"""Printable name badges: one A6 portrait page per ticket, for badge-holder inserts.

Pure: no I/O besides reading a font file, and the same badges always give the
same bytes (the PDF's creation date is the caller's `created_at`, not the clock).

A badge is read at a distance, so the name is as large as fits: it shrinks to
stay on one line, and only a name too long even at the smallest size wraps (to
two lines at most, then cut with "…"). Every part has a bounded height, so the
ticket type band and the QR code are at the same place on every badge. The QR
code carries the ticket's current payload, so it scans at the gate like the
ticket itself; 45 mm across without its quiet zone, drawn by
`ticketflow_runtime.documents` as on the tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from ticketflow_runtime.documents import DocumentPDF

Language = Literal["en", "sv"]
PAGE = (105.0, 148.0)  # A6 portrait, mm; fpdf2 has no name for it
MARGIN = 7.0  # mm
QR_SYMBOL_MM = 45.0  # the symbol without its quiet zone, as large as the page leaves room for
PT = 25.4 / 72  # mm per point
LEADING = 1.2  # line height per font size
BLACK, GREY, WHITE, BAND = (0, 0, 0), (95, 95, 95), (255, 255, 255), (30, 30, 30)
EVENT_Y, NAME_TOP, BAND_Y, BAND_H, QR_Y = 9.0, 17.0, 49.0, 10.0, 62.0  # mm from the top

LABELS: dict[str, dict[str, str]] = {
    "en": {"guest": "Guest", "badge": "Badge", "badges": "Badges"},
    "sv": {"guest": "Gäst", "badge": "Namnbricka", "badges": "Namnbrickor"},
}


@dataclass(frozen=True)
class Badge:
    holder_name: str | None  # None (an unassigned ticket): the badge says "Guest"
    holder_company: str | None
    ticket_type: str
    ticket_number: str
    qr_payload: str | None  # the ticket's current QR content; None: no code on the badge
    event_name: str | None
    language: Language = "en"

    def __post_init__(self) -> None:
        if self.language not in LABELS:
            raise ValueError(f"language must be one of {tuple(LABELS)}, not {self.language!r}")
        for name in ("ticket_number", "ticket_type"):
            if not getattr(self, name).strip():
                raise ValueError(f"a badge needs a {name}")
        if self.qr_payload is not None and not self.qr_payload.strip():
            raise ValueError("qr_payload is None for no code, never blank")


class _BadgePDF(DocumentPDF):
    def __init__(self) -> None:
        super().__init__(PAGE, margin=MARGIN)

    def fit(self, text: str, largest: float, smallest: float, *, max_lines: int,
            bold: bool = False) -> tuple[float, list[str]]:
        """The largest size (in half points) at which the text fits on one line across the
        page, else `smallest` and the text wrapped into at most max_lines."""
        text, room = self.showable(" ".join(text.split())), self.w - 2 * MARGIN - 2 * self.c_margin
        self.use_font(largest, bold=bold)
        width = self.get_string_width(text)
        size = max(smallest, min(largest, int(largest * room / width * 2) / 2)) if width else largest
        self.use_font(size, bold=bold)
        lines = self.multi_cell(self.w - 2 * MARGIN, text=text, dry_run=True, output=MethodReturnValue.LINES)
        if len(lines) > max_lines:
            lines, last, ellipsis = lines[:max_lines - 1], lines[max_lines - 1], self.showable("…")
            while last and self.get_string_width(last.rstrip() + ellipsis) > room:
                last = last[:-1]
            lines.append(last.rstrip() + ellipsis)
        return size, lines

    def draw(self, y: float, size: float, lines: list[str], *, bold: bool = False,
             colour: tuple[int, int, int] = BLACK) -> None:
        """Fitted lines centred across the page below y."""
        self.use_font(size, bold=bold, colour=colour)
        self.set_y(y)
        self.multi_cell(self.w - 2 * MARGIN, size * PT * LEADING, "\n".join(lines), align=Align.C,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def badge_page(self, badge: Badge) -> None:
        self.add_page()
        if badge.event_name and badge.event_name.strip():
            self.draw(EVENT_Y, *self.fit(badge.event_name, 10, 8, max_lines=2), colour=GREY)

        # The name, and the company no larger than it, centred between the event name and the band.
        holder = badge.holder_name if badge.holder_name and badge.holder_name.strip() else None
        name_size, name = self.fit(holder or LABELS[badge.language]["guest"], 26, 11, max_lines=2, bold=True)
        company_size, company = 0.0, []
        if badge.holder_company and badge.holder_company.strip():
            company_size, company = self.fit(badge.holder_company, min(14, name_size), 9, max_lines=2)
        name_h, company_h = len(name) * name_size * PT * LEADING, len(company) * company_size * PT * LEADING
        y = NAME_TOP + (BAND_Y - 3 - NAME_TOP - name_h - company_h - (1.5 if company else 0)) / 2
        self.draw(y, name_size, name, bold=True)
        if company:
            self.draw(y + name_h + 1.5, company_size, company)

        # The ticket type in white on a dark band across the page, for the door staff to see from afar.
        self.set_fill_color(*BAND)
        self.rect(0, BAND_Y, self.w, BAND_H, "F")
        size, [ticket_type] = self.fit(badge.ticket_type, 13, 8, max_lines=1, bold=True)
        self.use_font(size, bold=True, colour=WHITE)
        self.set_xy(MARGIN, BAND_Y)
        self.cell(self.w - 2 * MARGIN, BAND_H, ticket_type, align=Align.C)

        y = QR_Y
        if badge.qr_payload is not None:
            y += self.qr_code(badge.qr_payload, self.w / 2, QR_Y, QR_SYMBOL_MM)
        self.draw(y + 0.5, *self.fit(badge.ticket_number, 12, 8, max_lines=1), colour=GREY)


def badges_pdf(badges: Sequence[Badge], *, created_at: datetime) -> bytes:
    """The badges as one PDF, one A6 page each, in the given order; same badges and
    created_at (timezone-aware), same bytes."""
    if not badges:
        raise ValueError("no badges to print")
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    pdf = _BadgePDF()
    first = badges[0]
    labels = LABELS[first.language]
    for badge in badges:
        pdf.badge_page(badge)
    if len(badges) == 1:
        title = f"{labels['badge']} {first.ticket_number}"
    else:
        title = f"{labels['badges']}: {first.event_name}" if first.event_name else labels["badges"]
    return pdf.finish(created_at=created_at, title=title, language=first.language)
