"""Thin subscribers: each consumed event goes to its handler, in the catalogue's group."""

from __future__ import annotations

from typing import Any

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
from vrac_runtime.service import ServiceRuntime

from vrac_notifications import handlers
from vrac_notifications.handlers import Deps, Trigger


def _trigger(envelope: Envelope[Any]) -> Trigger:
    return Trigger(event_id=envelope.id, event_type=envelope.type)


class Subscribers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(CaseOpened, self.on_case_opened)
        runtime.on(CaseClosed, self.on_case_closed)
        runtime.on(ConsentChanged, self.on_consent_changed)
        runtime.on(FamilyRegistered, self.on_family_registered)
        runtime.on(MemberAdded, self.on_member_added)
        runtime.on(TaskAssigned, self.on_task_assigned)
        runtime.on(TaskOverdue, self.on_task_overdue)
        runtime.on(DiplomaIssued, self.on_diploma_issued)
        runtime.on(ScreeningCompleted, self.on_screening_completed)

    async def on_case_opened(self, envelope: Envelope[CaseOpened]) -> None:
        await handlers.open_case(self.deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[CaseClosed]) -> None:
        await handlers.close_case(self.deps, envelope.data)

    async def on_consent_changed(self, envelope: Envelope[ConsentChanged]) -> None:
        await handlers.record_consent(self.deps, envelope.data)

    async def on_family_registered(self, envelope: Envelope[FamilyRegistered]) -> None:
        await handlers.register_family(self.deps, envelope.data)

    async def on_member_added(self, envelope: Envelope[MemberAdded]) -> None:
        await handlers.add_member(self.deps, envelope.data)

    async def on_task_assigned(self, envelope: Envelope[TaskAssigned]) -> None:
        await handlers.tell_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_task_overdue(self, envelope: Envelope[TaskOverdue]) -> None:
        await handlers.remind_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_diploma_issued(self, envelope: Envelope[DiplomaIssued]) -> None:
        await handlers.announce_diploma(self.deps, envelope.data, _trigger(envelope))

    async def on_screening_completed(self, envelope: Envelope[ScreeningCompleted]) -> None:
        await handlers.advise_school(self.deps, envelope.data, _trigger(envelope))
