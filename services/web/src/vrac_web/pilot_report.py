"""The pilot's report as the pilot lead reads it: a table of every column and month, and
bar charts drawn on the server as SVG.

Pure: reporting's JSON in, what the templates draw out. A cell reporting hid (its marker, a
string, or a ratio left null because a count under it is hidden) stays hidden here: never a
0, never a number guessed from the others. Labels are English message ids, translated on
the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

# reporting's columns in words; a column reporting adds later shows under its own name
LABELS: Final = {
    "cases_opened": "Cases opened",
    "cases_closed": "Cases closed",
    "screenings_completed": "Screenings completed",
    "diplomas_issued": "Diplomas issued",
    "questionnaires_submitted": "Questionnaires submitted",
    "tasks_assigned": "Tasks assigned",
    "tasks_accepted": "Tasks accepted",
    "tasks_declined": "Tasks declined",
    "tasks_completed": "Tasks completed",
    "tasks_overdue": "Tasks overdue",
    "tasks_informal_network": "Tasks for the informal network",
    "tasks_professional": "Tasks for professionals",
    "informal_network_share": "Share of tasks for the informal network",
    "professional_share": "Share of tasks for professionals",
    "consents_granted": "Consents granted",
    "consents_withdrawn": "Consents withdrawn",
    "wellbeing_banded": "Wellbeing questionnaires scored in bands",
    "wellbeing_low": "Wellbeing low",
    "wellbeing_moderate": "Wellbeing moderate",
    "wellbeing_high": "Wellbeing high",
    "wellbeing_change_assessed": "Wellbeing changes assessed",
    "wellbeing_improved": "Wellbeing improved",
    "wellbeing_no_reliable_change": "Wellbeing without reliable change",
    "wellbeing_worsened": "Wellbeing worsened",
    "network_cases_measured": "Networks measured",
    "network_mean_size": "Mean network size",
    "network_informal_share": "Share of informal members in networks",
    "network_cases_three_sectors_or_more": "Networks covering three sectors or more",
}
# columns that are fractions (shown as percentages) and means (one decimal)
SHARES: Final = frozenset(
    {"informal_network_share", "professional_share", "network_informal_share"}
)


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    summary: str
    series: tuple[str, ...]


CHARTS: Final = (
    ChartSpec(
        "cases",
        "Cases, month by month",
        "Cases opened and closed in each month.",
        ("cases_opened", "cases_closed"),
    ),
    ChartSpec(
        "tasks",
        "Tasks by the informal network and by professionals",
        "Tasks assigned in each month to family, friends and neighbours, and to professionals.",
        ("tasks_informal_network", "tasks_professional"),
    ),
    ChartSpec(
        "wellbeing",
        "Wellbeing questionnaires by band",
        "Wellbeing questionnaires in each month, by the band of their score.",
        ("wellbeing_low", "wellbeing_moderate", "wellbeing_high"),
    ),
    ChartSpec(
        "change",
        "Change in wellbeing",
        "Follow-up questionnaires in each month, by whether wellbeing changed reliably.",
        ("wellbeing_improved", "wellbeing_no_reliable_change", "wellbeing_worsened"),
    ),
    ChartSpec(
        "network",
        "Networks around the children",
        "Networks measured in each month, and those covering three sectors or more.",
        ("network_cases_measured", "network_cases_three_sectors_or_more"),
    ),
)

# fills with a contrast of 3:1 or more on white; the legend and the table name each series
COLOURS: Final = ("#0b5cad", "#b34700", "#1d6b2f", "#6a3d9a")

WIDTH: Final = 640
HEIGHT: Final = 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
MOST_MONTH_LABELS: Final = 12


@dataclass(frozen=True)
class Cell:
    """One published figure: ``value`` None when reporting hid it."""

    value: float | None
    share: bool = False

    @property
    def hidden(self) -> bool:
        return self.value is None

    @property
    def text(self) -> str:
        if self.value is None:
            return ""
        if self.share:
            return f"{round(self.value * 100)}%"
        if float(self.value).is_integer():
            return str(int(self.value))
        return f"{self.value:.1f}"


def cell(column: str, raw: Any) -> Cell:
    """A cell of reporting's JSON: a number, or hidden (its marker string, or null)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return Cell(None, column in SHARES)
    return Cell(float(raw), column in SHARES)


