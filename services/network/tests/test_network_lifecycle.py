"""The network as the family sees it and the task's whole life, over the in-memory fakes:
roles that mean something, sectors, relations, the eco-map and its metrics, edits,
reassignment, cancellation, the reminder before the due date, and a helper's link."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events import network as ev
from vrac_contracts.events.intake import CaseOpened
from vrac_network import handlers
from vrac_network.domain import commands
from vrac_network.domain.case import Member, NewMember, RelationKind
from vrac_network.domain.ecomap import SVG_NS, eco_map
from vrac_network.domain.errors import InvalidTransition
from vrac_network.domain.links import Answer, LinkUsed, NotYourTask
from vrac_network.domain.roles import Sector
from vrac_network.domain.task import NewTask, Task, TaskChanges, TaskStatus
from vrac_network.handlers import Deps
from vrac_runtime.errors import RuleBroken

from services.network.tests.fakes import NOW, FakeAccess, store_of
from services.network.tests.network_testkit import GRANDMOTHER

CASE = "case_lifecycle00001"
LEIDEN = FakeAccess("leiden")
SPIDER = NewMember(
    kind=vocab.MemberKind.PROFESSIONAL,
    role=vocab.NetworkRole.SPIDER_IN_THE_WEB,
    display_name="Coach Samira",
    email="samira@example.org",
    channel=vocab.Channel.EMAIL,
)
NEIGHBOUR = NewMember(
    kind=vocab.MemberKind.INFORMAL,
    role=vocab.NetworkRole.BASE_WORKER,
    display_name="Buurman Kees",
    email="kees@example.org",
    channel=vocab.Channel.EMAIL,
)
TEACHER = NewMember(
    kind=vocab.MemberKind.PROFESSIONAL,
    role=vocab.NetworkRole.TEACHER,
    display_name="Juf Anouk",
    email="anouk@example.org",
    channel=vocab.Channel.EMAIL,
)


@pytest.fixture
async def case(deps: Deps) -> Deps:
    await handlers.open_case(
        deps,
        CaseOpened(
            case_id=CASE, pilot=vocab.Pilot.LEIDEN, occurred_at=NOW, programme="pit", opened_at=NOW
        ),
    )
    return deps


async def join(deps: Deps, who: NewMember) -> Member:
    return await handlers.add_member(deps, commands.AddMember(CASE, who), LEIDEN)


async def give(deps: Deps, who: Member, due: dt.date | None = None) -> Task:
    task = NewTask(vocab.TaskCategory.HOMEWORK_SUPPORT, who.member_id, due, "Reads with Sam")
    return await handlers.assign_task(deps, commands.AssignTask(CASE, task), LEIDEN)


def emitted(deps: Deps, kind: type) -> list:
    return [e for e in store_of(deps).outbox if isinstance(e, kind)]


# -- roles and sectors --


async def test_members_stand_in_the_sector_their_kind_or_role_puts_them(case: Deps) -> None:
    assert (await join(case, GRANDMOTHER)).sector is Sector.FAMILY
    assert (await join(case, NEIGHBOUR)).sector is Sector.FRIENDS_AND_NEIGHBOURS
    assert (await join(case, TEACHER)).sector is Sector.SCHOOL
    assert (await join(case, SPIDER)).sector is Sector.PROFESSIONALS


async def test_a_network_has_one_spider_in_the_web(case: Deps) -> None:
    spider = await join(case, SPIDER)
    with pytest.raises(RuleBroken) as refused:
        await join(case, replace(SPIDER, display_name="Another"))
    assert refused.value.field == "role"
    assert spider.member_id in str(refused.value)


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (replace(NEIGHBOUR, role=vocab.NetworkRole.BRIDGE_BUILDER), "family or school"),
        (replace(TEACHER, role=vocab.NetworkRole.BASE_WORKER, sector=Sector.SCHOOL), "at home"),
        (
            replace(GRANDMOTHER, role=vocab.NetworkRole.TEACHER, sector=Sector.FAMILY),
            "school sector",
        ),
    ],
)
async def test_a_role_the_member_cannot_play_is_refused_naming_role(
    case: Deps, member: NewMember, why: str
) -> None:
    with pytest.raises(RuleBroken) as refused:
        await join(case, member)
    assert refused.value.field == "role"
    assert why in str(refused.value)


async def test_a_bridge_builder_of_the_family_links_family_and_school(case: Deps) -> None:
    bridge = replace(GRANDMOTHER, role=vocab.NetworkRole.BRIDGE_BUILDER)
    assert (await join(case, bridge)).role is vocab.NetworkRole.BRIDGE_BUILDER


async def test_an_edited_member_is_stored_and_member_edited_published_sealed(
    case: Deps,
) -> None:
    oma = await join(case, GRANDMOTHER)
    changes = {"email": "ria@new.example.org", "role": vocab.NetworkRole.BASE_WORKER}
    edited = await handlers.edit_member(case, CASE, oma.member_id, changes, LEIDEN)
    assert (edited.email, edited.role) == ("ria@new.example.org", vocab.NetworkRole.BASE_WORKER)
    stored = await store_of(case).get_case(CASE)
    assert stored is not None and stored.member(oma.member_id) == edited
    (event,) = emitted(case, ev.MemberEdited)
    assert event.role is vocab.NetworkRole.BASE_WORKER
    assert "ria@new" not in event.model_dump_json()


async def test_editing_a_member_is_refused_naming_the_field(case: Deps) -> None:
    oma = await join(case, GRANDMOTHER)
    with pytest.raises(RuleBroken) as refused:
        await handlers.edit_member(case, CASE, oma.member_id, {"email": None}, LEIDEN)
    assert refused.value.field == "email"
    with pytest.raises(RuleBroken) as refused:
        await handlers.edit_member(case, CASE, oma.member_id, {"kind": "agency"}, LEIDEN)
    assert refused.value.field == "kind"


async def test_relations_are_kept_once_and_go_with_the_member_who_leaves(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    line = commands.AddRelation(CASE, oma.member_id, kees.member_id, RelationKind.FRIENDSHIP)
    first = await handlers.add_relation(case, line, LEIDEN)
    again = await handlers.add_relation(
        case, replace(line, from_id=kees.member_id, to_id=oma.member_id), LEIDEN
    )
    assert first == again
    assert len(store_of(case).cases[CASE].relations) == 1
    await handlers.remove_member(case, commands.RemoveMember(CASE, kees.member_id), LEIDEN)
    assert store_of(case).cases[CASE].relations == []


# -- the picture and its metrics --


async def test_the_eco_map_is_svg_with_every_present_member_and_lines(case: Deps) -> None:
    oma, kees, juf = [await join(case, m) for m in (GRANDMOTHER, NEIGHBOUR, TEACHER)]
    await handlers.add_relation(
        case,
        commands.AddRelation(CASE, oma.member_id, juf.member_id, RelationKind.WORKS_WITH),
        LEIDEN,
    )
    await give(case, kees)
    plan = await handlers.show_care_plan(case, CASE, LEIDEN)
    svg = ET.fromstring(eco_map(plan.case, [t for m in plan.members for t in m.tasks]))
    assert svg.tag == f"{{{SVG_NS}}}svg"
    ids = {g.get("id") for g in svg.iter(f"{{{SVG_NS}}}g")}
    assert {f"member-{m.member_id}" for m in (oma, kees, juf)} <= ids
    texts = {t.text for t in svg.iter(f"{{{SVG_NS}}}text")}
    assert {"Oma Ria", "Buurman Kees", "Juf Anouk", "Kind", "School"} <= texts
    classes = [line.get("class") for line in svg.iter(f"{{{SVG_NS}}}line")]
    assert sorted(classes) == ["relation works-with", "task homework-support"]


async def test_the_plan_counts_size_informal_share_and_sectors(case: Deps) -> None:
    for who in (GRANDMOTHER, NEIGHBOUR, TEACHER, SPIDER):
        await join(case, who)
    metrics = (await handlers.show_care_plan(case, CASE, LEIDEN)).metrics
    assert (metrics.size, metrics.informal_share) == (4, 0.5)
    assert metrics.sectors_covered == tuple(Sector)


async def test_every_change_of_members_publishes_the_networks_measure_without_who(
    case: Deps,
) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    juf = await join(case, TEACHER)
    neighbour = {"sector": Sector.FRIENDS_AND_NEIGHBOURS}  # oma lives next door, really
    await handlers.edit_member(case, CASE, oma.member_id, neighbour, LEIDEN)
    await handlers.remove_member(case, commands.RemoveMember(CASE, kees.member_id), LEIDEN)
    measures = emitted(case, ev.NetworkMeasured)
    seen = [(m.size, m.informal_members, m.sectors_covered) for m in measures]
    assert seen == [
        (1, 1, ("family",)),
        (2, 2, ("family", "friends-and-neighbours")),
        (3, 2, ("family", "friends-and-neighbours", "school")),
        (3, 2, ("friends-and-neighbours", "school")),
        (2, 1, ("friends-and-neighbours", "school")),
    ]
    assert {(m.case_id, m.pilot) for m in measures} == {(CASE, vocab.Pilot.LEIDEN)}
    published = " ".join(m.model_dump_json() for m in measures)
    for personal in ("Oma Ria", "Kees", "Anouk", "example.org", oma.member_id, juf.member_id):
        assert personal not in published


# -- the task's life --


async def test_an_open_task_is_edited_and_task_edited_keeps_the_note_here(case: Deps) -> None:
    task = await give(case, await join(case, GRANDMOTHER), dt.date(2025, 3, 20))
    changes = TaskChanges(
        category=vocab.TaskCategory.TRANSPORT,
        description="Brings Sam",
        cleared=frozenset({"due_date"}),
    )
    edited = await handlers.edit_task(case, commands.EditTask(task.task_id, changes), LEIDEN)
    assert (edited.category, edited.due_date, edited.description) == (
        vocab.TaskCategory.TRANSPORT, None, "Brings Sam"
    )  # fmt: skip
    (event,) = emitted(case, ev.TaskEdited)
    assert event.category is vocab.TaskCategory.TRANSPORT and event.due_date is None
    assert "Brings" not in event.model_dump_json()


async def test_a_task_given_to_another_member_is_theirs_and_assigned_again(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    task = await give(case, oma)
    await handlers.accept_task(case, commands.AcceptTask(task.task_id), LEIDEN)
    moved = await handlers.reassign_task(
        case, commands.ReassignTask(task.task_id, kees.member_id), LEIDEN
    )
    assert (moved.assignee_id, moved.status) == (kees.member_id, TaskStatus.ASSIGNED)
    (event,) = emitted(case, ev.TaskReassigned)
    assert (event.assignee_id, event.previous_assignee_id) == (kees.member_id, oma.member_id)


async def test_the_new_assignee_is_reminded_though_the_first_one_was(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    task = await give(case, oma, dt.date(2025, 3, 20))
    sweep = commands.SweepOverdue(dt.date(2025, 3, 19))
    assert await handlers.sweep_due_soon(case, sweep) == [task.task_id]
    await handlers.reassign_task(case, commands.ReassignTask(task.task_id, kees.member_id), LEIDEN)
    assert await handlers.sweep_due_soon(case, sweep) == [task.task_id]
    assert [e.assignee_id for e in emitted(case, ev.TaskDueSoon)] == [
        oma.member_id,
        kees.member_id,
    ]


async def test_the_task_of_someone_who_left_can_be_given_to_another(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    task = await give(case, oma)
    await handlers.remove_member(case, commands.RemoveMember(CASE, oma.member_id), LEIDEN)
    moved = await handlers.reassign_task(
        case, commands.ReassignTask(task.task_id, kees.member_id), LEIDEN
    )
    assert moved.assignee_id == kees.member_id
    with pytest.raises(RuleBroken) as refused:
        await handlers.reassign_task(
            case, commands.ReassignTask(task.task_id, oma.member_id), LEIDEN
        )
    assert refused.value.field == "assignee_id"


async def test_a_cancelled_task_is_final(case: Deps) -> None:
    task = await give(case, await join(case, GRANDMOTHER))
    cancelled = await handlers.cancel_task(case, commands.CancelTask(task.task_id), LEIDEN)
    assert cancelled.status is TaskStatus.CANCELLED
    assert len(emitted(case, ev.TaskCancelled)) == 1
    with pytest.raises(InvalidTransition):
        await handlers.accept_task(case, commands.AcceptTask(task.task_id), LEIDEN)


async def test_a_decline_names_the_coordinator(case: Deps) -> None:
    spider = await join(case, SPIDER)
    task = await give(case, await join(case, GRANDMOTHER))
    await handlers.decline_task(
        case, commands.DeclineTask(task.task_id, vocab.DeclineReason.NO_TIME), LEIDEN
    )
    (event,) = emitted(case, ev.TaskDeclinedV2)
    assert event.coordinator_id == spider.member_id


async def test_the_reminder_comes_once_per_due_date_within_the_days(case: Deps) -> None:
    oma = await join(case, GRANDMOTHER)
    task = await give(case, oma, dt.date(2025, 3, 20))
    sweep = commands.SweepOverdue(dt.date(2025, 3, 17))
    assert await handlers.sweep_due_soon(case, sweep) == []  # three days ahead: not yet
    sweep = commands.SweepOverdue(dt.date(2025, 3, 18))
    assert await handlers.sweep_due_soon(case, sweep) == [task.task_id]
    assert await handlers.sweep_due_soon(case, sweep) == []
    (event,) = emitted(case, ev.TaskDueSoon)
    assert event.due_date == event.due_on == dt.date(2025, 3, 20)
    later = TaskChanges(due_date=dt.date(2025, 3, 19))
    await handlers.edit_task(case, commands.EditTask(task.task_id, later), LEIDEN)
    assert await handlers.sweep_due_soon(case, sweep) == [task.task_id]


async def test_no_reminder_for_a_task_done_or_of_someone_who_left(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    done = await give(case, oma, dt.date(2025, 3, 20))
    await handlers.complete_task(case, commands.CompleteTask(done.task_id), LEIDEN)
    await give(case, kees, dt.date(2025, 3, 20))
    await handlers.remove_member(case, commands.RemoveMember(CASE, kees.member_id), LEIDEN)
    assert await handlers.sweep_due_soon(case, commands.SweepOverdue(dt.date(2025, 3, 19))) == []


# -- a helper's link --


async def test_a_helper_accepts_once_through_their_link(case: Deps) -> None:
    oma = await join(case, GRANDMOTHER)
    task = await give(case, oma)
    link, token = await handlers.issue_task_link(case, CASE, task.task_id, oma.member_id)
    assert link.path in token
    assert (await handlers.task_for_link(case, link)).description == "Reads with Sam"
    answered = await handlers.answer_task_link(case, link, commands.AnswerTask(Answer.ACCEPT))
    assert answered.status is TaskStatus.ACCEPTED
    with pytest.raises(LinkUsed):
        await handlers.answer_task_link(case, link, commands.AnswerTask(Answer.DONE))


async def test_a_decline_without_reason_is_refused_and_the_link_still_answers(
    case: Deps,
) -> None:
    spider, oma = await join(case, SPIDER), await join(case, GRANDMOTHER)
    task = await give(case, oma)
    link, _ = await handlers.issue_task_link(case, CASE, task.task_id, oma.member_id)
    with pytest.raises(RuleBroken) as refused:
        await handlers.answer_task_link(case, link, commands.AnswerTask(Answer.DECLINE))
    assert refused.value.field == "reason"
    declined = commands.AnswerTask(Answer.DECLINE, vocab.DeclineReason.NOT_SUITABLE)
    assert (await handlers.answer_task_link(case, link, declined)).status is TaskStatus.DECLINED
    (event,) = emitted(case, ev.TaskDeclinedV2)
    assert (event.decline_reason, event.coordinator_id) == (
        vocab.DeclineReason.NOT_SUITABLE, spider.member_id
    )  # fmt: skip


async def test_a_link_of_a_task_given_to_someone_else_answers_nothing(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    task = await give(case, oma)
    link, _ = await handlers.issue_task_link(case, CASE, task.task_id, oma.member_id)
    await handlers.reassign_task(case, commands.ReassignTask(task.task_id, kees.member_id), LEIDEN)
    with pytest.raises(NotYourTask):
        await handlers.answer_task_link(case, link, commands.AnswerTask(Answer.ACCEPT))
    assert store_of(case).tasks[task.task_id].status is TaskStatus.ASSIGNED


async def test_no_link_for_someone_the_task_is_not_for(case: Deps) -> None:
    oma, kees = await join(case, GRANDMOTHER), await join(case, NEIGHBOUR)
    task = await give(case, oma)
    with pytest.raises(RuleBroken) as refused:
        await handlers.issue_task_link(case, CASE, task.task_id, kees.member_id)
    assert refused.value.field == "member_id"
