"""The one error type raised for anything that does not meet the contract, and the words it
may use about a field: the schema's, never the input's (shared with the services' 422s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ContractError(ValueError):
    """A message, attribute or field that breaks the contract.

    ``attribute`` names what is wrong (a CloudEvents header such as ``ce_type``, or a data
    field path such as ``data.guardians.0.email``) and ``reason`` says why. Neither ever
    contains payload values, because payloads may hold personal data and these errors end up
    in logs and dead-letter headers.
    """

    def __init__(self, attribute: str, reason: str) -> None:
        self.attribute = attribute
        self.reason = " ".join(reason.split())  # always one line
        super().__init__(attribute, self.reason)

    def __str__(self) -> str:
        return f"{self.attribute}: {self.reason}"

    def __repr__(self) -> str:
        return f"ContractError({self.attribute!r}, {self.reason!r})"


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
