"""Wellbeing instruments score their item responses by their published rules, and the
change since the baseline follows from them (domain and handlers on the fakes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.events.screening import QuestionnaireSubmittedV2, WellbeingMeasured
from vrac_screening import handlers
from vrac_screening.domain.case import Case
from vrac_screening.domain.commands import MeasureWellbeing, SubmitQuestionnaire
from vrac_screening.domain.errors import InvalidInput, NoConsent
from vrac_screening.domain.instruments import LICENSED, Instruments
from vrac_screening.domain.instruments.kidscreen import KIDSCREEN_10
from vrac_screening.domain.instruments.sdq import SDQ
from vrac_screening.domain.instruments.who5 import WHO_5
from vrac_screening.settings import ScreeningSettings

from services.screening.tests.fakes import NOW, World, world

Instrument, Respondent, Occasion = vocab.Instrument, vocab.Respondent, vocab.Occasion
CHILD, GUARDIAN, TEACHER = Respondent.CHILD, Respondent.GUARDIAN, Respondent.TEACHER
LOW, MODERATE, HIGH = (
    vocab.WellbeingBand.LOW,
    vocab.WellbeingBand.MODERATE,
    vocab.WellbeingBand.HIGH,
)
IMPROVED, SAME, WORSE = (
    vocab.WellbeingChange.IMPROVED,
    vocab.WellbeingChange.NO_RELIABLE_CHANGE,
    vocab.WellbeingChange.WORSENED,
)
CASE = "case_wellbeingtest01"


def who5(*answers: int) -> dict[str, int]:
    return {f"q{n}": a for n, a in enumerate(answers, start=1)}


# -- WHO-5 --


@pytest.mark.parametrize(
    ("answers", "raw", "percentage", "band", "category"),
    [
        ((5, 5, 5, 5, 5), 25, 100, HIGH, "good-wellbeing"),
        ((0, 0, 0, 0, 0), 0, 0, LOW, "likely-depression"),
        ((3, 3, 2, 3, 2), 13, 52, HIGH, "good-wellbeing"),  # just above the poor-wellbeing cut-off
        ((3, 2, 3, 2, 2), 12, 48, MODERATE, "poor-wellbeing"),  # raw below 13: poor wellbeing
        ((2, 2, 1, 1, 2), 8, 32, MODERATE, "poor-wellbeing"),
        ((2, 1, 1, 1, 2), 7, 28, LOW, "likely-depression"),  # at the screening threshold
    ],
)
def test_who5_raw_score_times_four_is_the_percentage_with_its_cut_offs(
    answers: tuple[int, ...], raw: int, percentage: int, band: vocab.WellbeingBand, category: str
) -> None:
    scored = WHO_5.score(who5(*answers), CHILD)
    assert (scored.raw, scored.value, scored.band, scored.category) == (
        raw,
        percentage,
        band,
        category,
    )


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ((2, 2, 2, 3, 3), (3, 3, 2, 3, 4), IMPROVED),  # 48 -> 60: 12 points
        ((2, 2, 2, 3, 3), (3, 2, 2, 3, 4), SAME),  # 48 -> 56: 8 points, below the minimal 10
        ((3, 3, 3, 3, 3), (3, 2, 2, 3, 2), WORSE),  # 60 -> 48
        ((3, 3, 3, 3, 3), (3, 3, 3, 3, 3), SAME),
    ],
)
def test_who5_change_of_ten_percentage_points_is_the_reliable_change(
    before: tuple[int, ...], after: tuple[int, ...], change: vocab.WellbeingChange
) -> None:
    baseline, latest = WHO_5.score(who5(*before), CHILD), WHO_5.score(who5(*after), CHILD)
    assert WHO_5.change(baseline, latest) is change


def test_who5_ships_its_five_items_in_three_languages_with_its_source() -> None:
    assert [i.item_id for i in WHO_5.items] == ["q1", "q2", "q3", "q4", "q5"]
    for language in vocab.Language:
        assert all(item.texts[language] for item in WHO_5.items)
        assert len(WHO_5.options[language]) == 6  # 0 .. 5
    assert "World Health Organization" in WHO_5.source and not WHO_5.licensed


@pytest.mark.parametrize(
    ("responses", "field"),
    [
        (who5(5, 5, 5, 5), "responses.q5"),  # missing
        (who5(5, 5, 6, 5, 5), "responses.q3"),  # out of range
        (who5(5, 5, -1, 5, 5), "responses.q3"),
        ({**who5(5, 5, 5, 5, 5), "q6": 1}, "responses.q6"),  # not an item
    ],
)
def test_a_wrong_response_is_refused_naming_its_item(
    responses: Mapping[str, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        WHO_5.score(responses, CHILD)
    assert refused.value.field == field


def test_an_instrument_names_who_may_answer_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        WHO_5.score(who5(1, 1, 1, 1, 1), TEACHER)
    assert refused.value.field == "respondent"


# -- SDQ --

EMOTIONAL, CONDUCT, HYPERACTIVITY, PEER, PROSOCIAL = (
    (3, 8, 13, 16, 24),
    (5, 7, 12, 18, 22),
    (2, 10, 15, 21, 25),
    (6, 11, 14, 19, 23),
    (1, 4, 9, 17, 20),
)
SDQ_REVERSED = {7, 11, 14, 21, 25}


def sdq(coded: Mapping[int, int]) -> dict[str, int]:
    """The answers that score as ``coded`` (item number -> score; unnamed items 0): a
    reverse-scored item is answered from the other end."""
    return {
        f"q{n}": 2 - coded.get(n, 0) if n in SDQ_REVERSED else coded.get(n, 0) for n in range(1, 26)
    }


def spread(total: int, items: tuple[int, ...]) -> dict[int, int]:
    """Item scores adding up to ``total``, filling the items in turn (2 each at most)."""
    coded = {}
    for n in items:
        coded[n] = min(2, total)
        total -= coded[n]
    return coded


def sdq_total(total: int) -> dict[str, int]:
    """Answers with that total difficulties score, every prosocial item scoring 2."""
    problem_items = tuple(n for scale in (EMOTIONAL, CONDUCT, HYPERACTIVITY, PEER) for n in scale)
    return sdq({n: 2 for n in PROSOCIAL} | spread(total, problem_items))


def test_sdq_all_answered_not_true_scores_the_reverse_items_as_problems() -> None:
    answers = {f"q{n}": 0 for n in range(1, 26)}
    scored = SDQ.score(answers, GUARDIAN)
    subscales = {s.name: s.score for s in scored.subscales}
    # items 7 (conduct), 21 and 25 (hyperactivity), 11 and 14 (peer) score 2 each
    assert subscales == {
        "emotional": 0,
        "conduct": 2,
        "hyperactivity": 4,
        "peer": 4,
        "prosocial": 0,
    }
    assert scored.raw == 10  # the prosocial scale is not part of the total difficulties
    assert {s.name: s.category for s in scored.subscales}["prosocial"] == "very-low"


def test_sdq_a_reverse_scored_item_counts_from_the_other_end() -> None:
    calm = SDQ.score(sdq({}) | {"q7": 2}, GUARDIAN)  # item 7 certainly true: no problem
    defiant = SDQ.score(sdq({}) | {"q7": 0}, GUARDIAN)  # not true: 2 points of conduct
    assert {s.name: s.score for s in calm.subscales}["conduct"] == 0
    assert {s.name: s.score for s in defiant.subscales}["conduct"] == 2


@pytest.mark.parametrize(
    ("total", "parent", "teacher", "self_report"),
    [
        (11, "close-to-average", "close-to-average", "close-to-average"),
        (12, "close-to-average", "slightly-raised", "close-to-average"),
        (14, "slightly-raised", "slightly-raised", "close-to-average"),
        (15, "slightly-raised", "slightly-raised", "slightly-raised"),
        (16, "slightly-raised", "high", "slightly-raised"),
        (17, "high", "high", "slightly-raised"),
        (18, "high", "high", "high"),
        (19, "high", "very-high", "high"),
        (20, "very-high", "very-high", "very-high"),
        (40, "very-high", "very-high", "very-high"),
    ],
)
def test_sdq_total_difficulties_banded_for_each_respondent(
    total: int, parent: str, teacher: str, self_report: str
) -> None:
    answers = sdq_total(total)
    found = {r: SDQ.score(answers, r) for r in (GUARDIAN, TEACHER, CHILD)}
    assert {s.raw for s in found.values()} == {total}
    assert (found[GUARDIAN].category, found[TEACHER].category, found[CHILD].category) == (
        parent,
        teacher,
        self_report,
    )


@pytest.mark.parametrize(
    ("respondent", "emotional_bands"),
    [
        # emotional problems 3, 4, 5, 6, 7 by parent, teacher and self-report
        (GUARDIAN, ["close-to-average", "slightly-raised", "high", "high", "very-high"]),
        (TEACHER, ["close-to-average", "slightly-raised", "high", "very-high", "very-high"]),
        (CHILD, ["close-to-average", "close-to-average", "slightly-raised", "high", "very-high"]),
    ],
)
def test_sdq_subscales_banded_for_each_respondent(
    respondent: Respondent, emotional_bands: list[str]
) -> None:
    found = []
    for score in (3, 4, 5, 6, 7):
        result = SDQ.score(sdq(spread(score, EMOTIONAL)), respondent)
        emotional = next(s for s in result.subscales if s.name == "emotional")
        assert emotional.score == score
        found.append(emotional.category)
    assert found == emotional_bands


def test_sdq_total_bands_as_wellbeing_and_has_no_reliable_change_rule() -> None:
    average, raised, high = (SDQ.score(sdq_total(t), GUARDIAN) for t in (5, 15, 25))
    assert (average.band, raised.band, high.band) == (HIGH, MODERATE, LOW)
    assert SDQ.change(high, average) is None
    assert SDQ.licensed and all(not item.texts for item in SDQ.items)


# -- KIDSCREEN-10 --


def test_kidscreen10_recodes_items_3_and_4_and_sums_without_a_band() -> None:
    best = {f"q{n}": 5 for n in range(1, 11)} | {"q3": 1, "q4": 1}  # never sad, never lonely
    middle = {f"q{n}": 3 for n in range(1, 11)}
    worst = {f"q{n}": 1 for n in range(1, 11)} | {"q3": 5, "q4": 5}
    scores = [KIDSCREEN_10.score(a, CHILD) for a in (best, middle, worst)]
    assert [s.raw for s in scores] == [50, 30, 10]
    assert {s.band for s in scores} == {None}
    assert KIDSCREEN_10.change(scores[2], scores[0]) is None
    assert KIDSCREEN_10.licensed and all(not item.texts for item in KIDSCREEN_10.items)


# -- switched on per deployment --


def test_licensed_instruments_are_off_until_the_setting_names_them() -> None:
    free = Instruments.switched_on()
    assert set(free.on) == {Instrument.WHO_5}
    for instrument in LICENSED:
        with pytest.raises(InvalidInput) as refused:
            free.plugin(instrument)
        assert refused.value.field == "instrument" and "licensed" in refused.value.problem
    settings = ScreeningSettings(licensed_instruments="sdq, kidscreen-10")
    assert set(Instruments.switched_on(settings.licensed).on) == {
        Instrument.WHO_5,
        Instrument.SDQ,
        Instrument.KIDSCREEN_10,
    }
    with pytest.raises(ValueError, match="who-5"):
        ScreeningSettings(licensed_instruments="who-5")


# -- handlers --


@pytest.fixture
def w() -> World:
    return world()


async def open_case(w: World, purposes: tuple[vocab.ConsentPurpose, ...]) -> None:
    leiden = vocab.Pilot.LEIDEN
    opened = CaseOpened(case_id=CASE, pilot=leiden, occurred_at=NOW, programme="pit", opened_at=NOW)
    await handlers.open_case(w.deps, opened)
    for purpose in purposes:
        decision = ConsentRecorded(
            case_id=CASE,
            pilot=leiden,
            occurred_at=NOW,
            purpose=purpose,
            granted=True,
            changed_by=vocab.ActorRole.COACH,
            changed_at=NOW,
        )
        await handlers.record_consent(w.deps, decision)


class Anyone:
    def check(self, pilot: str) -> None:
        return None

    def check_shared(self, case: Case) -> None:
        return None


async def measure(
    w: World,
    occasion: Occasion,
    responses: Mapping[str, int],
    *,
    instrument: Instrument = Instrument.WHO_5,
    respondent: Respondent = CHILD,
    days: int = 0,
) -> None:
    w.deps.clock = lambda: NOW + dt.timedelta(days=days)
    command = MeasureWellbeing(CASE, instrument, respondent, occasion, responses)
    await handlers.measure_wellbeing(w.deps, command, Anyone())


def measured(w: World) -> list[WellbeingMeasured]:
    return [e for e in w.outbox.events if isinstance(e, WellbeingMeasured)]


async def test_baseline_and_follow_up_give_the_change_and_send_band_and_change_only_inside(
    w: World,
) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    await measure(w, Occasion.BASELINE, who5(2, 2, 2, 3, 3))
    await measure(w, Occasion.FOLLOW_UP, who5(3, 3, 3, 3, 4), days=60)
    [progress] = await handlers.wellbeing_progress(w.deps, CASE, Anyone())
    assert (progress.baseline and progress.baseline.scored.value) == 48
    assert (progress.latest and progress.latest.scored.value) == 64
    assert (progress.difference, progress.change) == (16, IMPROVED)
    # what reporting reads: the band and change, no score, no response
    first, second = measured(w)
    assert (first.occasion, first.wellbeing_band, first.change) == (
        Occasion.BASELINE,
        MODERATE,
        None,
    )
    assert (second.occasion, second.wellbeing_band, second.change) == (
        Occasion.FOLLOW_UP,
        HIGH,
        IMPROVED,
    )
    assert "responses" not in second.model_dump() and "value" not in second.model_dump()
    # partners hear only that a questionnaire was filled in
    public = [e for e in w.outbox.events if isinstance(e, QuestionnaireSubmittedV2)]
    assert [e.instrument for e in public] == [Instrument.WHO_5, Instrument.WHO_5]


async def test_the_latest_measurement_after_the_baseline_counts(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    await measure(w, Occasion.FOLLOW_UP, who5(5, 5, 5, 5, 5))  # before any baseline
    assert measured(w)[-1].change is None
    await measure(w, Occasion.BASELINE, who5(3, 3, 3, 3, 3), days=1)
    await measure(w, Occasion.FOLLOW_UP, who5(3, 3, 3, 3, 4), days=30)
    assert measured(w)[-1].change is SAME
    await measure(w, Occasion.END, who5(2, 2, 2, 2, 2), days=90)
    assert measured(w)[-1].change is WORSE
    [progress] = await handlers.wellbeing_progress(w.deps, CASE, Anyone())
    assert progress.latest is not None and progress.latest.occasion is Occasion.END
    assert progress.difference == -20


async def test_change_is_followed_per_instrument_and_respondent(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    w.deps.instruments = Instruments.switched_on(LICENSED)
    await measure(w, Occasion.BASELINE, who5(1, 1, 1, 1, 1))
    await measure(
        w, Occasion.BASELINE, sdq_total(20), instrument=Instrument.SDQ, respondent=GUARDIAN
    )
    await measure(
        w, Occasion.FOLLOW_UP, sdq_total(10), instrument=Instrument.SDQ, respondent=TEACHER, days=1
    )
    await measure(
        w, Occasion.FOLLOW_UP, sdq_total(12), instrument=Instrument.SDQ, respondent=GUARDIAN, days=2
    )
    found = {
        (p.instrument, p.respondent): p
        for p in await handlers.wellbeing_progress(w.deps, CASE, Anyone())
    }
    assert set(found) == {
        (Instrument.WHO_5, CHILD),
        (Instrument.SDQ, GUARDIAN),
        (Instrument.SDQ, TEACHER),
    }
    parent = found[(Instrument.SDQ, GUARDIAN)]
    assert (parent.difference, parent.change) == (-8, None)  # fewer difficulties; no rule
    assert found[(Instrument.SDQ, TEACHER)].baseline is None
    assert found[(Instrument.WHO_5, CHILD)].latest is None


async def test_a_licensed_instrument_that_is_off_records_nothing(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    with pytest.raises(InvalidInput) as refused:
        await measure(w, Occasion.BASELINE, sdq_total(3), instrument=Instrument.SDQ)
    assert refused.value.field == "instrument"
    assert w.measurements.records == {} and w.outbox.events == []


async def test_measuring_needs_questionnaires_consent(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.SCREENING,))
    with pytest.raises(NoConsent, match="questionnaires"):
        await measure(w, Occasion.BASELINE, who5(3, 3, 3, 3, 3))
    assert w.measurements.records == {}


async def test_erasure_deletes_the_measurements_once_their_events_are_sent(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    await measure(w, Occasion.BASELINE, who5(3, 3, 3, 3, 3))
    erased = CaseClosed(
        case_id=CASE,
        pilot=vocab.Pilot.LEIDEN,
        occurred_at=NOW,
        reason=vocab.CloseReason.ERASURE_REQUESTED,
    )
    await handlers.close_case(w.deps, erased)
    assert await handlers.list_measurements(w.deps, CASE, Anyone()) == []
    w.outbox.send_all()
    assert await handlers.finish_pending_erasures(w.deps) == 1
    assert w.measurements.records == {}


async def test_the_older_total_score_route_refuses_who5(w: World) -> None:
    await open_case(w, (vocab.ConsentPurpose.QUESTIONNAIRES,))
    command = SubmitQuestionnaire(CASE, Instrument.WHO_5, CHILD, 20)
    with pytest.raises(InvalidInput) as refused:
        await handlers.submit_questionnaire(w.deps, command, Anyone())
    assert refused.value.field == "instrument"
