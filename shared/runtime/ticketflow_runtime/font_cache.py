"""TrueType fonts parsed once per process and shared by every document it renders.

fpdf2's ``add_font`` parses the whole font file for each document (DejaVu Sans:
some 6,000 glyphs, tens of milliseconds), and writing the PDF subsets a fontTools
font in place (the glyphs the document used) and compiles it anew (some 10 ms a
font, even for a few dozen glyphs). So each document gets:

- a copy of a font parsed once (the parsed metrics and character map shared,
  read-only; what laying out text adds to, such as the glyph subset, its own), and
- at output (``CachedFontsOutput``), an embedded font program holding the glyphs
  it used and all of printable ASCII, subset with fpdf2's options and compiled
  once per set of glyphs: with ASCII always in, documents that differ in a few
  letters (ticket numbers, names) share a set, and the last few hundred sets are
  kept. Each program is cut from the font cut down once to common letters (a few
  hundred glyphs, cheap to read) when the document uses no others, else from
  the full font. The pages render as with fpdf2's own ``add_font`` (a test
  compares them pixel for pixel).

Relies on these parts of fpdf2 2.8 (pinned by those tests): ``FPDF.fonts`` holds TTFFont objects,
numbered by ``i`` in the order added; layout adds to a font's ``cw``,
``missing_glyphs`` and ``subset`` (a SubsetMap) only; ``OutputProducer._add_fonts``
writes each TrueType font as the objects built below.
"""

from __future__ import annotations

import copy
import io
import logging
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, _build_cmap_blocks, _tt_font_widths
from fpdf.syntax import Name, PDFArray, PDFContentStream

log = logging.getLogger(__name__)

ASCII_CODEPOINTS = range(0x20, 0x7F)
# Letters most names and texts use: Latin (Western, Central and Eastern European,
# Vietnamese), general punctuation and currency signs.
COMMON_CODEPOINTS = (*range(0x20, 0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), *range(0x20A0, 0x20D0))

# As fpdf2 2.8 subsets at output (fpdf/output.py).
_DROPPED_TABLES = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC", "EBDT", "EBLC",
                   "EBSC", "SVG ", "CPAL", "COLR"]


def _subset(data: bytes, *, glyphs: list[str] | None = None, unicodes: list[int] | None = None,
            glyph_names: bool = True) -> ttLib.TTFont:
    """The font in ``data`` cut down to ``glyphs`` or the glyphs of ``unicodes``, with fpdf2's options;
    ``glyph_names`` kept for a cut that is cut again by glyph name."""
    font = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=glyph_names)
    options.drop_tables += _DROPPED_TABLES
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=glyphs or [], unicodes=unicodes or [])
    subsetter.subset(font)
    return font


def _compiled(font: ttLib.TTFont) -> bytes:
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class FontProgram:
    """A subset of a font as a PDF embeds it: compiled and compressed, with its length before
    compression and each glyph's id in it."""

    compressed: bytes
    length: int
    glyph_ids: dict[str, int]


class ParsedFont:
    """A font file parsed once: fpdf2's font object, the file's bytes, its common-letters cut,
    and the programs of the glyph sets documents used lately."""

    def __init__(self, template: TTFFont, data: bytes) -> None:
        self.template = template
        self.data = data
        cmap = template.cmap
        self.common_data = _compiled(_subset(data, unicodes=[code for code in COMMON_CODEPOINTS if code in cmap]))
        self.common_glyphs = frozenset(ttLib.TTFont(io.BytesIO(self.common_data), lazy=True).getGlyphOrder())
        self.ascii_glyphs = frozenset(cmap[code] for code in ASCII_CODEPOINTS if code in cmap)
        self._program = lru_cache(maxsize=256)(self._make_program)

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

    def program(self, font: TTFFont) -> FontProgram:
        """The program embedding the glyphs ``font`` used in a document, and all of printable ASCII:
        ticket numbers and names differ in a few letters from one document to the next, so with
        ASCII always in, most documents use a set of glyphs used before, whose program is kept."""
        return self._program(self.ascii_glyphs.union(font.subset.get_all_glyph_names()))

    def _make_program(self, glyphs: frozenset[str]) -> FontProgram:
        """``glyphs`` subset as fpdf2's output does it, from the common-letters cut when it has them all
        (a few hundred glyphs to read, not thousands)."""
        source = self.common_data if glyphs <= self.common_glyphs else self.data
        program = _subset(source, glyphs=sorted(glyphs), glyph_names=False)
        data = _compiled(program)
        return FontProgram(compressed=zlib.compress(data), length=len(data),
                           glyph_ids={name: program.getGlyphID(name) for name in glyphs})


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


class _CompressedFontFile(PDFContentStream):
    """A ``FontFile2`` stream from a FontProgram, compressed already (as fpdf2's PDFFontStream)."""

    def __init__(self, program: FontProgram) -> None:
        super().__init__(contents=program.compressed)
        self.filter = Name("FlateDecode")
        self.length1 = program.length


class CachedFontsOutput(OutputProducer):
    """fpdf2's output, with the fonts from ParsedFont written from their cached programs; the same
    objects, in the same order, as fpdf2's ``_add_fonts`` writes a TrueType font. A document with
    other fonts, or with a PDF/A profile, is written by fpdf2 alone."""

    def _add_fonts(self, image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name):  # noqa: ANN001, ANN202
        parsed: dict[str, ParsedFont] = getattr(self.fpdf, "parsed_fonts", {})
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        if self.fpdf._compliance or not all(isinstance(font, TTFFont) and font.fontkey in parsed for font in fonts):
            return super()._add_fonts(image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name)
        return {font.i: self._add_cached_font(font, parsed[font.fontkey]) for font in fonts}

    def _add_cached_font(self, font: TTFFont, parsed: ParsedFont) -> PDFFont:
        fontname = f"MPDFAA+{font.name}"
        if font.missing_glyphs:
            log.warning("Font %s is missing the glyphs of %s", fontname,
                        ", ".join(repr(chr(code)) for code in font.missing_glyphs[:10]))
        program = parsed.program(font)
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                           w=_tt_font_widths(font))
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        to_unicode = PDFContentStream(_to_unicode_cmap(font).encode("latin-1"))
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        cid_to_gid = bytearray(2 * 0x10000)  # CIDToGIDMap: the glyph id of each 16-bit code, big-endian
        for glyph, code in font.subset.items():
            if glyph is not None:
                cid_to_gid[2 * code:2 * code + 2] = program.glyph_ids[glyph.glyph_name].to_bytes(2, "big")
        cid_to_gid_map = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_map
        font_file = _CompressedFontFile(program)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file
        # As fpdf2 does: these caches are per class, and would keep every document's fonts alive.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        # Not font.close(): the fontTools font is the parsed one, shared by every document.
        return composite


def _to_unicode_cmap(font: TTFFont) -> str:
    """The ToUnicode CMap: which characters each code shows, for search and copying text."""
    def utf16_hex(code: int) -> str:
        if code > 0xFFFF:  # a surrogate pair
            return f"{0xD800 | (code - 0x10000) >> 10:04X}{0xDC00 | (code & 0x3FF):04X}"
        return f"{code:04X}"

    entries = [f"<{code:04X}> <{''.join(utf16_hex(c) for c in glyph.unicode)}>\n"
               for glyph, code in font.subset.items()
               if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode]
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
            "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n"
            "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{_build_cmap_blocks(entries, 'bfchar')}endcmap\nCMapName currentdict /CMap defineresource pop\n"
            "end\nend")
