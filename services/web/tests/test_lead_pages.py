"""The pilot lead's report page and its CSV, against a reporting answered in-process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from vrac_web.app import create_app
from vrac_web.i18n import catalogue
from vrac_web.pages import helper, lead, signin
from vrac_web.pilot_report import CHARTS, LABELS, charts_of, nice_step, report_of
from vrac_web.settings import WebSettings

REPORTING = "http://reporting.test"
URLS = {
    "intake": "http://intake.test",
    "screening": "http://screening.test",
    "network": "http://network.test",
    "notifications": "http://notifications.test",
    "reporting": REPORTING,
}


def month(name: str, **cells: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {column: 0 for column in LABELS}
    figures.update(cells)
    return {"month": name, **figures}


REPORT = {
    "pilot": "leiden",
    "generation": "g1",
    "suppression_threshold": 5,
    "months": [
        month(
            "2026-09",
            cases_opened=12,
            cases_closed="suppressed",
            tasks_informal_network=9,
            tasks_professional=7,
            informal_network_share=0.56,
            network_mean_size=4.25,
        ),
        month(
            "2026-10",
            cases_opened=6,
            cases_closed=5,
            tasks_informal_network="suppressed",
            tasks_professional="suppressed",
            informal_network_share=None,
        ),
    ],
}
CSV = "pilot,month,cases_opened\r\nleiden,2026-09,12\r\n"


class Reporting:
    """Reporting as the page sees it: the report of leiden (or of any pilot asked for)."""

    def __init__(self) -> None:
        self.asked: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        found = re.fullmatch(r"/reports/pilots/([a-z-]+)", request.url.path)
        if request.url.host != "reporting.test" or not found:
            return httpx.Response(404, json={"detail": "not found"})
        if request.url.params.get("format") == "csv":
            return httpx.Response(200, text=CSV, headers={"content-type": "text/csv"})
        return httpx.Response(200, json={**REPORT, "pilot": found.group(1)})


def signed_in(fake: Callable[[httpx.Request], httpx.Response], role: str, pilot: str) -> TestClient:
    app = create_app(
        WebSettings(development=True, service_urls=URLS),  # type: ignore[call-arg]
        (signin.router, lead.router, helper.router),
        transport=httpx.MockTransport(fake),
    )
    web = TestClient(app, follow_redirects=False)
    page = web.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = web.post(
        "/sign-in/dev", data={"csrf_token": token.group(1), "role": role, "pilot": pilot}
    )
    assert answer.status_code == 303
    return web


def test_the_pilot_lead_sees_the_report_with_hidden_cells_marked_not_as_zero() -> None:
    reporting = Reporting()
    page = signed_in(reporting, "pilot-lead", "leiden").get("/report")
    assert page.status_code == 200
    assert reporting.asked[0].url.path == "/reports/pilots/leiden"
    assert reporting.asked[0].headers["authorization"].startswith("Bearer ")
    table = page.text.split('class="report-table"')[1]
    row = re.search(r"Cases closed</th>(.*?)</tr>", table, re.S)
    assert row and "hidden" in row.group(1) and ">5<" in row.group(1)
    assert 'class="number">0<' not in row.group(1)
    assert "fewer than 5" in table
    assert "Why some figures are hidden" in page.text
    assert ">56%<" in table and ">4.2<" in table


def test_each_chart_is_an_image_with_a_title_and_a_text_alternative() -> None:
    page = signed_in(Reporting(), "pilot-lead", "leiden").get("/report").text
    charts = re.findall(r'<svg class="chart" role="img".*?</svg>', page, re.S)
    assert len(charts) == len(CHARTS)
    for chart in charts:
        assert "<title id=" in chart and "<desc id=" in chart
    cases = charts[0]
    assert "Cases opened:" in cases and "2026-09 12" in cases
    assert "2026-09 hidden" in cases  # cases closed in September, in words
    assert 'class="bar-hidden"' in cases


def test_the_csv_is_reportings_own() -> None:
    reporting = Reporting()
    answer = signed_in(reporting, "pilot-lead", "leiden").get("/report.csv")
    assert answer.status_code == 200 and answer.text == CSV
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="vrac-report-leiden.csv"' in answer.headers["content-disposition"]
    assert reporting.asked[0].url.params["format"] == "csv"


def test_a_pilot_lead_of_one_pilot_cannot_choose_another() -> None:
    reporting = Reporting()
    page = signed_in(reporting, "pilot-lead", "leiden").get("/report?pilot=lille")
    assert page.status_code == 200 and 'name="pilot"' not in page.text
    assert [r.url.path for r in reporting.asked] == ["/reports/pilots/leiden"]


def test_a_token_for_every_pilot_chooses_the_pilot() -> None:
    reporting = Reporting()
    web = signed_in(reporting, "pilot-lead", "*")
    page = web.get("/report?pilot=lille")
    assert page.status_code == 200 and '<option value="lille" selected>' in page.text
    assert reporting.asked[-1].url.path == "/reports/pilots/lille"
    assert web.get("/report.csv?pilot=lille").status_code == 200
    assert reporting.asked[-1].url.path == "/reports/pilots/lille"
    refused = web.get("/report?pilot=atlantis")
    assert refused.status_code == 422 and "Unknown pilot" in refused.text


def test_a_coach_has_no_report_page_and_an_unsigned_visitor_signs_in() -> None:
    coach = signed_in(Reporting(), "coach", "leiden").get("/report")
    assert coach.status_code == 403 and "No access" in coach.text
    app = create_app(
        WebSettings(development=True, service_urls=URLS),  # type: ignore[call-arg]
        (signin.router, lead.router),
        transport=httpx.MockTransport(Reporting()),
    )
    visitor = TestClient(app, follow_redirects=False).get("/report")
    assert visitor.status_code == 303 and visitor.headers["location"] == "/sign-in?next=/report"


def test_reporting_away_is_a_page_not_a_trace() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    page = signed_in(away, "pilot-lead", "leiden").get("/report")
    assert page.status_code == 503 and "Temporarily unavailable" in page.text


def test_an_empty_report_says_so() -> None:
    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**REPORT, "months": []})

    page = signed_in(empty, "pilot-lead", "leiden").get("/report")
    assert "No figures yet" in page.text and 'role="img"' not in page.text


def test_a_hidden_cell_is_drawn_as_a_full_hatched_gap_and_shown_cells_to_scale() -> None:
    report = report_of(REPORT)
    cases = charts_of(report)[0]
    opened, closed = cases.series
    assert not opened.bars[0].hidden and closed.bars[0].hidden
    assert closed.bars[0].height == cases.baseline - cases.top
    # 12 opened in September stands twice as high as 6 in October
    assert opened.bars[0].height == pytest.approx(2 * opened.bars[1].height)
    assert nice_step(12) == 5 and nice_step(3) == 1 and nice_step(170) == 50


def test_a_column_reporting_adds_later_still_shows_in_the_table() -> None:
    body = json.loads(json.dumps(REPORT))
    body["months"][0]["new_figure"] = 7
    rows = {row.column: row for row in report_of(body).rows}
    assert rows["new_figure"].label == "new_figure" and rows["new_figure"].cells[0].text == "7"
    assert rows["new_figure"].cells[1].hidden


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_label_of_the_report_is_translated(language: str) -> None:
    texts = [*LABELS.values(), *(c.title for c in CHARTS), *(c.summary for c in CHARTS)]
    missing = [text for text in texts if language not in catalogue().get(text, {})]
    assert not missing
