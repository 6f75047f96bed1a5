"""In-memory implementations of the network's ports, for handler tests (fakes, not mocks).

The store keeps copies, as a real store would, and every event it was handed, in order.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from vrac_contracts.consent import consent_decision, is_newer
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged, ConsentRecorded
from vrac_contracts.events.network import TaskDueSoon, TaskOverdue
from vrac_contracts.ids import PREFIXES
from vrac_contracts.values import Pilot
from vrac_network.domain.case import Case, Member
from vrac_network.domain.links import TaskLink
from vrac_network.domain.task import Task
from vrac_network.handlers import Deps
from vrac_network.ports import PendingWork
from vrac_testing.keys import MemoryKeys

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


class FakeNetwork:
    """Cases and tasks in dicts: the ``Cases`` and ``Tasks`` ports."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.tasks: dict[str, Task] = {}
        self.outbox: list[EventData] = []
        # the next this many task writes find the task changed by another writer
        self.races = 0
        self.erasure_pending: set[str] = set()
        self.removals_pending: dict[str, list[str]] = {}
        self.unchecked: set[str] = set()
        # run once just before / right after the next task insert: another writer acting
        # at that moment, or the process dying
        self.before_insert: Callable[[], Awaitable[None]] | None = None
        self.after_insert: Callable[[], Awaitable[None]] | None = None

    # -- Cases --

    def _case(self, case_id: str, pilot: Pilot) -> Case:
        return self.cases.setdefault(case_id, Case(case_id, pilot))

    async def record_opened(self, event: CaseOpened) -> None:
        case = self._case(event.case_id, event.pilot)
        case.pilot, case.opened = event.pilot, True

    async def record_closed(self, event: CaseClosed) -> None:
        self._case(event.case_id, event.pilot).closed = True

    async def record_consent(self, event: ConsentChanged | ConsentRecorded) -> None:
        key, consent = consent_decision(event)
        consents = self._case(event.case_id, event.pilot).consents
        if is_newer(consents.get(key), consent):
            consents[key] = consent

    async def get_case(self, case_id: str) -> Case | None:
        case = self.cases.get(case_id)
        return None if case is None else copy.deepcopy(case)

    def _changeable(self, case_id: str) -> Case | None:
        stored = self.cases.get(case_id)
        ok = stored is not None and stored.opened and not stored.closed and not stored.erased
        return stored if ok else None

    async def add_member(self, case: Case, member: Member) -> bool:
        events = case.pull_events()
        stored = self._changeable(case.case_id)
        if stored is None:
            return False
        stored.members.append(member)
        self.outbox += events
        return True

    def _replace_present(self, case: Case, member: Member) -> Case | None:
        """Put the member in place of their present self with the case's events; None (and
        nothing written) when the case is closed or they left."""
        events = case.pull_events()
        stored = self._changeable(case.case_id)
        if stored is None:
            return None
        index = stored.member_index(member.member_id)
        if stored.members[index].removed:
            return None
        stored.members[index] = member
        self.outbox += events
        return stored

    async def remove_member(self, case: Case, member: Member) -> bool:
        stored = self._replace_present(case, member)
        if stored is None:
            return False
        stored.relations = list(case.relations)
        pending = self.removals_pending.setdefault(case.case_id, [])
        if member.member_id not in pending:
            pending.append(member.member_id)
        return True

    async def edit_member(self, case: Case, member: Member) -> bool:
        return self._replace_present(case, member) is not None

    async def save_relations(self, case: Case) -> bool:
        stored = self._changeable(case.case_id)
        if stored is None:
            return False
        stored.relations = list(case.relations)
        return True

    async def removal_done(self, case_id: str, member_id: str) -> None:
        pending = self.removals_pending.get(case_id, [])
        if member_id in pending:
            pending.remove(member_id)

    async def mark_erased(self, event: CaseClosed) -> None:
        case = self._case(event.case_id, event.pilot)
        case.closed, case.erased = True, True
        self.erasure_pending.add(event.case_id)

    async def erase_members(self, case_id: str) -> None:
        case = self.cases[case_id]
        case.members = [m.without_personal_data() for m in case.members]

    async def erasure_done(self, case_id: str) -> None:
        self.erasure_pending.discard(case_id)

    async def pending_work(self) -> AsyncIterator[PendingWork]:
        ids = self.erasure_pending | {c for c, ms in self.removals_pending.items() if ms}
        for case_id in sorted(ids):
            yield PendingWork(
                case_id=case_id,
                pilot=self.cases[case_id].pilot,
                erase_case=case_id in self.erasure_pending,
                removed=list(self.removals_pending.get(case_id, [])),
            )

    async def is_closed(self, case_id: str) -> bool:
        case = self.cases.get(case_id)
        return case is not None and case.closed

    # -- Tasks --

    async def insert_task(self, task: Task) -> None:
        meanwhile, self.before_insert = self.before_insert, None
        if meanwhile is not None:
            await meanwhile()
        self.outbox += task.pull_events()
        self.tasks[task.task_id] = copy.deepcopy(task)
        self.unchecked.add(task.task_id)
        meanwhile, self.after_insert = self.after_insert, None
        if meanwhile is not None:
            await meanwhile()

    async def unchecked_tasks(self) -> AsyncIterator[Task]:
        for task_id in sorted(self.unchecked):
            yield copy.deepcopy(self.tasks[task_id])

    async def text_checked(self, task_id: str) -> None:
        self.unchecked.discard(task_id)

    async def erase_texts(
        self, case_id: str, assignee_id: str | None = None, task_id: str | None = None
    ) -> None:
        for task in self.tasks.values():
            if (
                task.case_id == case_id
                and assignee_id in (None, task.assignee_id)
                and task_id in (None, task.task_id)
            ):
                task.description = None

    async def get_task(self, task_id: str) -> Task | None:
        task = self.tasks.get(task_id)
        return None if task is None else copy.deepcopy(task)

    async def tasks_of_case(self, case_id: str) -> list[Task]:
        found = [t for t in self.tasks.values() if t.case_id == case_id]
        return [copy.deepcopy(t) for t in sorted(found, key=lambda t: t.created_at)]

    async def save_task(self, task: Task, read_version: int) -> bool:
        events = task.pull_events()
        stored = self.tasks[task.task_id]
        if self.races:
            self.races -= 1
            stored.version += 1  # someone else wrote the task meanwhile
        if stored.version != read_version:
            return False
        task.version = read_version + 1
        self.tasks[task.task_id] = copy.deepcopy(task)
        self.outbox += events
        return True

    async def overdue_candidates(
        self, as_of: dt.date, pilot: str | None = None
    ) -> AsyncIterator[Task]:
        due = [
            t
            for t in self.tasks.values()
            if not t.overdue
            and t.is_open
            and t.due_date is not None
            and t.due_date < as_of
            and (pilot is None or t.pilot == pilot)
        ]
        for task in sorted(due, key=lambda t: t.due_date or as_of):
            yield copy.deepcopy(task)

    async def flag_overdue(self, task: Task) -> bool:
        events = task.pull_events()
        stored = self.tasks[task.task_id]
        if stored.overdue or not stored.is_open:
            return False
        if not any(isinstance(e, TaskOverdue) for e in events):
            return False
        stored.overdue = True
        self.outbox += events
        return True

    async def due_soon_candidates(
        self, as_of: dt.date, until: dt.date, pilot: str | None = None
    ) -> AsyncIterator[Task]:
        due = [
            t
            for t in self.tasks.values()
            if t.is_open
            and t.due_date is not None
            and as_of <= t.due_date <= until
            and (pilot is None or t.pilot == pilot)
        ]
        for task in sorted(due, key=lambda t: t.due_date or as_of):
            yield copy.deepcopy(task)

    async def flag_due_soon(self, task: Task) -> bool:
        events = task.pull_events()
        stored = self.tasks[task.task_id]
        if stored.due_date != task.due_date or stored.reminded_for == task.due_date:
            return False
        if not any(isinstance(e, TaskDueSoon) for e in events):
            return False
        stored.reminded_for = task.due_date
        self.outbox += events
        return True


