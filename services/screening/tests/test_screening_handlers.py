"""Handlers over in-memory ports: what a coach, a family and the diploma maker notice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.envelope import new_envelope
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentRecorded,
    FamilyRegisteredV2,
)
from vrac_contracts.events.screening import (
    DiplomaIssued,
    FindingsRecorded,
    QuestionnaireSubmittedV2,
    ScreeningCompletedV2,
)
from vrac_contracts.events.sealed import ChildDetails, GuardianDetails
from vrac_screening import handlers
from vrac_screening.bootstrap import build
from vrac_screening.domain.case import Case
from vrac_screening.domain.commands import (
    KeepFamily,
    RecordScreening,
    SubmitQuestionnaire,
)
from vrac_screening.domain.diploma import Diploma, ScreeningOutcome
from vrac_screening.domain.errors import (
    CaseIsClosed,
    DiplomaNotShared,
    LinkRevoked,
    NoConsent,
    UnknownCase,
    UnknownDiploma,
    UnknownLink,
    UnknownScreening,
)
from vrac_screening.domain.scores import DomainResult
from vrac_screening.entrypoints.subscribers import Subscribers

from services.screening.tests.fakes import NOW, FakeDiplomas, FakeRenderer, World, world

CASE = "case_handlertest001"
ALL = (
    vocab.ConsentPurpose.SCREENING,
    vocab.ConsentPurpose.DIPLOMA,
    vocab.ConsentPurpose.QUESTIONNAIRES,
)
RESULTS = [
    DomainResult(vocab.Domain.WORKING_MEMORY, vocab.ScoreKind.PERCENTILE, 88),
    DomainResult(vocab.Domain.READING, vocab.ScoreKind.STANDARD_SCORE, 82),
    DomainResult(vocab.Domain.MATHS, vocab.ScoreKind.PERCENTILE, 50),
]


class Refused(Exception):
    pass


class Anyone:
    def check(self, pilot: str) -> None:
        return None

    def check_shared(self, case: Case) -> None:
        return None


class Only:
    def __init__(self, pilot: vocab.Pilot) -> None:
        self.pilot = pilot

    def check(self, pilot: str) -> None:
        if pilot != self.pilot:
            raise Refused(pilot)

    def check_shared(self, case: Case) -> None:
        return None


@pytest.fixture
def w() -> World:
    return world()


async def give(
    w: World, purpose: vocab.ConsentPurpose, granted: bool = True, at: dt.datetime = NOW
) -> None:
    event = ConsentRecorded(
        case_id=CASE,
        pilot=vocab.Pilot.LEIDEN,
        occurred_at=at,
        purpose=purpose,
        granted=granted,
        changed_by=vocab.ActorRole.COACH,
        changed_at=at,
    )
    await handlers.record_consent(w.deps, event)


def closed(reason: vocab.CloseReason) -> CaseClosed:
    return CaseClosed(case_id=CASE, pilot=vocab.Pilot.LEIDEN, occurred_at=NOW, reason=reason)


async def register(w: World, name: str = "Sam") -> None:
    await handlers.keep_family(
        w.deps, KeepFamily(CASE, vocab.Pilot.LEIDEN, name, vocab.Language.FR)
    )


async def open_case(
    w: World, consents: tuple[vocab.ConsentPurpose, ...] = ALL, name: str | None = "Sam"
) -> None:
    event = CaseOpened(
        case_id=CASE, pilot=vocab.Pilot.LEIDEN, occurred_at=NOW, programme="pit", opened_at=NOW
    )
    await handlers.open_case(w.deps, event)
    for purpose in consents:
        await give(w, purpose)
    if name is not None:
        await register(w, name)


async def screen(w: World) -> str:
    screening = await handlers.record_screening(w.deps, RecordScreening(CASE, RESULTS), Anyone())
    return screening.screening_id


async def deliver_findings(w: World) -> None:
    """What the diploma maker gets: each findings-recorded stored so far."""
    for event in sent(w, FindingsRecorded):
        await Subscribers(w.deps).on_findings_recorded(new_envelope(event))


def sent(w: World, kind: type) -> list:
    return [e for e in w.outbox.events if isinstance(e, kind)]


async def test_a_screening_is_stored_with_its_advice_and_published(w: World) -> None:
    await open_case(w)
    screening_id = await screen(w)
    stored = await handlers.get_screening(w.deps, screening_id, Anyone())
    assert stored.strengths == (vocab.Domain.WORKING_MEMORY,)
    assert stored.growth_areas == (vocab.Domain.READING,)
    assert stored.advice and stored.language is vocab.Language.FR
    assert stored.recorded_at == NOW and stored.screened_on == NOW.date()
    # one write, two events: partners hear of the strengths, the services of the findings
    [public] = sent(w, ScreeningCompletedV2)
    assert set(public.model_dump()) == {
        "case_id",
        "pilot",
        "occurred_at",
        "screening_id",
        "strengths",
    }
    assert public.strengths == [vocab.Domain.WORKING_MEMORY]
    [event] = sent(w, FindingsRecorded)
    assert event.screening_id == public.screening_id == screening_id and event.case_id == CASE
    assert [(a.code, a.audience) for a in event.advice] == [
        (a.code, a.audience) for a in stored.advice
    ]
    assert event.growth_areas == [vocab.Domain.READING] and event.language is vocab.Language.FR
    assert [s.screening_id for s in await handlers.list_screenings(w.deps, CASE, Anyone())] == [
        screening_id
    ]


async def test_a_screening_without_consent_is_refused_and_nothing_is_stored(w: World) -> None:
    await open_case(w, consents=(vocab.ConsentPurpose.DIPLOMA,))
    with pytest.raises(NoConsent, match="screening"):
        await screen(w)
    await give(w, vocab.ConsentPurpose.SCREENING)
    later = NOW + dt.timedelta(hours=1)
    await give(w, vocab.ConsentPurpose.SCREENING, granted=False, at=later)  # withdrawn again
    with pytest.raises(NoConsent):
        await screen(w)
    assert w.screenings.records == {} and w.outbox.events == []


async def test_nothing_is_recorded_for_an_unknown_closed_or_unseen_case(w: World) -> None:
    with pytest.raises(UnknownCase):
        await screen(w)
    await open_case(w)
    with pytest.raises(Refused):
        command = RecordScreening(CASE, RESULTS)
        await handlers.record_screening(w.deps, command, Only(vocab.Pilot.LILLE))
    await handlers.close_case(w.deps, closed(vocab.CloseReason.COMPLETED))
    with pytest.raises(CaseIsClosed):
        await screen(w)
    assert w.outbox.events == []


async def test_the_diploma_is_issued_once_when_the_event_arrives_twice(w: World) -> None:
    await open_case(w)
    screening_id = await screen(w)
    [findings] = sent(w, FindingsRecorded)
    envelope = new_envelope(findings)
    maker = Subscribers(w.deps)
    await maker.on_findings_recorded(envelope)
    await maker.on_findings_recorded(envelope)  # redelivered
    [issued] = sent(w, DiplomaIssued)
    assert list(w.diplomas.records) == [issued.diploma_id]
    assert issued.screening_id == screening_id and issued.language == vocab.Language.FR
    diploma, sheet = await handlers.get_diploma(w.deps, issued.diploma_id, Anyone())
    assert sheet.child_first_name == "Sam" and diploma.strengths == (vocab.Domain.WORKING_MEMORY,)
    # a second trigger (the family's details again) names the same diploma: nothing new
    outcome = ScreeningOutcome(
        screening_id, CASE, vocab.Pilot.LEIDEN, (vocab.Domain.WORKING_MEMORY,)
    )
    again = await handlers.issue_diploma(w.deps, outcome)
    assert again is not None and again.diploma_id == issued.diploma_id
    assert len(sent(w, DiplomaIssued)) == 1


async def test_no_diploma_without_diploma_consent(w: World) -> None:
    await open_case(w, consents=(vocab.ConsentPurpose.SCREENING,))
    screening_id = await screen(w)
    outcome = ScreeningOutcome(
        screening_id, CASE, vocab.Pilot.LEIDEN, (vocab.Domain.WORKING_MEMORY,)
    )
    assert await handlers.issue_diploma(w.deps, outcome) is None
    assert w.diplomas.records == {} and sent(w, DiplomaIssued) == []
    # consent given later: the earlier screening gets its diploma then
    await give(w, vocab.ConsentPurpose.DIPLOMA)
    assert len(sent(w, DiplomaIssued)) == 1


async def test_a_diploma_waiting_for_the_family_follows_its_registration(w: World) -> None:
    await open_case(w, name=None)
    screening_id = await screen(w)
    assert await handlers.issue_missing_diplomas(w.deps, CASE) == []
    await register(w, "Inès")
    [diploma] = await handlers.list_diplomas(w.deps, CASE, Anyone())
    assert diploma.screening_id == screening_id and diploma.language is vocab.Language.FR
    await register(w, "Inès")  # a redelivery makes nothing new
    assert len(sent(w, DiplomaIssued)) == 1


async def test_the_pdf_is_rendered_once_and_then_served_from_the_cache(w: World) -> None:
    await open_case(w)
    await screen(w)
    await deliver_findings(w)
    [diploma] = await handlers.list_diplomas(w.deps, CASE, Anyone())
    for _ in range(2):
        pdf = await handlers.get_diploma_pdf(w.deps, diploma.diploma_id, Anyone())
        assert pdf == b"%PDF Sam"
    assert w.render.rendered == 1


async def test_erasure_forgets_the_child_and_deletes_the_records(w: World) -> None:
    await open_case(w)
    await screen(w)
    command = SubmitQuestionnaire(CASE, vocab.Instrument.SDQ, vocab.Respondent.GUARDIAN, 5)
    await handlers.submit_questionnaire(w.deps, command, Anyone())
    await deliver_findings(w)
    [diploma] = await handlers.list_diplomas(w.deps, CASE, Anyone())
    await handlers.get_diploma_pdf(w.deps, diploma.diploma_id, Anyone())
    w.outbox.send_all()
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    case = await w.cases.get(CASE)
    assert case is not None and case.erased and case.child_first_name is None
    assert case.consents == {}
    assert w.pdfs.pdfs == {}
    assert w.screenings.records == w.diplomas.records == w.questionnaires.records == {}
    assert w.keys.forgotten == [CASE] and w.audit.erasures == [(CASE, "leiden")]
    assert await w.cases.erasures_pending() == []
    await register(w, "Sam")  # a late copy brings no name back
    case = await w.cases.get(CASE)
    assert case is not None and case.child_first_name is None


async def test_an_erasure_that_must_wait_is_finished_by_the_periodic_job(w: World) -> None:
    await open_case(w)
    await screen(w)
    await deliver_findings(w)
    # the events are not sent yet: their records stay until they are
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    assert await w.cases.erasures_pending() == [CASE] and w.audit.erasures == []
    # what is still stored is shown to nobody
    with pytest.raises(UnknownDiploma):
        await handlers.get_diploma(w.deps, next(iter(w.diplomas.records)), Anyone())
    with pytest.raises(UnknownScreening):
        await handlers.get_screening(w.deps, next(iter(w.screenings.records)), Anyone())
    assert await handlers.list_screenings(w.deps, CASE, Anyone()) == []
    assert await handlers.list_questionnaires(w.deps, CASE, Anyone()) == []
    assert await handlers.finish_pending_erasures(w.deps) == 0
    w.outbox.send_all()
    assert await handlers.finish_pending_erasures(w.deps) == 1
    assert w.screenings.records == w.diplomas.records == {}
    assert w.audit.erasures == [(CASE, "leiden")]
    assert await handlers.finish_pending_erasures(w.deps) == 0  # nothing left to do


class HeldDiplomas(FakeDiplomas):
    """Diplomas whose next write waits until the test lets it through."""

    def __init__(self, inner: FakeDiplomas) -> None:
        super().__init__(inner._outbox)
        self.writing, self.go = asyncio.Event(), asyncio.Event()

    async def add(self, diploma: Diploma) -> bool:
        self.writing.set()
        await self.go.wait()
        return await super().add(diploma)


async def test_an_erasure_waits_for_a_diploma_being_written_and_then_deletes_it(
    w: World,
) -> None:
    held = HeldDiplomas(w.diplomas)
    w.deps.diplomas = held
    await open_case(w)
    await screen(w)
    maker = asyncio.create_task(deliver_findings(w))
    await held.writing.wait()  # the diploma maker checked the case and is writing
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    assert await w.cases.erasures_pending() == [CASE]
    held.go.set()
    await maker
    assert list(held.records)  # the write landed after the erasure began...
    w.outbox.send_all()
    assert await handlers.finish_pending_erasures(w.deps) == 1
    assert held.records == {} and w.screenings.records == {}  # ...and went with the rest


async def test_an_erasure_right_after_the_diploma_maker_read_the_case_waits_for_its_write(
    w: World,
) -> None:
    """The diploma maker reads the case in the update that lets its write in, so an erasure
    that comes right after the read finds the write in flight: it finishes once the write
    ended and its event went out, and nothing of the case is left."""
    await open_case(w)
    screening_id = await screen(w)
    w.outbox.send_all()
    outcome = ScreeningOutcome(
        screening_id, CASE, vocab.Pilot.LEIDEN, (vocab.Domain.WORKING_MEMORY,)
    )
    reads = w.cases.get

    async def erased_right_after_reading(case_id: str):  # type: ignore[no-untyped-def]
        case = await reads(case_id)
        w.cases.get = reads  # type: ignore[method-assign]  # once
        await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
        return case

    w.cases.get = erased_right_after_reading  # type: ignore[method-assign]
    assert await handlers.issue_diploma(w.deps, outcome) is not None
    assert await w.cases.erasures_pending() == [CASE]
    w.outbox.send_all()
    assert await handlers.finish_pending_erasures(w.deps) == 1
    assert w.diplomas.records == {} and w.screenings.records == {}


async def test_a_pdf_rendered_while_the_case_is_erased_is_neither_kept_nor_shown(
    w: World,
) -> None:
    await open_case(w)
    await screen(w)
    await deliver_findings(w)
    w.outbox.send_all()
    [diploma] = await handlers.list_diplomas(w.deps, CASE, Anyone())
    loop = asyncio.get_running_loop()
    erase = closed(vocab.CloseReason.ERASURE_REQUESTED)

    def render_while_erased(sheet, created):  # type: ignore[no-untyped-def]
        # the erasure runs on the event loop while the renderer's thread prints the name
        asyncio.run_coroutine_threadsafe(handlers.close_case(w.deps, erase), loop).result()
        return f"%PDF {sheet.child_first_name}".encode()

    w.deps.render = render_while_erased
    with pytest.raises(UnknownDiploma):
        await handlers.get_diploma_pdf(w.deps, diploma.diploma_id, Anyone())
    assert w.pdfs.pdfs == {} and w.diplomas.records == {}
    assert await w.cases.erasures_pending() == []


async def test_the_family_is_opened_from_intake_sealed_details(w: World) -> None:
    await open_case(w, name=None)
    await handlers.register_family(w.deps, await sealed_family(w, "Inès"))
    case = await w.cases.get(CASE)
    assert case is not None and case.child_first_name == "Inès"
    assert case.language is vocab.Language.FR


async def test_a_family_whose_key_intake_destroyed_leaves_no_name(w: World) -> None:
    await open_case(w, name=None)
    await screen(w)
    event = await sealed_family(w, "Inès")
    await w.keys.destroy(CASE, CASE)  # intake erased the case meanwhile
    await handlers.register_family(w.deps, event)
    case = await w.cases.get(CASE)
    assert case is not None and case.child_first_name is None and case.language is None
    assert sent(w, DiplomaIssued) == []


async def sealed_family(w: World, name: str) -> FamilyRegisteredV2:
    child = ChildDetails(child_first_name=name, birth_year=2016)
    guardian = GuardianDetails(name="Fatima", email="fatima@example.org")
    return FamilyRegisteredV2(
        case_id=CASE,
        pilot=vocab.Pilot.LEIDEN,
        occurred_at=NOW,
        language=vocab.Language.FR,
        programme="pit",
        child=await w.keys.seal(CASE, CASE, child),
        guardians=[
            {  # type: ignore[list-item]
                "guardian_id": "gdn_handlertest01",
                "preferred_channel": "email",
                "language": "fr",
                "details": await w.keys.seal(CASE, "gdn_handlertest01", guardian),
            }
        ],
    )


async def test_a_questionnaire_is_banded_and_neither_score_nor_band_is_published(w: World) -> None:
    await open_case(w)
    command = SubmitQuestionnaire(CASE, vocab.Instrument.KIDSCREEN_10, vocab.Respondent.CHILD, 25)
    questionnaire = await handlers.submit_questionnaire(w.deps, command, Anyone())
    assert questionnaire.band is vocab.WellbeingBand.LOW and questionnaire.score == 25
    [event] = sent(w, QuestionnaireSubmittedV2)
    assert set(event.model_dump()) == {
        "case_id",
        "pilot",
        "occurred_at",
        "questionnaire_id",
        "instrument",
        "respondent",
    }
    found = await handlers.list_questionnaires(w.deps, CASE, Anyone())
    assert [q.questionnaire_id for q in found] == [questionnaire.questionnaire_id]


async def test_a_questionnaire_needs_its_own_consent(w: World) -> None:
    await open_case(w, consents=(vocab.ConsentPurpose.SCREENING,))
    command = SubmitQuestionnaire(CASE, vocab.Instrument.SDQ, vocab.Respondent.CHILD, 5)
    with pytest.raises(NoConsent, match="questionnaires"):
        await handlers.submit_questionnaire(w.deps, command, Anyone())
    assert w.questionnaires.records == {} and w.outbox.events == []


async def test_the_app_takes_other_ports_in_place_of_its_own() -> None:
    renderer = FakeRenderer()
    app = build(render=renderer, clock=lambda: NOW)
    deps: handlers.Deps = app.state.deps
    assert deps.render is renderer and deps.clock() == NOW
    await app.state.runtime.mongo.close()


async def test_an_erased_case_shows_no_diploma_even_one_still_sending_its_event(w: World) -> None:
    await open_case(w)
    await screen(w)
    await deliver_findings(w)
    assert len(await handlers.show_diplomas(w.deps, CASE, Anyone())) == 1
    # erasure keeps the diploma's record until its diploma-issued is sent
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    assert w.diplomas.records
    assert await handlers.show_diplomas(w.deps, CASE, Anyone()) == []
    assert await handlers.list_diplomas(w.deps, CASE, Anyone()) == []


async def issued_diploma(w: World) -> str:
    await open_case(w)
    await screen(w)
    await Subscribers(w.deps).on_findings_recorded(new_envelope(sent(w, FindingsRecorded)[0]))
    [issued] = sent(w, DiplomaIssued)
    return issued.diploma_id


async def test_a_link_lives_days_and_is_refused_once_revoked(w: World) -> None:
    diploma_id = await issued_diploma(w)
    link, token = await handlers.issue_diploma_link(w.deps, diploma_id, Anyone())
    assert link.expires_at - NOW == dt.timedelta(days=7)
    assert token == f"{link.link_id}:/diplomas/{diploma_id}.pdf"
    await handlers.check_link(w.deps, link.link_id)  # standing: no refusal

    with pytest.raises(Refused):
        await handlers.revoke_link(w.deps, link.link_id, Only(vocab.Pilot.MECHELEN))
    revoked = await handlers.revoke_link(w.deps, link.link_id, Anyone())
    assert revoked.revoked_at == NOW
    with pytest.raises(LinkRevoked):
        await handlers.check_link(w.deps, link.link_id)
    with pytest.raises(LinkRevoked):  # a link screening never recorded opens nothing either
        await handlers.check_link(w.deps, "lnk-unknown")
    with pytest.raises(UnknownLink):
        await handlers.revoke_link(w.deps, "lnk-unknown", Anyone())


async def test_no_link_for_a_diploma_no_longer_shared_and_erasure_forgets_links(w: World) -> None:
    diploma_id = await issued_diploma(w)
    await handlers.issue_diploma_link(w.deps, diploma_id, Anyone())
    await give(w, vocab.ConsentPurpose.DIPLOMA, granted=False, at=NOW + dt.timedelta(hours=1))
    with pytest.raises(DiplomaNotShared):
        await handlers.issue_diploma_link(w.deps, diploma_id, Anyone())
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    assert w.links.links == {}
