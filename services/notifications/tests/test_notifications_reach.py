"""Over in-memory fakes: the screening's advice reaching the family under the screening
consent, a declined or overdue task reaching the case's coordinator, and a helper's task
e-mail carrying the answer link network signs for them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from vrac_contracts import events
from vrac_contracts.values import Channel, DeclineReason, DeliveryError, Language, TaskCategory
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    FamilyAdviceMessage,
    MessageKind,
    OverdueTaskNotice,
    TaskMessage,
)
from vrac_notifications.domain.templates import Answer, render
from vrac_notifications.ports import Hook, Mail

from services.notifications.tests.notifications_testkit import (
    AGENCY,
    COORDINATOR,
    FAMILY_ADVICE,
    GUARDIANS,
    TEACHER,
    YOUTH_TEAM,
    added,
    deliver,
    handle,
    registered,
)
from services.notifications.tests.test_notifications_handlers import (
    consent,
    register_agency_webhook,
)

GRANDMA = "mbr_4d5e6f7a8b9c"  # Oma Ria, family, of the member-added example
PERSONAL = ("Sam", "Fatima", "fatima@example.org", "Youssef", "Oma Ria", "ria@example.org")


def screening_consent(envelope, granted: bool, at: str = "2025-03-01T10:00:00Z"):
    return consent(envelope, "screening", granted, at)


def declined(envelope, **fields):
    """``task-declined`` v2, naming the coordinator of ``COORDINATOR`` unless told otherwise."""
    return envelope(events.TaskDeclinedV2, **{"coordinator_id": "mbr_coordinator01"} | fields)


def mails_to(world, address: str) -> list[Mail]:
    return [m for m in world.mailer.sent if isinstance(m, Mail) and m.to_address == address]


def of_kind(world, kind: MessageKind) -> list:
    return [row for row in world.deliveries.rows.values() if row.kind is kind]


async def youth_team_coordinating(world, envelope) -> None:
    """The family, Oma Ria, and the youth team as spider in the web, with its webhook and
    the family's consent to share with it."""
    await deliver(world, await registered(world))
    await deliver(world, await added(world))
    await deliver(world, await added(world, **YOUTH_TEAM | {"role": "spider-in-the-web"}))
    await register_agency_webhook(world)
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )


# -- advice for the family --


async def test_the_guardians_get_the_parent_and_child_advice_in_their_language(
    world, envelope
) -> None:
    await deliver(world, await registered(world, guardians=GUARDIANS))
    await deliver(world, screening_consent(envelope, True))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    [nl] = mails_to(world, "fatima@example.org")
    assert nl.subject == "Wat Sam helpt: advies voor thuis"
    assert "Voor jullie als ouders:\n- Benoem samen het gevoel" in nl.text
    assert "Jij kunt heel goed dingen onthouden" in nl.text  # the child's own words
    assert "En voor Sam zelf" in nl.text
    [fr] = mails_to(world, "youssef@example.org")
    assert fr.subject == "Ce qui aide Sam : des conseils pour la maison"
    assert "Tu retiens très bien les choses" in fr.text
    for mail in (nl, fr):  # the school's advice is the school's
        assert "werkgeheugen" not in mail.text.lower() and "mémoire de travail" not in mail.text


async def test_advice_for_the_family_goes_only_under_the_screening_consent(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    assert world.mailer.sent == []
    [row] = of_kind(world, MessageKind.FAMILY_ADVICE)
    assert (row.status, row.error_code) == (DeliveryStatus.WITHHELD, DeliveryError.NO_CONSENT)


async def test_a_screening_consent_granted_in_time_but_read_late_releases_the_advice(
    world, envelope
) -> None:
    await deliver(world, await registered(world))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    assert world.mailer.sent == []  # withheld: no screening consent known yet
    await deliver(world, screening_consent(envelope, True, "2025-03-01T10:00:00Z"))
    [mail] = mails_to(world, "fatima@example.org")
    assert mail.subject == "Wat Sam helpt: advies voor thuis"


async def test_a_screening_consent_withdrawn_within_the_hold_stops_the_advice(
    world, envelope
) -> None:
    world.deps = dataclasses.replace(world.deps, hold=dt.timedelta(seconds=5))
    await deliver(world, await registered(world))
    await deliver(world, screening_consent(envelope, True))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    await deliver(world, screening_consent(envelope, False, "2025-03-14T09:30:01Z"))
    world.clock.advance(seconds=10)
    await deliver(world, await registered(world))  # anything later sends nothing either
    assert world.mailer.sent == []
    [row] = of_kind(world, MessageKind.FAMILY_ADVICE)
    assert (row.status, row.error_code) == (DeliveryStatus.CANCELLED, DeliveryError.NO_CONSENT)


async def test_the_same_findings_read_twice_give_the_family_one_email(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, screening_consent(envelope, True))
    findings = envelope(events.FindingsRecorded, advice=FAMILY_ADVICE)
    await deliver(world, findings)
    await deliver(world, findings)
    assert len(mails_to(world, "fatima@example.org")) == 1


async def test_a_screening_with_advice_only_for_school_owes_the_family_nothing(
    world, envelope
) -> None:
    await deliver(world, await registered(world))
    await deliver(world, screening_consent(envelope, True))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE[:1]))
    assert world.mailer.sent == [] and of_kind(world, MessageKind.FAMILY_ADVICE) == []


