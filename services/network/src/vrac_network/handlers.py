"""One function per command or event: load, let the domain decide, store state and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vrac_contracts.events.base import EventData
from vrac_contracts.values import CloseReason, DeclineReason, Pilot

from vrac_network.adapters.store import NetworkStore
from vrac_network.domain import task as tasks
from vrac_network.domain.case import Case, Consent, Member, NewMember
from vrac_network.domain.errors import CaseIsClosed, InvalidTransition, UnknownCase, UnknownTask
from vrac_network.domain.plan import CarePlan, care_plan
from vrac_network.domain.task import NewTask, Task

Clock = Callable[[], dt.datetime]
# a task write that lost a race re-reads and tries again this many times
_TASK_WRITE_ATTEMPTS = 3


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Access(Protocol):
    """Who is asking: raises when they may not touch this case or task."""

    def check_case(self, pilot: str) -> None: ...

    def check_task(self, pilot: str, assignee: Member | None) -> None: ...


# -- intake's events --


@dataclass(frozen=True)
class CaseOpenedFact:
    case_id: str
    pilot: Pilot
    programme: str
    opened_at: dt.datetime


@dataclass(frozen=True)
class CaseClosedFact:
    case_id: str
    pilot: Pilot
    reason: CloseReason
    closed_at: dt.datetime


@dataclass(frozen=True)
class ConsentFact:
    case_id: str
    pilot: Pilot
    key: str
    granted: bool
    changed_at: dt.datetime


async def record_case_opened(store: NetworkStore, fact: CaseOpenedFact) -> None:
    await store.record_case_opened(fact.case_id, fact.pilot, fact.programme, fact.opened_at)


async def record_case_closed(store: NetworkStore, fact: CaseClosedFact) -> None:
    await store.record_case_closed(fact.case_id, fact.pilot, fact.reason, fact.closed_at)


async def record_consent(store: NetworkStore, fact: ConsentFact) -> None:
    consent = Consent(granted=fact.granted, changed_at=fact.changed_at)
    await store.record_consent(fact.case_id, fact.pilot, fact.key, consent)


# -- the network and its tasks --


async def _visible_case(store: NetworkStore, case_id: str, access: Access) -> Case:
    case = await store.get_case(case_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    access.check_case(case.pilot)
    return case


async def add_member(
    store: NetworkStore, case_id: str, details: NewMember, access: Access, now: Clock = utc_now
) -> Member:
    case = await _visible_case(store, case_id, access)
    member, event = case.add_member(details, now())
    if not await store.add_member(case, member, event):
        # closed between our read and our write
        raise CaseIsClosed(f"case {case_id} is closed")
    return member


async def list_members(store: NetworkStore, case_id: str, access: Access) -> list[Member]:
    return (await _visible_case(store, case_id, access)).members


async def assign_task(
    store: NetworkStore, case_id: str, request: NewTask, access: Access, now: Clock = utc_now
) -> Task:
    case = await _visible_case(store, case_id, access)
    task, event = tasks.assign_task(case, request, now())
    await store.insert_task(task, event)
    return task


async def tasks_of_case(store: NetworkStore, case_id: str, access: Access) -> list[Task]:
    await _visible_case(store, case_id, access)
    return await store.tasks_of_case(case_id)


async def get_task(store: NetworkStore, task_id: str, access: Access) -> Task:
    task, _ = await _visible_task(store, task_id, access)
    return task


async def _visible_task(store: NetworkStore, task_id: str, access: Access) -> tuple[Task, Case]:
    task = await store.get_task(task_id)
    case = None if task is None else await store.get_case(task.case_id)
    if task is None or case is None:
        raise UnknownTask(f"task {task_id} not found")
    access.check_task(task.pilot, case.member(task.assignee_id))
    return task, case


async def _change_task(
    store: NetworkStore, task_id: str, access: Access, change: Callable[[Task], EventData]
) -> Task:
    for _ in range(_TASK_WRITE_ATTEMPTS):
        task, case = await _visible_task(store, task_id, access)
        if case.closed:
            raise CaseIsClosed(f"case {case.case_id} is closed")
        read_version = task.version
        event = change(task)
        if await store.save_task(task, read_version, event):
            return task
    raise InvalidTransition("the task kept changing meanwhile; try again")


async def accept_task(
    store: NetworkStore, task_id: str, access: Access, now: Clock = utc_now
) -> Task:
    return await _change_task(store, task_id, access, lambda t: t.accept(now()))


async def decline_task(
    store: NetworkStore,
    task_id: str,
    reason: DeclineReason,
    access: Access,
    now: Clock = utc_now,
) -> Task:
    return await _change_task(store, task_id, access, lambda t: t.decline(reason, now()))


async def complete_task(
    store: NetworkStore, task_id: str, access: Access, now: Clock = utc_now
) -> Task:
    return await _change_task(store, task_id, access, lambda t: t.complete(now()))


async def show_care_plan(store: NetworkStore, case_id: str, access: Access) -> CarePlan:
    case = await _visible_case(store, case_id, access)
    return care_plan(case, await store.tasks_of_case(case_id))


async def sweep_overdue(
    store: NetworkStore, as_of: dt.date, pilot: str | None = None, now: Clock = utc_now
) -> list[str]:
    """Report every open task due before ``as_of`` as overdue, once; returns the task ids
    this sweep reported (a concurrent sweep reports the others)."""
    reported: list[str] = []
    closed: dict[str, bool] = {}
    async for task in store.overdue_candidates(as_of, pilot):
        if task.case_id not in closed:
            closed[task.case_id] = await store.is_closed(task.case_id)
        if closed[task.case_id]:
            continue  # nobody is reminded about a closed case's tasks
        event = task.mark_overdue(as_of, now())
        if event is not None and await store.flag_overdue(task, event):
            reported.append(task.task_id)
    return reported
