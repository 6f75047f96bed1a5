"""The diploma PDF: real text a reader can extract, in the diploma's language, whatever the
script of the child's name, with a QR code to the public check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
import segno
from pypdf import PdfReader
from vrac_contracts.values import Domain, Language, Pilot
from vrac_screening.adapters.pdf import render_diploma
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


@pytest.mark.parametrize(
    "name",
    ["محمد", "Ayşe Çelik", "Łucja Wójcik", "Nguyễn Thị Ánh", "Zoë-Łucja Dvořák"],
    ids=["arabic", "turkish", "polish", "vietnamese", "mixed"],
)
def test_a_name_in_any_script_is_printed_exactly_as_written(name: str) -> None:
    made = diploma(Language.EN, (Domain.CURIOSITY,))
    text = text_of(render_diploma(diploma_sheet(made, name), NOW))
    assert name in text


CHECK = "https://screening.vrac.example/credentials/verify?diploma=dip_pdftest00001"


def test_the_qr_code_leads_to_the_public_check_of_the_diploma() -> None:
    sheet = diploma_sheet(diploma(Language.FR, (Domain.MATHS,)), "Inès")
    pdf = render_diploma(dataclasses.replace(sheet, check_url=CHECK), NOW)
    assert f"Vérifier ce diplôme: {CHECK}" in text_of(pdf)
    [image] = PdfReader(io.BytesIO(pdf)).pages[0].images
    assert modules_of(image.image) == [list(row) for row in segno.make(CHECK, error="m").matrix]


def test_a_diploma_without_a_check_address_has_no_qr_code() -> None:
    sheet = diploma_sheet(diploma(Language.NL, (Domain.MATHS,)), "Sam")
    assert not PdfReader(io.BytesIO(render_diploma(sheet, NOW))).pages[0].images


def modules_of(image: object) -> list[list[int]]:
    """The dark (1) and light (0) modules of the QR code as drawn: segno's PNG at 8 pixels a
    module inside a border of 2 modules, read at each module's centre."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    grey = image.convert("L")
    size = grey.width // 8 - 4
    return [
        [int(grey.getpixel((16 + 8 * col + 4, 16 + 8 * row + 4)) < 128) for col in range(size)]  # type: ignore[operator]
        for row in range(size)
    ]
