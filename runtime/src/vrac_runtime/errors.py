"""Why a service refuses a command: the bases every domain's errors derive from.

Pure Python, so a ``domain`` package may import it. The HTTP layer maps each base to one
status code (``vrac_runtime.http``): a service never writes its own mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """Base of every refusal."""


class NotFound(DomainError):
    """The named resource does not exist, or is not visible to the caller (404)."""


class Conflict(DomainError):
    """The request contradicts the current state of the resource (409)."""


class RuleBroken(DomainError):
    """The command breaks a rule about one of its fields (422 naming the field)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# pydantic error types whose message ends in the parser's own words about the input (a
# character it found, a fragment of a date): the message is cut before those words
_ECHOING = {
    "date_parsing": "Input should be a valid date in the format YYYY-MM-DD",
    "date_from_datetime_parsing": "Input should be a valid date or datetime",
    "datetime_parsing": "Input should be a valid datetime",
    "datetime_from_date_parsing": "Input should be a valid datetime or date",
    "datetime_object_invalid": "Invalid datetime object",
    "time_parsing": "Input should be in a valid time format",
    "time_delta_parsing": "Input should be a valid timedelta",
    "url_parsing": "Input should be a valid URL",
    "url_syntax_violation": "Input violated strict URL syntax rules",
    "uuid_parsing": "Input should be a valid UUID",
    "json_invalid": "Invalid JSON",
    "mapping_type": "Input should be a valid mapping",
    "iteration_error": "Error iterating over object",
    "get_attribute_error": "Error extracting attribute",
}
NAME_MAX = 64
"""Longest field name an error repeats: an unknown key is the client's text."""


def problem_of(error: Mapping[str, Any]) -> str:
    """What is wrong with one field, from a pydantic error (``ValidationError.errors()``),
    without the submitted value: the schema's words, never the input's.

    Our own validators' messages (``value_error``) are kept: they name rules, not values.
    """
    kind = str(error.get("type", ""))
    if kind in _ECHOING:
        return _ECHOING[kind]
    return str(error.get("msg", "invalid"))


def field_of(loc: Sequence[int | str]) -> str:
    """A field's dotted path (``guardians.0.email``), without where it came from (body,
    query...); ``request`` for the request as a whole."""
    parts = [str(p)[:NAME_MAX] for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def describe(err: BaseException) -> str:
    """Type and message of an error for a log line or a dead-letter header: one line,
    bounded, and for a validation error the fields and problems only (pydantic's own text
    quotes the input, which may be personal data)."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            found = errors()
        except Exception:  # not pydantic's after all
            found = None
        if isinstance(found, list):
            problems = (f"{field_of(e.get('loc', ()))}: {problem_of(e)}" for e in found)
            return _one_line(type(err).__name__, "; ".join(problems))
    return _one_line(type(err).__name__, str(err))


def _one_line(kind: str, text: str) -> str:
    text = " ".join(text.split())[:300]
    return f"{kind}: {text}" if text else kind
