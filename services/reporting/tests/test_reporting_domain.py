"""The reporting rules without any I/O: what counts, which month, suppression, replay."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from vrac_reporting.adapters.csv_renderer import HEADER, consortium_csv, pilot_csv
from vrac_reporting.adapters.read_models import _generation, _generation_doc
from vrac_reporting.domain.consent import consented_buckets
from vrac_reporting.domain.errors import MonthsOutOfOrder, NotCounted
from vrac_reporting.domain.generations import (
    Generation,
    Position,
    ReadModelState,
    new_generation_id,
)
from vrac_reporting.domain.replay import ReplayTally
from vrac_reporting.domain.report import (
    COLUMNS,
    MonthRange,
    Suppression,
    consortium_report,
    month_figures,
    pilot_report,
)
from vrac_reporting.domain.tally import COUNTED_EVENTS, Metric, Tally, month_of, tally_of

from services.reporting.tests.reporting_testkit import (
    GRANT_MONTH,
    consenting_case,
    event,
    reporting_consent,
)

TOPIC = "vrac.public.intake.case-opened.v1"


def grant() -> Tally:
    """The reporting grant of Leiden's consenting case, the one ``tally`` counts in."""
    envelope = reporting_consent(consenting_case("leiden"))
    return tally_of(envelope.id, envelope.data)


def tally(kind: str, **fields) -> Tally:
    envelope = event(kind, **fields)
    return tally_of(envelope.id, envelope.data)


@pytest.mark.parametrize(
    ("kind", "fields", "metrics"),
    [
        ("opened", {}, {Metric.CASES_OPENED}),
        ("closed", {}, {Metric.CASES_CLOSED}),
        ("screening", {}, {Metric.SCREENINGS_COMPLETED}),
        ("diploma", {}, {Metric.DIPLOMAS_ISSUED}),
        ("questionnaire", {}, {Metric.QUESTIONNAIRES_SUBMITTED}),
        ("accepted", {}, {Metric.TASKS_ACCEPTED}),
        ("declined", {}, {Metric.TASKS_DECLINED}),
        ("completed", {}, {Metric.TASKS_COMPLETED}),
        ("overdue", {}, {Metric.TASKS_OVERDUE}),
        ("consent", {"granted": True}, {Metric.CONSENTS_GRANTED}),
        ("consent", {"granted": False}, {Metric.CONSENTS_WITHDRAWN}),
        # a baseline: its band only; a follow-up: its band and its change
        ("wellbeing", {"change": None}, {Metric.WELLBEING_BANDED, Metric.WELLBEING_HIGH}),
        (
            "wellbeing",
            {"wellbeing_band": "low", "change": "worsened"},
            {
                Metric.WELLBEING_BANDED,
                Metric.WELLBEING_LOW,
                Metric.WELLBEING_CHANGE_ASSESSED,
                Metric.WELLBEING_WORSENED,
            },
        ),
        (
            "wellbeing",
            {"wellbeing_band": "moderate", "change": "no-reliable-change"},
            {
                Metric.WELLBEING_BANDED,
                Metric.WELLBEING_MODERATE,
                Metric.WELLBEING_CHANGE_ASSESSED,
                Metric.WELLBEING_NO_RELIABLE_CHANGE,
            },
        ),
        # an instrument without cut-offs or a reliable-change rule: nothing to count
        ("wellbeing", {"wellbeing_band": None, "change": None}, set()),
        *(
            ("assigned", {"assignee_kind": kind}, {Metric.TASKS_ASSIGNED, metric})
            for kind, metric in [
                ("family", Metric.TASKS_INFORMAL_NETWORK),
                ("informal", Metric.TASKS_INFORMAL_NETWORK),
                ("professional", Metric.TASKS_PROFESSIONAL),
                ("agency", Metric.TASKS_PROFESSIONAL),
            ]
        ),
    ],
)
def test_what_each_event_counts_for(kind: str, fields: dict, metrics: set[Metric]) -> None:
    counted = tally(kind, pilot="lille", **fields)
    assert set(counted.metrics) == metrics
    assert (counted.pilot, counted.month) == ("lille", "2025-03")


@pytest.mark.parametrize(
    "ce_type",
    [
        "org.vrac.network.member-added.v1",
        # superseded by their v2 (contracts 1.1): told partners per-child facts
        "org.vrac.intake.consent-changed.v1",
        "org.vrac.screening.screening-completed.v1",
        "org.vrac.screening.questionnaire-submitted.v1",
    ],
)
def test_events_of_other_kinds_are_not_counted(ce_type: str) -> None:
    from vrac_contracts.catalogue import by_type

    spec = by_type(ce_type)
    with pytest.raises(NotCounted):
        tally_of("some-id", spec.model.model_validate(spec.example))


