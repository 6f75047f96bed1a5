"""Why a service refuses a command: the bases every domain's errors derive from.

Pure Python, so a ``domain`` package may import it. The HTTP layer maps each base to one
status code (``vrac_runtime.http``): a service never writes its own mapping.
"""

from __future__ import annotations


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
