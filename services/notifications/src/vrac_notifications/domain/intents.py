"""Messages the service owes someone, recorded from the events that made them due.

An intent is kept in the case file until every recipient it names is known: a task may be
assigned before the directory hears of its assignee, and a screening usually completes before
the team adds the teacher to the network.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from vrac_contracts.values import TaskCategory


class MessageKind(StrEnum):
    TASK_ASSIGNED = "task-assigned"
    TASK_OVERDUE = "task-overdue"
    DIPLOMA_READY = "diploma-ready"
    SCHOOL_ADVICE = "school-advice"


class _Intent(BaseModel):
    model_config = ConfigDict(frozen=True)

    trigger_id: str  # ce_id of the event that made the message due
    trigger_type: str
    occurred_at: dt.datetime


class TaskMessage(_Intent):
    """Tell the assignee about a task, or remind them of it."""

    kind: Literal[MessageKind.TASK_ASSIGNED, MessageKind.TASK_OVERDUE]
    task_id: str
    member_id: str
    category: TaskCategory | None = None
    due_date: dt.date | None = None


class DiplomaMessage(_Intent):
    """Tell the guardians the child's diploma is ready."""

    kind: Literal[MessageKind.DIPLOMA_READY] = MessageKind.DIPLOMA_READY
    diploma_id: str


class SchoolAdviceMessage(_Intent):
    """Give the school the screening's advice for school."""

    kind: Literal[MessageKind.SCHOOL_ADVICE] = MessageKind.SCHOOL_ADVICE
    screening_id: str
    advice_codes: tuple[str, ...]


Intent = Annotated[TaskMessage | DiplomaMessage | SchoolAdviceMessage, Field(discriminator="kind")]