async def test_the_teacher_still_gets_only_the_school_advice(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, await added(world, **TEACHER))
    await deliver(world, screening_consent(envelope, True))
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    [school] = mails_to(world, "anna@school.example.org")
    assert school.subject == "Advice for school: what helps Sam"
    assert "remembering things" not in school.text  # the child's advice is the family's
    assert len(mails_to(world, "fatima@example.org")) == 1


async def test_no_log_line_names_the_family(world, envelope, capsys) -> None:
    await deliver(world, await registered(world, guardians=GUARDIANS))
    await deliver(world, await added(world))
    await deliver(world, screening_consent(envelope, True))
    await deliver(world, envelope(events.FindingsRecorded, advice=FAMILY_ADVICE))
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, declined(envelope))
    assert len(world.mailer.sent) == 3
    logged = capsys.readouterr()
    for value in PERSONAL:
        assert value not in logged.out + logged.err


# -- a declined task --


async def test_a_declined_task_reaches_the_coordinator_with_who_and_why(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, await added(world))  # Oma Ria
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, await added(world, **TEACHER))  # not a coordinator: told nothing
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, declined(envelope, decline_reason="no-time"))
    [mail] = mails_to(world, "noor@pit.example.org")
    assert mail.subject == "Task declined: helping with homework"
    # a professional the parents gave no purpose for reads the case id, not the child's name
    child = "the child of case case_7Hq2mX9aK3pL0sVd"
    assert f"Oma Ria cannot take on helping with homework for {child}. Reason: no time." in (
        mail.text
    )
    assert mails_to(world, "anna@school.example.org") == []
    [row] = of_kind(world, MessageKind.TASK_DECLINED)
    assert (row.recipient_id, row.status) == ("mbr_coordinator01", DeliveryStatus.DELIVERED)


async def test_a_decline_goes_to_the_coordinator_network_names(world, envelope) -> None:
    other = COORDINATOR | {"member_id": "mbr_coordinator02", "email": "kim@pit.example.org"}
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, await added(world, **other))
    await deliver(world, declined(envelope, coordinator_id="mbr_coordinator02"))
    assert [m.to_address for m in world.mailer.sent] == ["kim@pit.example.org"]


async def test_a_decline_waits_for_a_coordinator_to_join(world, envelope) -> None:
    await deliver(world, await added(world))
    await deliver(world, declined(envelope, coordinator_id=None, decline_reason=None))
    assert of_kind(world, MessageKind.TASK_DECLINED) == []
    await deliver(world, await added(world, **COORDINATOR | {"language": "nl"}))
    [mail] = mails_to(world, "noor@pit.example.org")
    assert mail.subject == "Taak afgewezen: je taak"
    child = "het kind van dossier case_7Hq2mX9aK3pL0sVd"
    assert f"Oma Ria kan je taak voor {child} niet op zich nemen.\n" in mail.text


async def test_a_coordinator_who_declines_is_not_told_of_it(world, envelope) -> None:
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, declined(envelope, assignee_id="mbr_coordinator01"))
    assert world.mailer.sent == [] and of_kind(world, MessageKind.TASK_DECLINED) == []


async def test_an_agency_coordinator_hears_of_a_decline_by_case_id_only(world, envelope) -> None:
    await youth_team_coordinating(world, envelope)
    await deliver(world, declined(envelope, coordinator_id=None, decline_reason="not-suitable"))
    [hook] = world.poster.sent
    assert isinstance(hook, Hook) and hook.kind == "task-declined"
    assert hook.body["decline_reason"] == "not-suitable"
    assert hook.body["task_id"] == "task_1a2b3c4d5e6f"
    text = hook.body["text"]
    assert "Iemand uit het netwerk" in text and "case_7Hq2mX9aK3pL0sVd" in text
    assert "Oma Ria" not in text and "Sam" not in text


