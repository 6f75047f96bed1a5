"""What network is asked to do (imperative), as plain data: by a coach or by intake's events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vrac_contracts.values import DeclineReason

from .case import NewMember, RelationKind
from .links import Answer
from .task import NewTask, TaskChanges


@dataclass(frozen=True)
class AddMember:
    case_id: str
    member: NewMember


@dataclass(frozen=True)
class RemoveMember:
    case_id: str
    member_id: str


@dataclass(frozen=True)
class AssignTask:
    case_id: str
    task: NewTask


@dataclass(frozen=True)
class AcceptTask:
    task_id: str


@dataclass(frozen=True)
class DeclineTask:
    task_id: str
    reason: DeclineReason


@dataclass(frozen=True)
class CompleteTask:
    task_id: str


@dataclass(frozen=True)
class SweepOverdue:
    """Report open tasks due before ``as_of``; of one pilot, or of all for ``None``."""

    as_of: dt.date
    pilot: str | None = None


@dataclass(frozen=True)
class EditTask:
    task_id: str
    changes: TaskChanges


@dataclass(frozen=True)
class ReassignTask:
    task_id: str
    assignee_id: str


@dataclass(frozen=True)
class CancelTask:
    task_id: str


@dataclass(frozen=True)
class AnswerTask:
    """A helper's answer through their link; a decline gives its reason."""

    answer: Answer
    reason: DeclineReason | None = None


@dataclass(frozen=True)
class AddRelation:
    case_id: str
    from_id: str
    to_id: str
    kind: RelationKind
