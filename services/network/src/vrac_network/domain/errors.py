"""What the domain refuses, and why; entrypoints map these to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain enforces."""


class UnknownCase(DomainError):
    """The case was never opened as far as this service knows (no case-opened yet)."""


class CaseIsClosed(DomainError):
    """Nothing changes on a closed case."""


class RuleBroken(DomainError):
    """A request breaks a rule about one field; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidTransition(DomainError):
    """The task's current status does not allow the requested change."""


class UnknownTask(DomainError):
    """No task has this id."""
