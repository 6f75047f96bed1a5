"""The case aggregate on its own: rules, recorded events, consent history (no I/O)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentChangedV2,
    ConsentRecorded,
    FamilyRegisteredV2,
    GuardianRemoved,
)
from vrac_contracts.events.sealed import ChildDetails
from vrac_contracts.events.sealed import GuardianDetails as GuardianOnWire
from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily
from vrac_intake.domain.consent import Recorder
from vrac_intake.domain.errors import (
    CaseIsClosed,
    ChangedMeanwhile,
    IdempotencyKeyReused,
    LastGuardian,
    RuleBroken,
    StaleDecision,
    UnknownCase,
    UnknownGuardian,
)
from vrac_intake.domain.family import GuardianDetails, SealedFamily
from vrac_runtime.http import domain_error_response
from vrac_runtime.sealing import open_with, seal_with

NOW = dt.datetime(2025, 3, 14, 9, 30, 0, 123456, tzinfo=dt.UTC)
CASE = "case_domaintest0001"
MOTHER, FATHER = "gdn_mother000001", "gdn_father000001"
COACH = Recorder(vocab.ActorRole.COACH, user="coach-1")
BY_MOTHER = Recorder(vocab.ActorRole.GUARDIAN, guardian_id=MOTHER, user="coach-1")
AGENCY = "agy_youthteam0001"
KEYS = {key_id: os.urandom(32) for key_id in (CASE, MOTHER, FATHER)}


def details(**changes: object) -> GuardianDetails:
    values: dict[str, object] = {
        "name": "Fatima",
        "email": "fatima@example.org",
        "phone": None,
        "preferred_channel": vocab.Channel.EMAIL,
        "language": None,
    }
    values.update(changes)
    return GuardianDetails(**values)  # type: ignore[arg-type]


def registration(**changes: object) -> RegisterFamily:
    values: dict[str, object] = {
        "pilot": vocab.Pilot.LEIDEN,
        "programme": "pit",
        "child_first_name": "Sam",
        "birth_year": 2016,
        "school_name": "De Regenboog",
        "language": None,
        "guardians": (
            details(),
            details(
                name="Karim",
                email=None,
                phone="+31612345678",
                preferred_channel=vocab.Channel.SMS,
                language=vocab.Language.FR,
            ),
        ),
        "registered_by": "coach-1",
    }
    values.update(changes)
    return RegisterFamily(**values)  # type: ignore[arg-type]


def sealed(command: RegisterFamily) -> SealedFamily:
    """The family's details sealed as the handler seals them, under ``KEYS``."""
    child = ChildDetails(
        child_first_name=command.child_first_name,
        birth_year=command.birth_year,
        school_name=command.school_name,
    )
    guardians = {
        gid: seal_with(KEYS[gid], CASE, gid, GuardianOnWire(name=g.name, email=g.email))
        for gid, g in zip((MOTHER, FATHER), command.guardians, strict=False)
    }
    return SealedFamily(seal_with(KEYS[CASE], CASE, CASE, child), guardians)


def registered(**changes: object) -> Case:
    command = registration(**changes)
    Case.check_registration(command, NOW)  # as the handler does, before sealing
    return Case.register(command, CASE, [MOTHER, FATHER], NOW, sealed(command))


def new_case(**changes: object) -> Case:
    case = registered(**changes)
    case.pull_events()
    return case


def consent(
    purpose: vocab.ConsentPurpose = vocab.ConsentPurpose.DIPLOMA,
    granted: bool = True,
    recorded_by: Recorder = BY_MOTHER,
    agency_id: str | None = None,
    decided_at: dt.datetime | None = None,
) -> RecordConsent:
    return RecordConsent(CASE, purpose, granted, agency_id, recorded_by, decided_at)


def later(minutes: float) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


# -- registering --


def test_registering_opens_the_case_with_both_events() -> None:
    case = registered()
    opened, family = case.pull_events()
    assert isinstance(opened, CaseOpened) and isinstance(family, FamilyRegisteredV2)
    assert (opened.case_id, opened.pilot, opened.programme) == (CASE, vocab.Pilot.LEIDEN, "pit")
    child = open_with(KEYS[CASE], CASE, family.child, ChildDetails)
    assert (child.child_first_name, child.birth_year) == ("Sam", 2016)
    assert [g.guardian_id for g in family.guardians] == [MOTHER, FATHER]
    father = family.guardians[1]
    assert open_with(KEYS[FATHER], CASE, father.details, GuardianOnWire).name == "Karim"
    assert (father.preferred_channel, father.language) == (vocab.Channel.SMS, vocab.Language.FR)
    assert case.status is CaseStatus.OPEN and case.pull_events() == []


