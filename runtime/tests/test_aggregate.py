"""An aggregate records its events with the case's id and pilot, and hands them over once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseOpened
from vrac_contracts.values import Pilot
from vrac_runtime.aggregate import RecordsEvents

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
PILOT = next(iter(Pilot))
CASE = "case_0123456789"


@dataclass
class Thing(RecordsEvents):
    case_id: str
    pilot: Pilot
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)


@dataclass(frozen=True)
class FrozenThing(RecordsEvents):
    case_id: str
    pilot: Pilot
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)


def test_record_fills_the_case_id_pilot_and_time() -> None:
    thing = Thing(CASE, PILOT)
    event = thing.record(CaseOpened, NOW, programme="p", opened_at=NOW)
    assert event == CaseOpened(
        case_id=CASE, pilot=PILOT, occurred_at=NOW, programme="p", opened_at=NOW
    )
    assert thing.events == [event]


def test_pull_events_hands_over_in_order_then_nothing() -> None:
    thing = Thing(CASE, PILOT)
    first = thing.record(CaseOpened, NOW, programme="a", opened_at=NOW)
    second = thing.record(CaseOpened, NOW, programme="b", opened_at=NOW)
    assert thing.pull_events() == [first, second]
    assert thing.pull_events() == []


def test_a_frozen_aggregate_records_and_hands_over_too() -> None:
    thing = FrozenThing(CASE, PILOT)
    event = thing.record(CaseOpened, NOW, programme="p", opened_at=NOW)
    assert thing.pull_events() == [event]
    assert thing.events == []


def test_a_refused_field_records_nothing() -> None:
    thing = Thing(CASE, PILOT)
    with pytest.raises(ValidationError):
        thing.record(CaseOpened, NOW, programme="p", opened_at="not a time")
    assert thing.events == []


def test_events_stay_out_of_repr_and_equality() -> None:
    recorded, fresh = Thing(CASE, PILOT), Thing(CASE, PILOT)
    recorded.record(CaseOpened, NOW, programme="p", opened_at=NOW)
    assert recorded == fresh
    assert "events" not in repr(recorded)
