"""Events published by the network service."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ..fields import described, personal, personal_email, personal_phone
from ..ids import AgencyId, MemberId, TaskId
from ..values import Channel, DeclineReason, Language, MemberKind, NetworkRole, TaskCategory
from .base import EventData
from .sealed import Sealed


class MemberAdded(EventData):
    """Someone joined the child's support network (internal: holds personal data)."""

    member_id: MemberId = described("Pseudonymous id of the network member.")
    kind: MemberKind = described("Family, informal, professional or agency.")
    role: NetworkRole = described("The part the member plays in the network.")
    display_name: str = personal("Name to address the member by.", max_length=120)
    relationship: str | None = personal(
        "Relationship to the child in the family's words, e.g. grandmother.",
        default=None,
        max_length=80,
    )
    email: str | None = personal_email()
    phone: str | None = personal_phone()
    webhook_url: str | None = described(
        "HTTPS endpoint of an agency that takes notifications by webhook.",
        default=None,
        max_length=2000,
        pattern=r"^https://[^\s]+$",
    )
    agency_id: AgencyId | None = described(
        "The agency this member belongs to or is, if any.", default=None
    )
    channel: Channel = described("The channel the member wants to be notified on.")
    language: Language = described("The language the member wants to be addressed in.")


class MemberAddedV2(EventData):
    """Someone joined the child's support network; how to reach them travels sealed."""

    member_id: MemberId = described("Pseudonymous id of the network member; also its key id.")
    kind: MemberKind = described("Family, informal, professional or agency.")
    role: NetworkRole = described("The part the member plays in the network.")
    agency_id: AgencyId | None = described(
        "The agency this member belongs to or is, if any.", default=None
    )
    channel: Channel = described("The channel the member wants to be notified on.")
    language: Language = described("The language the member wants to be addressed in.")
    details: Sealed = described(
        "Name, relationship, e-mail and phone (`MemberDetails`), sealed with the member's key."
    )


class MemberEdited(MemberAddedV2):
    """The coach changed a member's role or details; how to reach them travels sealed."""


class MemberRemoved(EventData):
    """A member left the child's network; their details are erased and their key destroyed."""

    member_id: MemberId = described("The member who left.")


# the four sectors of an eco-map, as codes
NetworkSector = Literal["family", "friends-and-neighbours", "school", "professionals"]


class NetworkMeasured(EventData):
    """The case's network changed; what it measures now (counts and sector codes only)."""

    size: int = described("How many members the network has now.", ge=0)
    informal_members: int = described(
        "How many of them stand in the family or friends-and-neighbours sector.", ge=0
    )
    sectors_covered: tuple[NetworkSector, ...] = described(
        "The sectors at least one member stands in, each once."
    )


class _TaskEvent(EventData):
    task_id: TaskId = described("Id of the task in the care plan.")
    assignee_id: MemberId = described("The network member the task is assigned to.")
    assignee_kind: MemberKind = described("What kind of member the assignee is.")


class TaskAssigned(_TaskEvent):
    """A task of the care plan was given to a member of the network."""

    category: TaskCategory = described("What kind of help the task asks for.")
    due_date: dt.date | None = described("Date the task should be done by, if any.", default=None)


class TaskAccepted(_TaskEvent):
    """The assignee accepted the task."""


class TaskDeclined(_TaskEvent):
    """The assignee declined the task; the team will find someone else."""

    decline_reason: DeclineReason | None = described(
        "Why the task was declined, when given.", default=None
    )


class TaskDeclinedV2(TaskDeclined):
    """The assignee declined the task; the network's coordinator is told to find someone else."""

    coordinator_id: MemberId | None = described(
        "The member who coordinates the network (spider in the web) and hears of the decline; "
        "null when the network has none.",
        default=None,
    )


class TaskCompleted(_TaskEvent):
    """The assignee did the task."""


class TaskOverdue(_TaskEvent):
    """The task passed its due date without being completed."""

    due_date: dt.date = described("The date the task was due.")


class TaskDueSoon(_TaskEvent):
    """A task's due date is near and it is not done yet: time to remind the assignee."""

    due_date: dt.date = described("The date the task is due.")
    due_on: dt.date = described(
        "The day the reminder announces: the task's due date, for the reminder's wording."
    )


class TaskEdited(_TaskEvent):
    """The coach changed a task's category or due date (its note is never published)."""

    category: TaskCategory = described("What kind of help the task asks for now.")
    due_date: dt.date | None = described("The date the task is due now, if any.", default=None)


class TaskReassigned(_TaskEvent):
    """The task was given to another member of the network (``assignee_id`` is the new one)."""

    previous_assignee_id: MemberId = described("The member who had the task before.")
    category: TaskCategory = described("What kind of help the task asks for.")
    due_date: dt.date | None = described("Date the task should be done by, if any.", default=None)


class TaskCancelled(_TaskEvent):
    """The coach cancelled the task: nobody is asked to do it any more."""
