"""The case file, consent and the words of the messages: pure domain, no I/O."""

from __future__ import annotations

import datetime as dt

from vrac_contracts import values as vocab
from vrac_contracts.advice import advice_text
from vrac_contracts.consent import ConsentState, consent_key
from vrac_notifications.domain.casefile import CaseFile, Outcome, delivery_id
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.intents import (
    DiplomaMessage,
    MessageKind,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.templates import render

T0 = dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC)
CASE = "case_domain0000001"
SCHOOL = consent_key(vocab.ConsentPurpose.SHARE_WITH_SCHOOL)
AGENCY = "agy_youthteam0001"


def guardian(language: vocab.Language = vocab.Language.NL, **extra: object) -> Contact:
    values: dict[str, object] = {
        "recipient_id": "gdn_fatima000001",
        "recipient_kind": RecipientKind.GUARDIAN,
        "name": "Fatima",
        "language": language,
        "channel": vocab.Channel.EMAIL,
        "email": "fatima@example.org",
    }
    return Contact(**(values | extra))  # type: ignore[arg-type]


def member(member_id: str = "mbr_oma000000001", **extra: object) -> Contact:
    values: dict[str, object] = {
        "recipient_id": member_id,
        "recipient_kind": RecipientKind.MEMBER,
        "name": "Oma Ria",
        "language": vocab.Language.NL,
        "channel": vocab.Channel.EMAIL,
        "email": "ria@example.org",
        "member_kind": vocab.MemberKind.FAMILY,
        "role": vocab.NetworkRole.SUPPORTER,
    }
    return Contact(**(values | extra))  # type: ignore[arg-type]


def teacher(**extra: object) -> Contact:
    return member(
        "mbr_teacher000001",
        name="Juf Anna",
        email="anna@school.example.org",
        member_kind=vocab.MemberKind.PROFESSIONAL,
        role=vocab.NetworkRole.TEACHER,
        **extra,
    )


def agency(**extra: object) -> Contact:
    return member(
        "mbr_youthteam0001",
        name="Jeugdteam",
        email=None,
        channel=vocab.Channel.WEBHOOK,
        member_kind=vocab.MemberKind.AGENCY,
        role=vocab.NetworkRole.CARE_PROVIDER,
        agency_id=AGENCY,
        **extra,
    )


def task(member_id: str = "mbr_oma000000001", trigger: str = "ev-task-1", **extra: object):
    values: dict[str, object] = {
        "kind": MessageKind.TASK_ASSIGNED,
        "trigger_id": trigger,
        "trigger_type": "org.vrac.network.task-assigned.v1",
        "occurred_at": T0,
        "task_id": "task_homework0001",
        "member_id": member_id,
        "category": vocab.TaskCategory.HOMEWORK_SUPPORT,
        "due_date": dt.date(2025, 3, 28),
    }
    return TaskMessage(**(values | extra))  # type: ignore[arg-type]


def advice(trigger: str = "ev-screening-1", at: dt.datetime = T0) -> SchoolAdviceMessage:
    return SchoolAdviceMessage(
        trigger_id=trigger,
        trigger_type="org.vrac.screening.screening-completed.v1",
        occurred_at=at,
        screening_id="scr_9f8e7d6c5b4a",
        advice_codes=("memory-for-reading", "quiet-place-in-class"),
    )


def case_file() -> CaseFile:
    return CaseFile(case_id=CASE, pilot=vocab.Pilot.LEIDEN)


def test_a_task_for_someone_not_yet_in_the_directory_waits_for_them() -> None:
    case = case_file()
    case.expect(task())
    assert case.plan() == []
    case.add_member(member())
    [planned] = case.plan()
    assert planned.outcome is Outcome.SEND
    assert planned.delivery_id == delivery_id("ev-task-1", "mbr_oma000000001")


def test_the_same_event_is_expected_once() -> None:
    case = case_file()
    assert case.expect(task()) is True
    assert case.expect(task()) is False
    case.add_member(member())
    assert len(case.plan()) == 1


def closed_case_file() -> CaseFile:
    """A case with a family, a member and a task expected, then closed."""
    case = case_file()
    case.register_family("Sam", vocab.Language.NL, [guardian()])
    case.add_member(member())
    case.expect(task())
    case.close(T0)
    return case


def test_a_closed_case_sends_nothing_at_all() -> None:
    case = closed_case_file()
    assert case.plan() == []


def test_closing_a_case_erases_its_directory_and_keeps_none_arriving_later() -> None:
    case = closed_case_file()
    assert (case.child_first_name, case.contacts, case.intents) == (None, {}, [])
    assert case.add_member(member()) is False
    assert case.register_family("Sam", vocab.Language.NL, [guardian()]) is False
    assert case.contacts == {}


def test_the_newest_consent_decision_wins_whatever_order_it_arrives_in() -> None:
    case = case_file()
    withdrawn = ConsentState(granted=False, changed_at=T0 + dt.timedelta(days=2))
    granted = ConsentState(granted=True, changed_at=T0)
    assert case.change_consent(SCHOOL, withdrawn) is True
    assert case.change_consent(SCHOOL, granted) is False  # older: arrived late
    assert case.has_consent(SCHOOL) is False


def test_on_a_tie_the_withdrawal_wins() -> None:
    case = case_file()
    case.change_consent(SCHOOL, ConsentState(granted=True, changed_at=T0))
    case.change_consent(SCHOOL, ConsentState(granted=False, changed_at=T0))
    assert case.has_consent(SCHOOL) is False


def test_school_advice_goes_to_the_teacher_only_with_share_with_school_consent() -> None:
    case = case_file()
    case.add_member(teacher())
    case.add_member(member())
    case.expect(advice())
    [planned] = case.plan()
    assert planned.contact.recipient_id == "mbr_teacher000001"
    assert planned.outcome is Outcome.WITHHELD
    case.change_consent(SCHOOL, ConsentState(granted=True, changed_at=T0))
    assert [p.outcome for p in case.plan()] == [Outcome.SEND]


