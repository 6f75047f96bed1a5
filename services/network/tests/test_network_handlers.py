"""Handlers over in-memory fakes: what a coach, an agency or intake's events change, and
what gets published."""

from __future__ import annotations

import datetime as dt

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events import network as network_events
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.events.sealed import MemberDetails
from vrac_network import handlers
from vrac_network.domain import commands
from vrac_network.domain.case import Case, Member, NewMember
from vrac_network.domain.errors import (
    CaseIsClosed,
    InvalidTransition,
    NoAgencyConsent,
    TaskChangedMeanwhile,
    UnknownCase,
    UnknownTask,
)
from vrac_network.domain.task import NewTask, Task, TaskStatus
from vrac_network.handlers import Deps
from vrac_runtime.errors import Conflict

from services.network.tests.fakes import NOW, FakeAccess, keys_of, store_of

CASE = "case_handlers00001"
LEIDEN = FakeAccess("leiden")
AGENCY = "agy_youthteam0001"
GRANDMOTHER = NewMember(
    kind=vocab.MemberKind.FAMILY,
    role=vocab.NetworkRole.SUPPORTER,
    display_name="Oma Ria",
    relationship="grandmother",
    email="ria@example.org",
    channel=vocab.Channel.EMAIL,
)
YOUTH_TEAM = NewMember(
    kind=vocab.MemberKind.AGENCY,
    role=vocab.NetworkRole.SPIDER_IN_THE_WEB,
    display_name="Jeugdteam Leiden",
    agency_id=AGENCY,
    channel=vocab.Channel.WEBHOOK,
)


async def opened(deps: Deps, case_id: str = CASE, pilot: vocab.Pilot = vocab.Pilot.LEIDEN) -> None:
    event = CaseOpened(
        case_id=case_id, pilot=pilot, occurred_at=NOW, programme="pit", opened_at=NOW
    )
    await handlers.open_case(deps, event)


async def closed(deps: Deps, case_id: str = CASE) -> None:
    event = CaseClosed(
        case_id=case_id,
        pilot=vocab.Pilot.LEIDEN,
        occurred_at=NOW,
        reason=vocab.CloseReason.COMPLETED,
    )
    await handlers.close_case(deps, event)


def consent(
    purpose: vocab.ConsentPurpose,
    granted: bool,
    changed_at: dt.datetime,
    agency_id: str | None = None,
) -> ConsentRecorded:
    return ConsentRecorded(
        case_id=CASE,
        pilot=vocab.Pilot.LEIDEN,
        occurred_at=changed_at,
        purpose=purpose,
        granted=granted,
        agency_id=agency_id,
        changed_by=vocab.ActorRole.COACH,
        changed_at=changed_at,
    )


async def member(deps: Deps, details: NewMember = GRANDMOTHER) -> Member:
    return await handlers.add_member(deps, commands.AddMember(CASE, details), LEIDEN)


async def task_for(deps: Deps, who: Member, due: dt.date | None = None) -> Task:
    request = NewTask(vocab.TaskCategory.HOMEWORK_SUPPORT, who.member_id, due)
    return await handlers.assign_task(deps, commands.AssignTask(CASE, request), LEIDEN)


def published(deps: Deps) -> list[type]:
    return [type(e) for e in store_of(deps).outbox]


# -- members --


