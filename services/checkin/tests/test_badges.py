import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from ticketflow_runtime import documents

from checkin.badges import Badge, badges_pdf

# The shape of a real payload: 119 characters of base64url (see ticketflow_schemas.qr).
PAYLOAD = "AQ" + "x7Kp-Qz_3mN8vRt2WbYc" * 5 + "Lh9sDfGjA0eUoP1iX"
CREATED = datetime(2026, 5, 19, 18, 30, tzinfo=UTC)
A6_PT = (105 / 25.4 * 72, 148 / 25.4 * 72)
LONG_NAME = "Maria-Magdalena Johansson-Östergren"


def badge(**changes) -> Badge:
    values = dict(holder_name="Åsa Öberg", holder_company="Łukasz & Zoë AB", ticket_type="Konferenspass",
                  ticket_number="TF-7K2M-9QXD", qr_payload=PAYLOAD, event_name="Nordic Dev Days 2026")
    return Badge(**{**values, **changes})


def pages(data: bytes) -> list[str]:
    """Each page's text, runs of whitespace as one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def text_runs(data: bytes, page: int = 0) -> list[tuple[str, float]]:
    """The page's text as drawn: one (text, font size) per line."""
    runs: list[tuple[str, float]] = []
    PdfReader(io.BytesIO(data)).pages[page].extract_text(
        visitor_text=lambda text, cm, tm, font, size: runs.append((text, size)) if text.strip() else None)
    return runs


def filled_rectangles(data: bytes, page: int = 0) -> int:
    """Rectangles drawn on the page, alone ("re f") or in a path."""
    content = PdfReader(io.BytesIO(data)).pages[page].get_contents().get_data().decode("latin-1")
    return sum(line.endswith((" re f", " re")) for line in content.splitlines())


def dark_runs(payload: str) -> int:
    """Runs of dark modules in each row of the payload's QR code, as zxing-cpp encodes it."""
    image = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
        scale=1, add_quiet_zones=False)
    rows = bytes(memoryview(image))
    size = image.shape[0]
    return sum(len(re.findall(rb"\x00+", rows[r * size:(r + 1) * size])) for r in range(size))


def test_one_a6_page_per_badge_showing_who_and_what() -> None:
    batch = [badge(), badge(holder_name="Zoë Ångström", holder_company="Müller & Söhne", ticket_type="Speaker",
                            ticket_number="TF-AAAA-0001"),
             badge(holder_name="Łukasz Wiśniewski", holder_company=None, ticket_number="TF-AAAA-0002")]
    data = badges_pdf(batch, created_at=CREATED)
    texts = pages(data)
    assert len(texts) == 3
    for text, b in zip(texts, batch, strict=True):
        for expected in (b.holder_name, b.ticket_type, b.ticket_number, "Nordic Dev Days 2026"):
            assert expected in text
        assert b.holder_company is None or b.holder_company in text
    for page in PdfReader(io.BytesIO(data)).pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A6_PT, abs=0.01)


def test_a_long_name_shrinks_to_stay_on_one_line() -> None:
    data = badges_pdf([badge(holder_name=LONG_NAME), badge(holder_name="Bo Li")], created_at=CREATED)
    long_runs, short_runs = dict(text_runs(data, 0)), dict(text_runs(data, 1))
    assert 11 <= long_runs[LONG_NAME] < short_runs["Bo Li"] == 26
    assert long_runs["Łukasz & Zoë AB"] <= long_runs[LONG_NAME]  # the company is never larger than the name


def test_a_name_too_long_for_one_line_wraps_and_is_cut() -> None:
    name = " ".join(["Wolfeschlegelsteinhausenbergerdorff"] * 6)
    runs = text_runs(badges_pdf([badge(holder_name=name, holder_company=None)], created_at=CREATED))
    lines = [text for text, size in runs if "Wolfe" in text]
    assert len(lines) == 2 and lines[-1].endswith("…")


