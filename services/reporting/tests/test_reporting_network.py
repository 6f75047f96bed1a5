"""The network figures: each case's newest measure of a month, summed per pilot, suppressed
like every other figure, the same live and after a rebuild."""

from __future__ import annotations

from typing import Any

from vrac_contracts.envelope import Envelope
from vrac_contracts.ids import new_id
from vrac_reporting.domain.consent import Contribution, consented_buckets
from vrac_reporting.domain.generations import Position
from vrac_reporting.domain.network import (
    CASES_MEASURED,
    CASES_WIDE,
    INFORMAL_SHARE,
    MEAN_SIZE,
    MEMBERS,
)
from vrac_reporting.domain.replay import ReplayTally
from vrac_reporting.domain.report import COLUMNS, Suppression, month_figures
from vrac_reporting.domain.tally import tally_of

from services.reporting.tests.fakes import contribution_of
from services.reporting.tests.reporting_testkit import event, reporting_consent

MARCH = "2025-03"
ALL_SECTORS = ["family", "friends-and-neighbours", "school", "professionals"]


def measured(
    case_id: str, size: int, informal: int, sectors: list[str], at: str = "2025-03-14T09:30:00Z"
) -> Envelope[Any]:
    return event(
        "measured",
        case_id=case_id,
        at=at,
        size=size,
        informal_members=informal,
        sectors_covered=sectors,
    )


def live(envelopes: list[Envelope[Any]]) -> list[Contribution]:
    """What the live path stores: one contribution per distinct event id."""
    seen: dict[str, Contribution] = {}
    for envelope in envelopes:
        t = tally_of(envelope.id, envelope.data)
        seen.setdefault(t.event_id, contribution_of(t))
    return list(seen.values())


def raw(contributions: list[Contribution]) -> dict[str, int]:
    """The sums of March, before suppression."""
    (bucket,) = [b for b in consented_buckets(contributions) if b[1] == MARCH]
    return dict(bucket[2])


def figures(contributions: list[Contribution]) -> dict[str, object]:
    return dict(month_figures(MARCH, raw(contributions), Suppression()).values)


def consenting(case_id: str) -> Envelope[Any]:
    return reporting_consent(case_id)


def test_a_measure_counts_nothing_itself_but_carries_counts_and_codes_only() -> None:
    case = new_id("case")
    t = tally_of("e1", measured(case, 4, 3, ["family", "school"]).data)
    assert t.metrics == ()
    assert t.measure is not None
    assert (t.measure.size, t.measure.informal, t.measure.sectors) == (4, 3, 2)
    assert t.month == MARCH


def test_the_newest_measure_of_a_month_counts_once_whatever_the_order() -> None:
    case = new_id("case")
    older = measured(case, 2, 2, ["family"], at="2025-03-02T10:00:00Z")
    newer = measured(case, 5, 3, ALL_SECTORS[:3], at="2025-03-20T10:00:00Z")
    others = [new_id("case") for _ in range(5)]
    rest = [measured(c, 5, 1, ALL_SECTORS) for c in others]
    consents = [consenting(c) for c in (case, *others)]
    in_order = raw(live([*consents, older, newer, *rest]))
    reversed_twice = raw(live([*consents, newer, older, newer, *rest, older]))
    assert in_order == reversed_twice
    assert in_order[CASES_MEASURED] == 6
    assert in_order[CASES_WIDE] == 6  # the newest measure of the first case covers 3 sectors
    assert in_order[MEMBERS] == 5 + 5 * 5


def test_figures_of_a_month_with_enough_cases_either_way() -> None:
    wide = [new_id("case") for _ in range(5)]
    narrow = [new_id("case") for _ in range(5)]
    events = [consenting(c) for c in (*wide, *narrow)]
    events += [measured(c, 6, 3, ALL_SECTORS) for c in wide]
    events += [measured(c, 2, 2, ["family"]) for c in narrow]
    seen = figures(live(events))
    assert seen[CASES_MEASURED] == 10
    assert seen[CASES_WIDE] == 5
    assert seen[MEAN_SIZE] == 4.0  # (5 * 6 + 5 * 2) / 10
    assert seen[INFORMAL_SHARE] == 0.62  # 25 informal of 40 members
    assert [c for c in COLUMNS if c.startswith("network_")] == [
        CASES_MEASURED,
        MEAN_SIZE,
        INFORMAL_SHARE,
        CASES_WIDE,
    ]


def test_small_network_counts_are_suppressed_with_their_complement() -> None:
    # 7 cases measured, 6 cover three sectors: the 1 that does not would follow by subtraction
    cases = [new_id("case") for _ in range(7)]
    events = [consenting(c) for c in cases]
    events += [measured(c, 4, 2, ALL_SECTORS) for c in cases[:6]]
    events.append(measured(cases[6], 1, 1, ["family"]))
    seen = figures(live(events))
    assert seen[CASES_MEASURED] == 7
    assert seen[CASES_WIDE] == "suppressed"
    assert seen[MEAN_SIZE] is None and seen[INFORMAL_SHARE] is None
    # fewer than five cases measured: everything of the network hidden
    few = [consenting(c) for c in cases[:4]] + [measured(c, 3, 1, ALL_SECTORS) for c in cases[:4]]
    seen = figures(live(few))
    assert seen[CASES_MEASURED] == "suppressed" and seen[CASES_WIDE] == "suppressed"
    assert seen[MEAN_SIZE] is None


def test_a_case_without_reporting_consent_is_not_measured() -> None:
    granted = [new_id("case") for _ in range(5)]
    withdrawn = new_id("case")
    events = [consenting(c) for c in granted] + [reporting_consent(withdrawn, granted=False)]
    events += [measured(c, 3, 1, ALL_SECTORS[:3]) for c in (*granted, withdrawn)]
    assert raw(live(events))[CASES_MEASURED] == 5


def test_a_replay_keeps_the_same_newest_measure_as_the_live_path() -> None:
    cases = [new_id("case") for _ in range(10)]
    older = [measured(c, 1, 1, ["family"], at="2025-03-01T08:00:00Z") for c in cases]
    newer = [
        measured(c, 3 + i, 2, ALL_SECTORS[: 1 + i % 4], at="2025-03-09T08:00:00Z")
        for i, c in enumerate(cases)
    ]
    opened = [event("opened", case_id=c) for c in cases]
    consents = [consenting(c) for c in cases]
    expected = raw(live([*consents, *older, *newer, *opened]))
    assert expected[CASES_MEASURED] == 10
    assert expected[MEMBERS] == sum(range(3, 13))
    # the newest measures read first or last, the last events also stored one by one
    for events in ([*consents, *newer, *opened, *older], [*consents, *older, *opened, *newer]):
        for tail in (0, 4):
            replay = ReplayTally(tail)
            for offset, envelope in enumerate(events):
                replay.add(tally_of(envelope.id, envelope.data), Position("t", 0, offset))
            kept = replay.tail()
            replay.set_aside(kept, set())
            stored = replay.contributions() + [contribution_of(t) for t in kept]
            assert raw(stored) == expected
