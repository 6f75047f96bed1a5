"""The screening domain on its own: scores, rules, advice, diplomas, questionnaires."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.advice import ADVICE, AdviceCode, advice_text
from vrac_contracts.consent import ConsentState, consent_key
from vrac_contracts.events.screening import FindingsRecorded, ScreeningCompletedV2
from vrac_contracts.ids import derived_id
from vrac_contracts.wording import long_date
from vrac_screening.domain import errors
from vrac_screening.domain.advice_rules import RULES, Profile, choose_advice
from vrac_screening.domain.case import Case
from vrac_screening.domain.diploma import ScreeningOutcome, diploma_sheet, make_diploma
from vrac_screening.domain.questionnaire import SCALES, submit_questionnaire
from vrac_screening.domain.scores import DomainResult, Level, Rating, check_results
from vrac_screening.domain.screening import record_screening
from vrac_screening.domain.wording import PHRASES, PRAISE

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
P, SS, Q = vocab.ScoreKind.PERCENTILE, vocab.ScoreKind.STANDARD_SCORE, vocab.ScoreKind.QUALITATIVE


def case(*purposes: vocab.ConsentPurpose, **fields: object) -> Case:
    consents = {consent_key(p): ConsentState(True, NOW) for p in purposes}
    values: dict = {"case_id": "case_domaintest001", "pilot": vocab.Pilot.LEIDEN, "opened": True}
    values.update(consents=consents, **fields)
    return Case(**values)


@pytest.mark.parametrize(
    ("kind", "score", "rating", "level"),
    [
        (P, 75, None, Level.STRENGTH),
        (P, 74.9, None, Level.TYPICAL),
        (P, 25.1, None, Level.TYPICAL),
        (P, 25, None, Level.GROWTH_AREA),
        (SS, 110, None, Level.STRENGTH),
        (SS, 109, None, Level.TYPICAL),
        (SS, 91, None, Level.TYPICAL),
        (SS, 90, None, Level.GROWTH_AREA),
        (Q, None, Rating.WELL_ABOVE, Level.STRENGTH),
        (Q, None, Rating.ABOVE, Level.STRENGTH),
        (Q, None, Rating.AVERAGE, Level.TYPICAL),
        (Q, None, Rating.BELOW, Level.GROWTH_AREA),
        (Q, None, Rating.WELL_BELOW, Level.GROWTH_AREA),
    ],
)
def test_levels_follow_the_documented_thresholds(kind, score, rating, level) -> None:
    assert DomainResult(vocab.Domain.MATHS, kind, score, rating).level is level


@pytest.mark.parametrize(
    ("results", "field"),
    [
        ([], "scores"),
        ([DomainResult(vocab.Domain.MATHS, P, 101)], "scores.0.score"),
        ([DomainResult(vocab.Domain.MATHS, P, -1)], "scores.0.score"),
        ([DomainResult(vocab.Domain.MATHS, SS, 161)], "scores.0.score"),
        ([DomainResult(vocab.Domain.MATHS, SS, None)], "scores.0.score"),
        ([DomainResult(vocab.Domain.MATHS, SS, 100, Rating.ABOVE)], "scores.0.rating"),
        ([DomainResult(vocab.Domain.MATHS, Q)], "scores.0.rating"),
        ([DomainResult(vocab.Domain.MATHS, Q, 50, Rating.ABOVE)], "scores.0.score"),
        (
            [
                DomainResult(vocab.Domain.MATHS, P, 50),
                DomainResult(vocab.Domain.MATHS, Q, None, Rating.BELOW),
            ],
            "scores.1.domain",
        ),
    ],
)
def test_invalid_results_name_the_field(results, field) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        check_results(results)
    assert raised.value.field == field


def test_the_rule_library_has_at_least_15_rules_with_known_codes_in_every_language() -> None:
    assert len(RULES) >= 15
    assert len({r.rule_id for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.code in ADVICE, rule.rule_id
        for language in vocab.Language:
            assert advice_text(rule.code, language).strip(), (rule.rule_id, language)


def test_every_rule_can_fire_and_none_fires_for_an_average_child() -> None:
    assert choose_advice(Profile.of([], [])) == []
    everything = Profile.of(list(vocab.Domain), list(vocab.Domain))
    fired = {choice.rule_id for choice in choose_advice(everything)}
    # every code is given once, so a rule whose code an earlier rule gave stays silent
    first_per_code = {r.code: r.rule_id for r in reversed(RULES)}
    assert fired == set(first_per_code.values())


def test_advice_fits_the_profile() -> None:
    profile = Profile.of(
        [vocab.Domain.WORKING_MEMORY, vocab.Domain.MORAL_REASONING],
        [vocab.Domain.READING, vocab.Domain.ATTENTION],
    )
    chosen = choose_advice(profile)
    codes = [c.code for c in chosen]
    assert codes[:3] == [
        AdviceCode.MEMORY_FOR_READING,
        AdviceCode.SHOW_YOUR_STRENGTH,
        AdviceCode.QUIET_PLACE_IN_CLASS,
    ]
    assert AdviceCode.SENSE_OF_FAIRNESS_ROLE in codes
    assert AdviceCode.NAME_THE_FEELING not in codes  # emotion regulation is not a growth area
    assert AdviceCode.PRAISE_THE_EFFORT not in codes  # two growth areas, not three
    assert {c.audience for c in chosen} == {"school", "parents", "child"}
    assert len(codes) == len(set(codes))


def test_praise_the_effort_comes_with_three_growth_areas() -> None:
    growth = [vocab.Domain.MATHS, vocab.Domain.SPELLING, vocab.Domain.PLANNING]
    assert AdviceCode.PRAISE_THE_EFFORT in [c.code for c in choose_advice(Profile.of([], growth))]


def test_record_screening_derives_strengths_growth_areas_and_the_event() -> None:
    results = [
        DomainResult(vocab.Domain.WORKING_MEMORY, P, 88),
        DomainResult(vocab.Domain.READING, SS, 82),
        DomainResult(vocab.Domain.EMPATHY, Q, None, Rating.ABOVE),
        DomainResult(vocab.Domain.MATHS, P, 50),
    ]
    subject = case(vocab.ConsentPurpose.SCREENING, language=vocab.Language.FR)
    screening = record_screening(subject, "scr_domaintest001", results, None, NOW)
    public, event = screening.pull_events()
    assert screening.strengths == (vocab.Domain.WORKING_MEMORY, vocab.Domain.EMPATHY)
    assert screening.growth_areas == (vocab.Domain.READING,)
    assert screening.screened_on == NOW.date()
    assert isinstance(public, ScreeningCompletedV2) and isinstance(event, FindingsRecorded)
    assert public.strengths == list(screening.strengths)
    assert not {"growth_areas", "advice", "language"} & set(public.model_dump())
    assert event.language == vocab.Language.FR and event.case_id == subject.case_id
    assert event.growth_areas == [vocab.Domain.READING]
    assert [a.code for a in event.advice] == [c.code for c in screening.advice]
    assert event.occurred_at == public.occurred_at == NOW


def test_a_screening_before_the_family_is_known_uses_the_pilot_language() -> None:
    subject = case(vocab.ConsentPurpose.SCREENING, pilot=vocab.Pilot.WATTRELOS)
    screening = record_screening(
        subject, "scr_domaintest001", [DomainResult(vocab.Domain.MATHS, P, 80)], None, NOW
    )
    assert screening.language is vocab.Language.FR


def test_record_screening_refuses_what_it_must() -> None:
    results = [DomainResult(vocab.Domain.MATHS, P, 80)]
    with pytest.raises(errors.NoConsent, match="screening"):
        record_screening(case(), "scr_domaintest001", results, None, NOW)
    withdrawn = case()
    withdrawn.consents[consent_key(vocab.ConsentPurpose.SCREENING)] = ConsentState(False, NOW)
    with pytest.raises(errors.NoConsent):
        record_screening(withdrawn, "scr_domaintest001", results, None, NOW)
    with pytest.raises(errors.CaseIsClosed):
        record_screening(
            case(vocab.ConsentPurpose.SCREENING, closed=True), "scr_x1234567", results, None, NOW
        )
    with pytest.raises(errors.UnknownCase):
        record_screening(
            case(vocab.ConsentPurpose.SCREENING, opened=False), "scr_x1234567", results, None, NOW
        )
    with pytest.raises(errors.InvalidInput) as raised:
        tomorrow = NOW.date() + dt.timedelta(days=1)
        record_screening(
            case(vocab.ConsentPurpose.SCREENING), "scr_x1234567", results, tomorrow, NOW
        )
    assert raised.value.field == "screened_on"


OUTCOME = ScreeningOutcome(
    "scr_domaintest001",
    "case_domaintest001",
    vocab.Pilot.LEIDEN,
    (vocab.Domain.CREATIVITY, vocab.Domain.MATHS),
)


def test_a_diploma_celebrates_the_strengths_in_the_family_language() -> None:
    family = case(vocab.ConsentPurpose.DIPLOMA, child_first_name="Inès", language=vocab.Language.FR)
    diploma = make_diploma(family, OUTCOME, NOW)
    assert diploma is not None
    [event] = diploma.pull_events()
    assert diploma.diploma_id == derived_id("diploma", OUTCOME.screening_id)
    assert (event.diploma_id, event.language, event.strengths) == (
        diploma.diploma_id,
        "fr",
        ["creativity", "maths"],
    )
    sheet = diploma_sheet(diploma, "Inès")
    assert sheet.title == "Diplôme" and sheet.child_first_name == "Inès"
    assert [s.label for s in sheet.strengths] == ["La créativité", "Les maths"]
    assert sheet.place_and_date == "Leiden, 14 mars 2025"
    again = make_diploma(family, OUTCOME, NOW + dt.timedelta(hours=1))
    assert again is not None and again.diploma_id == diploma.diploma_id


def test_no_diploma_without_consent_strengths_or_for_an_erased_case() -> None:
    named = {"child_first_name": "Sam", "language": vocab.Language.NL}
    assert make_diploma(case(**named), OUTCOME, NOW) is None
    assert make_diploma(None, OUTCOME, NOW) is None
    erased = case(vocab.ConsentPurpose.DIPLOMA, erased=True)
    assert make_diploma(erased, OUTCOME, NOW) is None
    nothing = ScreeningOutcome(OUTCOME.screening_id, OUTCOME.case_id, vocab.Pilot.LEIDEN, ())
    assert make_diploma(case(vocab.ConsentPurpose.DIPLOMA, **named), nothing, NOW) is None


def test_a_diploma_waits_while_the_child_is_not_known() -> None:
    with pytest.raises(errors.ChildNotKnownYet):
        make_diploma(case(vocab.ConsentPurpose.DIPLOMA), OUTCOME, NOW)


def test_every_strength_has_warm_words_in_every_language_the_pdf_fonts_can_show() -> None:
    for domain in vocab.Domain:
        for language in vocab.Language:
            praise = PRAISE[domain][language]
            assert praise.label and len(praise.reason) > 20, (domain, language)
            (praise.label + praise.reason).encode("latin-1")
    for language in vocab.Language:
        words = PHRASES[language]
        f"{words.title}{words.given_to}{words.because}{words.cheer}{words.signed}".encode("latin-1")


def test_long_dates_read_naturally() -> None:
    assert long_date(dt.date(2025, 3, 14), vocab.Language.NL) == "14 maart 2025"
    assert long_date(dt.date(2025, 8, 1), vocab.Language.FR) == "1er août 2025"
    assert long_date(dt.date(2025, 12, 2), vocab.Language.EN) == "2 December 2025"


@pytest.mark.parametrize(
    ("instrument", "score", "band"),
    [
        (vocab.Instrument.KIDSCREEN_10, 10, vocab.WellbeingBand.LOW),
        (vocab.Instrument.KIDSCREEN_10, 29, vocab.WellbeingBand.LOW),
        (vocab.Instrument.KIDSCREEN_10, 30, vocab.WellbeingBand.MODERATE),
        (vocab.Instrument.KIDSCREEN_10, 40, vocab.WellbeingBand.HIGH),
        (vocab.Instrument.SDQ, 0, vocab.WellbeingBand.HIGH),
        (vocab.Instrument.SDQ, 14, vocab.WellbeingBand.MODERATE),
        (vocab.Instrument.SDQ, 17, vocab.WellbeingBand.LOW),
        (vocab.Instrument.VRAC_WELLBEING_CHILD, 39, vocab.WellbeingBand.LOW),
        (vocab.Instrument.VRAC_WELLBEING_PARENT, 70, vocab.WellbeingBand.HIGH),
    ],
)
def test_questionnaire_scores_fall_into_bands(instrument, score, band) -> None:
    subject = case(vocab.ConsentPurpose.QUESTIONNAIRES)
    questionnaire = submit_questionnaire(
        subject, "qnr_domaintest001", instrument, vocab.Respondent.CHILD, score, NOW
    )
    [event] = questionnaire.pull_events()
    assert questionnaire.band is band
    # the score and its band stay in the service
    assert not {"score", "wellbeing_band"} & set(event.model_dump())


def test_every_scale_covers_its_range_without_gaps_or_overlaps() -> None:
    # every instrument but WHO-5, which is only ever scored from its item responses
    assert set(SCALES) == set(vocab.Instrument) - {vocab.Instrument.WHO_5}
    for instrument, scale in SCALES.items():
        covered = [s for b in scale.bands for s in range(b.lowest, b.highest + 1)]
        assert sorted(covered) == list(range(scale.minimum, scale.maximum + 1)), instrument


def test_questionnaires_need_consent_and_a_score_in_range() -> None:
    with pytest.raises(errors.NoConsent, match="questionnaires"):
        submit_questionnaire(
            case(), "qnr_x1234567", vocab.Instrument.SDQ, vocab.Respondent.CHILD, 5, NOW
        )
    with pytest.raises(errors.InvalidInput) as raised:
        submit_questionnaire(
            case(vocab.ConsentPurpose.QUESTIONNAIRES),
            "qnr_x1234567",
            vocab.Instrument.SDQ,
            vocab.Respondent.CHILD,
            41,
            NOW,
        )
    assert raised.value.field == "score"


def test_the_readme_lists_every_advice_rule_as_the_code_has_it() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for rule in RULES:
        row = f"| {rule.rule_id} | {rule.when.describe()} | `{rule.code}` | {rule.audience} |"
        assert row in readme, rule.rule_id