@pytest.mark.parametrize("holder_name", [None, "", "  "])
def test_an_unassigned_ticket_prints_guest(holder_name) -> None:
    [text] = pages(badges_pdf([badge(holder_name=holder_name, holder_company=None)], created_at=CREATED))
    assert "Guest" in text and "TF-7K2M-9QXD" in text
    [text] = pages(badges_pdf([badge(holder_name=holder_name, language="sv")], created_at=CREATED))
    assert "Gäst" in text


def test_same_input_same_bytes() -> None:
    batch = [badge(), badge(holder_name=None, qr_payload=None, event_name=None)]
    assert badges_pdf(batch, created_at=CREATED) == badges_pdf(list(batch), created_at=CREATED)
    assert badges_pdf(batch, created_at=CREATED) != badges_pdf(batch, created_at=CREATED + timedelta(seconds=1))
    assert badges_pdf(batch, created_at=CREATED) != badges_pdf(batch[::-1], created_at=CREATED)
    local = CREATED.astimezone(timezone(timedelta(hours=2)))  # the same instant, written in another zone
    assert badges_pdf(batch, created_at=local) == badges_pdf(batch, created_at=CREATED)
    assert PdfReader(io.BytesIO(badges_pdf(batch, created_at=CREATED))).metadata.creation_date == CREATED


def test_the_drawn_qr_code_is_the_encoded_symbol_and_absent_without_a_payload() -> None:
    # One filled rectangle per run of dark modules, plus the ticket type's band.
    data = badges_pdf([badge(), badge(qr_payload="short"), badge(qr_payload=None)], created_at=CREATED)
    assert filled_rectangles(data, 0) == dark_runs(PAYLOAD) + 1
    assert filled_rectangles(data, 1) == dark_runs("short") + 1
    assert filled_rectangles(data, 2) == 1
    assert "TF-7K2M-9QXD" in pages(data)[2]


def test_qr_code_in_the_printed_badge_scans(tmp_path: Path) -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot rasterize the PDF to check its QR code")
    pdf = tmp_path / "badges.pdf"
    pdf.write_bytes(badges_pdf([badge(holder_name=LONG_NAME), badge(qr_payload="other-" + PAYLOAD[6:]),
                                badge(qr_payload=None)], created_at=CREATED))
    subprocess.run([shutil.which("pdftoppm"), "-r", "150", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    images = [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]
    assert len(images) == 3
    [found] = zxingcpp.read_barcodes(images[0])
    assert found.format == zxingcpp.BarcodeFormat.QRCode and found.text == PAYLOAD
    width_mm = (found.position.top_right.x - found.position.top_left.x) / 150 * 25.4
    assert width_mm >= 30, f"the printed QR code is only {width_mm:.1f} mm wide"
    assert [r.text for r in zxingcpp.read_barcodes(images[1])] == ["other-" + PAYLOAD[6:]]
    assert zxingcpp.read_barcodes(images[2]) == []


def test_without_dejavu_it_falls_back_to_helvetica(monkeypatch, caplog) -> None:
    monkeypatch.setattr(documents, "FONT_DIRS", ())
    documents.find_dejavu_sans.cache_clear()
    try:
        data = badges_pdf([badge(holder_name=LONG_NAME), badge(holder_name=" ".join(["Łukasz"] * 20))],
                          created_at=CREATED)
    finally:
        documents.find_dejavu_sans.cache_clear()
    assert "fall back to Helvetica" in caplog.text
    first, second = pages(data)
    assert LONG_NAME in first and "?ukasz & Zoë AB" in first  # Latin-1 kept, the rest replaced
    assert second.count("?ukasz") >= 2 and "..." in second  # the cut, in Latin-1


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no badges"):
        badges_pdf([], created_at=CREATED)
    with pytest.raises(ValueError, match="timezone-aware"):
        badges_pdf([badge()], created_at=datetime(2026, 5, 19, 18, 30))
    for field in ("ticket_number", "ticket_type"):
        with pytest.raises(ValueError, match=field):
            badge(**{field: " "})
    with pytest.raises(ValueError, match="qr_payload"):
        badge(qr_payload="")
    with pytest.raises(ValueError, match="language"):
        badge(language="de")