def test_family_registered_holds_the_details_only_sealed() -> None:
    (_, family) = registered().pull_events()
    text = family.model_dump_json()
    for personal in ("Sam", "2016", "Regenboog", "Fatima", "Karim", "example.org", "+316"):
        assert personal not in text


def test_a_family_sealed_for_other_ids_is_refused() -> None:
    command = registration()
    with pytest.raises(ValueError, match="not sealed for this case"):
        Case.register(command, CASE, [MOTHER, "gdn_stranger00001"], NOW, sealed(command))


def test_languages_default_to_the_pilot_and_then_the_family() -> None:
    case = new_case()
    assert case.language is vocab.Language.NL
    assert [g.language for g in case.guardians] == [vocab.Language.NL, vocab.Language.FR]
    assert new_case(pilot=vocab.Pilot.LILLE).language is vocab.Language.FR
    assert new_case(language=vocab.Language.EN).guardians[0].language is vocab.Language.EN


def test_times_are_kept_to_the_millisecond_the_store_holds() -> None:
    case = registered()
    assert case.opened_at == NOW.replace(microsecond=123000)
    assert case.pull_events()[0].occurred_at == case.opened_at


@pytest.mark.parametrize("birth_year", [NOW.year - 22, NOW.year - 1, 1900, 2999])
def test_a_birth_year_outside_school_age_is_refused(birth_year: int) -> None:
    with pytest.raises(RuleBroken) as refused:
        new_case(birth_year=birth_year)
    assert refused.value.field == "birth_year"


@pytest.mark.parametrize("birth_year", [NOW.year - 21, NOW.year - 2])
def test_the_birth_year_bounds_are_inclusive(birth_year: int) -> None:
    assert new_case(birth_year=birth_year).birth_year == birth_year


@pytest.mark.parametrize(
    ("guardian", "field"),
    [
        (details(email=None, phone=None), "guardians.1.email"),
        (details(email=None, phone="+31612345678"), "guardians.1.email"),
        (details(preferred_channel=vocab.Channel.SMS), "guardians.1.phone"),
        (details(preferred_channel=vocab.Channel.WEBHOOK), "guardians.1.preferred_channel"),
    ],
)
def test_a_guardian_must_be_reachable_on_their_channel(
    guardian: GuardianDetails, field: str
) -> None:
    with pytest.raises(RuleBroken) as refused:
        new_case(guardians=(details(), guardian))
    assert refused.value.field == field


def test_a_family_needs_one_to_six_guardians() -> None:
    for guardians in [(), (details(),) * 7]:
        with pytest.raises(RuleBroken) as refused:
            new_case(guardians=guardians)
        assert refused.value.field == "guardians"


# -- consent --


def test_granting_records_a_decision_and_both_consent_events() -> None:
    case = new_case()
    decision = case.record_consent(consent(), later(1))
    assert decision is not None and decision.granted
    public, internal = case.pull_events()
    assert isinstance(public, ConsentChangedV2) and isinstance(internal, ConsentRecorded)
    for event in (public, internal):
        assert (event.purpose, event.granted, event.changed_by) == (
            vocab.ConsentPurpose.DIPLOMA,
            True,
            vocab.ActorRole.GUARDIAN,
        )
        assert event.changed_at == decision.decided_at == later(1).replace(microsecond=123000)


def test_which_agency_is_trusted_goes_on_the_internal_event_only() -> None:
    case = new_case()
    case.record_consent(consent(vocab.ConsentPurpose.SHARE_WITH_AGENCY, agency_id=AGENCY), later(1))
    public, internal = case.pull_events()
    assert AGENCY not in public.model_dump_json()
    assert isinstance(internal, ConsentRecorded) and internal.agency_id == AGENCY


def test_granting_what_is_granted_changes_nothing() -> None:
    case = new_case()
    case.record_consent(consent(), later(1))
    case.pull_events()
    assert case.record_consent(consent(recorded_by=COACH), later(2)) is None
    assert case.pull_events() == [] and len(case.consents) == 1


