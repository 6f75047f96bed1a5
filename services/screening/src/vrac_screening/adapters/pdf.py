"""Draws a diploma as a one-page landscape PDF a child can be proud of.

Borders, stars and a rosette are drawn with shapes; all text is real text (the PDF's text
layer names the child and the strengths), set in the Unicode fonts shipped in ``fonts/``
(SIL Open Font License), so a name in any script is printed as it is written. A QR code
leads to the public check of the diploma's credential.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import segno
from fpdf import FPDF
from fpdf.enums import Align

from vrac_screening.domain.diploma import Celebrated, DiplomaSheet

Colour = tuple[int, int, int]

PAPER: Final[Colour] = (255, 250, 236)
NAVY: Final[Colour] = (31, 78, 160)
GOLD: Final[Colour] = (240, 178, 30)
CORAL: Final[Colour] = (226, 72, 72)
TEAL: Final[Colour] = (22, 150, 140)
INK: Final[Colour] = (55, 55, 70)
SOFT: Final[Colour] = (110, 110, 125)

W, H = 297.0, 210.0
TEXT_LEFT, TEXT_RIGHT = 40.0, 222.0
STRENGTHS_TOP, STRENGTHS_BOTTOM = 100.0, 170.0

FONTS: Final = Path(__file__).resolve().parent.parent / "fonts"
# Noto Sans covers Latin (with Vietnamese), Greek and Cyrillic; a letter it lacks is taken
# from the next font of the chain (Arabic script), so no name loses a letter
FAMILY: Final = "NotoSans"
FALLBACKS: Final = ("NotoSansArabic",)
_FILES: Final = {
    (FAMILY, ""): "NotoSans-Regular.ttf",
    (FAMILY, "B"): "NotoSans-Bold.ttf",
    ("NotoSansArabic", ""): "NotoSansArabic-Regular.ttf",
    ("NotoSansArabic", "B"): "NotoSansArabic-Bold.ttf",
}


def _fonts(pdf: FPDF) -> None:
    """Embed the fonts shipped with the service (fpdf2 keeps only the glyphs used), and
    shape text with HarfBuzz, so joined and right-to-left scripts read right."""
    for (family, style), name in _FILES.items():
        pdf.add_font(family, style, str(FONTS / name))
    pdf.set_fallback_fonts(list(FALLBACKS), exact_match=False)
    pdf.set_text_shaping(True)


def _font(pdf: FPDF, style: str, size: float) -> None:
    # no italic face is shipped: the one italic line is set upright
    pdf.set_font(FAMILY, style.replace("I", ""), size)


def render_diploma(sheet: DiplomaSheet, created: dt.datetime) -> bytes:
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    # fixed metadata: the same diploma renders to the same bytes
    pdf.set_creation_date(created)
    pdf.set_title(f"{sheet.title} - {sheet.child_first_name}")
    pdf.set_lang(str(sheet.language))
    pdf.set_creator("VRAC")
    _fonts(pdf)
    pdf.add_page()
    _paper_and_borders(pdf)
    _corner_stars(pdf)
    _title(pdf, sheet)
    _strengths(pdf, sheet.because, sheet.strengths)
    _rosette(pdf, 254.0, 136.0)
    _footer(pdf, sheet)
    if sheet.check_url:
        _check(pdf, sheet)
    return bytes(pdf.output())


def _fill(pdf: FPDF, colour: Colour) -> None:
    pdf.set_fill_color(*colour)


def _draw(pdf: FPDF, colour: Colour, width: float) -> None:
    pdf.set_draw_color(*colour)
    pdf.set_line_width(width)


def _paper_and_borders(pdf: FPDF) -> None:
    _fill(pdf, PAPER)
    pdf.rect(0, 0, W, H, style="F")
    _draw(pdf, NAVY, 4.0)
    pdf.rect(9, 9, W - 18, H - 18, style="D", round_corners=True, corner_radius=6)
    _draw(pdf, GOLD, 1.2)
    pdf.rect(15, 15, W - 30, H - 30, style="D", round_corners=True, corner_radius=4)
    # a dotted ribbon of colour along the top and bottom edges
    for index, x in enumerate(range(40, 260, 12)):
        _fill(pdf, (CORAL, GOLD, TEAL)[index % 3])
        pdf.circle(x, 12, 1.1, style="F")
        pdf.circle(x + 6, H - 12, 1.1, style="F")


def _star(pdf: FPDF, x: float, y: float, size: float, colour: Colour) -> None:
    _fill(pdf, colour)
    _draw(pdf, colour, 0.2)
    pdf.star(x, y, size * 0.45, size, 5, rotate_degrees=180, style="F")


def _corner_stars(pdf: FPDF) -> None:
    for x, y in ((27, 27), (W - 27, 27), (27, H - 27), (W - 27, H - 27)):
        _star(pdf, x, y, 9, GOLD)
    for x, y, size, colour in (
        (72, 30, 4, CORAL),
        (225, 30, 4, TEAL),
        (60, 46, 2.5, GOLD),
        (237, 46, 2.5, GOLD),
    ):
        _star(pdf, x, y, size, colour)


def _centered(pdf: FPDF, y: float, text: str, size: float, style: str, colour: Colour) -> None:
    _font(pdf, style, size)
    pdf.set_text_color(*colour)
    pdf.set_xy(20, y)
    pdf.cell(W - 40, size * 0.45, (text), align=Align.C)


def _title(pdf: FPDF, sheet: DiplomaSheet) -> None:
    _centered(pdf, 24, sheet.title.upper(), 54, "B", NAVY)
    _centered(pdf, 55, sheet.given_to, 16, "I", SOFT)
    name = sheet.child_first_name
    size = 46.0
    _font(pdf, "B", size)
    while pdf.get_string_width(name) > 190 and size > 20:
        size -= 2
        _font(pdf, "B", size)
    _centered(pdf, 65, name, size, "B", CORAL)
    # a gold swash under the name
    width = min(pdf.get_string_width(name) + 30, 200)
    _draw(pdf, GOLD, 1.4)
    pdf.line((W - width) / 2, 90, (W + width) / 2, 90)
    _star(pdf, (W - width) / 2 - 4, 90, 2.6, GOLD)
    _star(pdf, (W + width) / 2 + 4, 90, 2.6, GOLD)


def _strengths(pdf: FPDF, because: str, items: Sequence[Celebrated]) -> None:
    # more than four strengths go in two columns, so the words stay big enough to read
    columns = [list(items)] if len(items) <= 4 else [list(items[0::2]), list(items[1::2])]
    gap = 8.0
    width = (TEXT_RIGHT - TEXT_LEFT - gap * (len(columns) - 1)) / len(columns)
    room = STRENGTHS_BOTTOM - STRENGTHS_TOP - 2

    def tallest(scale: float) -> float:
        return max(sum(_one(pdf, i, 0, 0, width, scale, draw=False) for i in c) for c in columns)

    scale = 1.2
    while scale > 0.3 and tallest(scale) > room:
        scale -= 0.05
    top = STRENGTHS_TOP + 2 + max(0.0, (room - tallest(scale)) / 3)
    _font(pdf, "B", 15)
    pdf.set_text_color(*TEAL)
    pdf.set_xy(TEXT_LEFT, top - 8)
    pdf.cell(TEXT_RIGHT - TEXT_LEFT, 6, f"{because}:", align=Align.L)
    for index, column in enumerate(columns):
        x, y = TEXT_LEFT + index * (width + gap), top
        for item in column:
            y += _one(pdf, item, x, y, width, scale)


def _one(
    pdf: FPDF,
    item: Celebrated,
    x: float,
    y: float,
    width: float,
    scale: float,
    *,
    draw: bool = True,
) -> float:
    """Draw one strength at (``x``, ``y``), or only measure it; returns its height."""
    label, reason = item.label, item.reason
    label_size, reason_size = 15 * scale, 12 * scale
    label_h, reason_h, gap = label_size * 0.5, reason_size * 0.48, 2.5 * scale
    indent = 9 * min(scale, 1.0)
    _font(pdf, "", reason_size)
    lines = pdf.multi_cell(width - indent, reason_h, reason, dry_run=True, output="LINES")
    assert isinstance(lines, list)
    height = label_h + reason_h * len(lines) + gap
    if not draw:
        return height
    _star(pdf, x + 3.5, y + label_h / 2, 3.2 * min(scale, 1.0), GOLD)
    _font(pdf, "B", label_size)
    pdf.set_text_color(*NAVY)
    pdf.set_xy(x + indent, y)
    pdf.cell(width - indent, label_h, label)
    _font(pdf, "", reason_size)
    pdf.set_text_color(*INK)
    pdf.set_xy(x + indent, y + label_h)
    pdf.multi_cell(width - indent, reason_h, reason, align=Align.L)
    return height


def _rosette(pdf: FPDF, x: float, y: float) -> None:
    """A prize rosette: two ribbon tails under a scalloped gold medal with a star."""
    _fill(pdf, CORAL)
    _draw(pdf, CORAL, 0.2)
    pdf.polygon(
        [(x - 9, y), (x - 16, y + 32), (x - 10, y + 28), (x - 5, y + 34), (x, y)], style="F"
    )
    _fill(pdf, NAVY)
    _draw(pdf, NAVY, 0.2)
    pdf.polygon(
        [(x + 9, y), (x + 16, y + 32), (x + 10, y + 28), (x + 5, y + 34), (x, y)], style="F"
    )
    _fill(pdf, GOLD)
    _draw(pdf, GOLD, 0.2)
    pdf.star(x, y, 14.5, 17, 16, style="F")
    _fill(pdf, (255, 214, 90))
    pdf.circle(x, y, 12.5, style="F")
    _draw(pdf, (255, 255, 255), 0.8)
    pdf.circle(x, y, 10.5, style="D")
    _star(pdf, x, y, 7.5, CORAL)


def _footer(pdf: FPDF, sheet: DiplomaSheet) -> None:
    _centered(pdf, 174, sheet.cheer, 18, "B", CORAL)
    _font(pdf, "", 11)
    pdf.set_text_color(*INK)
    pdf.set_xy(40, 184)
    pdf.cell(110, 5, (sheet.place_and_date), align=Align.L)
    pdf.set_xy(147, 184)
    pdf.cell(110, 5, (sheet.signed), align=Align.R)


def _check(pdf: FPDF, sheet: DiplomaSheet) -> None:
    """The QR code to the public check in the left margin, and its address in small print."""
    png = io.BytesIO()
    segno.make(sheet.check_url, error="m").save(png, kind="png", scale=8, border=2)
    pdf.image(png, x=17, y=118, w=22, h=22, alt_text=sheet.check_hint)
    pdf.set_text_color(*SOFT)
    _font(pdf, "", 7)
    pdf.set_xy(40, 190)
    pdf.cell(217, 4, f"{sheet.check_hint}: {sheet.check_url}", align=Align.C)
