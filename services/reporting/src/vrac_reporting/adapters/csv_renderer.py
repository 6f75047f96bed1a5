"""Reports as CSV (RFC 4180): a header row, then one row per pilot and month."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from vrac_reporting.domain.report import COLUMNS, ConsortiumReport, MonthFigures, PilotReport

HEADER: tuple[str, ...] = ("pilot", "month", *COLUMNS)


def _cell(value: object) -> object:
    return "" if value is None else value


def _render(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _row(pilot: str, figures: MonthFigures) -> list[object]:
    return [pilot, figures.month, *figures.row()]


def pilot_csv(report: PilotReport) -> str:
    return _render(_row(report.pilot, figures) for figures in report.months)


def consortium_csv(report: ConsortiumReport) -> str:
    return _render(
        _row(pilot, by_pilot[pilot]) for _, by_pilot in report.months for pilot in report.pilots
    )