def test_withdrawing_what_was_never_granted_changes_nothing() -> None:
    case = new_case()
    assert case.record_consent(consent(granted=False), later(1)) is None
    assert case.pull_events() == [] and case.consents == []


def test_withdrawal_is_kept_beside_the_grant_in_the_history() -> None:
    case = new_case()
    case.record_consent(consent(), later(1))
    case.record_consent(consent(granted=False, recorded_by=COACH), later(2))
    assert [d.granted for d in case.consents] == [True, False]
    (current,) = case.current_consents()
    assert not current.granted and current.recorded_by.role is vocab.ActorRole.COACH
    recorded = [e for e in case.pull_events() if isinstance(e, ConsentRecorded)]
    assert [e.granted for e in recorded] == [True, False]


def test_each_agency_has_its_own_consent() -> None:
    case = new_case()
    other = "agy_careprovider01"
    case.record_consent(consent(vocab.ConsentPurpose.SHARE_WITH_AGENCY, agency_id=AGENCY), later(1))
    case.record_consent(consent(vocab.ConsentPurpose.SHARE_WITH_AGENCY, agency_id=other), later(2))
    assert {d.agency_id for d in case.current_consents()} == {AGENCY, other}
    recorded = [e for e in case.pull_events() if isinstance(e, ConsentRecorded)]
    assert [e.agency_id for e in recorded] == [AGENCY, other]


@pytest.mark.parametrize(
    ("purpose", "agency_id"),
    [(vocab.ConsentPurpose.SHARE_WITH_AGENCY, None), (vocab.ConsentPurpose.SCREENING, AGENCY)],
)
def test_only_sharing_with_an_agency_names_one(
    purpose: vocab.ConsentPurpose, agency_id: str | None
) -> None:
    with pytest.raises(RuleBroken) as refused:
        new_case().record_consent(consent(purpose, agency_id=agency_id), later(1))
    assert refused.value.field == "agency_id"


def test_a_guardian_of_another_case_cannot_decide() -> None:
    stranger = Recorder(vocab.ActorRole.GUARDIAN, guardian_id="gdn_stranger00001")
    with pytest.raises(RuleBroken) as refused:
        new_case().record_consent(consent(recorded_by=stranger), later(1))
    assert refused.value.field == "recorded_by.guardian_id"


def test_a_recorder_is_a_guardian_by_id_or_staff() -> None:
    with pytest.raises(RuleBroken) as refused:
        Recorder(vocab.ActorRole.GUARDIAN)
    assert refused.value.field == "recorded_by.guardian_id"
    with pytest.raises(RuleBroken):
        Recorder(vocab.ActorRole.SYSTEM)


def test_decisions_for_a_purpose_are_strictly_later_even_when_the_clock_is_not() -> None:
    case = new_case()
    first = case.record_consent(consent(), later(1))
    second = case.record_consent(consent(granted=False), later(1))
    third = case.record_consent(consent(), later(0))
    assert first and second and third
    assert first.decided_at < second.decided_at < third.decided_at


def test_a_decision_may_be_dated_back_but_not_before_the_last_one() -> None:
    case = new_case()
    signed = (NOW - dt.timedelta(days=2)).replace(microsecond=0)
    decision = case.record_consent(consent(decided_at=signed), later(1))
    assert decision is not None and decision.decided_at == signed
    assert decision.recorded_at == later(1).replace(microsecond=123000)
    with pytest.raises(StaleDecision):
        case.record_consent(consent(granted=False, decided_at=signed), later(2))


def test_a_decision_dated_in_the_future_is_refused() -> None:
    with pytest.raises(RuleBroken) as refused:
        new_case().record_consent(consent(decided_at=later(60)), later(1))
    assert refused.value.field == "decided_at"


# -- closing --


def test_closing_records_the_reason_and_refuses_further_changes() -> None:
    case = new_case()
    case.close(CloseCase(CASE, vocab.CloseReason.COMPLETED, "coach-1"), later(5))
    (event,) = case.pull_events()
    assert isinstance(event, CaseClosed) and event.reason is vocab.CloseReason.COMPLETED
    assert case.status is CaseStatus.CLOSED and case.closed_by == "coach-1"
    assert case.child_first_name == "Sam"  # details stay unless erasure was asked for
    with pytest.raises(CaseIsClosed):
        case.record_consent(consent(), later(6))
    with pytest.raises(CaseIsClosed):
        case.close(CloseCase(CASE, vocab.CloseReason.OTHER, "coach-1"), later(6))


