"""Documents set in fonts parsed once per process look exactly as fpdf2 makes them from the font files."""

import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools import ttLib
from PIL import Image, ImageChops
from pypdf import PdfReader

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


def raster(data: bytes, tmp_path: Path, name: str) -> Image.Image:
    (tmp_path / f"{name}.pdf").write_bytes(data)
    subprocess.run([shutil.which("pdftoppm"), "-r", "100", "-png", "-singlefile", str(tmp_path / f"{name}.pdf"),
                    str(tmp_path / name)], check=True, timeout=60)
    return Image.open(tmp_path / f"{name}.png").convert("RGB")


def embedded_characters(data: bytes) -> list[set[str]]:
    """The characters each font program embedded in the PDF has glyphs for."""
    found = []
    for font in PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        program = ttLib.TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        found.append({chr(code) for code in program.getBestCmap()})
    return found


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
@pytest.mark.parametrize("text", TEXTS)
def test_same_pages_and_text_as_fpdf2_parsing_the_font_files(text: str, tmp_path: Path) -> None:
    # Rendered in turn, so each document shows that none before it changed the shared fonts.
    for earlier in TEXTS:
        render(DocumentPDF, earlier)
    cached, reference = render(DocumentPDF, text), render(FontFilesPDF, text)
    assert ImageChops.difference(raster(cached, tmp_path, "cached"), raster(reference, tmp_path, "reference")
                                 ).getbbox() is None
    assert [page.extract_text() for page in PdfReader(io.BytesIO(cached)).pages] == \
        [page.extract_text() for page in PdfReader(io.BytesIO(reference)).pages]


def test_the_embedded_fonts_hold_the_glyphs_used_and_all_of_ascii() -> None:
    # Ticket numbers differ from one document to the next: with ASCII always in, their font programs are reused.
    used = set("Ωμέγα Жук")
    for embedded in embedded_characters(render(DocumentPDF, "Ωμέγα Жук")):
        assert used | {chr(code) for code in range(0x20, 0x7F)} <= embedded
        assert "Ж" in embedded and "é" not in embedded
    first, second = render(DocumentPDF, "Ticket TF-7K2M-9QXD"), render(DocumentPDF, "Ticket TF-AAAA-0001")
    assert embedded_characters(first) == embedded_characters(second)


def test_documents_rendered_at_once_stay_independent() -> None:
    expected = [render(DocumentPDF, text) for text in TEXTS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda t: render(DocumentPDF, t), TEXTS * 4)) == expected * 4