class FakeLinks:
    """Issued task links by id."""

    def __init__(self) -> None:
        self.links: dict[str, TaskLink] = {}

    async def add(self, link: TaskLink) -> None:
        self.links[link.link_id] = link

    async def get(self, link_id: str) -> TaskLink | None:
        return self.links.get(link_id)

    async def claim(self, link_id: str, now: dt.datetime) -> bool:
        link = self.links[link_id]
        if link.used_at is not None:
            return False
        self.links[link_id] = replace(link, used_at=now)
        return True

    async def release(self, link_id: str) -> None:
        self.links[link_id] = replace(self.links[link_id], used_at=None)


def fake_sign_link(path: str, seconds: int) -> tuple[str, str, int]:
    """A link id, a token naming the path, and the expiry as from NOW."""
    link_id = f"lnk{abs(hash((path, seconds))) % 10**8:08d}"
    return link_id, f"token-for{path}", int(NOW.timestamp()) + seconds


class FakeTrail:
    """The audit trail: the cases whose erasure was recorded, in order."""

    def __init__(self) -> None:
        self.erasures: list[tuple[str, str]] = []

    async def erased(self, case_id: str, pilot: str) -> None:
        self.erasures.append((case_id, pilot))


@dataclass(frozen=True)
class FakeAccess:
    """A caller of one pilot; with an ``agency_id``, an agency that only touches tasks of its
    own member."""

    pilot: str = "leiden"
    agency_id: str | None = None

    def check_case(self, pilot: str) -> None:
        if pilot != self.pilot:
            raise PermissionError(f"not of pilot {pilot}")

    def check_task(self, case: Case, assignee: Member | None) -> None:
        self.check_case(case.pilot)
        if self.agency_id is None:
            return
        if assignee is None or assignee.removed or assignee.agency_id != self.agency_id:
            raise PermissionError("this task is not assigned to you")
        if case.agency_consent(self.agency_id) is not True:
            raise PermissionError("the family does not share this case with your agency")


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class FakeMint:
    """Ids in the contract's formats, numbered in the order they are minted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, kind: str) -> str:
        self.count += 1
        return f"{PREFIXES[kind]}_fake{self.count:08d}"


def fake_deps() -> tuple[Deps, FakeNetwork]:
    store = FakeNetwork()
    deps = Deps(
        cases=store,
        tasks=store,
        keys=MemoryKeys(),
        trail=FakeTrail(),
        links=FakeLinks(),
        sign_link=fake_sign_link,
        clock=FakeClock(),
        mint=FakeMint(),
    )
    return deps, store


def store_of(deps: Deps) -> FakeNetwork:
    assert isinstance(deps.cases, FakeNetwork)
    return deps.cases


def keys_of(deps: Deps) -> MemoryKeys:
    assert isinstance(deps.keys, MemoryKeys)
    return deps.keys


def trail_of(deps: Deps) -> FakeTrail:
    assert isinstance(deps.trail, FakeTrail)
    return deps.trail
