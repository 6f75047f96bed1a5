"""Thin subscribers: each consumed event goes to its handler, in the catalogue's group."""

from __future__ import annotations

from typing import Any

from vrac_contracts import events
from vrac_contracts.envelope import Envelope
from vrac_runtime.service import ServiceRuntime

from vrac_notifications import handlers
from vrac_notifications.handlers import Deps, Trigger


def _trigger(envelope: Envelope[Any]) -> Trigger:
    return Trigger(event_id=envelope.id, event_type=envelope.type)


class Subscribers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(events.CaseOpened, self.on_case_opened)
        runtime.on(events.CaseClosed, self.on_case_closed)
        runtime.on(events.ConsentChanged, self.on_consent_changed)
        runtime.on(events.FamilyRegistered, self.on_family_registered)
        runtime.on(events.MemberAdded, self.on_member_added)
        runtime.on(events.TaskAssigned, self.on_task_assigned)
        runtime.on(events.TaskOverdue, self.on_task_overdue)
        runtime.on(events.DiplomaIssued, self.on_diploma_issued)
        runtime.on(events.ScreeningCompleted, self.on_screening_completed)

    async def on_case_opened(self, envelope: Envelope[events.CaseOpened]) -> None:
        await handlers.open_case(self.deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[events.CaseClosed]) -> None:
        await handlers.close_case(self.deps, envelope.data)

    async def on_consent_changed(self, envelope: Envelope[events.ConsentChanged]) -> None:
        await handlers.record_consent(self.deps, envelope.data)

    async def on_family_registered(self, envelope: Envelope[events.FamilyRegistered]) -> None:
        await handlers.register_family(self.deps, envelope.data)

    async def on_member_added(self, envelope: Envelope[events.MemberAdded]) -> None:
        await handlers.add_member(self.deps, envelope.data)

    async def on_task_assigned(self, envelope: Envelope[events.TaskAssigned]) -> None:
        await handlers.tell_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_task_overdue(self, envelope: Envelope[events.TaskOverdue]) -> None:
        await handlers.remind_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_diploma_issued(self, envelope: Envelope[events.DiplomaIssued]) -> None:
        await handlers.announce_diploma(self.deps, envelope.data, _trigger(envelope))

    async def on_screening_completed(self, envelope: Envelope[events.ScreeningCompleted]) -> None:
        await handlers.advise_school(self.deps, envelope.data, _trigger(envelope))
