"""Wellbeing measured from item responses, and its change since the child's baseline.

A measurement is one questionnaire filled in at a measurement occasion (baseline, follow-up,
end) and scored by its instrument's plug-in. Change is followed per instrument and
respondent (a parent's SDQ is not compared with a teacher's): from the first baseline to
the latest follow-up or end after it, judged by the instrument's reliable-change rule where
it has one. Only the instrument, respondent and occasion leave on a public topic; the band
and the change go to reporting on an internal one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from vrac_contracts.events.base import EventData
from vrac_contracts.events.screening import WellbeingMeasured
from vrac_contracts.values import (
    ConsentPurpose,
    Instrument,
    Occasion,
    Pilot,
    Respondent,
    WellbeingChange,
)

from vrac_screening.domain.case import Case
from vrac_screening.domain.instruments import PLUGINS, Plugin, Scored
from vrac_screening.domain.questionnaire import FilledIn


@dataclass(frozen=True)
class Measurement(FilledIn):
    questionnaire_id: str
    case_id: str
    pilot: Pilot
    instrument: Instrument
    respondent: Respondent
    occasion: Occasion
    responses: Mapping[str, int]
    scored: Scored
    submitted_at: dt.datetime
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @property
    def plugin(self) -> Plugin:
        return PLUGINS[self.instrument]

    def record_measured(self, change: WellbeingChange | None) -> None:
        self.record_submitted()
        # the result is a fact about one child: internal, for reporting's suppressed figures
        self.record(
            WellbeingMeasured,
            self.submitted_at,
            questionnaire_id=self.questionnaire_id,
            instrument=self.instrument,
            respondent=self.respondent,
            occasion=self.occasion,
            wellbeing_band=self.scored.band,
            change=change,
        )


@dataclass(frozen=True)
class Progress:
    """Change of one instrument and respondent: baseline to the latest measurement after it."""

    instrument: Instrument
    respondent: Respondent
    baseline: Measurement | None
    latest: Measurement | None

    @property
    def plugin(self) -> Plugin:
        return PLUGINS[self.instrument]

    @property
    def difference(self) -> int | None:
        if self.baseline is None or self.latest is None:
            return None
        return self.latest.scored.value - self.baseline.scored.value

    @property
    def change(self) -> WellbeingChange | None:
        if self.baseline is None or self.latest is None:
            return None
        return self.latest.plugin.change(self.baseline.scored, self.latest.scored)


def progress(measurements: Iterable[Measurement]) -> list[Progress]:
    """Per instrument and respondent, in the order each was first measured. The first
    baseline counts; the latest is the newest follow-up or end after it."""
    groups: dict[tuple[Instrument, Respondent], list[Measurement]] = {}
    for m in sorted(measurements, key=lambda m: m.submitted_at):
        groups.setdefault((m.instrument, m.respondent), []).append(m)
    return [
        _progress(instrument, respondent, group)
        for (instrument, respondent), group in groups.items()
    ]


def _progress(
    instrument: Instrument, respondent: Respondent, group: Sequence[Measurement]
) -> Progress:
    baseline = next((m for m in group if m.occasion is Occasion.BASELINE), None)
    later = [
        m
        for m in group
        if m.occasion is not Occasion.BASELINE
        and (baseline is None or m.submitted_at >= baseline.submitted_at)
    ]
    return Progress(instrument, respondent, baseline, later[-1] if later else None)


def measure(
    case: Case,
    plugin: Plugin,
    questionnaire_id: str,
    respondent: Respondent,
    occasion: Occasion,
    responses: Mapping[str, int],
    earlier: Iterable[Measurement],
    now: dt.datetime,
) -> Measurement:
    """Score the responses (422 naming the item that is wrong); refuse without
    questionnaires consent. The measurement records its events, the change since the
    baseline of the same instrument and respondent among them."""
    case.require(ConsentPurpose.QUESTIONNAIRES)
    measurement = Measurement(
        questionnaire_id=questionnaire_id,
        case_id=case.case_id,
        pilot=case.pilot,
        instrument=plugin.instrument,
        respondent=respondent,
        occasion=occasion,
        responses=dict(responses),
        scored=plugin.score(responses, respondent),
        submitted_at=now,
    )
    mine = [m for m in earlier if (m.instrument, m.respondent) == (plugin.instrument, respondent)]
    (now_progress,) = progress([*mine, measurement])
    change = now_progress.change if now_progress.latest is measurement else None
    measurement.record_measured(change)
    return measurement


def rescored(
    questionnaire_id: str,
    case_id: str,
    pilot: Pilot,
    instrument: Instrument,
    respondent: Respondent,
    occasion: Occasion,
    responses: Mapping[str, int],
    submitted_at: dt.datetime,
) -> Measurement:
    """A stored measurement, scored again from its responses by its plug-in (the scoring
    is code: a plug-in switched off later still reads what was recorded)."""
    return Measurement(
        questionnaire_id=questionnaire_id,
        case_id=case_id,
        pilot=pilot,
        instrument=instrument,
        respondent=respondent,
        occasion=occasion,
        responses=dict(responses),
        scored=PLUGINS[instrument].score(responses, respondent),
        submitted_at=submitted_at,
    )
