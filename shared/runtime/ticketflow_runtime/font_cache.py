"""TrueType fonts parsed once per process and shared by every document it renders.

fpdf2's ``add_font`` parses the whole font file for each document (DejaVu Sans:
some 6,000 glyphs, tens of milliseconds), and writing the PDF subsets a fontTools
font in place (the glyphs the document used). So each document gets:

- a copy of a font parsed once (the parsed metrics and character map shared,
  read-only; what laying out text adds to, such as the glyph subset, its own), and
- at output, a fontTools font of its own to subset, read from bytes kept in memory:
  the font cut down to exactly the document's glyphs already (kept for the next
  document with the same glyphs), so fpdf2's subsetting keeps them all and its
  writing finds them compiled. The cut is made from the font cut down once to
  common letters (a few hundred glyphs, cheap to read) when the document uses no
  others, else from the full font. Either way the bytes are those fpdf2 makes
  from the font file (a test pins this).

Relies on these parts of fpdf2 2.8 (pinned by tests that compare the bytes with
fpdf2's own ``add_font``): ``FPDF.fonts`` holds TTFFont objects, numbered by ``i``
in the order added; layout adds to a font's ``cw``, ``missing_glyphs`` and
``subset`` (a SubsetMap) only; output subsets and writes ``TTFFont.ttfont``.
"""

from __future__ import annotations

import copy
import io
import threading
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

# Letters most names and texts use: Latin (Western, Central and Eastern European,
# Vietnamese), general punctuation and currency signs.
COMMON_CODEPOINTS = (*range(0x20, 0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), *range(0x20A0, 0x20D0))

# As fpdf2 2.8 subsets at output (fpdf/output.py), plus glyph names, which its
# own subsetting of the cut-down font looks glyphs up by.
_DROPPED_TABLES = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC", "EBDT", "EBLC",
                   "EBSC", "SVG ", "CPAL", "COLR"]


def _subset(data: bytes, *, glyphs: list[str] | None = None, unicodes: list[int] | None = None) -> bytes:
    """The font in ``data`` cut down to ``glyphs`` or the glyphs of ``unicodes``, its glyphs and the
    font-wide numbers (bounding box, maxima) compiled anew, as fpdf2's output does."""
    font = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    options.drop_tables += _DROPPED_TABLES
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=glyphs or [], unicodes=unicodes or [])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


class ParsedFont:
    """A font file parsed once: fpdf2's font object, the file's bytes, its common-letters cut,
    and the cuts to the glyph sets documents used lately."""

    def __init__(self, template: TTFFont, data: bytes) -> None:
        self.template = template
        self.data = data
        cmap = template.cmap
        self.common_data = _subset(data, unicodes=[code for code in COMMON_CODEPOINTS if code in cmap])
        self.common_glyphs = frozenset(ttLib.TTFont(io.BytesIO(self.common_data), lazy=True).getGlyphOrder())
        # Documents often use the same glyphs (labels, digits): their cut is made once.
        self._cut = lru_cache(maxsize=256)(self._make_cut)

    def for_document(self, key: str, index: int) -> TTFFont:
        """A copy for one document: shared metrics, its own (empty) glyph subset, as ``add_font``
        would have made it (named ``key``, numbered ``index``)."""
        font = copy.copy(self.template)
        font.fontkey, font.i = key, index
        # Laying out text adds to these (widths of missing characters, missing glyphs, the subset).
        font.cw = defaultdict(self.template.cw.default_factory, self.template.cw)
        font.missing_glyphs = []
        font.subset = SubsetMap(font)
        return font

    def prepare_output(self, font: TTFFont) -> None:
        """Give ``font`` a fontTools font of its own for fpdf2 to subset and write: cut down to the
        document's glyphs already, so its glyphs and bounding boxes need not be compiled again."""
        cut = self._cut(frozenset(font.subset.get_all_glyph_names()))
        font.ttfont = ttLib.TTFont(io.BytesIO(cut), recalcTimestamp=False, recalcBBoxes=False, lazy=True)

    def _make_cut(self, glyphs: frozenset[str]) -> bytes:
        # From the common-letters cut when it has them all: a few hundred glyphs to read, not thousands.
        return _subset(self.common_data if glyphs <= self.common_glyphs else self.data, glyphs=sorted(glyphs))


_parse_lock = threading.Lock()


@lru_cache(maxsize=8)
def _parse(path: Path, style: str) -> ParsedFont:
    holder = FPDF()
    holder.add_font("font", style, path)
    return ParsedFont(holder.fonts[f"font{style}"], path.read_bytes())


def parsed_font(path: Path, style: str) -> ParsedFont:
    """``path`` parsed for ``style`` ("" or "B"...), once per process (thread-safe)."""
    with _parse_lock:  # one parse, even when the first documents are rendered at once
        return _parse(path, style)
