"""The network domain on its own: members, task transitions, overdue, the care plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.catalogue import spec_for
from vrac_contracts.consent import ConsentState, consent_key
from vrac_contracts.events import network as emitted
from vrac_contracts.events.sealed import MemberDetails, Sealed
from vrac_contracts.fields import is_personal
from vrac_contracts.ids import new_id
from vrac_network.domain.case import Case, Member, NewMember
from vrac_network.domain.errors import (
    CaseIsClosed,
    InvalidTransition,
    RuleBroken,
    UnknownCase,
    UnknownMember,
)
from vrac_network.domain.plan import care_plan
from vrac_network.domain.task import NewTask, Task, TaskStatus, assign_task
from vrac_runtime.sealing import open_with, seal_with

from services.network.tests.network_testkit import GRANDMOTHER, YOUTH_TEAM

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
KEY = os.urandom(32)
YOUTH_TEAM = dataclasses.replace(YOUTH_TEAM, language=vocab.Language.NL)


def open_case(pilot: vocab.Pilot = vocab.Pilot.LEIDEN) -> Case:
    return Case(case_id="case_domain000001", pilot=pilot, opened=True)


def sealed(case: Case, member: Member) -> Sealed:
    return seal_with(KEY, case.case_id, member.member_id, member.details())


def join(case: Case, details: NewMember) -> Member:
    """A member added, its event handed over (as the store would take it)."""
    member = case.new_member(new_id("member"), details, NOW)
    case.add_member(member, sealed(case, member), NOW)
    case.pull_events()
    return member


def task_for(case: Case, member_id: str, due: dt.date | None = dt.date(2025, 3, 28)) -> Task:
    request = NewTask(vocab.TaskCategory.HOMEWORK_SUPPORT, member_id, due)
    task = assign_task(case, new_id("task"), request, NOW)
    task.pull_events()
    return task


def test_a_member_joins_and_the_event_carries_how_to_reach_them_sealed() -> None:
    case = open_case()
    member = case.new_member(new_id("member"), GRANDMOTHER, NOW)
    assert case.members == [] and case.pull_events() == []  # checked, not added yet
    case.add_member(member, sealed(case, member), NOW)
    [event] = case.pull_events()
    assert isinstance(event, emitted.MemberAddedV2)
    assert case.members == [member]
    assert member.member_id.startswith("mbr_")
    assert (event.member_id, event.kind, event.channel) == (
        member.member_id,
        vocab.MemberKind.FAMILY,
        vocab.Channel.EMAIL,
    )
    assert "ria@example.org" not in event.model_dump_json()
    assert open_with(KEY, case.case_id, event.details, MemberDetails) == MemberDetails(
        display_name="Oma Ria", relationship="grandmother", email="ria@example.org"
    )
    assert (event.case_id, event.pilot, event.occurred_at) == (
        case.case_id,
        vocab.Pilot.LEIDEN,
        NOW,
    )


def test_a_member_who_leaves_keeps_ids_and_codes_only_and_member_removed_is_recorded() -> None:
    case = open_case()
    oma = join(case, GRANDMOTHER)
    gone = case.remove_member(oma.member_id, NOW)
    [event] = case.pull_events()
    assert isinstance(event, emitted.MemberRemoved) and event.member_id == oma.member_id
    assert case.members == [gone]
    assert (gone.member_id, gone.kind, gone.role, gone.removed_at) == (
        oma.member_id,
        oma.kind,
        oma.role,
        NOW,
    )
    assert (gone.display_name, gone.relationship, gone.email, gone.phone) == (None,) * 4
    # leaving twice changes nothing and records nothing
    assert case.remove_member(oma.member_id, NOW) == gone and case.pull_events() == []
    with pytest.raises(UnknownMember):
        case.remove_member("mbr_stranger000001", NOW)


def test_no_task_goes_to_a_member_who_left() -> None:
    case = open_case()
    oma = join(case, GRANDMOTHER)
    case.remove_member(oma.member_id, NOW)
    with pytest.raises(RuleBroken) as refused:
        assign_task(case, new_id("task"), NewTask(vocab.TaskCategory.CHECK_IN, oma.member_id), NOW)
    assert refused.value.field == "assignee_id"


def test_an_erased_case_takes_no_member_and_shows_none_of_their_details() -> None:
    case = open_case()
    join(case, GRANDMOTHER)
    case.erased = True
    with pytest.raises(CaseIsClosed):
        join(case, YOUTH_TEAM)
    [shown] = case.without_personal_data().members
    assert (shown.display_name, shown.email, shown.kind) == (None, None, vocab.MemberKind.FAMILY)


def test_without_a_language_a_member_is_addressed_in_the_pilots_language() -> None:
    member = join(open_case(vocab.Pilot.LILLE), GRANDMOTHER)
    assert member.language is vocab.Language.FR


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": None}, "email"),
        ({"channel": vocab.Channel.SMS}, "phone"),
        ({"channel": vocab.Channel.WEBHOOK}, "agency_id"),
        ({"kind": vocab.MemberKind.AGENCY}, "agency_id"),
        ({"display_name": "   "}, "display_name"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_a_member_that_cannot_be_reached_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    details = NewMember(**{**GRANDMOTHER.__dict__, **changes})  # type: ignore[arg-type]
    case = open_case()
    with pytest.raises(RuleBroken) as refused:
        case.new_member(new_id("member"), details, NOW)
    assert refused.value.field == field
    assert case.members == []
    assert case.pull_events() == []


def test_members_join_only_an_opened_case_that_is_not_closed() -> None:
    with pytest.raises(UnknownCase):
        join(Case("case_domain000001", vocab.Pilot.LEIDEN, opened=False), GRANDMOTHER)
    with pytest.raises(CaseIsClosed):
        join(Case("case_domain000001", vocab.Pilot.LEIDEN, opened=True, closed=True), GRANDMOTHER)


def test_a_task_goes_to_a_member_and_its_event_names_only_ids_and_codes() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    request = NewTask(
        vocab.TaskCategory.TRANSPORT,
        member.member_id,
        dt.date(2025, 4, 1),
        "Drives Sam to football",
    )
    task = assign_task(case, new_id("task"), request, NOW)
    [event] = task.pull_events()
    assert isinstance(event, emitted.TaskAssigned)
    assert task.status is TaskStatus.ASSIGNED
    assert task.description == "Drives Sam to football"
    assert event.model_dump(mode="json") == {
        "case_id": case.case_id,
        "pilot": "leiden",
        "occurred_at": "2025-03-14T09:30:00Z",
        "task_id": task.task_id,
        "assignee_id": member.member_id,
        "assignee_kind": "family",
        "category": "transport",
        "due_date": "2025-04-01",
    }


def test_task_events_have_no_personal_fields() -> None:
    for model in (
        emitted.TaskAssigned,
        emitted.TaskAccepted,
        emitted.TaskDeclined,
        emitted.TaskCompleted,
        emitted.TaskOverdue,
    ):
        assert spec_for(model).audience == "public"
        assert not [name for name, f in model.model_fields.items() if is_personal(f)]


def test_a_task_for_someone_outside_the_network_is_refused_naming_the_assignee() -> None:
    with pytest.raises(RuleBroken) as refused:
        request = NewTask(vocab.TaskCategory.CHECK_IN, "mbr_stranger000001")
        assign_task(open_case(), new_id("task"), request, NOW)
    assert refused.value.field == "assignee_id"


def test_an_overlong_description_is_refused() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    request = NewTask(vocab.TaskCategory.CHECK_IN, member.member_id, None, "x" * 501)
    with pytest.raises(RuleBroken) as refused:
        assign_task(case, new_id("task"), request, NOW)
    assert refused.value.field == "description"


def test_accept_then_complete() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    task = task_for(case, member.member_id)
    task.accept(NOW)
    [accepted] = task.pull_events()
    assert isinstance(accepted, emitted.TaskAccepted)
    assert (task.status, accepted.task_id) == (TaskStatus.ACCEPTED, task.task_id)
    task.complete(NOW)
    [completed] = task.pull_events()
    assert isinstance(completed, emitted.TaskCompleted)
    assert (task.status, completed.assignee_kind) == (TaskStatus.COMPLETED, vocab.MemberKind.FAMILY)


def test_a_task_may_be_completed_without_an_explicit_accept() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    task = task_for(case, member.member_id)
    task.complete(NOW)
    assert task.status is TaskStatus.COMPLETED


def test_decline_records_the_reason_code() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    task = task_for(case, member.member_id)
    task.decline(vocab.DeclineReason.NO_TIME, NOW)
    [event] = task.pull_events()
    assert isinstance(event, emitted.TaskDeclined)
    assert (task.status, task.decline_reason, event.decline_reason) == (
        TaskStatus.DECLINED,
        vocab.DeclineReason.NO_TIME,
        vocab.DeclineReason.NO_TIME,
    )


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("decline", "complete"),
        ("decline", "accept"),
        ("complete", "decline"),
        ("complete", "accept"),
        ("accept", "accept"),
        ("complete", "complete"),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(first: str, then: str) -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    task = task_for(case, member.member_id)
    act = {
        "accept": lambda: task.accept(NOW),
        "decline": lambda: task.decline(vocab.DeclineReason.OTHER, NOW),
        "complete": lambda: task.complete(NOW),
    }
    act[first]()
    status = task.status
    task.pull_events()
    with pytest.raises(InvalidTransition):
        act[then]()
    assert task.status is status
    assert task.pull_events() == []


def test_overdue_is_reported_once_after_the_due_day_and_never_for_done_tasks() -> None:
    case = open_case()
    member = join(case, GRANDMOTHER)
    due = dt.date(2025, 3, 28)
    task = task_for(case, member.member_id, due)
    assert not task.mark_overdue(due, NOW)  # the due day itself is still in time
    assert task.pull_events() == []
    assert task.mark_overdue(due + dt.timedelta(days=1), NOW)
    [event] = task.pull_events()
    assert isinstance(event, emitted.TaskOverdue) and event.due_date == due
    assert not task.mark_overdue(due + dt.timedelta(days=2), NOW)
    assert task.pull_events() == []
    done = task_for(case, member.member_id, due)
    done.complete(NOW)
    done.pull_events()
    assert not done.mark_overdue(due + dt.timedelta(days=9), NOW)
    assert done.pull_events() == []
    undated = task_for(case, member.member_id, None)
    assert not undated.mark_overdue(dt.date(2099, 1, 1), NOW)
    assert undated.pull_events() == []


def test_the_care_plan_shows_who_does_what_and_agency_consent() -> None:
    case = open_case()
    oma = join(case, GRANDMOTHER)
    team = join(case, YOUTH_TEAM)
    key = consent_key(vocab.ConsentPurpose.SHARE_WITH_AGENCY, "agy_youthteam0001")
    case.consents[key] = ConsentState(granted=True, changed_at=NOW)
    late = task_for(case, oma.member_id, dt.date(2025, 5, 1))
    early = task_for(case, oma.member_id, dt.date(2025, 4, 1))
    undated = task_for(case, oma.member_id, None)
    meeting = task_for(case, team.member_id)
    meeting.decline(vocab.DeclineReason.NO_TIME, NOW)
    late.mark_overdue(dt.date(2025, 6, 1), NOW)
    plan = care_plan(case, [late, undated, early, meeting])
    assert [p.member.member_id for p in plan.members] == [oma.member_id, team.member_id]
    assert [t.task_id for t in plan.members[0].tasks] == [
        early.task_id,
        late.task_id,
        undated.task_id,
    ]
    assert [t.task_id for t in plan.members[1].tasks] == [meeting.task_id]
    assert (plan.members[0].agency_consent, plan.members[1].agency_consent) == (None, True)
    assert plan.counts[TaskStatus.ASSIGNED] == 3 and plan.counts[TaskStatus.DECLINED] == 1
    assert plan.overdue == 1
