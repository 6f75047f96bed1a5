"""Pure helpers for domain values: the checks every service words the same way, and
building an object from another one's attributes of the same names.

Pure Python, beside ``errors``, so a ``domain`` package may import it as well as an
entrypoint.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from vrac_runtime.errors import RuleBroken

if TYPE_CHECKING:
    from pydantic import BaseModel

    M = TypeVar("M", bound=BaseModel)


# what handlers take to learn the time, so tests can set it
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The default clock of every service's handlers."""
    return dt.datetime.now(dt.UTC)


# Cc (C0/C1 controls: CR, LF, tab, NUL...), Zl (U+2028) and Zp (U+2029) break a line or a
# header; of Cf only the bidirectional overrides and isolates, which make a name read as
# something else. Other Cf (zero-width joiners, soft hyphen) belong to names in some scripts.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NAME_PROBLEM = "must not contain control, line-separator or bidirectional-override characters"


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that has no place in a one-line name."""
    return any(
        unicodedata.category(char) in _LINE_BREAKING or char in _BIDI_CONTROLS for char in text
    )


def single_line(text: str) -> str:
    """``text`` as it may be written on one line: every such character becomes a space."""
    if not has_control_characters(text):
        return text
    cleaned = (" " if has_control_characters(char) else char for char in text)
    return " ".join("".join(cleaned).split())


def from_attributes(model: type[M], source: object, /, **values: Any) -> M:
    """An instance of ``model``: ``values``, then each other field read off ``source``'s
    attribute of the same name (a field ``source`` lacks keeps its default)."""
    taken = {
        name: getattr(source, name)
        for name in model.model_fields
        if name not in values and hasattr(source, name)
    }
    return model(**taken, **values)


def check_between(
    field: str,
    value: float,
    lowest: float,
    highest: float,
    *,
    error: type[RuleBroken] = RuleBroken,
) -> None:
    """Refuse ``value`` (naming ``field``) unless ``lowest <= value <= highest``."""
    if not lowest <= value <= highest:
        raise error(field, f"must be between {lowest:g} and {highest:g}")


def required_text(field: str, text: str, *, error: type[RuleBroken] = RuleBroken) -> str:
    """``text`` trimmed of surrounding white space; a blank one is refused naming ``field``."""
    trimmed = text.strip()
    if not trimmed:
        raise error(field, "must not be blank")
    return trimmed


def printable_name(field: str, text: str, *, error: type[RuleBroken] = RuleBroken) -> str:
    """``text`` unchanged; refused (naming ``field``) when it holds a control character."""
    if has_control_characters(text):
        raise error(field, NAME_PROBLEM)
    return text


def optional_text(
    field: str,
    text: str | None,
    max_length: int,
    *,
    error: type[RuleBroken] = RuleBroken,
) -> str | None:
    """``text`` trimmed, None when blank or absent; longer than ``max_length`` is refused."""
    trimmed = (text or "").strip() or None
    if trimmed is not None and len(trimmed) > max_length:
        raise error(field, f"at most {max_length} characters")
    return trimmed
