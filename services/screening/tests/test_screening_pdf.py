"""The diploma PDF: real text a reader can extract, in the diploma's language."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader
from vrac_contracts.values import Domain, Language, Pilot
from vrac_screening.adapters.pdf import latin1, render_diploma
from vrac_screening.domain.diploma import Diploma, diploma_sheet

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


def diploma(language: Language, strengths: tuple[Domain, ...]) -> Diploma:
    return Diploma(
        "dip_pdftest00001",
        "scr_pdftest00001",
        "case_pdftest0001",
        Pilot.MECHELEN,
        language,
        strengths,
        NOW,
    )


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    return " ".join((page.extract_text() or "").split())


def test_the_pdf_names_the_child_and_each_strength_with_its_reason() -> None:
    made = diploma(Language.NL, (Domain.EMPATHY, Domain.PERSEVERANCE))
    text = text_of(render_diploma(diploma_sheet(made, "Noël"), NOW))
    for words in (
        "DIPLOMA",
        "Noël",
        "Zorgen voor anderen",
        "Doorzetten",
        "Jij geeft niet op",
        "Mechelen, 14 maart 2025",
    ):
        assert words in text, words


def test_the_same_diploma_renders_to_the_same_bytes() -> None:
    sheet = diploma_sheet(diploma(Language.EN, (Domain.MATHS,)), "Sam")
    assert render_diploma(sheet, NOW) == render_diploma(sheet, NOW)


def test_every_strength_at_once_still_fits_on_one_page() -> None:
    made = diploma(Language.FR, tuple(Domain))
    text = text_of(render_diploma(diploma_sheet(made, "Inès"), NOW))
    assert "Inès" in text and "La curiosité" in text and "Retenir les choses" in text


def test_names_outside_latin1_keep_their_letters_as_close_as_the_fonts_allow() -> None:
    assert latin1("Zoë-Łucja Dvořák") == "Zoë-Lucja Dvorák"
    assert latin1("\u201cSam\u201d \u2013 ok") == '"Sam" - ok'
    made = diploma(Language.EN, (Domain.CURIOSITY,))
    assert "Lucja" in text_of(render_diploma(diploma_sheet(made, "Łucja"), NOW))
