"""TrueType fonts parsed once per process and shared by every document it renders.

fpdf2's ``add_font`` parses the whole font file for each document (DejaVu Sans:
some 6,000 glyphs, tens of milliseconds), and writing the PDF subsets a fontTools
font in place (the glyphs the document used). So each document gets:

- a copy of a font parsed once (the parsed metrics and character map shared,
  read-only; what laying out text adds to, such as the glyph subset, its own), and
- at output, a fontTools font of its own to subset, read from bytes kept in memory.
  Most documents only use common letters: they get a copy of the font cut down
  once to those (a few hundred glyphs, cheap to read), which fpdf2 then cuts down
  to the document's glyphs. Subsetting the cut-down font gives the same bytes as
  subsetting the full one (a test pins this); a document with other letters gets
  the full font.

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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ParsedFont:
    """A font file parsed once: fpdf2's font object, the file's bytes, and its common-letters cut."""

    template: TTFFont
    data: bytes
    common_data: bytes
    common_glyphs: frozenset[str]

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
        """Give ``font`` a fontTools font of its own for fpdf2 to subset and write."""
        used = set(font.subset.get_all_glyph_names())
        data = self.common_data if used <= self.common_glyphs else self.data
        font.ttfont = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)


_parse_lock = threading.Lock()


@lru_cache(maxsize=8)
def _parse(path: Path, style: str) -> ParsedFont:
    data = path.read_bytes()
    holder = FPDF()
    holder.add_font("font", style, path)
    template = holder.fonts[f"font{style}"]
    full = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
    cmap = full.getBestCmap()
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    options.drop_tables += _DROPPED_TABLES
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=[code for code in COMMON_CODEPOINTS if code in cmap])
    subsetter.subset(full)
    common_glyphs = frozenset(full.getGlyphOrder())
    buffer = io.BytesIO()
    full.save(buffer)
    return ParsedFont(template=template, data=data, common_data=buffer.getvalue(), common_glyphs=common_glyphs)


def parsed_font(path: Path, style: str) -> ParsedFont:
    """``path`` parsed for ``style`` ("" or "B"...), once per process (thread-safe)."""
    with _parse_lock:  # one parse, even when the first documents are rendered at once
        return _parse(path, style)
