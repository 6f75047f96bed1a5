"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from vrac_contracts import values as vocab
from vrac_contracts.ids import AgencyId, MemberId
from vrac_runtime import schemas
from vrac_runtime.errors import RuleBroken
from vrac_runtime.schemas import Attributes, Request
from vrac_runtime.values import from_attributes

from vrac_network.domain.case import NewMember, RelationKind
from vrac_network.domain.links import Answer
from vrac_network.domain.plan import CarePlan
from vrac_network.domain.roles import Sector
from vrac_network.domain.task import DESCRIPTION_MAX, NewTask, Task, TaskChanges, TaskStatus

_SECTOR = "family, friends-and-neighbours, school or professionals"

# the same formats the member-added contract accepts, checked at the door
Email = schemas.Email
Phone = Annotated[schemas.Phone, StringConstraints(max_length=16)]
HttpsUrl = Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s]+$")]


class MemberIn(Request):
    kind: vocab.MemberKind = Field(description="family, informal, professional or agency.")
    role: vocab.NetworkRole = Field(
        description="The part the member plays, e.g. spider-in-the-web."
    )
    display_name: Annotated[str, schemas.OneLine] = Field(
        min_length=1, max_length=120, description="Name to address them."
    )
    relationship: str | None = Field(
        None, max_length=80, description="Relationship to the child, e.g. grandmother."
    )
    email: Email | None = Field(None, description="E-mail address; required for channel email.")
    phone: Phone | None = Field(None, description="E.164 phone number; required for channel sms.")
    webhook_url: HttpsUrl | None = Field(None, description="An agency's HTTPS endpoint, if any.")
    agency_id: AgencyId | None = Field(
        None, description="The agency (agy_...); required for kind agency and channel webhook."
    )
    channel: vocab.Channel = Field(description="How the member wants to be notified.")
    language: vocab.Language | None = Field(
        None, description="nl, fr or en; defaults to the pilot's language."
    )
    sector: Sector | None = Field(
        None, description=f"Where they stand around the child: {_SECTOR}; defaults by kind."
    )

    def to_domain(self) -> NewMember:
        return NewMember(**self.model_dump())


class MemberPatchIn(Request):
    """Only the fields sent change; kind and agency id cannot (that is another member)."""

    role: vocab.NetworkRole | None = None
    sector: Sector | None = None
    display_name: Annotated[str, schemas.OneLine] | None = Field(None, min_length=1, max_length=120)
    relationship: str | None = Field(None, max_length=80)
    email: Email | None = None
    phone: Phone | None = None
    webhook_url: HttpsUrl | None = None
    channel: vocab.Channel | None = None
    language: vocab.Language | None = None

    def changes(self) -> dict[str, object]:
        """The fields sent; only the optional details may be sent as null (cleared)."""
        sent = self.model_dump(exclude_unset=True)
        for name in ("role", "sector", "display_name", "channel", "language"):
            if name in sent and sent[name] is None:
                raise RuleBroken(name, "cannot be cleared")
        return sent


class RelationIn(Request):
    from_id: MemberId = Field(description="One member of the case's network.")
    to_id: MemberId = Field(description="Another member of the case's network.")
    kind: RelationKind = Field(description="family-tie, friendship, works-with or strained.")


class RelationOut(Attributes):
    relation_id: str
    from_id: str
    to_id: str
    kind: RelationKind


class TaskIn(Request):
    category: vocab.TaskCategory = Field(description="What kind of help the task asks for.")
    assignee_id: MemberId = Field(description="A member of this case's network (mbr_...).")
    due_date: dt.date | None = Field(None, description="Date the task should be done by.")
    description: str | None = Field(
        None,
        max_length=DESCRIPTION_MAX,
        description="A short note for the team; stored here, never published.",
    )

    def to_domain(self) -> NewTask:
        return NewTask(**self.model_dump())


class TaskPatchIn(Request):
    """Only the fields sent change; ``due_date`` or ``description`` sent as null clear it."""

    category: vocab.TaskCategory | None = None
    due_date: dt.date | None = None
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)

    def to_domain(self) -> TaskChanges:
        sent = self.model_fields_set
        if "category" in sent and self.category is None:
            raise RuleBroken("category", "cannot be cleared")
        cleared = frozenset(
            f for f in ("due_date", "description") if f in sent and getattr(self, f) is None
        )
        return TaskChanges(self.category, self.due_date, self.description, cleared)


class ReassignIn(Request):
    assignee_id: MemberId = Field(description="The present member who takes the task over.")


