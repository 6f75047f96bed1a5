"""The family's link in a guardian's diploma and advice messages: asked from intake just
before sending; intake away is retried, a refusal final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from vrac_contracts import events
from vrac_contracts.values import Channel, DeliveryError, Language
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.intents import DiplomaMessage
from vrac_notifications.domain.templates import FamilyPage, render
from vrac_notifications.handlers import send_due

from services.notifications.tests.notifications_testkit import GUARDIANS, deliver, registered

WEB = "https://app.vrac.example.org"


@dataclass
class IntakeDesk:
    """Stands in for intake's link route: the problems queued first, one per call."""

    problems: list[DeliveryProblem] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, case_id: str, guardian_id: str) -> FamilyPage:
        if self.problems:
            raise self.problems.pop(0)
        self.asked.append((case_id, guardian_id))
        return FamilyPage(f"{WEB}/family?link=for-{guardian_id}", dt.date(2026, 4, 30))


def with_desk(world) -> IntakeDesk:
    desk = IntakeDesk()
    world.deps.family_link = desk
    return desk


async def test_each_guardian_gets_their_own_family_link_in_their_language(world, envelope) -> None:
    desk = with_desk(world)
    await deliver(world, await registered(world, guardians=GUARDIANS))
    await deliver(world, envelope(events.DiplomaIssued))
    by_address = {m.to_address: m for m in world.mailer.sent}
    fatima, youssef = by_address["fatima@example.org"], by_address["youssef@example.org"]
    assert f"{WEB}/family?link=for-gdn_fatima000001" in fatima.text
    assert "persoonlijke link" in fatima.text and "30 april 2026" in fatima.text
    assert f"{WEB}/family?link=for-gdn_youssef00001" in youssef.text
    assert "lien personnel" in youssef.text
    assert "for-gdn_youssef00001" not in fatima.text  # a link opens its own guardian's view
    assert {guardian for _, guardian in desk.asked} == {g["guardian_id"] for g in GUARDIANS}


async def test_intake_away_is_tried_again_and_the_link_then_goes(world, envelope) -> None:
    desk = with_desk(world)
    desk.problems = [DeliveryProblem(DeliveryError.OTHER, retryable=True, detail="intake away")] * 2
    await deliver(world, await registered(world, guardians=GUARDIANS))
    await deliver(world, envelope(events.DiplomaIssued))
    assert world.mailer.sent == []
    assert {row.status for row in world.deliveries.rows.values()} == {DeliveryStatus.SCHEDULED}
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    assert len(world.mailer.sent) == 2
    assert all(f"{WEB}/family?link=" in mail.text for mail in world.mailer.sent)


async def test_a_refused_link_fails_the_message_for_good(world, envelope) -> None:
    desk = with_desk(world)
    refused = DeliveryProblem(DeliveryError.OTHER, retryable=False, detail="intake gives none")
    desk.problems = [refused, refused]
    await deliver(world, await registered(world, guardians=GUARDIANS))
    await deliver(world, envelope(events.DiplomaIssued))
    assert world.mailer.sent == []
    rows = world.deliveries.rows.values()
    assert {(r.status, r.error_code) for r in rows} == {
        (DeliveryStatus.FAILED, DeliveryError.OTHER)
    }


def test_the_family_link_reads_well_in_english() -> None:
    contact = Contact(
        recipient_id="gdn_fatima000001",
        recipient_kind=RecipientKind.GUARDIAN,
        name="Fatima",
        language=Language.EN,
        channel=Channel.EMAIL,
        email="fatima@example.org",
    )
    page = FamilyPage(f"{WEB}/family?link=t0k3n", dt.date(2026, 4, 30))
    message = render(
        DiplomaMessage(
            diploma_id="dip_0c1d2e3f4a5b6c7d",
            trigger_id="evt-1",
            trigger_type="diploma-issued",
            occurred_at=dt.datetime(2026, 3, 31, tzinfo=dt.UTC),
        ),
        contact,
        case_id="case_1",
        child_first_name="Sam",
        diploma_url="https://screening.example.org/d.pdf?link=x",
        family=page,
    )
    assert "This personal link shows you everything" in message.text
    assert "who does what for Sam" in message.text
    assert f"{WEB}/family?link=t0k3n" in message.text