def test_reporting_reads_the_current_public_topics_and_two_internal_ones() -> None:
    from vrac_contracts.catalogue import consumed_by

    counted = {spec.model for spec in consumed_by("reporting")}
    assert counted == set(COUNTED_EVENTS)
    internal = {s.topic for s in consumed_by("reporting") if not s.topic.startswith("vrac.public.")}
    assert internal == {
        "vrac.internal.screening.wellbeing-measured.v1",
        "vrac.internal.network.network-measured.v1",
    }


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        ("2025-03-31T23:59:59Z", "2025-03"),
        ("2025-04-01T00:00:00Z", "2025-04"),
        ("2025-04-01T01:30:00+02:00", "2025-03"),  # 23:30 UTC the day before
        ("2025-03-31T23:30:00-01:00", "2025-04"),  # 00:30 UTC the day after
        ("2024-12-31T23:00:00-02:00", "2025-01"),  # across a year
    ],
)
def test_the_month_is_the_utc_month(moment: str, month: str) -> None:
    assert month_of(datetime.fromisoformat(moment)) == month
    assert tally("opened", at=moment).month == month


def test_counts_below_five_are_suppressed_zero_included() -> None:
    counts = [0, 1, 4, 5, 6, 120]
    shown = [
        month_figures("2025-03", {"cases_opened": n}, Suppression()).values["cases_opened"]
        for n in counts
    ]
    assert shown == ["suppressed", "suppressed", "suppressed", 5, 6, 120]


def test_a_share_is_shown_only_when_both_parts_are() -> None:
    # 4 informal and 1 professional: showing the 0.8 share would give away both counts
    small = month_figures(
        "2025-03",
        {"tasks_assigned": 5, "tasks_informal_network": 4, "tasks_professional": 1},
        Suppression(),
    )
    both = month_figures(
        "2025-03",
        {"tasks_assigned": 13, "tasks_informal_network": 8, "tasks_professional": 5},
        Suppression(),
    )
    assert small.values["informal_network_share"] is None
    assert small.values["professional_share"] is None
    assert small.values["tasks_professional"] == "suppressed"
    assert both.values["informal_network_share"] == 0.62
    assert both.values["professional_share"] == 0.38


def test_a_stricter_threshold_hides_more() -> None:
    figures = month_figures("2025-03", {"cases_opened": 7}, Suppression(10))
    assert figures.values["cases_opened"] == "suppressed"


def test_month_figures_have_every_column_in_order() -> None:
    figures = month_figures("2025-03", {}, Suppression())
    assert list(figures.values) == list(COLUMNS)
    assert len(figures.row()) == len(COLUMNS)


def test_a_pilot_report_lists_months_in_order_within_the_range() -> None:
    buckets = [("2025-05", {"cases_opened": 9}), ("2025-01", {"cases_opened": 6}), ("2025-03", {})]
    report = pilot_report("leiden", "g0", buckets, Suppression(), MonthRange("2025-02", None))
    assert [m.month for m in report.months] == ["2025-03", "2025-05"]
    assert report.months[1].values["cases_opened"] == 9


def test_a_month_range_must_not_run_backwards() -> None:
    with pytest.raises(MonthsOutOfOrder, match="from"):
        MonthRange("2025-05", "2025-01")
    assert "2025-01" in MonthRange("2025-01", "2025-01")
    assert "2025-02" not in MonthRange(None, "2025-01")


def test_the_consortium_report_shows_every_pilot_for_every_month() -> None:
    buckets = [
        ("leiden", "2025-03", {"cases_opened": 5}),
        ("lille", "2025-04", {"cases_opened": 8}),
        ("atlantis", "2025-04", {"cases_opened": 8}),  # not a pilot: never shown
    ]
    report = consortium_report("g0", buckets, Suppression(), MonthRange())
    assert [month for month, _ in report.months] == ["2025-03", "2025-04"]
    march, april = (by_pilot for _, by_pilot in report.months)
    assert list(march) == list(report.pilots) and len(report.pilots) == 6
    assert march["leiden"].values["cases_opened"] == 5
    assert march["lille"].values["cases_opened"] == "suppressed"
    assert april["lille"].values["cases_opened"] == 8
    assert "atlantis" not in april


def test_csv_has_a_header_row_and_one_row_per_pilot_and_month() -> None:
    report = consortium_report(
        "g0", [("leiden", "2025-03", {"cases_opened": 5})], Suppression(), MonthRange()
    )
    rows = list(csv.reader(io.StringIO(consortium_csv(report))))
    assert tuple(rows[0]) == HEADER
    assert len(rows) == 1 + 6
    leiden = dict(zip(rows[0], rows[1], strict=True))
    assert leiden["pilot"] == "leiden" and leiden["cases_opened"] == "5"
    assert leiden["tasks_assigned"] == "suppressed" and leiden["informal_network_share"] == ""
    single = pilot_report("leiden", "g0", [], Suppression(), MonthRange())
    assert list(csv.reader(io.StringIO(pilot_csv(single)))) == [list(HEADER)]


