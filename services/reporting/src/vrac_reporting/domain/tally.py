"""What one event counts for: a pilot, a UTC month and one or more metrics.

The public topics' current versions are counted (contracts 1.1: the v2 consent, screening
and questionnaire events); the superseded v1 events are published by no one. Two internal
topics are read too: screening's ``wellbeing-measured``, a child's outcome band and change,
which only ever leave reporting as counts under the same suppression of small cells; and
network's ``network-measured``, which counts nothing itself: its tally carries the measure
(``domain.network``).

The same rules serve the live consumer and the replay, so a rebuilt read model gives the
same numbers as the one built event by event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from vrac_contracts import events as ev
from vrac_contracts.consent import ConsentState
from vrac_contracts.events import EventData
from vrac_contracts.values import MemberKind, WellbeingBand, WellbeingChange

from vrac_reporting.domain.consent import reporting_decision
from vrac_reporting.domain.errors import NotCounted
from vrac_reporting.domain.network import Measure, measure_of


class Metric(StrEnum):
    """A monthly count per pilot. The value is the column name in reports."""

    CASES_OPENED = "cases_opened"
    CASES_CLOSED = "cases_closed"
    SCREENINGS_COMPLETED = "screenings_completed"
    DIPLOMAS_ISSUED = "diplomas_issued"
    QUESTIONNAIRES_SUBMITTED = "questionnaires_submitted"
    TASKS_ASSIGNED = "tasks_assigned"
    TASKS_ACCEPTED = "tasks_accepted"
    TASKS_DECLINED = "tasks_declined"
    TASKS_COMPLETED = "tasks_completed"
    TASKS_OVERDUE = "tasks_overdue"
    TASKS_INFORMAL_NETWORK = "tasks_informal_network"
    TASKS_PROFESSIONAL = "tasks_professional"
    CONSENTS_GRANTED = "consents_granted"
    CONSENTS_WITHDRAWN = "consents_withdrawn"
    # questionnaires answered item by item: outcome bands, and change since the baseline
    WELLBEING_BANDED = "wellbeing_banded"
    WELLBEING_LOW = "wellbeing_low"
    WELLBEING_MODERATE = "wellbeing_moderate"
    WELLBEING_HIGH = "wellbeing_high"
    WELLBEING_CHANGE_ASSESSED = "wellbeing_change_assessed"
    WELLBEING_IMPROVED = "wellbeing_improved"
    WELLBEING_NO_RELIABLE_CHANGE = "wellbeing_no_reliable_change"
    WELLBEING_WORSENED = "wellbeing_worsened"


# The informal network is family and friends; the rest are professionals and agencies.
INFORMAL_KINDS: Final = frozenset({MemberKind.FAMILY, MemberKind.INFORMAL})

_ASSIGNED_INFORMAL: Final = (Metric.TASKS_ASSIGNED, Metric.TASKS_INFORMAL_NETWORK)
_ASSIGNED_PROFESSIONAL: Final = (Metric.TASKS_ASSIGNED, Metric.TASKS_PROFESSIONAL)


def _assigned(data: Any) -> tuple[Metric, ...]:
    return _ASSIGNED_INFORMAL if data.assignee_kind in INFORMAL_KINDS else _ASSIGNED_PROFESSIONAL


def _consent(data: Any) -> tuple[Metric, ...]:
    return (Metric.CONSENTS_GRANTED,) if data.granted else (Metric.CONSENTS_WITHDRAWN,)


_BANDS: Final = {
    WellbeingBand.LOW: Metric.WELLBEING_LOW,
    WellbeingBand.MODERATE: Metric.WELLBEING_MODERATE,
    WellbeingBand.HIGH: Metric.WELLBEING_HIGH,
}
_CHANGES: Final = {
    WellbeingChange.IMPROVED: Metric.WELLBEING_IMPROVED,
    WellbeingChange.NO_RELIABLE_CHANGE: Metric.WELLBEING_NO_RELIABLE_CHANGE,
    WellbeingChange.WORSENED: Metric.WELLBEING_WORSENED,
}


def _wellbeing(data: Any) -> tuple[Metric, ...]:
    """A band counts once in the banded total and once in its own column; so does a change
    (none at baseline, nor for an instrument without a reliable-change rule)."""
    metrics: tuple[Metric, ...] = ()
    if data.wellbeing_band is not None:
        metrics += (Metric.WELLBEING_BANDED, _BANDS[data.wellbeing_band])
    if data.change is not None:
        metrics += (Metric.WELLBEING_CHANGE_ASSESSED, _CHANGES[data.change])
    return metrics


def _fixed(*metrics: Metric) -> Callable[[Any], tuple[Metric, ...]]:
    return lambda _: metrics


_RULES: Final[dict[type[EventData], Callable[[Any], tuple[Metric, ...]]]] = {
    ev.CaseOpened: _fixed(Metric.CASES_OPENED),
    ev.CaseClosed: _fixed(Metric.CASES_CLOSED),
    ev.ConsentChangedV2: _consent,
    ev.ScreeningCompletedV2: _fixed(Metric.SCREENINGS_COMPLETED),
    ev.DiplomaIssued: _fixed(Metric.DIPLOMAS_ISSUED),
    ev.QuestionnaireSubmittedV2: _fixed(Metric.QUESTIONNAIRES_SUBMITTED),
    ev.TaskAssigned: _assigned,
    ev.TaskAccepted: _fixed(Metric.TASKS_ACCEPTED),
    ev.TaskDeclinedV2: _fixed(Metric.TASKS_DECLINED),
    ev.TaskCompleted: _fixed(Metric.TASKS_COMPLETED),
    ev.TaskOverdue: _fixed(Metric.TASKS_OVERDUE),
    ev.WellbeingMeasured: _wellbeing,
    ev.NetworkMeasured: _fixed(),  # counts nothing: its measure is kept (domain.network)
}

COUNTED_EVENTS: Final = tuple(_RULES)


def month_of(moment: datetime) -> str:
    """``YYYY-MM`` of the UTC month a moment falls in."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def bucket_key(pilot: str, month: str) -> str:
    return f"{pilot}|{month}"


@dataclass(frozen=True, slots=True)
class Tally:
    """One event's contribution: its id decides whether it was counted already.

    ``case_id`` ties it to the case whose ``reporting`` consent decides whether it shows in
    reports; ``decision`` is that consent when the event itself records a decision on it."""

    event_id: str
    case_id: str
    pilot: str
    month: str
    metrics: tuple[Metric, ...]
    decision: ConsentState | None = None
    measure: Measure | None = None

    @property
    def key(self) -> str:
        return bucket_key(self.pilot, self.month)


def tally_of(event_id: str, data: EventData) -> Tally:
    """The contribution of one event (its ``ce_id`` and data) to the read models."""
    rule = _RULES.get(type(data))
    if rule is None:
        raise NotCounted(type(data).__name__)
    return Tally(
        event_id,
        str(data.case_id),
        str(data.pilot),
        month_of(data.occurred_at),
        rule(data),
        reporting_decision(data),
        measure_of(data),
    )