async def test_a_member_added_is_stored_and_member_added_published(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    assert oma.member_id == "mbr_fake00000001"
    assert (oma.added_at, oma.language) == (NOW, vocab.Language.NL)  # the pilot's language
    assert await handlers.list_members(deps, CASE, LEIDEN) == [oma]
    event, measured = store_of(deps).outbox
    assert isinstance(event, network_events.MemberAddedV2)
    assert isinstance(measured, network_events.NetworkMeasured)
    assert "Oma Ria" not in event.model_dump_json()
    assert (event.member_id, event.details.key_id) == (oma.member_id, oma.member_id)
    details = keys_of(deps).open_now(CASE, event.details, MemberDetails)
    assert details == MemberDetails(
        display_name="Oma Ria", relationship="grandmother", email="ria@example.org"
    )


async def test_a_case_without_case_opened_is_unknown(deps: Deps) -> None:
    with pytest.raises(UnknownCase):
        await member(deps)
    # a consent or a close arriving first makes the case exist, not known
    await handlers.record_consent(deps, consent(vocab.ConsentPurpose.SCREENING, True, NOW))
    with pytest.raises(UnknownCase):
        await handlers.list_members(deps, CASE, LEIDEN)
    assert store_of(deps).outbox == []


async def test_another_pilots_case_is_refused_and_nothing_written(deps: Deps) -> None:
    await opened(deps)
    with pytest.raises(PermissionError):
        await handlers.add_member(deps, commands.AddMember(CASE, GRANDMOTHER), FakeAccess("lille"))
    assert store_of(deps).cases[CASE].members == []
    assert store_of(deps).outbox == []


# -- tasks --


async def test_a_task_assigned_is_stored_and_task_assigned_published(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    task = await task_for(deps, oma, dt.date(2025, 4, 1))
    assert (task.task_id, task.status, task.created_at) == (
        "task_fake00000002",
        TaskStatus.ASSIGNED,
        NOW,
    )
    assert await handlers.tasks_of_case(deps, CASE, LEIDEN) == [task]
    assert published(deps) == [
        network_events.MemberAddedV2,
        network_events.NetworkMeasured,
        network_events.TaskAssigned,
    ]
    assigned = store_of(deps).outbox[-1]
    assert isinstance(assigned, network_events.TaskAssigned) and assigned.due_date == dt.date(
        2025, 4, 1
    )


async def test_a_task_is_accepted_then_completed(deps: Deps) -> None:
    await opened(deps)
    task = await task_for(deps, await member(deps))
    accepted = await handlers.accept_task(deps, commands.AcceptTask(task.task_id), LEIDEN)
    assert accepted.status is TaskStatus.ACCEPTED
    done = await handlers.complete_task(deps, commands.CompleteTask(task.task_id), LEIDEN)
    assert done.status is TaskStatus.COMPLETED
    stored = await handlers.get_task(deps, task.task_id, LEIDEN)
    assert (stored.status, stored.version) == (TaskStatus.COMPLETED, 3)
    assert published(deps)[-2:] == [network_events.TaskAccepted, network_events.TaskCompleted]


async def test_a_declined_task_publishes_the_reason_and_takes_no_more_changes(
    deps: Deps,
) -> None:
    await opened(deps)
    task = await task_for(deps, await member(deps))
    command = commands.DeclineTask(task.task_id, vocab.DeclineReason.NO_TIME)
    declined = await handlers.decline_task(deps, command, LEIDEN)
    assert (declined.status, declined.decline_reason) == (
        TaskStatus.DECLINED,
        vocab.DeclineReason.NO_TIME,
    )
    event = store_of(deps).outbox[-1]
    assert (
        isinstance(event, network_events.TaskDeclined)
        and event.decline_reason is vocab.DeclineReason.NO_TIME
    )
    before = list(store_of(deps).outbox)
    with pytest.raises(InvalidTransition):
        await handlers.complete_task(deps, commands.CompleteTask(task.task_id), LEIDEN)
    assert store_of(deps).outbox == before
    stored = await handlers.get_task(deps, task.task_id, LEIDEN)
    assert stored.status is TaskStatus.DECLINED


async def test_an_unknown_task_is_refused(deps: Deps) -> None:
    with pytest.raises(UnknownTask):
        await handlers.accept_task(deps, commands.AcceptTask("task_doesnotexist0001"), LEIDEN)


async def test_an_agency_acts_only_on_its_own_tasks(deps: Deps) -> None:
    await opened(deps)
    await handlers.record_consent(deps, agency_consent(True, NOW))
    mine = await task_for(deps, await member(deps, YOUTH_TEAM))
    theirs = await task_for(deps, await member(deps))
    agency = FakeAccess("leiden", AGENCY)
    assert (await handlers.accept_task(deps, commands.AcceptTask(mine.task_id), agency)).status is (
        TaskStatus.ACCEPTED
    )
    with pytest.raises(PermissionError):
        await handlers.accept_task(deps, commands.AcceptTask(theirs.task_id), agency)


async def test_a_write_that_lost_a_race_reads_again_and_succeeds(deps: Deps) -> None:
    await opened(deps)
    task = await task_for(deps, await member(deps))
    store_of(deps).races = handlers.TASK_WRITE_ATTEMPTS - 1
    accepted = await handlers.accept_task(deps, commands.AcceptTask(task.task_id), LEIDEN)
    assert accepted.status is TaskStatus.ACCEPTED
    assert published(deps).count(network_events.TaskAccepted) == 1


async def test_a_task_that_keeps_changing_is_a_conflict_and_publishes_nothing(
    deps: Deps,
) -> None:
    await opened(deps)
    task = await task_for(deps, await member(deps))
    store_of(deps).races = handlers.TASK_WRITE_ATTEMPTS
    with pytest.raises(TaskChangedMeanwhile) as refused:
        await handlers.accept_task(deps, commands.AcceptTask(task.task_id), LEIDEN)
    assert isinstance(refused.value, Conflict)  # 409: try again
    assert network_events.TaskAccepted not in published(deps)


# -- the overdue sweep --


async def test_the_sweep_reports_each_task_past_due_once(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    due = dt.date(2025, 3, 28)
    late = await task_for(deps, oma, due)
    in_time = await task_for(deps, oma, due + dt.timedelta(days=1))
    done = await task_for(deps, oma, due)
    await handlers.complete_task(deps, commands.CompleteTask(done.task_id), LEIDEN)
    await task_for(deps, oma, None)  # never overdue
    as_of = due + dt.timedelta(days=1)
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(as_of)) == [late.task_id]
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(as_of)) == []
    [event] = [e for e in store_of(deps).outbox if isinstance(e, network_events.TaskOverdue)]
    assert (event.task_id, event.due_date) == (late.task_id, due)
    assert (await handlers.get_task(deps, late.task_id, LEIDEN)).overdue
    assert not (await handlers.get_task(deps, in_time.task_id, LEIDEN)).overdue


async def test_the_sweep_of_one_pilot_leaves_the_others(deps: Deps) -> None:
    await opened(deps)
    task = await task_for(deps, await member(deps), dt.date(2025, 3, 1))
    as_of = dt.date(2025, 4, 1)
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(as_of, "lille")) == []
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(as_of, "leiden")) == [
        task.task_id
    ]