def test_closing_on_request_for_erasure_erases_the_family_details() -> None:
    case = new_case()
    case.record_consent(consent(), later(1))
    case.close(CloseCase(CASE, vocab.CloseReason.ERASURE_REQUESTED, "coach-1"), later(5))
    assert case.erased
    assert (case.child_first_name, case.birth_year, case.school_name) == (None, None, None)
    assert all((g.name, g.email, g.phone) == (None, None, None) for g in case.guardians)
    assert [g.guardian_id for g in case.guardians] == [MOTHER, FATHER]
    assert len(case.consents) == 1  # the consent history holds no personal data
    assert case.keys_to_destroy == [CASE]  # the case's id stands for every key of the case


def test_closing_without_erasure_owes_no_key() -> None:
    case = new_case()
    case.close(CloseCase(CASE, vocab.CloseReason.MOVED_AWAY, "coach-1"), later(5))
    assert case.keys_to_destroy == []


# -- removing a guardian --


def test_removing_a_guardian_erases_them_and_owes_their_key() -> None:
    case = new_case()
    case.remove_guardian(FATHER, later(1))
    assert [g.guardian_id for g in case.guardians] == [MOTHER]
    assert case.removed_guardians == [FATHER] and case.keys_to_destroy == [FATHER]
    (event,) = case.pull_events()
    assert isinstance(event, GuardianRemoved) and event.guardian_id == FATHER
    assert event.occurred_at == later(1).replace(microsecond=123000)
    case.keys_destroyed([FATHER])
    assert case.keys_to_destroy == []


def test_a_removed_guardian_no_longer_decides_consent() -> None:
    case = new_case()
    case.remove_guardian(MOTHER, later(1))
    with pytest.raises(RuleBroken) as refused:
        case.record_consent(consent(recorded_by=BY_MOTHER), later(2))
    assert refused.value.field == "recorded_by.guardian_id"


def test_the_last_guardian_of_an_open_case_stays() -> None:
    case = new_case()
    case.remove_guardian(MOTHER, later(1))
    case.pull_events()
    with pytest.raises(LastGuardian, match="last guardian"):
        case.remove_guardian(FATHER, later(2))
    assert [g.guardian_id for g in case.guardians] == [FATHER] and case.pull_events() == []


def test_an_unknown_or_removed_guardian_is_not_found() -> None:
    case = new_case()
    with pytest.raises(UnknownGuardian):
        case.remove_guardian("gdn_stranger00001", later(1))
    case.remove_guardian(MOTHER, later(1))
    with pytest.raises(UnknownGuardian):
        case.remove_guardian(MOTHER, later(2))


def test_no_guardian_is_removed_from_a_closed_case() -> None:
    case = new_case()
    case.close(CloseCase(CASE, vocab.CloseReason.COMPLETED, "coach-1"), later(1))
    with pytest.raises(CaseIsClosed):
        case.remove_guardian(FATHER, later(2))


def test_public_events_carry_no_personal_data() -> None:
    case = registered()
    case.record_consent(consent(), later(1))
    case.close(CloseCase(CASE, vocab.CloseReason.COMPLETED, "coach-1"), later(2))
    public = [
        e for e in case.pull_events() if not isinstance(e, FamilyRegisteredV2 | ConsentRecorded)
    ]
    assert len(public) == 3
    for event in public:
        text = event.model_dump_json()
        for personal in ("Sam", "2016", "Regenboog", "Fatima", "Karim", "example.org", "+316"):
            assert personal not in text


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (UnknownCase("no case"), 404),
        (UnknownGuardian("no guardian"), 404),
        (CaseIsClosed("closed"), 409),
        (LastGuardian("the last one"), 409),
        (StaleDecision("stale"), 409),
        (ChangedMeanwhile("moved on"), 409),
        (IdempotencyKeyReused("reused"), 409),
        (RuleBroken("birth_year", "too old"), 422),
    ],
)
def test_each_refusal_answers_with_its_status(refusal: Exception, status: int) -> None:
    response = domain_error_response(refusal)
    assert response.status_code == status
    body = json.loads(response.body)
    assert body["detail"]
    if status == 422:
        assert body["errors"] == [{"field": "birth_year", "problem": "too old"}]
