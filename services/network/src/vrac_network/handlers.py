"""One function per command or event: load, let the domain decide, store state and events.

Handlers know nothing of HTTP or Mongo: they talk to the ports in ``Deps``, and the caller
passes ``access``, which refuses a case or task the caller may not touch.

Erasure (a case closed with erasure requested, or one member removed) first makes the fact
durable in one write of the case document, which from then on refuses every change and is
served without personal data; then erases what other places hold (members' details, tasks'
free text, data keys) and clears its pending marker. Any step that fails is finished by the
periodic :func:`finish_pending_erasures`, so an erasure never gives up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.ids import new_id
from vrac_contracts.values import CloseReason, Language
from vrac_runtime.logging import get_logger
from vrac_runtime.retry import retried
from vrac_runtime.values import Clock, utc_now

from vrac_network.domain import commands
from vrac_network.domain import links as task_links
from vrac_network.domain import task as tasks
from vrac_network.domain.case import Case, Member, Relation
from vrac_network.domain.errors import (
    AssigneeLeft,
    CaseIsClosed,
    TaskChangedMeanwhile,
    UnknownCase,
    UnknownLink,
    UnknownTask,
)
from vrac_network.domain.links import TaskLink
from vrac_network.domain.plan import CarePlan, care_plan, record_measure
from vrac_network.domain.task import Task
from vrac_network.ports import Access, Cases, DataKeys, PendingWork, TaskLinks, Tasks, Trail

# a task write that lost a race re-reads and tries again, this many times in all
TASK_WRITE_ATTEMPTS = 3
log = get_logger(__name__)


@dataclass
class Deps:
    cases: Cases
    tasks: Tasks
    keys: DataKeys
    trail: Trail
    links: TaskLinks
    # signs a link to a path for some seconds: (link id, token, expiry as a Unix time)
    sign_link: Callable[[str, int], tuple[str, str, int]]
    clock: Clock = utc_now
    mint: Callable[[str], str] = new_id
    # how many days before its due date an open task's assignee is reminded
    reminder_days: int = 2
    link_seconds: int = 14 * 86_400


# -- intake's events --


async def open_case(deps: Deps, event: CaseOpened) -> None:
    await deps.cases.record_opened(event)


async def close_case(deps: Deps, event: CaseClosed) -> None:
    if event.reason is not CloseReason.ERASURE_REQUESTED:
        await deps.cases.record_closed(event)
        return
    # the marker first: from now on no route or handler stores or serves personal data
    await deps.cases.mark_erased(event)
    await finish_erasure(deps, event.case_id, event.pilot)


async def record_consent(deps: Deps, event: ConsentRecorded) -> None:
    await deps.cases.record_consent(event)


# -- erasure --


async def finish_erasure(deps: Deps, case_id: str, pilot: str) -> None:
    """Erase what the case still holds elsewhere, destroy its keys, record it, clear the
    pending marker; every step is safe to repeat."""
    await deps.cases.erase_members(case_id)
    await deps.tasks.erase_texts(case_id)
    await deps.keys.destroy_case(case_id)
    await deps.trail.erased(case_id, pilot)
    await deps.cases.erasure_done(case_id)


async def finish_removal(deps: Deps, case_id: str, member_id: str) -> None:
    """The rest of a member's removal: their tasks' free text and their key."""
    await deps.tasks.erase_texts(case_id, assignee_id=member_id)
    await deps.keys.destroy(case_id, member_id)
    await deps.cases.removal_done(case_id, member_id)


async def finish_pending_erasures(deps: Deps) -> int:
    """The periodic job: finish every erasure and removal a failure left half done; how
    many cases were finished. A case that fails again is tried on the next run."""
    finished = 0
    async for task in deps.tasks.unchecked_tasks():
        await _keep_text_only_if_allowed(deps, task)
    async for work in deps.cases.pending_work():
        try:
            await _finish(deps, work)
            finished += 1
        except Exception as err:  # one failing case must not hold back the others
            log.warning("pending erasure failed", case_id=work.case_id, error=type(err).__name__)
    return finished


async def _finish(deps: Deps, work: PendingWork) -> None:
    for member_id in work.removed:
        await finish_removal(deps, work.case_id, member_id)
    if work.erase_case:
        await finish_erasure(deps, work.case_id, work.pilot)


# -- the network --


async def add_member(deps: Deps, command: commands.AddMember, access: Access) -> Member:
    """Add someone to the case's network: member-added, their details sealed with their key,
    and network-measured."""
    case = await _visible_case(deps, command.case_id, access)
    now = deps.clock()
    member = case.new_member(deps.mint("member"), command.member, now)
    sealed = await deps.keys.seal(case.case_id, member.member_id, member.details())
    case.add_member(member, sealed, now)
    record_measure(case, now)
    if not await deps.cases.add_member(case, member):
        # closed or erased between our read and our write: the key seals nothing stored
        await deps.keys.destroy(case.case_id, member.member_id)
        raise CaseIsClosed(f"case {command.case_id} is closed")
    return member


async def remove_member(deps: Deps, command: commands.RemoveMember, access: Access) -> None:
    """The member leaves the network: their details erased, their key destroyed,
    member-removed and network-measured published. Removing them again only finishes what is
    left."""
    case = await _visible_case(deps, command.case_id, access)
    now = deps.clock()
    member = case.remove_member(command.member_id, now)
    if case.events:
        record_measure(case, now)
    if case.events and not await deps.cases.remove_member(case, member):
        # someone else changed the case meanwhile: removed them too, or closed it
        again = (await _visible_case(deps, command.case_id, access)).member(command.member_id)
        if again is None or not again.removed:
            raise CaseIsClosed(f"case {command.case_id} is closed")
    await finish_removal(deps, command.case_id, command.member_id)


async def edit_member(
    deps: Deps, case_id: str, member_id: str, changes: Mapping[str, Any], access: Access
) -> Member:
    """Change a member's role or details: member-edited, their details sealed again, and
    network-measured."""
    case = await _visible_case(deps, case_id, access)
    member = case.edited_member(member_id, changes)
    sealed = await deps.keys.seal(case.case_id, member.member_id, member.details())
    now = deps.clock()
    case.edit_member(member, sealed, now)
    record_measure(case, now)
    if not await deps.cases.edit_member(case, member):
        raise CaseIsClosed(f"case {case_id} is closed or the member left meanwhile")
    return member


async def add_relation(deps: Deps, command: commands.AddRelation, access: Access) -> Relation:
    """A line between two members of the network (kept once however often it is asked)."""
    case = await _visible_case(deps, command.case_id, access)
    wanted = Relation.between(command.from_id, command.to_id, command.kind)
    relation = case.add_relation(wanted)
    if relation is wanted and not await deps.cases.save_relations(case):
        raise CaseIsClosed(f"case {command.case_id} is closed")
    return relation


async def remove_relation(deps: Deps, case_id: str, relation_id: str, access: Access) -> None:
    case = await _visible_case(deps, case_id, access)
    case.remove_relation(relation_id)
    if not await deps.cases.save_relations(case):
        raise CaseIsClosed(f"case {case_id} is closed")


async def list_members(deps: Deps, case_id: str, access: Access) -> list[Member]:
    return _shown(await _visible_case(deps, case_id, access)).members


async def show_care_plan(deps: Deps, case_id: str, access: Access) -> CarePlan:
    case = await _visible_case(deps, case_id, access)
    return care_plan(_shown(case), _shown_tasks(case, await deps.tasks.tasks_of_case(case_id)))


async def _visible_case(deps: Deps, case_id: str, access: Access) -> Case:
    case = await deps.cases.get_case(case_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    access.check_case(case.pilot)
    return case


def _shown(case: Case) -> Case:
    """What may be served of a case: nothing personal once it is erased, even while the
    erasure is still under way."""
    return case.without_personal_data() if case.erased else case


def _shown_tasks(case: Case, found: list[Task]) -> list[Task]:
    """Tasks as they may be served: no free text of an erased case or of a member who left."""
    return [task.without_personal_data() if _text_gone(case, task) else task for task in found]


def _text_gone(case: Case, task: Task) -> bool:
    assignee = case.member(task.assignee_id)
    return case.erased or (assignee is not None and assignee.removed)


# -- tasks --


async def assign_task(deps: Deps, command: commands.AssignTask, access: Access) -> Task:
    """Give a member of the network a task: task-assigned."""
    case = await _visible_case(deps, command.case_id, access)
    task = tasks.assign_task(case, deps.mint("task"), command.task, deps.clock())
    await deps.tasks.insert_task(task)
    return await _keep_text_only_if_allowed(deps, task)


async def _keep_text_only_if_allowed(deps: Deps, task: Task) -> Task:
    """A task is its own document: an erasure (or the assignee's removal) that swept the
    case's tasks between the insert's read of the case and the insert did not see it, so
    look at the case again. The task stays marked unchecked until this ran, and the
    periodic job runs it for a task whose handler died first."""
    case = await deps.cases.get_case(task.case_id)
    if task.description is not None and (case is None or _text_gone(case, task)):
        await deps.tasks.erase_texts(task.case_id, task_id=task.task_id)
        task = task.without_personal_data()
    await deps.tasks.text_checked(task.task_id)
    return task


async def tasks_of_case(deps: Deps, case_id: str, access: Access) -> list[Task]:
    case = await _visible_case(deps, case_id, access)
    return _shown_tasks(case, await deps.tasks.tasks_of_case(case_id))


async def get_task(deps: Deps, task_id: str, access: Access) -> Task:
    task, case = await _visible_task(deps, task_id, access)
    return _shown_tasks(case, [task])[0]


async def accept_task(deps: Deps, command: commands.AcceptTask, access: Access) -> Task:
    return await _change_task(deps, command.task_id, access, lambda t, _: t.accept(deps.clock()))


async def decline_task(deps: Deps, command: commands.DeclineTask, access: Access) -> Task:
    """Declined: the event names the coordinator, who finds someone else."""

    def decline(task: Task, case: Case) -> None:
        task.decline(command.reason, deps.clock(), _coordinator_id(case))

    return await _change_task(deps, command.task_id, access, decline)


def _coordinator_id(case: Case) -> str | None:
    coordinator = case.coordinator()
    return None if coordinator is None else coordinator.member_id


async def edit_task(deps: Deps, command: commands.EditTask, access: Access) -> Task:
    """New category, due date or note: task-edited (without the note)."""

    def edit(task: Task, _: Case) -> None:
        task.edit(command.changes, deps.clock())

    edited = await _change_task(deps, command.task_id, access, edit)
    # an erasure that swept the tasks meanwhile did not see the new note (as for a new task)
    return await _keep_text_only_if_allowed(deps, edited)


async def reassign_task(deps: Deps, command: commands.ReassignTask, access: Access) -> Task:
    """Give the task to another member; the one who had it may have left the network."""

    def reassign(task: Task, case: Case) -> None:
        task.reassign(tasks.assignee_for(case, command.assignee_id), deps.clock())

    return await _change_task(deps, command.task_id, access, reassign, from_anyone=True)


async def cancel_task(deps: Deps, command: commands.CancelTask, access: Access) -> Task:
    def cancel(task: Task, _: Case) -> None:
        task.cancel(deps.clock())

    return await _change_task(deps, command.task_id, access, cancel, from_anyone=True)


async def complete_task(deps: Deps, command: commands.CompleteTask, access: Access) -> Task:
    return await _change_task(deps, command.task_id, access, lambda t, _: t.complete(deps.clock()))


async def sweep_overdue(deps: Deps, command: commands.SweepOverdue) -> list[str]:
    """Report every open task due before ``as_of`` as overdue, once; returns the task ids
    this sweep reported (a concurrent sweep reports the others)."""
    reported: list[str] = []
    cases: dict[str, Case | None] = {}
    async for task in deps.tasks.overdue_candidates(command.as_of, command.pilot):
        if task.case_id not in cases:
            cases[task.case_id] = await deps.cases.get_case(task.case_id)
        if not _may_remind(cases[task.case_id], task):
            continue
        if task.mark_overdue(command.as_of, deps.clock()) and await deps.tasks.flag_overdue(task):
            reported.append(task.task_id)
    return reported


async def sweep_due_soon(deps: Deps, command: commands.SweepOverdue) -> list[str]:
    """Remind the assignee of every open task due within ``reminder_days`` of ``as_of``:
    task-due-soon, once per task and due date; returns the task ids this sweep reminded."""
    reminded: list[str] = []
    cases: dict[str, Case | None] = {}
    until = command.as_of + dt.timedelta(days=deps.reminder_days)
    async for task in deps.tasks.due_soon_candidates(command.as_of, until, command.pilot):
        if task.case_id not in cases:
            cases[task.case_id] = await deps.cases.get_case(task.case_id)
        if not _may_remind(cases[task.case_id], task):
            continue
        marked = task.mark_due_soon(command.as_of, deps.reminder_days, deps.clock())
        if marked and await deps.tasks.flag_due_soon(task):
            reminded.append(task.task_id)
    return reminded


def _may_remind(case: Case | None, task: Task) -> bool:
    """Nobody is reminded about a closed case's tasks, nor someone who left the network."""
    if case is None or case.closed or case.erased:
        return False
    assignee = case.member(task.assignee_id)
    return assignee is not None and not assignee.removed


async def _visible_task(deps: Deps, task_id: str, access: Access) -> tuple[Task, Case]:
    task = await deps.tasks.get_task(task_id)
    case = None if task is None else await deps.cases.get_case(task.case_id)
    if task is None or case is None:
        raise UnknownTask(f"task {task_id} not found")
    access.check_task(case, case.member(task.assignee_id))
    return task, case


Change = Callable[[Task, Case], None]


async def _change_task(
    deps: Deps, task_id: str, access: Access, change: Change, *, from_anyone: bool = False
) -> Task:
    """Read, change and write the task; a write that lost a race starts over. Only a
    reassignment or cancellation moves a task whose assignee left (``from_anyone``)."""
    return await retried(
        lambda: _change_task_once(deps, task_id, access, change, from_anyone),
        attempts=TASK_WRITE_ATTEMPTS,
        first_wait=0.005,
        max_wait=0.05,
        retry_if=lambda error: isinstance(error, TaskChangedMeanwhile),
    )


async def _change_task_once(
    deps: Deps, task_id: str, access: Access, change: Change, from_anyone: bool
) -> Task:
    task, case = await _visible_task(deps, task_id, access)
    if case.closed or case.erased:
        raise CaseIsClosed(f"case {case.case_id} is closed")
    assignee = case.member(task.assignee_id)
    if not from_anyone and (assignee is None or assignee.removed):
        raise AssigneeLeft(f"the assignee of task {task_id} left the network")
    read_version = task.version
    change(task, case)
    if not await deps.tasks.save_task(task, read_version):
        raise TaskChangedMeanwhile(f"task {task_id} kept changing meanwhile; try again")
    return _shown_tasks(case, [task])[0]


# -- helpers' links --


async def issue_task_link(
    deps: Deps, case_id: str, task_id: str, member_id: str
) -> tuple[TaskLink, str]:
    """A signed, expiring link for the member to answer their task once, and its token."""
    case = await deps.cases.get_case(case_id)
    task = await deps.tasks.get_task(task_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    if task is None or task.case_id != case_id:
        raise UnknownTask(f"task {task_id} not found in case {case_id}")
    task_links.check_linkable(case, task, member_id)
    path = task_links.link_path(task_id, member_id)
    link_id, token, expires = deps.sign_link(path, deps.link_seconds)
    link = TaskLink(
        link_id=link_id,
        case_id=case_id,
        pilot=str(case.pilot),
        task_id=task_id,
        member_id=member_id,
        issued_at=deps.clock(),
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )
    await deps.links.add(link)
    return link, token


async def find_link(deps: Deps, link_id: str) -> TaskLink:
    """A link issued here (its signature is the caller's check)."""
    link = await deps.links.get(link_id)
    if link is None:
        raise UnknownLink("this link is not valid")
    return link


async def task_for_link(deps: Deps, link: TaskLink) -> Task:
    """The task as its helper sees it through their link."""
    task = await deps.tasks.get_task(link.task_id)
    case = await deps.cases.get_case(link.case_id)
    if task is None or case is None:
        raise UnknownTask("this task no longer exists")
    task_links.check_answerable(link, case, task)
    return task


async def link_language(deps: Deps, link: TaskLink) -> Language | None:
    """The language of the helper a link was issued to: the page showing them their task
    speaks it."""
    case = await deps.cases.get_case(link.case_id)
    member = case.member(link.member_id) if case is not None else None
    return member.language if member is not None else None


async def answer_task_link(deps: Deps, link: TaskLink, command: commands.AnswerTask) -> Task:
    """The helper's one answer: claimed first so a second click answers nothing; a refused
    answer gives the link back."""
    if not await deps.links.claim(link.link_id, deps.clock()):
        raise task_links.LinkUsed("this link was used already; each link answers once")

    def answer(task: Task, case: Case) -> None:
        task_links.check_answerable(link, case, task)
        task_links.apply_answer(
            task, command.answer, command.reason, deps.clock(), _coordinator_id(case)
        )

    try:
        return await _change_task(deps, link.task_id, _LinkAccess(), answer)
    except Exception:
        await deps.links.release(link.link_id)
        raise


class _LinkAccess:
    """The link's signature said who may answer; no pilot or role to check."""

    def check_case(self, pilot: str) -> None:
        return None

    def check_task(self, case: Case, assignee: Member | None) -> None:
        return None
