"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from vrac_contracts import values as vocab
from vrac_contracts.ids import AgencyId, MemberId
from vrac_runtime import schemas
from vrac_runtime.schemas import Attributes, Request
from vrac_runtime.values import from_attributes

from vrac_network.domain.case import NewMember
from vrac_network.domain.plan import CarePlan
from vrac_network.domain.task import DESCRIPTION_MAX, NewTask, TaskStatus

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

    def to_domain(self) -> NewMember:
        return NewMember(**self.model_dump())


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
        )


class SweepOut(BaseModel):
    as_of: dt.date
    reported: list[str] = Field(description="Ids of the tasks this sweep reported overdue.")
