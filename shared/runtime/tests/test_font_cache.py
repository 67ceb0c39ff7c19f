"""Documents set in fonts parsed once per process come out exactly as fpdf2 makes them from the font files."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticketflow_runtime.documents import DocumentPDF, find_dejavu_sans

FONTS = find_dejavu_sans()
pytestmark = pytest.mark.skipif(FONTS is None, reason="DejaVu Sans is not installed")

TEXTS = [
    "Ticket TF-7K2M-9QXD",
    "Łukasz Żółć, Åsa Öberg · Nordic Dev Days 2026",
    "Ωμέγα Жук",  # beyond the common letters: the full font
    "Ticket TF-7K2M-9QXD",  # the same again, after the full font was subset
    "€ 1 234,50 – “quoted” … Nguyễn",
]


class FontFilesPDF(DocumentPDF):
    """The reference: fpdf2's own add_font, parsing the files for this document."""

    def _add_parsed_font(self, style: str, path: Path) -> None:
        self.add_font(self.family, style, path)


def render(pdf_class: type[DocumentPDF], text: str) -> bytes:
    pdf = pdf_class("A4", margin=18)
    pdf.add_page()
    pdf.use_font(12)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.use_font(14, bold=True)
    pdf.multi_cell(0, 7, text[::-1], new_x="LMARGIN", new_y="NEXT")
    return pdf.finish(created_at=datetime(2026, 5, 20, tzinfo=UTC), title=text, language="en")


@pytest.mark.parametrize("text", TEXTS)
def test_same_bytes_as_fpdf2_parsing_the_font_files(text: str) -> None:
    # Rendered in turn, so each document shows that none before it changed the shared fonts.
    for earlier in TEXTS:
        render(DocumentPDF, earlier)
    assert render(DocumentPDF, text) == render(FontFilesPDF, text)


def test_documents_rendered_at_once_stay_independent() -> None:
    expected = [render(FontFilesPDF, text) for text in TEXTS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda t: render(DocumentPDF, t), TEXTS * 4)) == expected * 4
