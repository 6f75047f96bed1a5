"""What the handlers need from the outside world, as protocols; adapters implement them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel
from vrac_contracts.events.intake import CaseClosed, ConsentRecorded
from vrac_contracts.events.sealed import Sealed
from vrac_runtime.intake_facts import IntakeFacts

from vrac_network.domain.case import Case, Member
from vrac_network.domain.links import TaskLink
from vrac_network.domain.task import Task


@dataclass(frozen=True)
class PendingWork:
    """Erasure a case still owes: the whole case, or members who left (their keys and the
    free text of their tasks)."""

    case_id: str
    pilot: str
    erase_case: bool = False
    removed: list[str] = field(default_factory=list)


class Cases(IntakeFacts, Protocol):
    """Cases as network knows them. Intake's facts may arrive in any order and more than
    once, so each ``record_*`` is safe to apply twice and creates the case if need be."""

    async def record_consent(self, event: ConsentRecorded) -> None:
        """Keep the decision unless a newer one for the same key is already kept."""

    async def get_case(self, case_id: str) -> Case | None: ...

    async def add_member(self, case: Case, member: Member) -> bool:
        """Store the new member with the case's recorded events, if the case is still open
        and not erased; False (nothing written) when it was closed meanwhile."""

    async def remove_member(self, case: Case, member: Member) -> bool:
        """Store the member's removal (their details erased) with the case's recorded events
        and note the work it still owes, if the case is still open and the member not yet
        removed; False (nothing written) otherwise."""

    async def removal_done(self, case_id: str, member_id: str) -> None: ...

    async def edit_member(self, case: Case, member: Member) -> bool:
        """Store the member's edited self with the case's recorded events, if the case is
        still open and the member present; False (nothing written) otherwise."""

    async def save_relations(self, case: Case) -> bool:
        """Store the case's relations, if it is still open; False otherwise."""

    async def mark_erased(self, event: CaseClosed) -> None:
        """In one write: the case is closed, erased (no personal data is stored or served
        from now on) and its erasure pending. Creates the case if need be."""

    async def erase_members(self, case_id: str) -> None:
        """Erase every member's name, relationship and contacts of an erased case."""

    async def erasure_done(self, case_id: str) -> None: ...

    def pending_work(self) -> AsyncIterator[PendingWork]:
        """Every case with an erasure or a removal not yet finished."""

    async def is_closed(self, case_id: str) -> bool: ...


class Tasks(Protocol):
    """Tasks; every write stores the task's recorded events with its new state."""

    async def insert_task(self, task: Task) -> None: ...

    async def get_task(self, task_id: str) -> Task | None: ...

    async def tasks_of_case(self, case_id: str) -> list[Task]:
        """Oldest first."""

    async def save_task(self, task: Task, read_version: int) -> bool:
        """Write the task's change, unless it changed since ``read_version`` (then False)."""

    def overdue_candidates(self, as_of: dt.date, pilot: str | None = None) -> AsyncIterator[Task]:
        """Open tasks due before ``as_of`` not yet reported overdue, of any case."""

    async def flag_overdue(self, task: Task) -> bool:
        """Store the overdue flag and its event; False when another sweep (or a
        transition) got there first."""

    def due_soon_candidates(
        self, as_of: dt.date, until: dt.date, pilot: str | None = None
    ) -> AsyncIterator[Task]:
        """Open tasks due from ``as_of`` to ``until`` (both included), of any case."""

    async def flag_due_soon(self, task: Task) -> bool:
        """Store that the assignee was reminded of this due date, with its event; False when
        another sweep got there first or the due date moved meanwhile."""

    def unchecked_tasks(self) -> AsyncIterator[Task]:
        """Tasks inserted whose case was not looked at again afterwards (a crash between)."""

    async def text_checked(self, task_id: str) -> None: ...

    async def erase_texts(
        self, case_id: str, assignee_id: str | None = None, task_id: str | None = None
    ) -> None:
        """Erase the free text of the case's tasks (of one assignee, or one task)."""


class TaskLinks(Protocol):
    """The links issued to helpers: kept so that each answers once."""

    async def add(self, link: TaskLink) -> None: ...

    async def get(self, link_id: str) -> TaskLink | None: ...

    async def claim(self, link_id: str, now: dt.datetime) -> bool:
        """Mark the link used, unless it was already (then False)."""

    async def release(self, link_id: str) -> None:
        """Undo a claim whose answer was refused, so the helper may answer again."""


class DataKeys(Protocol):
    """Network's own data keys (``vrac_runtime.sealing.DataKeys``): one per member."""

    async def seal(self, case_id: str, key_id: str, plain: BaseModel) -> Sealed: ...

    async def destroy(self, case_id: str, key_id: str) -> None: ...

    async def destroy_case(self, case_id: str) -> int: ...


class Trail(Protocol):
    """The audit trail, for changes an event made rather than a request."""

    async def erased(self, case_id: str, pilot: str) -> None: ...


class Access(Protocol):
    """Who is asking: raises when they may not touch this case or task."""

    def check_case(self, pilot: str) -> None: ...

    def check_task(self, case: Case, assignee: Member | None) -> None: ...