# -- an overdue task --


async def test_an_overdue_task_reaches_the_coordinator_besides_the_assignee(
    world, envelope
) -> None:
    await deliver(world, await added(world))  # Oma Ria, the assignee
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, await added(world, **TEACHER))  # not a coordinator: told nothing
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, envelope(events.TaskOverdue, assignee_kind="family"))
    [notice] = mails_to(world, "noor@pit.example.org")
    assert notice.subject == "Task overdue: helping with homework"
    child = "the child of case case_7Hq2mX9aK3pL0sVd"
    assert (
        f"Oma Ria was to take on helping with homework for {child} by 28 March 2025, "
        "and it is not done yet." in notice.text
    )
    subjects = [m.subject for m in mails_to(world, "ria@example.org")]
    assert subjects == [
        "Nieuwe taak: helpen met huiswerk",
        "Een vriendelijke herinnering: helpen met huiswerk",
    ]
    assert mails_to(world, "anna@school.example.org") == []
    [row] = of_kind(world, MessageKind.TASK_OVERDUE_NOTICE)
    assert (row.recipient_id, row.status) == ("mbr_coordinator01", DeliveryStatus.DELIVERED)


async def test_an_overdue_task_read_twice_tells_the_coordinator_once(world, envelope) -> None:
    await deliver(world, await added(world))
    await deliver(world, await added(world, **COORDINATOR))
    overdue = envelope(events.TaskOverdue, assignee_kind="family")
    await deliver(world, overdue)
    await deliver(world, overdue)
    assert len(mails_to(world, "noor@pit.example.org")) == 1
    assert len(mails_to(world, "ria@example.org")) == 1


async def test_a_coordinator_whose_own_task_is_overdue_gets_only_the_reminder(
    world, envelope
) -> None:
    await deliver(world, await added(world, **COORDINATOR))
    await deliver(world, envelope(events.TaskOverdue, assignee_id="mbr_coordinator01"))
    [reminder] = world.mailer.sent
    assert reminder.subject == "A friendly reminder: your task"
    assert of_kind(world, MessageKind.TASK_OVERDUE_NOTICE) == []


async def test_an_overdue_notice_waits_for_a_coordinator_to_join(world, envelope) -> None:
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskOverdue, assignee_kind="family"))
    assert of_kind(world, MessageKind.TASK_OVERDUE_NOTICE) == []
    await deliver(world, await added(world, **COORDINATOR | {"language": "fr"}))
    [notice] = mails_to(world, "noor@pit.example.org")
    assert notice.subject == "Tâche en retard : votre tâche"
    child = "l'enfant du dossier case_7Hq2mX9aK3pL0sVd"
    assert f"Oma Ria devait se charger de « votre tâche » pour {child} d'ici le 28 mars 2025" in (
        notice.text
    )


async def test_an_agency_coordinator_hears_of_an_overdue_task_by_case_id_only(
    world, envelope
) -> None:
    await youth_team_coordinating(world, envelope)
    await deliver(world, envelope(events.TaskOverdue, assignee_kind="family"))
    [hook] = world.poster.sent
    assert isinstance(hook, Hook) and hook.kind == "task-overdue-notice"
    assert (hook.body["task_id"], hook.body["due_date"]) == ("task_1a2b3c4d5e6f", "2025-03-28")
    text = hook.body["text"]
    assert "Iemand uit het netwerk" in text and "case_7Hq2mX9aK3pL0sVd" in text
    assert not any(word in str(hook.body) for word in PERSONAL)


# -- the reminder before the due date --


async def test_a_task_due_soon_reminds_the_assignee_with_the_answer_link(world, envelope) -> None:
    await deliver(world, await added(world, language="fr"))
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, envelope(events.TaskDueSoon, due_on="2025-03-28"))
    reminder = world.mailer.sent[1]
    assert reminder.subject == "Bientôt : aider aux devoirs"
    assert "prévu d'ici le 28 mars 2025" in reminder.text
    assert "?link=for-" in reminder.text  # to say it is done, or that it cannot be
    [row] = of_kind(world, MessageKind.TASK_DUE_SOON)
    assert row.status is DeliveryStatus.DELIVERED


