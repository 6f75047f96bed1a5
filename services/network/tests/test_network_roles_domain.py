"""Pure domain rules of the network picture and the task's life: roles by sector, the
reminder's window, relations' ids and the map's metrics; no ports, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events.network import TaskDueSoon
from vrac_network.domain.case import Relation, RelationKind
from vrac_network.domain.roles import Sector, check_role, default_sector
from vrac_network.domain.task import Task, TaskStatus
from vrac_runtime.errors import RuleBroken

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
ROLE = vocab.NetworkRole


def task(due: dt.date | None, status: TaskStatus = TaskStatus.ASSIGNED) -> Task:
    return Task(
        task_id="task_domain000001",
        case_id="case_domain000001",
        pilot=vocab.Pilot.LEIDEN,
        assignee_id="mbr_domain000001",
        assignee_kind=vocab.MemberKind.FAMILY,
        category=vocab.TaskCategory.TRANSPORT,
        status=status,
        created_at=NOW,
        updated_at=NOW,
        due_date=due,
    )


@pytest.mark.parametrize(
    ("role", "kind", "sector"),
    [
        (ROLE.BRIDGE_BUILDER, vocab.MemberKind.FAMILY, Sector.FAMILY),
        (ROLE.BRIDGE_BUILDER, vocab.MemberKind.PROFESSIONAL, Sector.SCHOOL),
        (ROLE.BASE_WORKER, vocab.MemberKind.PROFESSIONAL, Sector.PROFESSIONALS),
        (ROLE.BASE_WORKER, vocab.MemberKind.INFORMAL, Sector.FRIENDS_AND_NEIGHBOURS),
        (ROLE.SPIDER_IN_THE_WEB, vocab.MemberKind.AGENCY, Sector.PROFESSIONALS),
        (ROLE.SUPPORTER, vocab.MemberKind.INFORMAL, Sector.SCHOOL),
    ],
)
def test_roles_their_sector_allows(role: vocab.NetworkRole, kind, sector: Sector) -> None:
    check_role(role, kind, sector, None)


@pytest.mark.parametrize(
    ("role", "kind", "sector", "coordinator"),
    [
        (ROLE.SPIDER_IN_THE_WEB, vocab.MemberKind.FAMILY, Sector.FAMILY, "mbr_other0000001"),
        (ROLE.BRIDGE_BUILDER, vocab.MemberKind.PROFESSIONAL, Sector.PROFESSIONALS, None),
        (ROLE.BASE_WORKER, vocab.MemberKind.AGENCY, Sector.PROFESSIONALS, None),
        (ROLE.BASE_WORKER, vocab.MemberKind.PROFESSIONAL, Sector.SCHOOL, None),
        (ROLE.TEACHER, vocab.MemberKind.PROFESSIONAL, Sector.PROFESSIONALS, None),
    ],
)
def test_roles_their_sector_refuses_name_role(role, kind, sector, coordinator) -> None:
    with pytest.raises(RuleBroken) as refused:
        check_role(role, kind, sector, coordinator)
    assert refused.value.field == "role"


def test_a_teacher_stands_at_school_and_others_by_kind() -> None:
    assert default_sector(vocab.MemberKind.PROFESSIONAL, ROLE.TEACHER) is Sector.SCHOOL
    assert default_sector(vocab.MemberKind.AGENCY, ROLE.COACH) is Sector.PROFESSIONALS
    assert default_sector(vocab.MemberKind.INFORMAL, ROLE.BUDDY) is (Sector.FRIENDS_AND_NEIGHBOURS)


@pytest.mark.parametrize(
    ("as_of", "days", "reminded"),
    [
        (dt.date(2025, 3, 18), 2, True),  # two days ahead
        (dt.date(2025, 3, 17), 2, False),  # three days ahead
        (dt.date(2025, 3, 20), 0, True),  # the due day itself
        (dt.date(2025, 3, 21), 2, False),  # past due: that is the overdue sweep's
    ],
)
def test_the_reminder_window(as_of: dt.date, days: int, reminded: bool) -> None:
    found = task(dt.date(2025, 3, 20))
    assert found.mark_due_soon(as_of, days, NOW) is reminded
    assert [type(e) for e in found.pull_events()] == ([TaskDueSoon] if reminded else [])


def test_no_reminder_without_a_due_date_or_for_a_task_done() -> None:
    assert not task(None).mark_due_soon(dt.date(2025, 3, 18), 2, NOW)
    done = task(dt.date(2025, 3, 20), TaskStatus.COMPLETED)
    assert not done.mark_due_soon(dt.date(2025, 3, 18), 2, NOW)


def test_a_relation_is_the_same_whichever_way_round() -> None:
    one = Relation.between("mbr_a000000001", "mbr_b000000001", RelationKind.FRIENDSHIP)
    other = Relation.between("mbr_b000000001", "mbr_a000000001", RelationKind.FRIENDSHIP)
    strained = Relation.between("mbr_a000000001", "mbr_b000000001", RelationKind.STRAINED)
    assert one.relation_id == other.relation_id != strained.relation_id
