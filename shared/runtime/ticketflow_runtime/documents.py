"""Printable PDFs' common parts: the Unicode font, its Latin-1 fallback, and QR codes.

Text is DejaVu Sans (Debian's fonts-dejavu-core, in every service image) so
"Åsa Öberg" or "Łukasz" come out as written; without it, the PDF core font
Helvetica, which only has Latin-1, with a warning. QR codes are drawn as
vector squares, sharp at any printer's resolution.

Nothing here reads the clock: a renderer that takes its creation date from its
input gives the same bytes for the same input.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import segno
from fpdf import FPDF

from .font_cache import ParsedFont, parsed_font

log = logging.getLogger(__name__)

# Debian/Ubuntu (fonts-dejavu-core), Fedora, Alpine, Arch, and a local install.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
             Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts"))
QUIET_ZONE = 4  # modules: the blank margin scanners need around a QR code


@lru_cache(maxsize=64)
def make_qr(payload: str) -> segno.QRCode:
    """The payload's QR code, encoded once for an email's PNG and its ticket PDF (codes are only read)."""
    # Level M exactly (no boosting), a full QR code (not Micro QR), whatever the payload's length.
    return segno.make(payload, error="m", boost_error=False, micro=False)


@lru_cache(maxsize=4)
def find_dejavu_sans(font_dirs: tuple[Path, ...] = FONT_DIRS) -> tuple[Path, Path] | None:
    """The regular and bold DejaVu Sans files in the first of `font_dirs` that has
    both, or None (with a warning, once) when none has."""
    for directory in font_dirs:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    log.warning("no DejaVu Sans font in %s: PDFs fall back to Helvetica, which only shows Latin-1 "
                "(install Debian's fonts-dejavu-core)", ", ".join(map(str, font_dirs)))
    return None


def latin1(text: str) -> str:
    """For the core fonts: Latin-1 kept, other letters without their accents ("Ł" -> "?", "ő" -> "o")."""
    out = []
    for ch in text:
        if ord(ch) > 0xFF:
            ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            ch = ch if ch and all(ord(c) <= 0xFF for c in ch) else "?"
        out.append(ch)
    return "".join(out)


class DocumentPDF(FPDF):
    """A portrait PDF in millimetres, set in DejaVu Sans (regular and bold) when
    there is one in `font_dirs` (FONT_DIRS), else in Helvetica. Its pages are laid
    out by hand, so there are no automatic page breaks."""

    def __init__(self, page_format: str | tuple[float, float], *, margin: float,
                 font_dirs: tuple[Path, ...] | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format=page_format)
        fonts = find_dejavu_sans(FONT_DIRS if font_dirs is None else font_dirs)
        self.family = "dejavu" if fonts else "helvetica"
        self._parsed_fonts: dict[str, ParsedFont] = {}
        if fonts:
            self._add_parsed_font("", fonts[0])
            self._add_parsed_font("B", fonts[1])
        self.set_margins(margin, margin, margin)
        self.set_auto_page_break(False)

    def finish(self, *, created_at: datetime, title: str, language: str) -> bytes:
        """The document's bytes, dated by its content (not the clock): the same content, the same bytes."""
        self.set_creation_date(created_at.astimezone(UTC).replace(microsecond=0))
        self.set_title(self.showable(title))
        self.set_creator("ticketflow")
        self.set_lang(language)
        for key, parsed in self._parsed_fonts.items():
            parsed.prepare_output(self.fonts[key])
        return bytes(self.output())

    def _add_parsed_font(self, style: str, path: Path) -> None:
        """As ``add_font``, but from a font parsed once per process (font_cache)."""
        key, parsed = f"{self.family}{style}", parsed_font(path, style)
        self.fonts[key] = parsed.for_document(key, index=len(self.fonts) + 1)
        self._parsed_fonts[key] = parsed

    def showable(self, text: str) -> str:
        """The text as the current family can show it."""
        return text if self.family == "dejavu" else latin1(text)

    def use_font(self, size: float, *, bold: bool = False, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def qr_code(self, payload: str, centre_x: float, y: float, symbol_mm: float) -> float:
        """The payload's QR code, `symbol_mm` across without its quiet zone (left blank
        on the white page), centred on centre_x below y; returns its total size in mm."""
        matrix = make_qr(payload).matrix
        module = symbol_mm / len(matrix)
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
