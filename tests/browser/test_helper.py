"""An informal helper answers their task from the link in their real task e-mail, without an
account, and the coach sees the answer through network's API."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from vrac_testing.browser import assert_accessible, click_through
from vrac_testing.sinks import WebhookReceiver
from vrac_testing.web import WebPlatform

from demo.scenario import GRANDMOTHER_EMAIL, TASK_NOTE, PitCase, wait_for

pytestmark = pytest.mark.integration


@dataclass
class Assigned:
    pit: PitCase
    task_id: str
    link: str


@pytest.fixture(scope="module")
async def assigned(
    web_platform: WebPlatform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Assigned]:
    """A Leiden case whose coach gave the grandmother a task; her task e-mail's link."""
    hooks = WebhookReceiver().start()
    out: Path = tmp_path_factory.mktemp("helper")
    async with PitCase(web_platform.platform, web_platform.smtp, hooks, out) as pit:
        case = await pit.intake()
        await pit.consent(case)
        network = await pit.network(case)
        due = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()
        task = await pit.assign(
            case, "homework-support", network.members["grandmother"], due, TASK_NOTE
        )
        pattern = re.compile(re.escape(web_platform.url) + r"/task-links/[A-Za-z0-9._~-]+")

        def task_link() -> str | None:
            for mail in web_platform.smtp.to(GRANDMOTHER_EMAIL):
                found = pattern.search(mail.text)
                if found:
                    return found.group(0)
            return None

        link = await wait_for("the grandmother's task e-mail", task_link)
        yield Assigned(pit, task["task_id"], link)
    hooks.stop()


async def test_the_helper_accepts_the_task_from_the_e_mail_and_the_coach_sees_it(
    browser: WebDriver, assigned: Assigned
) -> None:
    browser.get(assigned.link)

    # the grandmother's language in the network is Dutch: the page speaks it
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    facts = browser.find_element(By.CSS_SELECTOR, "dl.task-facts").text
    assert TASK_NOTE in facts
    assert browser.find_element(By.CSS_SELECTOR, "span.status.assigned")
    assert_accessible(browser)

    accept = "//form[input[@name='answer' and @value='accept']]//button"
    click_through(browser, browser.find_element(By.XPATH, accept))

    assert browser.find_element(By.CSS_SELECTOR, "span.status.accepted")
    assert browser.find_element(By.CSS_SELECTOR, ".notice.success")
    assert_accessible(browser)
    task = await assigned.pit.ok("GET", "network", f"/tasks/{assigned.task_id}", assigned.pit.coach)
    assert task["status"] == "accepted"

    browser.get(assigned.link)  # each link answers once

    assert browser.find_elements(By.XPATH, "//form[input[@name='answer']]") == []
    assert browser.find_element(By.TAG_NAME, "h1").text == "Deze link is al gebruikt"
    assert_accessible(browser)
