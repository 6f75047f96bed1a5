"""Wording shared by every service that writes to families in their language."""

from __future__ import annotations

import datetime as dt
from typing import Final

from .values import Language

MONTHS: Final[dict[Language, tuple[str, ...]]] = {
    Language.NL: (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    Language.FR: (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    Language.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def long_date(day: dt.date, language: Language) -> str:
    """``14 maart 2025``, ``14 mars 2025``, ``14 March 2025``; French says ``1er``."""
    number = "1er" if language is Language.FR and day.day == 1 else str(day.day)
    return f"{number} {MONTHS[language][day.month - 1]} {day.year}"
