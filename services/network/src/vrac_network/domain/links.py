"""Task links: how an informal helper answers their task from an e-mail, without an account.

A link is signed by network (``vrac_runtime.auth.Tokens.issue_link``), expires, names one task
and one member, and answers once: accept, decline (with a reason) or done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from vrac_contracts.values import DeclineReason, MemberKind
from vrac_runtime.errors import Conflict, RuleBroken

from .case import Case
from .task import Task


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    DONE = "done"


@dataclass(frozen=True)
class TaskLink:
    """A link issued for ``member_id`` to answer ``task_id``; ``used_at`` once it answered."""

    link_id: str
    case_id: str
    pilot: str
    task_id: str
    member_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None

    @property
    def path(self) -> str:
        """What the signature covers: this task for this member, nothing else."""
        return link_path(self.task_id, self.member_id)


class LinkUsed(Conflict):
    """The link answered already; each link answers once."""


class NotYourTask(Conflict):
    """The task was given to someone else (or its helper left) since the link was sent."""


def link_path(task_id: str, member_id: str) -> str:
    return f"/task-links/{task_id}/{member_id}"


def check_linkable(case: Case, task: Task, member_id: str) -> None:
    """A link is issued only for an open task of a present member it is assigned to, and
    not to an agency, which answers with its own token."""
    case.ensure_open()
    member = case.member(member_id)
    if member is None or member.removed or task.assignee_id != member_id:
        raise RuleBroken("member_id", "not the present assignee of this task")
    if member.kind is MemberKind.AGENCY:
        raise RuleBroken("member_id", "an agency answers with its own token, not a link")
    if not task.is_open:
        raise RuleBroken("task_id", f"the task is {task.status}: nothing to answer")


def check_answerable(link: TaskLink, case: Case, task: Task) -> None:
    if link.used_at is not None:
        raise LinkUsed("this link was used already; each link answers once")
    member = case.member(link.member_id)
    if task.assignee_id != link.member_id or member is None or member.removed:
        raise NotYourTask("this task is no longer yours; the coach gave it to someone else")
    case.ensure_open()


def apply_answer(
    task: Task,
    answer: Answer,
    reason: DeclineReason | None,
    now: dt.datetime,
    coordinator_id: str | None,
) -> None:
    """The helper's answer as the task's transition; a decline needs its reason."""
    if answer is Answer.ACCEPT:
        task.accept(now)
    elif answer is Answer.DONE:
        task.complete(now)
    else:
        if reason is None:
            raise RuleBroken("reason", "required when the answer is decline")
        task.decline(reason, now, coordinator_id)