# -- consent --


def agency_consent(granted: bool, changed_at: dt.datetime) -> ConsentRecorded:
    return consent(vocab.ConsentPurpose.SHARE_WITH_AGENCY, granted, changed_at, AGENCY)


async def test_the_newest_consent_decision_is_kept(deps: Deps) -> None:
    await opened(deps)
    team = await member(deps, YOUTH_TEAM)
    day = dt.timedelta(days=1)
    await handlers.record_consent(deps, agency_consent(True, NOW + day))
    await handlers.record_consent(deps, agency_consent(False, NOW + 3 * day))
    await handlers.record_consent(deps, agency_consent(True, NOW + 2 * day))  # late, older
    case = await deps.cases.get_case(CASE)
    assert case is not None and case.agency_consent(AGENCY) is False
    plan = await handlers.show_care_plan(deps, CASE, LEIDEN)
    assert [(p.member.member_id, p.agency_consent) for p in plan.members] == [
        (team.member_id, False)
    ]


async def test_no_task_goes_to_an_agency_the_family_does_not_share_with(deps: Deps) -> None:
    await opened(deps)
    team = await member(deps, YOUTH_TEAM)
    with pytest.raises(NoAgencyConsent) as refused:
        await task_for(deps, team)
    assert isinstance(refused.value, Conflict) and "share-with-agency" in str(refused.value)
    await handlers.record_consent(deps, agency_consent(True, NOW))
    assert (await task_for(deps, team)).assignee_id == team.member_id


async def test_a_withdrawal_stops_the_agency_reading_and_acting_on_its_task(deps: Deps) -> None:
    await opened(deps)
    await handlers.record_consent(deps, agency_consent(True, NOW))
    task = await task_for(deps, await member(deps, YOUTH_TEAM))
    agency = FakeAccess("leiden", AGENCY)
    assert (await handlers.get_task(deps, task.task_id, agency)).task_id == task.task_id
    await handlers.record_consent(deps, agency_consent(False, NOW + dt.timedelta(days=1)))
    with pytest.raises(PermissionError, match="does not share"):
        await handlers.get_task(deps, task.task_id, agency)
    with pytest.raises(PermissionError, match="does not share"):
        await handlers.complete_task(deps, commands.CompleteTask(task.task_id), agency)
    # the coach still sees the task, which stays on the care plan
    assert (await handlers.get_task(deps, task.task_id, LEIDEN)).status is TaskStatus.ASSIGNED


async def test_consent_is_kept_per_purpose_and_per_agency(deps: Deps) -> None:
    school = consent(vocab.ConsentPurpose.SHARE_WITH_SCHOOL, True, NOW)
    await handlers.record_consent(deps, school)
    case = await deps.cases.get_case(CASE)
    assert case is not None
    assert case.agency_consent(AGENCY) is None
    assert [state.granted for state in case.consents.values()] == [True]


# -- a closed case --


async def test_a_closed_case_refuses_every_change(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    task = await task_for(deps, oma, dt.date(2025, 3, 1))
    await closed(deps)
    before = list(store_of(deps).outbox)
    with pytest.raises(CaseIsClosed):
        await member(deps)
    with pytest.raises(CaseIsClosed):
        await task_for(deps, oma)
    for change in (
        handlers.accept_task(deps, commands.AcceptTask(task.task_id), LEIDEN),
        handlers.decline_task(
            deps, commands.DeclineTask(task.task_id, vocab.DeclineReason.OTHER), LEIDEN
        ),
        handlers.complete_task(deps, commands.CompleteTask(task.task_id), LEIDEN),
    ):
        with pytest.raises(CaseIsClosed):
            await change
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(dt.date(2025, 6, 1))) == []
    assert store_of(deps).outbox == before
    plan = await handlers.show_care_plan(deps, CASE, LEIDEN)
    assert plan.case.closed and [t.status for t in plan.members[0].tasks] == [TaskStatus.ASSIGNED]


async def test_case_closed_before_case_opened_leaves_the_case_closed(deps: Deps) -> None:
    await closed(deps)
    await opened(deps)
    with pytest.raises(CaseIsClosed):
        await member(deps)


async def test_a_case_closed_between_read_and_write_takes_no_member(deps: Deps) -> None:
    await opened(deps)
    store = store_of(deps)
    read = store.get_case

    async def read_then_close(case_id: str) -> Case | None:
        case = await read(case_id)
        store.cases[case_id].closed = True  # intake's case-closed lands meanwhile
        return case

    store.get_case = read_then_close  # type: ignore[method-assign]
    with pytest.raises(CaseIsClosed):
        await member(deps)
    assert store.cases[CASE].members == [] and store.outbox == []
