"""The pilot lead, signed in through the real identity provider, reads Leiden's report in the
browser: the charts and the table, a small count hidden and said so, and the CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from vrac_testing.browser import assert_accessible, sign_in
from vrac_testing.sinks import WebhookReceiver
from vrac_testing.web import WebPlatform

from demo.scenario import PitCase, wait_for

pytestmark = pytest.mark.integration

# reads a download as the browser fetches it, with the signed-in person's cookie
FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(async r => done({status: r.status, type: r.headers.get("content-type"),
  disposition: r.headers.get("content-disposition"), text: await r.text()}))
  .catch(e => done({status: 0, text: String(e)}));
"""


@pytest.fixture(scope="module")
async def leiden_case(
    web_platform: WebPlatform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """One Leiden case opened with its consents, counted by reporting: a month with one case,
    too few to show."""
    hooks = WebhookReceiver().start()
    out: Path = tmp_path_factory.mktemp("lead")
    async with PitCase(web_platform.platform, web_platform.smtp, hooks, out) as pit:
        case = await pit.intake()
        await pit.consent(case)

        async def counted() -> bool:
            reply = await pit.call("GET", "reporting", "/reports/pilots/leiden", pit.lead)
            return reply.status_code == 200 and bool(reply.json()["months"])

        await wait_for("reporting to count the Leiden case", counted)
        yield case.case_id
    hooks.stop()


def test_the_pilot_lead_reads_the_report_with_a_hidden_cell_and_downloads_the_csv(
    browser: WebDriver, web_platform: WebPlatform, leiden_case: str
) -> None:
    lead = web_platform.identity.user("pilot-lead", "leiden")
    sign_in(browser, web_platform.url, lead, next="/report")

    assert browser.current_url == f"{web_platform.url}/report"
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Pilot report")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart[role='img']")
    assert charts and all(c.find_elements(By.TAG_NAME, "title") for c in charts)
    opened = browser.find_element(
        By.XPATH, "//table//tr[th[normalize-space()='Cases opened']]/td[1]"
    )
    # one case opened this month: below 5, so hidden, and said so in words
    assert opened.text.startswith("hidden") and "suppressed" in opened.get_attribute("class")
    assert "fewer than 5" in opened.get_attribute("textContent")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar-hidden")
    assert "Why some figures are hidden" in browser.find_element(By.ID, "hidden-legend").text
    assert_accessible(browser)

    link = browser.find_element(By.PARTIAL_LINK_TEXT, "Download the report")
    download = browser.execute_async_script(FETCH, link.get_attribute("href"))

    assert download["status"] == 200 and download["type"].startswith("text/csv")
    assert "vrac-report-leiden.csv" in download["disposition"]
    header, first = download["text"].splitlines()[:2]
    assert header.startswith("pilot,month,cases_opened")
    assert first.startswith("leiden,") and ",suppressed," in first


def test_a_coach_who_opens_the_report_is_told_it_is_not_theirs(
    browser: WebDriver, web_platform: WebPlatform
) -> None:
    coach = web_platform.identity.user("coach", "leiden")
    sign_in(browser, web_platform.url, coach, next="/report")

    assert browser.find_element(By.TAG_NAME, "h1").text == "No access"
    assert_accessible(browser)
