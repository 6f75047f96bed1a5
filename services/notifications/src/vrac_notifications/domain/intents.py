"""Messages the service owes someone, recorded from the events that made them due.

An intent is kept in the case file until every recipient it names is known: a task may be
assigned before the directory hears of its assignee, and a screening usually completes before
the team adds the teacher to the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from vrac_contracts.values import DeclineReason, TaskCategory


class MessageKind(StrEnum):
    TASK_ASSIGNED = "task-assigned"
    TASK_OVERDUE = "task-overdue"
    TASK_DUE_SOON = "task-due-soon"
    TASK_DECLINED = "task-declined"
    TASK_OVERDUE_NOTICE = "task-overdue-notice"
    DIPLOMA_READY = "diploma-ready"
    SCHOOL_ADVICE = "school-advice"
    FAMILY_ADVICE = "family-advice"


TaskKind = Literal[MessageKind.TASK_ASSIGNED, MessageKind.TASK_DUE_SOON, MessageKind.TASK_OVERDUE]
TASK_KINDS: tuple[TaskKind, ...] = (
    MessageKind.TASK_ASSIGNED,
    MessageKind.TASK_DUE_SOON,
    MessageKind.TASK_OVERDUE,
)


@dataclass(frozen=True, kw_only=True)
class _Intent:
    trigger_id: str  # ce_id of the event that made the message due
    trigger_type: str
    occurred_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class TaskMessage(_Intent):
    """Tell the assignee about a task, or remind them of it (before or after its due date)."""

    kind: TaskKind
    task_id: str
    member_id: str
    category: TaskCategory | None = None
    due_date: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class DiplomaMessage(_Intent):
    """Tell the guardians the child's diploma is ready."""

    kind: Literal[MessageKind.DIPLOMA_READY] = field(default=MessageKind.DIPLOMA_READY, init=False)
    diploma_id: str


@dataclass(frozen=True, kw_only=True)
class SchoolAdviceMessage(_Intent):
    """Give the school the screening's advice for school."""

    kind: Literal[MessageKind.SCHOOL_ADVICE] = field(default=MessageKind.SCHOOL_ADVICE, init=False)
    screening_id: str
    advice_codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FamilyAdviceMessage(_Intent):
    """Give the guardians the screening's advice for parents and, in its own words, the
    advice for the child."""

    kind: Literal[MessageKind.FAMILY_ADVICE] = field(default=MessageKind.FAMILY_ADVICE, init=False)
    screening_id: str
    parent_codes: tuple[str, ...]
    child_codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DeclinedTaskMessage(_Intent):
    """Tell the network's coordinator (the spider in the web) that a member declined a task."""

    kind: Literal[MessageKind.TASK_DECLINED] = field(default=MessageKind.TASK_DECLINED, init=False)
    task_id: str
    member_id: str  # who declined
    coordinator_id: str | None = None  # as network names them; None: the directory's
    category: TaskCategory | None = None
    reason: DeclineReason | None = None


@dataclass(frozen=True, kw_only=True)
class OverdueTaskNotice(_Intent):
    """Tell the network's coordinator (the spider in the web) that a task is overdue, so
    they can follow it up with the assignee or the family."""

    kind: Literal[MessageKind.TASK_OVERDUE_NOTICE] = field(
        default=MessageKind.TASK_OVERDUE_NOTICE, init=False
    )
    task_id: str
    member_id: str  # the assignee
    due_date: dt.date
    category: TaskCategory | None = None


Intent = (
    TaskMessage
    | DiplomaMessage
    | SchoolAdviceMessage
    | FamilyAdviceMessage
    | DeclinedTaskMessage
    | OverdueTaskNotice
)
