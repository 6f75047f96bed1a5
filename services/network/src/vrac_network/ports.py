"""What the handlers need from the outside world, as protocols; adapters implement them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Protocol

from vrac_runtime.intake_facts import IntakeFacts

from vrac_network.domain.case import Case, Member
from vrac_network.domain.task import Task


class Cases(IntakeFacts, Protocol):
    """Cases as network knows them. Intake's facts may arrive in any order and more than
    once, so each ``record_*`` is safe to apply twice and creates the case if need be."""

    async def get_case(self, case_id: str) -> Case | None: ...

    async def add_member(self, case: Case, member: Member) -> bool:
        """Store the new member with the case's recorded events, if the case is still open;
        False (nothing written) when it was closed meanwhile."""

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


class Access(Protocol):
    """Who is asking: raises when they may not touch this case or task."""

    def check_case(self, pilot: str) -> None: ...

    def check_task(self, case: Case, assignee: Member | None) -> None: ...