@dataclass(frozen=True)
class Row:
    column: str
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Report:
    pilot: str
    threshold: int
    months: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def has_hidden(self) -> bool:
        return any(c.hidden for row in self.rows for c in row.cells)

    def row(self, column: str) -> Row | None:
        return next((r for r in self.rows if r.column == column), None)


def report_of(body: Mapping[str, Any]) -> Report:
    """Reporting's ``GET /reports/pilots/{pilot}`` answer as rows of cells."""
    months = [m for m in body.get("months", []) if isinstance(m, Mapping)]
    columns: list[str] = []
    for month in months:
        columns += [k for k in month if k != "month" and k not in columns]
    rows = tuple(
        Row(column, LABELS.get(column, column), tuple(cell(column, m.get(column)) for m in months))
        for column in columns
    )
    return Report(
        pilot=str(body.get("pilot", "")),
        threshold=int(body.get("suppression_threshold", 5)),
        months=tuple(str(m.get("month", "")) for m in months),
        rows=rows,
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    hidden: bool


@dataclass(frozen=True)
class Series:
    column: str
    label: str
    colour: str
    cells: tuple[Cell, ...]
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class MonthLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    summary: str
    months: tuple[str, ...]
    series: tuple[Series, ...]
    ticks: tuple[Tick, ...]
    month_labels: tuple[MonthLabel, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    baseline: float = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT

    @property
    def has_hidden(self) -> bool:
        return any(bar.hidden for s in self.series for bar in s.bars)


def nice_step(top: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most five steps up to ``top``."""
    rough = max(top, 1) / 5
    power = 10 ** math.floor(math.log10(rough))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= rough)


def charts_of(report: Report) -> list[Chart]:
    """A chart for each of ``CHARTS`` whose columns the report has."""
    if not report.months:
        return []
    found = []
    for spec in CHARTS:
        rows = [report.row(column) for column in spec.series]
        if all(rows):
            found.append(_chart(spec, report, [r for r in rows if r is not None]))
    return found


def _chart(spec: ChartSpec, report: Report, rows: Sequence[Row]) -> Chart:
    shown = [c.value for r in rows for c in r.cells if c.value is not None]
    step = nice_step(max([*shown, float(report.threshold)]))
    scale_top = step * math.ceil(max([*shown, float(report.threshold)]) / step)
    plot_height = HEIGHT - BOTTOM - TOP
    group = (WIDTH - LEFT - RIGHT) / len(report.months)
    bar_width = min(40.0, group * 0.8 / len(rows))
    offset = (group - bar_width * len(rows)) / 2
    series = []
    for n, row in enumerate(rows):
        bars = []
        for m, c in enumerate(row.cells):
            x = LEFT + m * group + offset + n * bar_width
            # a hidden cell: the whole height, hatched, so that it reads as "no figure here"
            height = plot_height if c.value is None else plot_height * c.value / scale_top
            bars.append(Bar(x, TOP + plot_height - height, bar_width, height, c.value is None))
        series.append(
            Series(row.column, row.label, COLOURS[n % len(COLOURS)], row.cells, tuple(bars))
        )
    ticks = tuple(
        Tick(TOP + plot_height * (1 - k * step / scale_top), Cell(k * step).text)
        for k in range(round(scale_top / step) + 1)
    )
    every = math.ceil(len(report.months) / MOST_MONTH_LABELS)
    labels = tuple(
        MonthLabel(LEFT + m * group + group / 2, month)
        for m, month in enumerate(report.months)
        if m % every == 0
    )
    return Chart(spec.key, spec.title, spec.summary, report.months, tuple(series), ticks, labels)
