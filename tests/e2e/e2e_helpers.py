"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def qr_of(png: bytes) -> str:
    """The text of the QR code in a PNG image, read the way a scanner would."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "no QR code in the image"
    return found[0].text
