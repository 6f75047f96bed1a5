"""Why intake refuses a command. Each derives from a base of ``vrac_runtime.errors``, whose
one HTTP mapping gives the status: ``NotFound`` 404, ``Refused`` 403, ``Conflict`` 409,
``RuleBroken`` 422."""

from __future__ import annotations

from vrac_runtime.errors import Conflict, NotFound, Refused, RuleBroken

__all__ = [
    "CaseIsClosed",
    "ChangedMeanwhile",
    "IdempotencyKeyReused",
    "LastGuardian",
    "LinkRefused",
    "RuleBroken",
    "StaleDecision",
    "UnknownCase",
    "UnknownGuardian",
    "UnknownLink",
]


class UnknownCase(NotFound):
    """No case has this id."""


class CaseIsClosed(Conflict):
    """The case is closed and takes no further changes."""


class StaleDecision(Conflict):
    """A consent decision older than the one already recorded for its purpose."""


class ChangedMeanwhile(Conflict):
    """Another writer changed the case between our read and our write (retry)."""


class IdempotencyKeyReused(Conflict):
    """An idempotency key already registered a different family."""


class UnknownGuardian(NotFound):
    """The case has no guardian with this id (never had, or they were removed)."""


class LastGuardian(Conflict):
    """An open case keeps at least one guardian: the family must stay reachable."""


class UnknownLink(NotFound):
    """Intake issued no family link with this id."""


class LinkRefused(Refused):
    """A family link intake no longer honours: revoked, or its guardian or case gone."""
