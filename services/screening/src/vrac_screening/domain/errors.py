"""What the domain refuses, each mapped to one HTTP status by the entrypoints."""

from __future__ import annotations


class ScreeningError(Exception):
    """Base of the domain's errors."""


class UnknownCase(ScreeningError):
    """No ``case-opened`` has reached this service for the case (404)."""


class UnknownScreening(ScreeningError):
    """404."""


class UnknownDiploma(ScreeningError):
    """404."""


class CaseIsClosed(ScreeningError):
    """The case was closed: nothing new is recorded for it (409)."""


class NoConsent(ScreeningError):
    """The parents have not given (or have withdrawn) the consent the action needs (409)."""


class InvalidInput(ScreeningError):
    """A rule about the input that the request schema cannot express (422)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ChildNotKnownYet(ScreeningError):
    """The family's details have not arrived yet; trying again later can succeed."""
