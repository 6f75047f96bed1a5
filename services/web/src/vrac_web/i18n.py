"""Pages in Dutch, French and English.

Templates and code write the English text and pass it through ``t``; the catalogues under
``translations/`` (one file per area of the app: ``common.json``, ``coach.json``...) map each
English text to its Dutch and French (and to an English wording where the text is a code, such
as a pilot's id). A text missing from a catalogue shows in English, and a
test lists every text used in a template that lacks a translation.

Which language a page speaks: the one the person chose (the switch in the header, kept in the
session); else, for a family, the family's language; else the browser's preference among the
three; else English.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo

from starlette.requests import HTTPConnection
from vrac_contracts.values import Pilot

from vrac_web.session import session_of

LANGUAGES: Final = ("nl", "fr", "en")
LANGUAGE_NAMES: Final = {"nl": "Nederlands", "fr": "Français", "en": "English"}
DEFAULT: Final = "en"

Translate = Callable[..., str]

MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


@lru_cache(maxsize=1)
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """English text -> {language: text}, from every file under ``translations/``."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("vrac_web") / "translations"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            for english, texts in json.loads(entry.read_text(encoding="utf-8")).items():
                merged.setdefault(english, {}).update(texts)
    return merged


def translator(language: str) -> Translate:
    """``t("Hello {name}", name=...)``: the text in ``language``, then formatted."""
    texts = catalogue()

    def t(english: str, /, **values: object) -> str:
        text = texts.get(english, {}).get(language, english)
        return text.format(**values) if values else text

    return t


def from_accept_language(header: str) -> str | None:
    """The first of our languages in an ``Accept-Language`` header, by its q-values."""
    choices: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, n, primary))
    return min(choices)[2] if choices else None


def language_of(connection: HTTPConnection) -> str:
    session = session_of(connection)
    for chosen in (session.get("lang"), session.get("family_lang")):
        if chosen in LANGUAGES:
            return str(chosen)
    return from_accept_language(connection.headers.get("accept-language", "")) or DEFAULT


def _day_or_moment(value: str) -> dt.date | None:
    parse = dt.date.fromisoformat if len(value) == len("2026-12-05") else dt.datetime.fromisoformat
    try:
        return parse(value)
    except ValueError:
        return None


def _day(t: Translate, when: dt.date) -> str:
    return f"{when.day} {t(MONTHS[when.month - 1])} {when.year}"


def time_zone_of(connection: HTTPConnection) -> ZoneInfo | None:
    """The zone a page tells the time in: the pilot's, of the staff member or of the family's
    case. None where the page knows no pilot (a consortium account, a helper): then UTC."""
    session = session_of(connection)
    pilot = session.get("pilot") if session.get("kind") == "staff" else session.get("family_pilot")
    try:
        return ZoneInfo(Pilot(str(pilot)).time_zone)
    except ValueError:
        return None


def written(t: Translate, value: str | dt.date | None, zone: ZoneInfo | None = None) -> str:
    """A day or a moment as a person reads it in ``t``'s language: "30 novembre 2026", and
    for a moment its time in ``zone`` (or in UTC, said so). A text that is neither shows as
    it came."""
    if not value:
        return ""
    when = _day_or_moment(value) if isinstance(value, str) else value
    if when is None:
        return str(value)
    if not isinstance(when, dt.datetime):
        return _day(t, when)
    aware = when.tzinfo is not None
    if aware:
        when = when.astimezone(zone or dt.UTC)  # the day too: 23:30 UTC is tomorrow in Lille
    return f"{_day(t, when)}, {when:%H:%M}" + (" UTC" if aware and zone is None else "")