def replayed(replay: ReplayTally) -> list[tuple[str, str, dict[str, int]]]:
    """What the replay's contributions add up to in reports (consenting cases only)."""
    return sorted(
        (p, m, c) for p, m, c in consented_buckets(replay.contributions()) if m != GRANT_MONTH
    )


def test_a_replay_counts_each_event_id_once() -> None:
    replay = ReplayTally(tail=10)
    first, second = tally("opened"), tally("closed")
    where = Position(TOPIC, 0, 0)
    assert replay.add(grant(), where)
    assert replay.add(first, where) and replay.add(second, where)
    assert not replay.add(first, where)
    replay.skip_undecodable()
    assert (replay.read, replay.counted, replay.duplicates, replay.undecodable) == (5, 3, 1, 1)
    assert replayed(replay) == [("leiden", "2025-03", {"cases_closed": 1, "cases_opened": 1})]


def test_a_replay_keeps_the_last_events_of_each_partition_apart() -> None:
    replay = ReplayTally(tail=2)
    replay.add(grant(), Position(TOPIC, 2, 0))
    events = [tally("opened") for _ in range(3)]
    for offset, counted in enumerate(events):
        replay.add(counted, Position(TOPIC, 0, offset))
    other = tally("opened")
    replay.add(other, Position(TOPIC, 1, 0))
    tail = [t for t in replay.tail() if t.metrics == (Metric.CASES_OPENED,)]
    assert {t.event_id for t in tail} == {
        events[1].event_id,
        events[2].event_id,
        other.event_id,
    }
    # the tail is stored one by one; one of its events the live path had counted already
    replay.set_aside(tail, {events[2].event_id})
    assert replayed(replay) == [("leiden", "2025-03", {"cases_opened": 1})]
    assert (replay.counted, replay.duplicates) == (4, 1)


def test_a_generation_covers_what_its_replay_read() -> None:
    generation = Generation("g1", {(TOPIC, 0): 10})
    assert generation.covers(Position(TOPIC, 0, 9))
    assert not generation.covers(Position(TOPIC, 0, 10))
    assert not generation.covers(Position(TOPIC, 1, 0))  # a partition the replay never saw
    assert not generation.covers(None)


def test_a_generation_is_stored_and_read_back_with_its_coverage() -> None:
    generation = Generation("g1", {(TOPIC, 0): 10, (TOPIC, 1): 4})
    again = _generation(_generation_doc(generation))
    assert again.coverage == generation.coverage


def test_live_events_go_to_every_generation_that_has_not_counted_them() -> None:
    active = Generation("g1", {(TOPIC, 0): 10})
    building = Generation("g2", {(TOPIC, 0): 20})
    state = ReadModelState(active, building)
    assert state.targets(Position(TOPIC, 0, 5)) == ()
    assert state.targets(Position(TOPIC, 0, 15)) == (active,)
    assert state.targets(Position(TOPIC, 0, 25)) == (active, building)
    assert ReadModelState(active).targets(None) == (active,)


def test_generation_ids_sort_by_start_time() -> None:
    early = new_generation_id(datetime(2025, 3, 14, 9, 30, tzinfo=UTC), "ffff")
    late = new_generation_id(datetime(2025, 3, 14, 9, 31, tzinfo=UTC), "0000")
    assert early == "g20250314093000ffff" and early < late


def test_a_small_band_hides_every_band_and_leaves_the_total() -> None:
    counts = {
        Metric.WELLBEING_BANDED: 17,
        Metric.WELLBEING_LOW: 2,
        Metric.WELLBEING_MODERATE: 7,
        Metric.WELLBEING_HIGH: 8,
        Metric.WELLBEING_CHANGE_ASSESSED: 10,
        Metric.WELLBEING_IMPROVED: 5,
        Metric.WELLBEING_NO_RELIABLE_CHANGE: 5,
        Metric.WELLBEING_WORSENED: 0,
    }
    seen = month_figures("2025-03", counts, Suppression()).values
    # hiding one more band only would leave two hidden ones adding up to a known sum: 0
    # worsened and 5 improved beside 10 assessed and 5 unchanged would give both away
    assert [seen[m] for m in counts] == [17, *["suppressed"] * 3, 10, *["suppressed"] * 3]
    counts |= {Metric.WELLBEING_WORSENED: 5, Metric.WELLBEING_CHANGE_ASSESSED: 15}
    seen = month_figures("2025-03", counts, Suppression()).values
    assert [seen[m] for m in list(counts)[4:]] == [15, 5, 5, 5]
