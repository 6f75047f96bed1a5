"""A task of the care plan: who does what, by when, and how far it got.

Status moves assigned -> accepted -> completed, or to declined from assigned or accepted; a
task may be completed without an explicit accept (a grandmother who just did it). The coach
may edit an open task (category, due date, note), give it to someone else (it is assigned
again) or cancel it. Completed, declined and cancelled are final. Being overdue is a
separate, one-time fact: the first sweep after the due date records it, whatever the status
does later. The reminder before the due date is sent once per task and due date: moving the
date earns a new one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from vrac_contracts.events.base import EventData
from vrac_contracts.events.network import (
    TaskAccepted,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskDeclinedV2,
    TaskDueSoon,
    TaskEdited,
    TaskOverdue,
    TaskReassigned,
)
from vrac_contracts.values import DeclineReason, MemberKind, Pilot, TaskCategory
from vrac_runtime.aggregate import RecordsEvents
from vrac_runtime.values import optional_text

from .case import Case, Member
from .errors import InvalidTransition, RuleBroken

DESCRIPTION_MAX: Final = 500


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# statuses in which the task is still expected to be done
OPEN_STATUSES: Final = (TaskStatus.ASSIGNED, TaskStatus.ACCEPTED)


@dataclass(frozen=True)
class NewTask:
    """What a coach asks: a category, an assignee, optionally a due date and a note."""

    category: TaskCategory
    assignee_id: str
    due_date: dt.date | None = None
    description: str | None = None


@dataclass(frozen=True)
class TaskChanges:
    """What a coach changes of an open task; only the fields they sent."""

    category: TaskCategory | None = None
    due_date: dt.date | None = None
    description: str | None = None
    # fields sent as null on purpose: the due date or the note taken away
    cleared: frozenset[str] = frozenset()


@dataclass
class Task(RecordsEvents):
    """A task; a change records its event in ``events`` for the store to write with it."""

    task_id: str
    case_id: str
    pilot: Pilot
    assignee_id: str
    assignee_kind: MemberKind
    category: TaskCategory
    status: TaskStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    due_date: dt.date | None = None
    # internal note for the team; never put on an event
    description: str | None = None
    decline_reason: DeclineReason | None = None
    overdue: bool = False
    # the due date the assignee was reminded of (task-due-soon), if any
    reminded_for: dt.date | None = None
    version: int = 1
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def without_personal_data(self) -> Task:
        """The task as kept after erasure: the team's free text goes, codes and dates stay."""
        return replace(self, description=None)

    def _record(self, event: type[EventData], now: dt.datetime, **fields: object) -> None:
        """Every task event names the task and its assignee."""
        self.record(
            event,
            now,
            task_id=self.task_id,
            assignee_id=self.assignee_id,
            assignee_kind=self.assignee_kind,
            **fields,
        )

    def _move(
        self, action: str, allowed_from: tuple[TaskStatus, ...], to: TaskStatus, now: dt.datetime
    ) -> None:
        if self.status not in allowed_from:
            raise InvalidTransition(f"cannot {action} a task that is {self.status}")
        self.status = to
        self.updated_at = now

    def accept(self, now: dt.datetime) -> None:
        self._move("accept", (TaskStatus.ASSIGNED,), TaskStatus.ACCEPTED, now)
        self._record(TaskAccepted, now)

    def decline(
        self, reason: DeclineReason, now: dt.datetime, coordinator_id: str | None = None
    ) -> None:
        """Declined; the event names the network's coordinator, who finds someone else."""
        self._move("decline", OPEN_STATUSES, TaskStatus.DECLINED, now)
        self.decline_reason = reason
        self._record(TaskDeclinedV2, now, decline_reason=reason, coordinator_id=coordinator_id)

    def complete(self, now: dt.datetime) -> None:
        self._move("complete", OPEN_STATUSES, TaskStatus.COMPLETED, now)
        self._record(TaskCompleted, now)

    def cancel(self, now: dt.datetime) -> None:
        self._move("cancel", OPEN_STATUSES, TaskStatus.CANCELLED, now)
        self._record(TaskCancelled, now)

    def edit(self, changes: TaskChanges, now: dt.datetime) -> None:
        """New category, due date or note of an open task; task-edited (without the note)."""
        self._move("edit", OPEN_STATUSES, self.status, now)
        if changes.category is not None:
            self.category = changes.category
        if changes.due_date is not None or "due_date" in changes.cleared:
            self.due_date = changes.due_date
        if changes.description is not None or "description" in changes.cleared:
            self.description = optional_text("description", changes.description, DESCRIPTION_MAX)
        self._record(TaskEdited, now, category=self.category, due_date=self.due_date)

    def reassign(self, assignee: Member, now: dt.datetime) -> None:
        """Give the open task to another member (see :func:`assignee_for`): it is assigned
        again, to them."""
        if assignee.member_id == self.assignee_id:
            raise RuleBroken("assignee_id", "the task is already theirs")
        previous = self.assignee_id
        self._move("reassign", OPEN_STATUSES, TaskStatus.ASSIGNED, now)
        self.assignee_id, self.assignee_kind = assignee.member_id, assignee.kind
        self.reminded_for = None  # the new assignee has not been reminded yet
        self._record(
            TaskReassigned,
            now,
            previous_assignee_id=previous,
            category=self.category,
            due_date=self.due_date,
        )

    def is_due_soon(self, as_of: dt.date, days: int) -> bool:
        """Open, due within ``days`` from ``as_of`` (today and the due day included)."""
        if not self.is_open or self.due_date is None:
            return False
        return as_of <= self.due_date <= as_of + dt.timedelta(days=days)

    def mark_due_soon(self, as_of: dt.date, days: int, now: dt.datetime) -> bool:
        """Record task-due-soon once per due date; False when not due soon or told already."""
        if self.due_date is None or self.reminded_for == self.due_date:
            return False
        if not self.is_due_soon(as_of, days):
            return False
        self.reminded_for = self.due_date
        self._record(TaskDueSoon, now, due_date=self.due_date, due_on=self.due_date)
        return True

    def is_overdue(self, as_of: dt.date) -> bool:
        """Past its due date (the due day itself still counts as in time) and not done."""
        return self.is_open and self.due_date is not None and self.due_date < as_of

    def mark_overdue(self, as_of: dt.date, now: dt.datetime) -> bool:
        """Record task-overdue the first time the task is found overdue; False otherwise."""
        if self.overdue or not self.is_overdue(as_of):
            return False
        self.overdue = True
        self._record(TaskOverdue, now, due_date=self.due_date)
        return True


def assignee_for(case: Case, member_id: str) -> Member:
    """The present member of the case's network who may be given a task."""
    case.ensure_open()
    assignee = case.member(member_id)
    if assignee is None:
        raise RuleBroken("assignee_id", "not a member of this case's network")
    if assignee.removed:
        raise RuleBroken("assignee_id", "this member left the case's network")
    if assignee.agency_id:
        # the task's description and the case reach the agency only under the parents' consent
        case.ensure_shared_with(assignee.agency_id)
    return assignee


def assign_task(case: Case, task_id: str, request: NewTask, now: dt.datetime) -> Task:
    """A new task for a member of the case's network, with task-assigned recorded."""
    assignee = assignee_for(case, request.assignee_id)
    description = optional_text("description", request.description, DESCRIPTION_MAX)
    task = Task(
        task_id=task_id,
        case_id=case.case_id,
        pilot=case.pilot,
        assignee_id=assignee.member_id,
        assignee_kind=assignee.kind,
        category=request.category,
        status=TaskStatus.ASSIGNED,
        created_at=now,
        updated_at=now,
        due_date=request.due_date,
        description=description,
    )
    task._record(TaskAssigned, now, category=task.category, due_date=task.due_date)
    return task
