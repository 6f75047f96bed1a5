"""Thin subscribers: map each contract event to a command and call its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from vrac_contracts.envelope import Envelope
from vrac_contracts.events import (
    CaseClosed,
    CaseOpened,
    ConsentChanged,
    DiplomaIssued,
    FamilyRegistered,
    MemberAdded,
    ScreeningCompleted,
    TaskAssigned,
    TaskOverdue,
)
from vrac_contracts.values import AdviceAudience

from vrac_notifications import handlers
from vrac_notifications.domain.casefile import ConsentDecision
from vrac_notifications.domain.contacts import Contact, RecipientKind, consent_key
from vrac_notifications.domain.intents import (
    DiplomaMessage,
    MessageKind,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.handlers import Deps

Subscriber = Callable[[Deps, Envelope[Any]], Awaitable[None]]


async def on_case_opened(deps: Deps, envelope: Envelope[CaseOpened]) -> None:
    await handlers.open_case(deps, envelope.data.case_id, envelope.data.pilot)


async def on_case_closed(deps: Deps, envelope: Envelope[CaseClosed]) -> None:
    data = envelope.data
    await handlers.close_case(deps, data.case_id, data.pilot, data.occurred_at)


async def on_consent_changed(deps: Deps, envelope: Envelope[ConsentChanged]) -> None:
    data = envelope.data
    decision = ConsentDecision(granted=data.granted, changed_at=data.changed_at)
    key = consent_key(data.purpose, data.agency_id)
    await handlers.record_consent(deps, data.case_id, data.pilot, key, decision)


async def on_family_registered(deps: Deps, envelope: Envelope[FamilyRegistered]) -> None:
    data = envelope.data
    guardians = [
        Contact(
            recipient_id=g.guardian_id,
            recipient_kind=RecipientKind.GUARDIAN,
            name=g.name,
            language=g.language,
            channel=g.preferred_channel,
            email=g.email,
            phone=g.phone,
        )
        for g in data.guardians
    ]
    await handlers.register_family(
        deps, data.case_id, data.pilot, data.child_first_name, data.language, guardians
    )


async def on_member_added(deps: Deps, envelope: Envelope[MemberAdded]) -> None:
    data = envelope.data
    member = Contact(
        recipient_id=data.member_id,
        recipient_kind=RecipientKind.MEMBER,
        name=data.display_name,
        language=data.language,
        channel=data.channel,
        email=data.email,
        phone=data.phone,
        member_kind=data.kind,
        role=data.role,
        agency_id=data.agency_id,
    )
    await handlers.add_member(deps, data.case_id, data.pilot, member)


async def on_task_assigned(deps: Deps, envelope: Envelope[TaskAssigned]) -> None:
    data = envelope.data
    intent = TaskMessage(
        kind=MessageKind.TASK_ASSIGNED,
        trigger_id=envelope.id,
        trigger_type=envelope.type,
        occurred_at=data.occurred_at,
        task_id=data.task_id,
        member_id=data.assignee_id,
        category=data.category,
        due_date=data.due_date,
    )
    await handlers.expect_message(deps, data.case_id, data.pilot, intent)


async def on_task_overdue(deps: Deps, envelope: Envelope[TaskOverdue]) -> None:
    data = envelope.data
    intent = TaskMessage(
        kind=MessageKind.TASK_OVERDUE,
        trigger_id=envelope.id,
        trigger_type=envelope.type,
        occurred_at=data.occurred_at,
        task_id=data.task_id,
        member_id=data.assignee_id,
        due_date=data.due_date,
    )
    await handlers.expect_message(deps, data.case_id, data.pilot, intent)


async def on_diploma_issued(deps: Deps, envelope: Envelope[DiplomaIssued]) -> None:
    data = envelope.data
    intent = DiplomaMessage(
        trigger_id=envelope.id,
        trigger_type=envelope.type,
        occurred_at=data.occurred_at,
        diploma_id=data.diploma_id,
    )
    await handlers.expect_message(deps, data.case_id, data.pilot, intent)


async def on_screening_completed(deps: Deps, envelope: Envelope[ScreeningCompleted]) -> None:
    data = envelope.data
    codes = tuple(str(a.code) for a in data.advice if a.audience is AdviceAudience.SCHOOL)
    if not codes:
        return  # nothing for school in this screening
    intent = SchoolAdviceMessage(
        trigger_id=envelope.id,
        trigger_type=envelope.type,
        occurred_at=data.occurred_at,
        screening_id=data.screening_id,
        advice_codes=codes,
    )
    await handlers.expect_message(deps, data.case_id, data.pilot, intent)


SUBSCRIBERS: dict[type[BaseModel], Subscriber] = {
    CaseOpened: on_case_opened,
    CaseClosed: on_case_closed,
    ConsentChanged: on_consent_changed,
    FamilyRegistered: on_family_registered,
    MemberAdded: on_member_added,
    TaskAssigned: on_task_assigned,
    TaskOverdue: on_task_overdue,
    DiplomaIssued: on_diploma_issued,
    ScreeningCompleted: on_screening_completed,
}
