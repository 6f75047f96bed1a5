"""The child's wellbeing over time as a small server-drawn SVG line chart: one line per
questionnaire and respondent, a point per measurement. The chart is a picture of the table
printed beside it (its text alternative), so nothing is known only from the picture."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36
# line colours with at least 3:1 contrast against white, told apart by marker shape as well
STYLES = (
    ("#0b5cad", "circle"),
    ("#a1261a", "square"),
    ("#1d6b2f", "diamond"),
    ("#6a3d9a", "circle"),
)


@dataclass(frozen=True)
class Point:
    day: str
    occasion: str
    value: int
    band: str | None


@dataclass(frozen=True)
class Series:
    instrument: str
    respondent: str
    points: tuple[Point, ...]
    colour: str = ""
    marker: str = ""


def wellbeing_series(measurements: list[dict[str, Any]]) -> list[Series]:
    """The measurements grouped by instrument and respondent, oldest first."""
    grouped: dict[tuple[str, str], list[Point]] = {}
    for m in sorted(measurements, key=lambda m: m["submitted_at"]):
        point = Point(
            m["submitted_at"][:10], m["occasion"], m["result"]["value"], m["result"]["band"]
        )
        grouped.setdefault((m["instrument"], m["respondent"]), []).append(point)
    return [
        Series(instrument, respondent, tuple(points), *STYLES[n % len(STYLES)])
        for n, ((instrument, respondent), points) in enumerate(sorted(grouped.items()))
    ]


@dataclass(frozen=True)
class Chart:
    """What the template draws: axes' ticks and each series' coordinates."""

    width: int
    height: int
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    lines: list[tuple[Series, list[tuple[float, float]]]]


def chart(series: list[Series]) -> Chart | None:
    days = sorted({p.day for s in series for p in s.points})
    if not days:
        return None
    top = max(10, math.ceil(max(p.value for s in series for p in s.points) / 10) * 10)
    top = max(top, 100) if any(s.instrument == "who-5" for s in series) else top
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: str) -> float:
        n = days.index(day)
        return LEFT + (inner_w / 2 if len(days) == 1 else inner_w * n / (len(days) - 1))

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / top)

    y_ticks = [(y(v), v) for v in range(0, top + 1, max(10, top // 5))]
    x_ticks = [(x(day), day) for day in days]
    lines = [(s, [(x(p.day), y(p.value)) for p in s.points]) for s in series]
    return Chart(WIDTH, HEIGHT, y_ticks, x_ticks, lines)
