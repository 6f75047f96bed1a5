"""What every service's HTTP request bodies share: the strictness and the field shapes.

Response bodies read their fields off domain objects with ``vrac_runtime.values.from_attributes``.
"""

from __future__ import annotations

from typing import Annotated, Final, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from vrac_contracts.fields import EMAIL_PATTERN, PHONE_PATTERN

from vrac_runtime.values import NAME_PROBLEM, from_attributes, has_control_characters

EMAIL_MAX: Final = 254


class Request(BaseModel):
    """Base of request bodies: a misspelt field is a 422 naming it, not a value silently
    dropped."""

    model_config = ConfigDict(extra="forbid")


class Attributes(BaseModel):
    """Base of response bodies whose every field stands on the domain object by that name."""

    @classmethod
    def of(cls, source: object) -> Self:
        return from_attributes(cls, source)


def trimmed(max_length: int) -> StringConstraints:
    """Text trimmed of surrounding white space, then 1 to ``max_length`` characters."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


def _one_line(text: str) -> str:
    if has_control_characters(text):
        raise ValueError(NAME_PROBLEM)
    return text


# a name (of a person, a school): nothing that would break an e-mail header or a line (see
# ``vrac_runtime.values.has_control_characters``); ``Annotated[str, trimmed(120), OneLine]``
OneLine = AfterValidator(_one_line)


# the formats the contracts accept, trimmed first: a pasted address often carries a space
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=EMAIL_MAX, pattern=EMAIL_PATTERN)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=PHONE_PATTERN)]
