"""What the network domain refuses, and why; the runtime maps each base to its status code."""

from __future__ import annotations

from vrac_runtime.errors import Conflict, NotFound, RuleBroken

__all__ = [
    "AssigneeLeft",
    "CaseIsClosed",
    "InvalidTransition",
    "RuleBroken",
    "TaskChangedMeanwhile",
    "UnknownCase",
    "UnknownLink",
    "UnknownMember",
    "UnknownRelation",
    "UnknownTask",
]


class UnknownCase(NotFound):
    """The case was never opened as far as this service knows (no case-opened yet)."""


class UnknownTask(NotFound):
    """No task has this id."""


class UnknownMember(NotFound):
    """No member of the case's network has this id."""


class UnknownRelation(NotFound):
    """No relation of the case's network has this id."""


class UnknownLink(NotFound):
    """No task link has this id (or it is not a link of this service)."""


class AssigneeLeft(Conflict):
    """The task's assignee was removed from the network: the task no longer moves."""


class CaseIsClosed(Conflict):
    """Nothing changes on a closed case."""


class NoAgencyConsent(Conflict):
    """The parents have not consented (or no longer consent) to sharing with the agency."""


class InvalidTransition(Conflict):
    """The task's current status does not allow the requested change."""


class TaskChangedMeanwhile(Conflict):
    """Another writer changed the task between our read and our write (retried, then 409)."""