async def test_a_reminder_read_twice_is_sent_once(world, envelope) -> None:
    await deliver(world, await added(world))
    due_soon = envelope(events.TaskDueSoon)
    await deliver(world, due_soon)
    await deliver(world, due_soon)
    [mail] = world.mailer.sent
    assert mail.subject == "Binnenkort: je taak"  # its assignment was not read here


# -- the answer link of a helper without an account --


async def test_a_family_helpers_task_email_carries_their_answer_link(world, envelope) -> None:
    await deliver(world, await added(world, language="en"))
    await deliver(world, envelope(events.TaskAssigned))
    [mail] = world.mailer.sent
    assert world.task_links.asked == [("case_7Hq2mX9aK3pL0sVd", "task_1a2b3c4d5e6f", GRANDMA)]
    assert "accept the task, decline it or say it is done" in mail.text
    assert "until 11 April 2025" in mail.text
    assert f"https://network.vrac.example.org/answers/task_1a2b3c4d5e6f?link=for-{GRANDMA}" in (
        mail.text
    )


async def test_a_professional_gets_no_answer_link(world, envelope) -> None:
    youth_worker = COORDINATOR | {"member_id": "mbr_youthworker1", "role": "youth-worker"}
    await deliver(world, await added(world, **youth_worker))
    assigned = envelope(
        events.TaskAssigned, assignee_id="mbr_youthworker1", assignee_kind="professional"
    )
    await deliver(world, assigned)
    [mail] = world.mailer.sent
    assert world.task_links.asked == [] and "link" not in mail.text


async def test_a_task_network_gives_no_link_for_goes_without_one(world, envelope) -> None:
    world.task_links.problems.append(
        DeliveryProblem(DeliveryError.NO_CONSENT, retryable=False, detail="refused")
    )
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskAssigned))
    [mail] = world.mailer.sent
    assert mail.subject == "Nieuwe taak: helpen met huiswerk" and "link" not in mail.text


async def test_network_away_puts_the_task_email_back_on_the_schedule(world, envelope) -> None:
    world.task_links.problems.append(
        DeliveryProblem(DeliveryError.OTHER, retryable=True, detail="away")
    )
    await deliver(world, await added(world))
    await handle(world, envelope(events.TaskAssigned))
    await deliver(world, await added(world))  # the first attempt: network away
    assert world.mailer.sent == []
    [row] = of_kind(world, MessageKind.TASK_ASSIGNED)
    assert row.status is DeliveryStatus.SCHEDULED
    world.clock.advance(seconds=10)
    await deliver(world, await added(world))
    [mail] = world.mailer.sent
    assert "?link=for-" in mail.text


# -- the words --


def _every_new_message() -> list:
    at = {"trigger_type": "org.vrac.x.v1", "occurred_at": dt.datetime(2025, 3, 14, tzinfo=dt.UTC)}
    task = {"task_id": "task_1", "member_id": GRANDMA, "category": TaskCategory.TRANSPORT}
    return [
        FamilyAdviceMessage(
            **at,
            trigger_id="ev-1",
            screening_id="scr_1",
            parent_codes=("name-the-feeling",),
            child_codes=("ask-for-a-break",),
        ),
        DeclinedTaskMessage(**at, **task, trigger_id="ev-2", reason=DeclineReason.OTHER),
        OverdueTaskNotice(**at, **task, trigger_id="ev-4", due_date=dt.date.today()),
        TaskMessage(
            **at,
            **task,
            trigger_id="ev-3",
            kind=MessageKind.TASK_DUE_SOON,
            due_date=dt.date.today(),
        ),
    ]


@pytest.mark.parametrize("language", list(Language))
def test_every_new_message_is_written_in_each_language(language: Language) -> None:
    contact = Contact(
        recipient_id="gdn_a1b2c3d4e5f6",
        recipient_kind=RecipientKind.GUARDIAN,
        name="Fatima",
        language=language,
        channel=Channel.EMAIL,
        email="fatima@example.org",
    )
    for intent in _every_new_message():
        message = render(
            intent,
            contact,
            case_id="case_1",
            child_first_name="Sam",
            answer=Answer("https://n.example.org/a", dt.date(2025, 4, 1)),
            member_name="Oma Ria",
        )
        assert message.language is language and message.subject
        assert "{" not in message.subject + message.text  # every word filled in
        english = render(
            intent,
            dataclasses.replace(contact, language=Language.EN),
            case_id="c",
            child_first_name="Sam",
        )
        assert language is Language.EN or message.subject != english.subject
