"""The care plan: every member of the network and what each of them does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from vrac_contracts.events.network import NetworkMeasured

from .case import Case, Member
from .ecomap import Metrics, metrics
from .task import Task, TaskStatus


@dataclass(frozen=True)
class MemberPlan:
    member: Member
    tasks: list[Task]
    # for agency members: may we share with them? None when the parents were never asked
    agency_consent: bool | None = None


@dataclass(frozen=True)
class CarePlan:
    case: Case
    members: list[MemberPlan]
    counts: dict[TaskStatus, int] = field(default_factory=dict)
    overdue: int = 0
    metrics: Metrics = field(default_factory=lambda: Metrics(0, 0, ()))


def care_plan(case: Case, tasks: Iterable[Task]) -> CarePlan:
    """Tasks grouped by assignee, members in the order they joined, tasks by due date."""
    by_member: dict[str, list[Task]] = {m.member_id: [] for m in case.members}
    all_tasks = list(tasks)
    for task in all_tasks:
        by_member.setdefault(task.assignee_id, []).append(task)
    members = [
        MemberPlan(
            member=m,
            tasks=sorted(by_member[m.member_id], key=_due_order),
            agency_consent=case.agency_consent(m.agency_id) if m.agency_id else None,
        )
        for m in case.members
    ]
    counts = {status: 0 for status in TaskStatus}
    for task in all_tasks:
        counts[task.status] += 1
    overdue = sum(1 for task in all_tasks if task.overdue and task.is_open)
    return CarePlan(
        case=case, members=members, counts=counts, overdue=overdue, metrics=metrics(case)
    )


def record_measure(case: Case, now: dt.datetime) -> None:
    """Record network-measured after a change of members: the network as it is now, as
    counts and sector codes (who the members are stays out of it)."""
    measured = metrics(case)
    case.record(
        NetworkMeasured,
        now,
        size=measured.size,
        informal_members=measured.informal,
        sectors_covered=[str(sector) for sector in measured.sectors_covered],
    )


def _due_order(task: Task) -> tuple[int, str, str]:
    # tasks without a due date come last; ties keep creation order
    due = task.due_date.isoformat() if task.due_date else ""
    return (0 if task.due_date else 1, due, task.created_at.isoformat())
