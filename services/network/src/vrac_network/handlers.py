"""One function per command or event: load, let the domain decide, store state and events.

Handlers know nothing of HTTP or Mongo: they talk to the ports in ``Deps``, and the caller
passes ``access``, which refuses a case or task the caller may not touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged
from vrac_contracts.ids import new_id
from vrac_runtime.retry import retried
from vrac_runtime.values import Clock, utc_now

from vrac_network.domain import commands
from vrac_network.domain import task as tasks
from vrac_network.domain.case import Case, Member
from vrac_network.domain.errors import CaseIsClosed, TaskChangedMeanwhile, UnknownCase, UnknownTask
from vrac_network.domain.plan import CarePlan, care_plan
from vrac_network.domain.task import Task
from vrac_network.ports import Access, Cases, Tasks

# a task write that lost a race re-reads and tries again, this many times in all
TASK_WRITE_ATTEMPTS = 3


@dataclass
class Deps:
    cases: Cases
    tasks: Tasks
    clock: Clock = utc_now
    mint: Callable[[str], str] = new_id


# -- intake's events --


async def open_case(deps: Deps, event: CaseOpened) -> None:
    await deps.cases.record_opened(event)


async def close_case(deps: Deps, event: CaseClosed) -> None:
    await deps.cases.record_closed(event)


async def record_consent(deps: Deps, event: ConsentChanged) -> None:
    await deps.cases.record_consent(event)


# -- the network --


async def add_member(deps: Deps, command: commands.AddMember, access: Access) -> Member:
    """Add someone to the case's network: member-added."""
    case = await _visible_case(deps, command.case_id, access)
    member = case.add_member(deps.mint("member"), command.member, deps.clock())
    if not await deps.cases.add_member(case, member):
        # closed between our read and our write
        raise CaseIsClosed(f"case {command.case_id} is closed")
    return member


async def list_members(deps: Deps, case_id: str, access: Access) -> list[Member]:
    return (await _visible_case(deps, case_id, access)).members


async def show_care_plan(deps: Deps, case_id: str, access: Access) -> CarePlan:
    case = await _visible_case(deps, case_id, access)
    return care_plan(case, await deps.tasks.tasks_of_case(case_id))


async def _visible_case(deps: Deps, case_id: str, access: Access) -> Case:
    case = await deps.cases.get_case(case_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    access.check_case(case.pilot)
    return case


# -- tasks --


async def assign_task(deps: Deps, command: commands.AssignTask, access: Access) -> Task:
    """Give a member of the network a task: task-assigned."""
    case = await _visible_case(deps, command.case_id, access)
    task = tasks.assign_task(case, deps.mint("task"), command.task, deps.clock())
    await deps.tasks.insert_task(task)
    return task


async def tasks_of_case(deps: Deps, case_id: str, access: Access) -> list[Task]:
    await _visible_case(deps, case_id, access)
    return await deps.tasks.tasks_of_case(case_id)


async def get_task(deps: Deps, task_id: str, access: Access) -> Task:
    task, _ = await _visible_task(deps, task_id, access)
    return task


async def accept_task(deps: Deps, command: commands.AcceptTask, access: Access) -> Task:
    return await _change_task(deps, command.task_id, access, lambda t: t.accept(deps.clock()))


async def decline_task(deps: Deps, command: commands.DeclineTask, access: Access) -> Task:
    def decline(task: Task) -> None:
        task.decline(command.reason, deps.clock())

    return await _change_task(deps, command.task_id, access, decline)


async def complete_task(deps: Deps, command: commands.CompleteTask, access: Access) -> Task:
    return await _change_task(deps, command.task_id, access, lambda t: t.complete(deps.clock()))


async def sweep_overdue(deps: Deps, command: commands.SweepOverdue) -> list[str]:
    """Report every open task due before ``as_of`` as overdue, once; returns the task ids
    this sweep reported (a concurrent sweep reports the others)."""
    reported: list[str] = []
    closed: dict[str, bool] = {}
    async for task in deps.tasks.overdue_candidates(command.as_of, command.pilot):
        if task.case_id not in closed:
            closed[task.case_id] = await deps.cases.is_closed(task.case_id)
        if closed[task.case_id]:
            continue  # nobody is reminded about a closed case's tasks
        if task.mark_overdue(command.as_of, deps.clock()) and await deps.tasks.flag_overdue(task):
            reported.append(task.task_id)
    return reported


async def _visible_task(deps: Deps, task_id: str, access: Access) -> tuple[Task, Case]:
    task = await deps.tasks.get_task(task_id)
    case = None if task is None else await deps.cases.get_case(task.case_id)
    if task is None or case is None:
        raise UnknownTask(f"task {task_id} not found")
    access.check_task(case, case.member(task.assignee_id))
    return task, case


async def _change_task(
    deps: Deps, task_id: str, access: Access, change: Callable[[Task], None]
) -> Task:
    """Read, change and write the task; a write that lost a race starts over."""
    return await retried(
        lambda: _change_task_once(deps, task_id, access, change),
        attempts=TASK_WRITE_ATTEMPTS,
        first_wait=0.005,
        max_wait=0.05,
        retry_if=lambda error: isinstance(error, TaskChangedMeanwhile),
    )


async def _change_task_once(
    deps: Deps, task_id: str, access: Access, change: Callable[[Task], None]
) -> Task:
    task, case = await _visible_task(deps, task_id, access)
    if case.closed:
        raise CaseIsClosed(f"case {case.case_id} is closed")
    read_version = task.version
    change(task)
    if not await deps.tasks.save_task(task, read_version):
        raise TaskChangedMeanwhile(f"task {task_id} kept changing meanwhile; try again")
    return task