def test_only_the_latest_screening_advice_is_owed_to_the_school() -> None:
    case = case_file()
    case.change_consent(SCHOOL, ConsentState(granted=True, changed_at=T0))
    case.expect(advice("ev-screening-2", T0 + dt.timedelta(days=30)))
    case.expect(advice("ev-screening-1", T0))
    case.add_member(teacher())
    assert [p.intent.trigger_id for p in case.plan()] == ["ev-screening-2"]


def test_an_agency_needs_share_with_agency_consent_for_its_own_agency_id() -> None:
    case = case_file()
    case.add_member(agency())
    case.expect(task("mbr_youthteam0001"))
    other = consent_key(vocab.ConsentPurpose.SHARE_WITH_AGENCY, "agy_otheragency01")
    case.change_consent(other, ConsentState(granted=True, changed_at=T0))
    assert [p.outcome for p in case.plan()] == [Outcome.WITHHELD]
    mine = consent_key(vocab.ConsentPurpose.SHARE_WITH_AGENCY, AGENCY)
    case.change_consent(mine, ConsentState(granted=True, changed_at=T0))
    [planned] = case.plan()
    assert (planned.outcome, planned.channel) == (Outcome.SEND, vocab.Channel.WEBHOOK)


def test_the_family_network_needs_no_extra_consent() -> None:
    assert member().required_consents() == []
    assert guardian().required_consents() == []
    assert teacher().required_consents() == [SCHOOL]


def test_sms_falls_back_to_email_and_without_an_address_nobody_is_reachable() -> None:
    case = case_file()
    case.register_family(
        "Sam", vocab.Language.NL, [guardian(channel=vocab.Channel.SMS, phone="+31612345678")]
    )
    case.add_member(member(email=None))
    case.expect(task())
    case.expect(
        DiplomaMessage(
            trigger_id="ev-diploma-1",
            trigger_type="org.vrac.screening.diploma-issued.v1",
            occurred_at=T0,
            diploma_id="dip_0c1d2e3f4a5b6c7d",
        )
    )
    outcomes = {p.contact.recipient_id: (p.outcome, p.channel) for p in case.plan()}
    assert outcomes == {
        "mbr_oma000000001": (Outcome.UNREACHABLE, vocab.Channel.EMAIL),
        "gdn_fatima000001": (Outcome.SEND, vocab.Channel.EMAIL),
    }


def test_an_overdue_reminder_knows_the_task_from_its_assignment() -> None:
    case = case_file()
    case.expect(task())
    case.expect(task(trigger="ev-overdue-1", kind=MessageKind.TASK_OVERDUE, category=None))
    case.add_member(member())
    reminder = render(case.plan()[1].intent, member(), case_id=CASE, child_first_name="Sam")
    assert "helpen met huiswerk" in reminder.subject
    assert "28 maart 2025" in reminder.text


def test_a_task_message_is_in_the_recipients_language_with_the_due_date() -> None:
    by_language = {
        lang: render(task(), member(language=lang), case_id=CASE, child_first_name="Sam")
        for lang in vocab.Language
    }
    assert "helpen met huiswerk" in by_language[vocab.Language.NL].text
    assert "28 maart 2025" in by_language[vocab.Language.NL].text
    assert "aider aux devoirs" in by_language[vocab.Language.FR].text
    assert "28 mars 2025" in by_language[vocab.Language.FR].text
    assert "helping with homework" in by_language[vocab.Language.EN].text
    assert "28 March 2025" in by_language[vocab.Language.EN].text
    assert by_language[vocab.Language.EN].text.startswith("Dear Oma Ria,")


def test_an_agency_is_told_the_case_id_never_the_childs_name() -> None:
    text = render(task("mbr_youthteam0001"), agency(), case_id=CASE, child_first_name="Sam").text
    assert "Sam" not in text
    assert CASE in text


def test_a_professional_of_no_agency_and_no_school_is_told_the_case_id_only() -> None:
    social_worker = member(
        "mbr_professional01",
        name="Wijkteam",
        member_kind=vocab.MemberKind.PROFESSIONAL,
        role=vocab.NetworkRole.CARE_PROVIDER,
    )
    text = render(task("mbr_professional01"), social_worker, case_id=CASE, child_first_name="Sam")
    assert "Sam" not in text.text and CASE in text.text
    # the school, under its own consent, and the family's own people read the name
    for knows in (teacher(), member()):
        assert "Sam" in render(task(), knows, case_id=CASE, child_first_name="Sam").text


def test_the_diploma_message_carries_the_link() -> None:
    intent = DiplomaMessage(
        trigger_id="ev-diploma-1",
        trigger_type="org.vrac.screening.diploma-issued.v1",
        occurred_at=T0,
        diploma_id="dip_0c1d2e3f4a5b6c7d",
    )
    link = "https://screening.example.org/diplomas/dip_0c1d2e3f4a5b6c7d.pdf"
    message = render(
        intent, guardian(vocab.Language.EN), case_id=CASE, child_first_name="Sam", diploma_url=link
    )
    assert message.subject == "Sam's diploma is ready!"
    assert link in message.text


def test_school_advice_uses_the_advice_library_in_the_teachers_language() -> None:
    message = render(
        advice(), teacher(language=vocab.Language.FR), case_id=CASE, child_first_name="Sam"
    )
    assert advice_text("memory-for-reading", vocab.Language.FR) in message.text
    assert advice_text("quiet-place-in-class", vocab.Language.FR) in message.text
    assert message.subject.startswith("Conseils pour l'école")
