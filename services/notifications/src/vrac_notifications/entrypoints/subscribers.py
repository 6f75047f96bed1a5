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
        runtime.on(events.ConsentRecorded, self.on_consent_recorded)
        runtime.on(events.FamilyRegisteredV2, self.on_family_registered)
        runtime.on(events.GuardianRemoved, self.on_guardian_removed)
        runtime.on(events.MemberAddedV2, self.on_member_added)
        runtime.on(events.MemberEdited, self.on_member_edited)
        runtime.on(events.MemberRemoved, self.on_member_removed)
        runtime.on(events.TaskAssigned, self.on_task_assigned)
        runtime.on(events.TaskOverdue, self.on_task_overdue)
        runtime.on(events.TaskDueSoon, self.on_task_due_soon)
        runtime.on(events.TaskDeclinedV2, self.on_task_declined)
        runtime.on(events.DiplomaIssued, self.on_diploma_issued)
        runtime.on(events.FindingsRecorded, self.on_findings_recorded)

    async def on_case_opened(self, envelope: Envelope[events.CaseOpened]) -> None:
        await handlers.open_case(self.deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[events.CaseClosed]) -> None:
        await handlers.close_case(self.deps, envelope.data)

    async def on_consent_recorded(self, envelope: Envelope[events.ConsentRecorded]) -> None:
        await handlers.record_consent(self.deps, envelope.data)

    async def on_family_registered(self, envelope: Envelope[events.FamilyRegisteredV2]) -> None:
        await handlers.register_family(self.deps, envelope.data)

    async def on_guardian_removed(self, envelope: Envelope[events.GuardianRemoved]) -> None:
        await handlers.remove_guardian(self.deps, envelope.data)

    async def on_member_added(self, envelope: Envelope[events.MemberAddedV2]) -> None:
        await handlers.add_member(self.deps, envelope.data)

    async def on_member_edited(self, envelope: Envelope[events.MemberEdited]) -> None:
        await handlers.add_member(self.deps, envelope.data)

    async def on_member_removed(self, envelope: Envelope[events.MemberRemoved]) -> None:
        await handlers.remove_member(self.deps, envelope.data)

    async def on_task_assigned(self, envelope: Envelope[events.TaskAssigned]) -> None:
        await handlers.tell_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_task_overdue(self, envelope: Envelope[events.TaskOverdue]) -> None:
        await handlers.remind_assignee(self.deps, envelope.data, _trigger(envelope))

    async def on_task_due_soon(self, envelope: Envelope[events.TaskDueSoon]) -> None:
        await handlers.remind_before_due(self.deps, envelope.data, _trigger(envelope))

    async def on_task_declined(self, envelope: Envelope[events.TaskDeclinedV2]) -> None:
        await handlers.tell_coordinator(self.deps, envelope.data, _trigger(envelope))

    async def on_diploma_issued(self, envelope: Envelope[events.DiplomaIssued]) -> None:
        await handlers.announce_diploma(self.deps, envelope.data, _trigger(envelope))

    async def on_findings_recorded(self, envelope: Envelope[events.FindingsRecorded]) -> None:
        # one event, two messages: the school's advice and the family's
        await handlers.advise_school(self.deps, envelope.data, _trigger(envelope))
        await handlers.advise_family(self.deps, envelope.data, _trigger(envelope))
