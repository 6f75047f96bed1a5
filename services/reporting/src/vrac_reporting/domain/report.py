"""Reports from the monthly counts, with small cells suppressed.

Any count below the threshold (5) is shown as ``"<5"``: zero included, since telling zero
from one or two apart is what suppression protects. A share is shown only when the number of
tasks it is computed from reaches the threshold; below it the share is ``None`` (null in
JSON, an empty cell in CSV) and ``tasks_assigned`` next to it reads ``"<5"``. No totals over
months or pilots are given: a total beside suppressed cells would give them away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vrac_contracts.values import Pilot

from vrac_reporting.domain.errors import MonthsOutOfOrder
from vrac_reporting.domain.tally import Metric

Cell = int | str
SHARE_DIGITS = 2

INFORMAL_SHARE = "informal_network_share"
PROFESSIONAL_SHARE = "professional_share"

# Report columns in order; the shares follow the two counts they are computed from.
COLUMNS: tuple[str, ...] = (
    Metric.CASES_OPENED,
    Metric.CASES_CLOSED,
    Metric.SCREENINGS_COMPLETED,
    Metric.DIPLOMAS_ISSUED,
    Metric.QUESTIONNAIRES_SUBMITTED,
    Metric.TASKS_ASSIGNED,
    Metric.TASKS_ACCEPTED,
    Metric.TASKS_DECLINED,
    Metric.TASKS_COMPLETED,
    Metric.TASKS_OVERDUE,
    Metric.TASKS_INFORMAL_NETWORK,
    Metric.TASKS_PROFESSIONAL,
    INFORMAL_SHARE,
    PROFESSIONAL_SHARE,
    Metric.CONSENTS_GRANTED,
    Metric.CONSENTS_WITHDRAWN,
)


@dataclass(frozen=True)
class Suppression:
    threshold: int = 5

    @property
    def marker(self) -> str:
        return f"<{self.threshold}"

    def count(self, n: int) -> Cell:
        return n if n >= self.threshold else self.marker

    def share(self, part: int, total: int) -> float | None:
        if total < self.threshold:
            return None
        return round(part / total, SHARE_DIGITS)


@dataclass(frozen=True)
class MonthFigures:
    """One month of one pilot, as published: every column, small cells suppressed."""

    month: str
    values: Mapping[str, Cell | float | None]

    def row(self) -> list[Cell | float | None]:
        return [self.values[column] for column in COLUMNS]


def month_figures(month: str, raw: Mapping[str, int], suppression: Suppression) -> MonthFigures:
    counts = {str(metric): int(raw.get(metric, 0)) for metric in Metric}
    informal = counts[Metric.TASKS_INFORMAL_NETWORK]
    professional = counts[Metric.TASKS_PROFESSIONAL]
    values: dict[str, Cell | float | None] = {
        name: suppression.count(n) for name, n in counts.items()
    }
    values[INFORMAL_SHARE] = suppression.share(informal, informal + professional)
    values[PROFESSIONAL_SHARE] = suppression.share(professional, informal + professional)
    return MonthFigures(month, {column: values[column] for column in COLUMNS})


@dataclass(frozen=True)
class MonthRange:
    """Inclusive ``YYYY-MM`` bounds; ``None`` leaves a side open."""

    first: str | None = None
    last: str | None = None

    def __post_init__(self) -> None:
        if self.first and self.last and self.first > self.last:
            raise MonthsOutOfOrder

    def __contains__(self, month: object) -> bool:
        if not isinstance(month, str):
            return False
        return (self.first is None or month >= self.first) and (
            self.last is None or month <= self.last
        )


@dataclass(frozen=True)
class PilotReport:
    pilot: str
    generation: str
    suppression: Suppression
    months: Sequence[MonthFigures]


@dataclass(frozen=True)
class ConsortiumReport:
    generation: str
    suppression: Suppression
    pilots: Sequence[str]
    # per month, every pilot's figures side by side
    months: Sequence[tuple[str, Mapping[str, MonthFigures]]]


def pilot_report(
    pilot: str,
    generation: str,
    buckets: Iterable[tuple[str, Mapping[str, int]]],
    suppression: Suppression,
    months: MonthRange,
) -> PilotReport:
    figures = [
        month_figures(month, raw, suppression)
        for month, raw in sorted(buckets, key=lambda item: item[0])
        if month in months
    ]
    return PilotReport(pilot, generation, suppression, figures)


def consortium_report(
    generation: str,
    buckets: Iterable[tuple[str, str, Mapping[str, int]]],
    suppression: Suppression,
    months: MonthRange,
) -> ConsortiumReport:
    pilots = [str(pilot) for pilot in Pilot]
    by_month: dict[str, dict[str, Mapping[str, int]]] = {}
    for pilot, month, raw in buckets:
        if month in months and pilot in pilots:
            by_month.setdefault(month, {})[pilot] = raw
    rows = [
        (month, {p: month_figures(month, by_month[month].get(p, {}), suppression) for p in pilots})
        for month in sorted(by_month)
    ]
    return ConsortiumReport(generation, suppression, pilots, rows)
