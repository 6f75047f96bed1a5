"""Why the domain refuses a command; the HTTP layer maps each to a status code."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal."""


class UnknownCase(DomainError):
    """No case has this id (404)."""


class CaseIsClosed(DomainError):
    """The case is closed and takes no further changes (409)."""


class StaleDecision(DomainError):
    """A consent decision older than the one already recorded for its purpose (409)."""


class ChangedMeanwhile(DomainError):
    """Another writer changed the case between our read and our write (409, retry)."""


class IdempotencyKeyReused(DomainError):
    """An idempotency key already registered a different family (409)."""


class RuleBroken(DomainError):
    """The command breaks a rule about one of its fields (422 naming the field)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
