"""Reports from the monthly counts, with small cells suppressed so that none can be derived.

Primary suppression: any count below the threshold (5) is hidden, zero included, since
telling zero from one or two apart is what suppression protects.

Complementary suppression: some published cells add up. Every task assigned is counted
either for the informal network or for professionals, so ``tasks_assigned`` is the sum of
the two (likewise every banded questionnaire has one of three bands, and every change
assessed one of three verdicts); with one part hidden and the other parts and the total
shown, the hidden one would follow by subtraction. So wherever a relation has a hidden
cell, all its parts are hidden (the total stays). Every hidden cell,
primary or complementary, carries the same marker (``"suppressed"``): a marker that told
them apart would say that a complementary cell is at least the threshold, which can pin
the primary one down again (0 informal, 5 professional, 5 assigned).

The shares are ratios of the two parts, so a share is shown only when both parts are
(``None`` otherwise: null in JSON, an empty cell in CSV). No totals over months or pilots
are given, and the pilot and consortium reports, JSON and CSV, show the same cells for a
pilot's month, so combining them tells nothing more than each alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vrac_contracts.values import Pilot

from vrac_reporting.domain import network
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
    Metric.WELLBEING_BANDED,
    Metric.WELLBEING_LOW,
    Metric.WELLBEING_MODERATE,
    Metric.WELLBEING_HIGH,
    Metric.WELLBEING_CHANGE_ASSESSED,
    Metric.WELLBEING_IMPROVED,
    Metric.WELLBEING_NO_RELIABLE_CHANGE,
    Metric.WELLBEING_WORSENED,
    *network.COLUMNS,
)


# Published counts that add up: (total, parts). Each is a relation complementary
# suppression keeps closed.
ADDITIVE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Metric.TASKS_ASSIGNED, (Metric.TASKS_INFORMAL_NETWORK, Metric.TASKS_PROFESSIONAL)),
    (
        Metric.WELLBEING_BANDED,
        (Metric.WELLBEING_LOW, Metric.WELLBEING_MODERATE, Metric.WELLBEING_HIGH),
    ),
    (
        Metric.WELLBEING_CHANGE_ASSESSED,
        (
            Metric.WELLBEING_IMPROVED,
            Metric.WELLBEING_NO_RELIABLE_CHANGE,
            Metric.WELLBEING_WORSENED,
        ),
    ),
    network.ADDITIVE_CASES,
)


@dataclass(frozen=True)
class Suppression:
    threshold: int = 5
    marker: str = "suppressed"

    def hidden(self, counts: Mapping[str, int]) -> set[str]:
        """The cells to hide: those below the threshold and, where a relation has a hidden
        cell, every part of it.

        Every part, not only one more: with three parts, two hidden beside a shown total and
        a shown part add up to a known sum, and a sum of 0 gives both away. With all parts
        hidden only their total is known, which any split can make up. The total stays
        (unless it is small itself): a choice between part and total by size would itself
        tell something (with parts of 0 and 5, hiding the total of 5 rather than the part
        of 5 would say the hidden part is 0).
        """
        hidden = {name for name, n in counts.items() if n < self.threshold}
        for total, parts in ADDITIVE:
            if hidden.intersection((total, *parts)):
                hidden.update(parts)
        return hidden

    def share(self, part: int, total: int) -> float:
        return round(part / total, SHARE_DIGITS)


@dataclass(frozen=True)
class MonthFigures:
    """One month of one pilot, as published: every column, small cells suppressed."""

    month: str
    values: Mapping[str, Cell | float | None]

    def row(self) -> list[Cell | float | None]:
        return [self.values[column] for column in COLUMNS]


def month_figures(month: str, raw: Mapping[str, int], suppression: Suppression) -> MonthFigures:
    counts = {str(name): int(raw.get(name, 0)) for name in (*Metric, *network.COUNTED)}
    hidden = suppression.hidden(counts)
    values: dict[str, Cell | float | None] = {
        name: suppression.marker if name in hidden else n for name, n in counts.items()
    }
    informal = counts[Metric.TASKS_INFORMAL_NETWORK]
    professional = counts[Metric.TASKS_PROFESSIONAL]
    shown = not hidden.intersection({Metric.TASKS_INFORMAL_NETWORK, Metric.TASKS_PROFESSIONAL})
    total = informal + professional
    values[INFORMAL_SHARE] = suppression.share(informal, total) if shown else None
    values[PROFESSIONAL_SHARE] = suppression.share(professional, total) if shown else None
    values.update(network.network_ratios(raw, hidden))
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
