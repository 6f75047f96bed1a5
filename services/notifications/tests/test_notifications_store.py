"""The store's hand-written document mapping: what is written reads back the same."""

from __future__ import annotations

import datetime as dt

from vrac_contracts import values as vocab
from vrac_contracts.consent import ConsentState, consent_key
from vrac_notifications.adapters import store
from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    DiplomaMessage,
    FamilyAdviceMessage,
    MessageKind,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskMessage,
)

T0 = dt.datetime(2025, 3, 14, 9, 0, 0, 123456, tzinfo=dt.UTC)
AGENCY_KEY = consent_key(vocab.ConsentPurpose.SHARE_WITH_AGENCY, "agy_youthteam0001")


def a_case_file() -> CaseFile:
    trigger = {"trigger_type": "org.vrac.x.v1", "occurred_at": T0}
    teacher = Contact(
        recipient_id="mbr_teacher000001",
        recipient_kind=RecipientKind.MEMBER,
        name="Juf Anna",
        language=vocab.Language.EN,
        channel=vocab.Channel.EMAIL,
        email="anna@school.example.org",
        member_kind=vocab.MemberKind.PROFESSIONAL,
        role=vocab.NetworkRole.TEACHER,
    )
    return CaseFile(
        case_id="case_store00000001",
        pilot=vocab.Pilot.LEIDEN,
        version=3,
        child_first_name="Sam",
        family_language=vocab.Language.NL,
        contacts={teacher.recipient_id: teacher},
        consents={AGENCY_KEY: ConsentState(granted=True, changed_at=T0)},
        intents=[
            TaskMessage(
                **trigger,
                trigger_id="ev-1",
                kind=MessageKind.TASK_OVERDUE,
                task_id="task_1",
                member_id="mbr_teacher000001",
                category=vocab.TaskCategory.MEETING,
                due_date=dt.date(2025, 3, 28),
            ),
            DiplomaMessage(**trigger, trigger_id="ev-2", diploma_id="dip_1"),
            SchoolAdviceMessage(
                **trigger, trigger_id="ev-3", screening_id="scr_1", advice_codes=("a", "b")
            ),
            FamilyAdviceMessage(
                **trigger,
                trigger_id="ev-3",
                screening_id="scr_1",
                parent_codes=("c",),
                child_codes=("d", "e"),
            ),
            DeclinedTaskMessage(
                **trigger,
                trigger_id="ev-4",
                task_id="task_1",
                member_id="mbr_teacher000001",
                category=vocab.TaskCategory.MEETING,
                reason=vocab.DeclineReason.NO_TIME,
            ),
            TaskMessage(
                **trigger,
                trigger_id="ev-5",
                kind=MessageKind.TASK_DUE_SOON,
                task_id="task_1",
                member_id="mbr_teacher000001",
                due_date=dt.date(2025, 3, 28),
            ),
            OverdueTaskNotice(
                **trigger,
                trigger_id="ev-1",
                task_id="task_1",
                member_id="mbr_teacher000001",
                due_date=dt.date(2025, 3, 28),
                category=vocab.TaskCategory.MEETING,
            ),
        ],
        removed={"gdn_left00000001", "mbr_left00000001"},
    )


def test_a_case_file_reads_back_as_it_was_written() -> None:
    case = a_case_file()
    doc = store._case_file_doc(case) | {"_id": case.case_id, "version": case.version}
    assert store._case_file(doc) == case


def test_the_case_file_document_keeps_consents_and_contacts_by_key() -> None:
    doc = store._case_file_doc(a_case_file())
    assert doc["consents"][AGENCY_KEY] == {"granted": True, "changed_at": T0.isoformat()}
    assert doc["contacts"]["mbr_teacher000001"]["role"] == "teacher"


def test_an_erasure_in_progress_reads_back_as_pending() -> None:
    case = a_case_file()
    case.close(T0, erase=True)
    doc = store._case_file_doc(case) | {"_id": case.case_id, "version": case.version}
    back = store._case_file(doc)
    assert (back.erased_at, back.erasure_pending, back.contacts) == (T0, True, {})
