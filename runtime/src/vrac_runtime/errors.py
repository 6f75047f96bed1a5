"""Why a service refuses a command: the bases every domain's errors derive from.

Pure Python, so a ``domain`` package may import it. The HTTP layer maps each base to one
status code (``vrac_runtime.http``): a service never writes its own mapping.
"""

from __future__ import annotations

from vrac_contracts.errors import field_of, problem_of

__all__ = [
    "Conflict",
    "DomainError",
    "NotFound",
    "Refused",
    "RuleBroken",
    "describe",
    "field_of",
    "problem_of",
]


class DomainError(Exception):
    """Base of every refusal."""


class NotFound(DomainError):
    """The named resource does not exist, or is not visible to the caller (404)."""


class Refused(DomainError):
    """The resource exists and the caller knows it, but may no longer have it (403): a
    family's link after the family withdrew what it opened."""


class Conflict(DomainError):
    """The request contradicts the current state of the resource (409)."""


class RuleBroken(DomainError):
    """The command breaks a rule about one of its fields (422 naming the field)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


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
