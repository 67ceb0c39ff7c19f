import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from ticketflow_runtime import ticket_pdf
from ticketflow_runtime.ticket_pdf import TicketDocument, qr_png, qr_svg, render_ticket_pdf, render_tickets_pdf

# The shape of a real payload: 119 characters of base64url (see ticketflow_schemas.qr).
PAYLOAD = "AQ" + "x7Kp-Qz_3mN8vRt2WbYc" * 5 + "Lh9sDfGjA0eUoP1iX"
SVG_NS = "{http://www.w3.org/2000/svg}"
PDFTOPPM = Path("/usr/bin/pdftoppm")


def ticket(**changes) -> TicketDocument:
    values = dict(
        ticket_number="TF-7K2M-9QXD", ticket_type="Konferenspass", holder_name="Åsa Öberg",
        holder_company="Łukasz & Zoë AB", event_name="Nordic Dev Days 2026",
        event_starts_at=datetime(2026, 5, 20, 9, 0, tzinfo=ZoneInfo("Europe/Stockholm")),
        event_venue="Stockholmsmässan, Älvsjö", qr_payload=PAYLOAD, order_number="TF-O-1001", language="sv",
    )
    return TicketDocument(**{**values, **changes})


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def pdf_text(data: bytes) -> list[str]:
    """Each page's text, runs of whitespace (line breaks in wrapped text) as one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_png_decodes_back_to_the_payload() -> None:
    image = Image.open(io.BytesIO(qr_png(PAYLOAD)))
    assert image.format == "PNG"
    assert decode(image) == [PAYLOAD]


def test_svg_is_well_formed_scalable_and_titled() -> None:
    svg = qr_svg(PAYLOAD, scale=4, title="QR code of ticket TF-7K2M-9QXD & <Åsa>")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert root.find(f"{SVG_NS}title").text == "QR code of ticket TF-7K2M-9QXD & <Åsa>"
    x, y, w, h = map(float, root.get("viewBox").split())
    assert (x, y) == (0, 0) and w == h == float(root.get("width")) == float(root.get("height"))
    assert w % 4 == 0  # scale px per module, quiet zone included
    assert float(ET.fromstring(qr_svg(PAYLOAD)).get("width")) == w * 2  # default scale 8


def test_pdf_text_shows_the_ticket() -> None:
    [text] = pdf_text(render_ticket_pdf(ticket()))
    for expected in ("Nordic Dev Days 2026", "Åsa Öberg", "Łukasz & Zoë AB", "TF-7K2M-9QXD", "Konferenspass",
                     "Stockholmsmässan, Älvsjö", "20 maj 2026 kl. 09.00", "Biljetten är personlig"):
        assert expected in text


def test_english_pdf_has_the_english_note() -> None:
    [text] = pdf_text(render_ticket_pdf(ticket(language="en", holder_name="Zoë", holder_company=None)))
    assert "This ticket is personal. If it is given to someone else, this code stops working." in text
    assert "20 May 2026, 09:00" in text and "Zoë" in text


def test_multi_ticket_pdf_has_one_page_per_ticket() -> None:
    tickets = [ticket(ticket_number=f"TF-AAAA-000{i}", holder_name=name)
               for i, name in enumerate(["Åsa Öberg", "Zoë", "Łukasz"])]
    pages = pdf_text(render_tickets_pdf(tickets))
    assert len(pages) == 3
    for page, t in zip(pages, tickets, strict=True):
        assert t.ticket_number in page and t.holder_name in page


def test_same_input_same_bytes() -> None:
    assert render_ticket_pdf(ticket()) == render_ticket_pdf(ticket())
    assert render_tickets_pdf([ticket(), ticket()]) == render_tickets_pdf([ticket(), ticket()])
    assert qr_png(PAYLOAD) == qr_png(PAYLOAD) and qr_svg(PAYLOAD) == qr_svg(PAYLOAD)
    assert render_ticket_pdf(ticket()) != render_ticket_pdf(ticket(ticket_number="TF-7K2M-9QXE"))


def test_without_dejavu_it_falls_back_to_helvetica_with_a_warning(monkeypatch, caplog) -> None:
    monkeypatch.setattr(ticket_pdf, "FONT_DIRS", ())
    ticket_pdf.find_dejavu_sans.cache_clear()
    try:
        [text] = pdf_text(render_ticket_pdf(ticket()))
    finally:
        ticket_pdf.find_dejavu_sans.cache_clear()
    assert "fall back to Helvetica" in caplog.text
    assert "Åsa Öberg" in text and "?ukasz & Zoë AB" in text  # Latin-1 kept, the rest replaced


def test_a_naive_event_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ticket(event_starts_at=datetime(2026, 5, 20, 9, 0))


def test_qr_code_in_the_printed_pdf_scans(tmp_path: Path) -> None:
    if not (PDFTOPPM.is_file() or shutil.which("pdftoppm")):
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot rasterize the PDF to check its QR code")
    pdf = tmp_path / "ticket.pdf"
    pdf.write_bytes(render_tickets_pdf([ticket(), ticket(qr_payload="other-" + PAYLOAD[6:])]))
    subprocess.run([shutil.which("pdftoppm") or str(PDFTOPPM), "-r", "150", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    assert decode(Image.open(pages[0])) == [PAYLOAD]
    [found] = zxingcpp.read_barcodes(Image.open(pages[0]))
    width_mm = (found.position.top_right.x - found.position.top_left.x) / 150 * 25.4
    assert width_mm >= 45, f"the printed QR code is only {width_mm:.1f} mm wide"
    assert decode(Image.open(pages[1])) == ["other-" + PAYLOAD[6:]]