class TaskLinkIn(Request):
    case_id: str = Field(max_length=64)
    task_id: str = Field(max_length=64)
    member_id: MemberId


class TaskLinkOut(BaseModel):
    url: str = Field(description="Opens the task for its helper; answers once.")
    expires_at: dt.datetime


class AnswerIn(Request):
    answer: Answer = Field(description="accept, decline or done.")
    reason: vocab.DeclineReason | None = Field(
        None, description="Why the task is declined; required with decline."
    )


class HelperTaskOut(Attributes):
    """The task as its helper sees it through their link: what, by when, how far."""

    task_id: str
    category: vocab.TaskCategory
    status: TaskStatus
    due_date: dt.date | None
    description: str | None
    answers: list[Answer] = Field(description="The answers the link still takes.")
    language: vocab.Language | None = Field(
        None, description="The helper's language, for the page that shows the task to them."
    )

    @classmethod
    def of_task(
        cls, task: Task, answers: list[Answer], language: vocab.Language | None = None
    ) -> HelperTaskOut:
        return from_attributes(cls, task, answers=answers, language=language)


class DeclineIn(Request):
    reason: vocab.DeclineReason = Field(description="Why the task is declined.")


class SweepIn(Request):
    as_of: dt.date | None = Field(
        None, description="Report tasks due before this date; defaults to today (UTC)."
    )


class MemberOut(Attributes):
    member_id: str
    kind: vocab.MemberKind
    role: vocab.NetworkRole
    display_name: str | None = Field(
        description="Null once erased: the member left, or the case was erased."
    )
    relationship: str | None
    email: str | None
    phone: str | None
    webhook_url: str | None
    agency_id: str | None
    channel: vocab.Channel
    language: vocab.Language
    added_at: dt.datetime
    removed_at: dt.datetime | None = Field(
        description="When the member left the network (their details are erased); else null."
    )
    sector: Sector = Field(description=f"Where they stand around the child: {_SECTOR}.")


class TaskOut(Attributes):
    task_id: str
    case_id: str
    pilot: vocab.Pilot
    assignee_id: str
    assignee_kind: vocab.MemberKind
    category: vocab.TaskCategory
    status: TaskStatus
    due_date: dt.date | None
    description: str | None
    decline_reason: vocab.DeclineReason | None
    overdue: bool = Field(description="True once the overdue sweep reported the task.")
    created_at: dt.datetime
    updated_at: dt.datetime


class MemberPlanOut(MemberOut):
    agency_consent: bool | None = Field(
        description="For members with an agency id: whether the parents consent to sharing "
        "with that agency (null when never asked)."
    )
    tasks: list[TaskOut]


class MetricsOut(BaseModel):
    size: int = Field(description="Members present in the network.")
    informal_share: float | None = Field(
        description="Share of them from family, friends and neighbours (null when none)."
    )
    sectors_covered: list[Sector] = Field(description="Sectors with at least one member.")


class PlanOut(BaseModel):
    case_id: str
    pilot: vocab.Pilot
    status: str = Field(description="open or closed.")
    erased: bool = Field(
        description="The case was closed with erasure requested: nothing personal is kept."
    )
    members: list[MemberPlanOut]
    task_counts: dict[TaskStatus, int]
    overdue: int = Field(description="Open tasks the overdue sweep reported.")
    relations: list[RelationOut]
    metrics: MetricsOut

    @classmethod
    def of(cls, plan: CarePlan) -> PlanOut:
        members = [
            from_attributes(
                MemberPlanOut,
                entry.member,
                agency_consent=entry.agency_consent,
                tasks=[TaskOut.of(task) for task in entry.tasks],
            )
            for entry in plan.members
        ]
        return cls(
            case_id=plan.case.case_id,
            pilot=plan.case.pilot,
            status="closed" if plan.case.closed else "open",
            erased=plan.case.erased,
            members=members,
            task_counts=plan.counts,
            overdue=plan.overdue,
            relations=[RelationOut.of(r) for r in plan.case.relations],
            metrics=MetricsOut(
                size=plan.metrics.size,
                informal_share=plan.metrics.informal_share,
                sectors_covered=list(plan.metrics.sectors_covered),
            ),
        )


class SweepOut(BaseModel):
    as_of: dt.date
    reported: list[str] = Field(description="Ids of the tasks this sweep reported overdue.")
    reminded: list[str] = Field(
        description="Ids of the tasks whose assignee this sweep reminded (due soon)."
    )
