"""The advice library: coded advice with its text in every platform language.

Screening rules pick advice codes; events carry only the codes. Whoever shows the advice
to a person (the notifications service, a partner's system) looks the text up here in the
recipient's language, so the wording can improve without a new event version. The wording
itself is kept in ``advice.toml``, next to this module.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from types import MappingProxyType
from typing import Final

from .errors import ContractError
from .values import AdviceAudience, Domain, Language


class AdviceCode(StrEnum):
    """A piece of advice from the advice library."""

    MEMORY_FOR_READING = "memory-for-reading"
    QUIET_PLACE_IN_CLASS = "quiet-place-in-class"
    SHORT_CLEAR_INSTRUCTIONS = "short-clear-instructions"
    MOVEMENT_BREAKS = "movement-breaks"
    READ_ALOUD_TOGETHER = "read-aloud-together"
    MATHS_IN_DAILY_LIFE = "maths-in-daily-life"
    VISUAL_STEP_PLAN = "visual-step-plan"
    NAME_THE_FEELING = "name-the-feeling"
    CALM_DOWN_CORNER = "calm-down-corner"
    PRAISE_THE_EFFORT = "praise-the-effort"
    SENSE_OF_FAIRNESS_ROLE = "sense-of-fairness-role"
    HELPER_ROLE_IN_GROUP = "helper-role-in-group"
    CREATIVE_OUTLET = "creative-outlet"
    SPORT_AND_MOVEMENT_CLUB = "sport-and-movement-club"
    EXTRA_TIME_FOR_TASKS = "extra-time-for-tasks"
    SPELLING_GAMES = "spelling-games"
    TALK_ABOUT_THE_DAY = "talk-about-the-day"
    ASK_FOR_A_BREAK = "ask-for-a-break"
    SHOW_YOUR_STRENGTH = "show-your-strength"
    ONE_THING_AT_A_TIME = "one-thing-at-a-time"
    CURIOUS_QUESTIONS_WELCOME = "curious-questions-welcome"
    FINISH_WHAT_YOU_START = "finish-what-you-start"


@dataclass(frozen=True)
class Advice:
    """One entry of the library."""

    code: AdviceCode
    audience: AdviceAudience
    domain: Domain
    text: MappingProxyType[Language, str]

    def text_in(self, language: Language | str) -> str:
        return self.text[Language(language)]


def _load(wording: dict[str, dict[str, str]]) -> dict[AdviceCode, Advice]:
    """The library from its wording file; every code must be there, in every language."""
    library = {}
    for code, entry in wording.items():
        texts = {language: entry[language] for language in Language}
        library[AdviceCode(code)] = Advice(
            AdviceCode(code),
            AdviceAudience(entry["audience"]),
            Domain(entry["domain"]),
            MappingProxyType(texts),
        )
    missing = set(AdviceCode) - set(library)
    if missing:
        raise ContractError("advice.code", f"no wording for {sorted(missing)}")
    return library


# the wording lives in advice.toml, next to this module, so translators edit text, not code
ADVICE: Final[MappingProxyType[AdviceCode, Advice]] = MappingProxyType(
    _load(tomllib.loads((files("vrac_contracts") / "advice.toml").read_text(encoding="utf-8")))
)


def advice(code: AdviceCode | str) -> Advice:
    """The library entry for ``code``; raises ContractError when the code is unknown."""
    try:
        return ADVICE[AdviceCode(code)]
    except ValueError:
        raise ContractError("advice.code", "not in the advice library") from None


def advice_text(code: AdviceCode | str, language: Language | str) -> str:
    """The text of advice ``code`` in ``language`` (``nl``, ``fr`` or ``en``)."""
    entry = advice(code)
    try:
        return entry.text_in(language)
    except ValueError:
        raise ContractError("language", "not a platform language") from None
