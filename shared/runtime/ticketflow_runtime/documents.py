"""Printable PDFs' common parts: the Unicode font, its Latin-1 fallback, and QR codes.

Text is DejaVu Sans (Debian's fonts-dejavu-core, in every service image) so
"Åsa Öberg" or "Łukasz" come out as written; without it, the PDF core font
Helvetica, which only has Latin-1, with a warning. QR codes are encoded by
zxing-cpp (its C++ encoder takes a fraction of a millisecond where a pure-Python
one takes several) and drawn as vector squares, sharp at any printer's resolution.

Nothing here reads the clock: a renderer that takes its creation date from its
input gives the same bytes for the same input.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import zxingcpp
from fpdf import FPDF

from .font_cache import CachedFontsOutput, ParsedFont, parsed_font

log = logging.getLogger(__name__)

# Debian/Ubuntu (fonts-dejavu-core), Fedora, Alpine, Arch, and a local install.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
             Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts"))
QUIET_ZONE = 4  # modules: the blank margin scanners need around a QR code


DARK_RUN = re.compile(rb"\x00+")


@dataclass(frozen=True)
class QRSymbol:
    """A QR code's modules, without its quiet zone: ``size`` by ``size`` bytes row by row,
    0 dark and 255 light (a greyscale image's pixels), and the horizontal runs of dark
    modules as (row, column, length), the rectangles that draw it."""

    size: int
    pixels: bytes
    dark_runs: tuple[tuple[int, int, int], ...]


@lru_cache(maxsize=64)
def make_qr(payload: str) -> QRSymbol:
    """The payload's QR code, encoded once for an email's PNG and its ticket PDF."""
    # A full QR code (not Micro QR), level M, the smallest version that holds the payload and
    # the mask with the lowest penalty, as the standard chooses it.
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    size, pixels = image.shape[0], bytes(memoryview(image))
    runs = tuple((row, found.start() - row * size, found.end() - found.start())
                 for row in range(size) for found in DARK_RUN.finditer(pixels, row * size, (row + 1) * size))
    return QRSymbol(size=size, pixels=pixels, dark_runs=runs)


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
        self.parsed_fonts: dict[str, ParsedFont] = {}  # by font key; CachedFontsOutput embeds them
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
        return bytes(self.output(output_producer_class=CachedFontsOutput))

    def _add_parsed_font(self, style: str, path: Path) -> None:
        """As ``add_font``, but from a font parsed once per process (font_cache)."""
        key, parsed = f"{self.family}{style}", parsed_font(path, style)
        self.fonts[key] = parsed.for_document(key, index=len(self.fonts) + 1)
        self.parsed_fonts[key] = parsed

    def showable(self, text: str) -> str:
        """The text as the current family can show it."""
        return text if self.family == "dejavu" else latin1(text)

    def use_font(self, size: float, *, bold: bool = False, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def qr_code(self, payload: str, centre_x: float, y: float, symbol_mm: float) -> float:
        """The payload's QR code, `symbol_mm` across without its quiet zone (left blank
        on the white page), centred on centre_x below y; returns its total size in mm."""
        symbol = make_qr(payload)
        module = symbol_mm / symbol.size
        total = module * (symbol.size + 2 * QUIET_ZONE)
        left, top = centre_x - total / 2 + QUIET_ZONE * module, y + QUIET_ZONE * module
        # One path of a rectangle per run of dark modules, filled black, written as PDF operators
        # (in points, y upwards): drawn through rect() it would take a call per run, ten times longer.
        k, page_height, height = self.k, self.h, module * self.k
        rectangles = "\n".join(
            f"{(left + c * module) * k:.2f} {(page_height - top - r * module) * k:.2f} {n * module * k:.2f} "
            f"{-height:.2f} re" for r, c, n in symbol.dark_runs)
        self._out(f"q 0 g\n{rectangles}\nf Q")
        return total
