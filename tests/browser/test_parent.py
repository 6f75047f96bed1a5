"""A parent, without an account, opens the link of their e-mail in a browser: they see the
advice and their child's diploma, withdraw a consent, and see its effect."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from vrac_testing.browser import PHONE, assert_accessible, click_through, wait_for
from vrac_testing.polling import eventually
from vrac_testing.sinks import WebhookReceiver
from vrac_testing.web import WebPlatform

from demo.scenario import GUARDIAN_EMAIL, MEMBERS, REACTION_TIMEOUT, Intake, PitCase

pytestmark = pytest.mark.integration


@pytest.fixture
async def pit(web_platform: WebPlatform, tmp_path: Path) -> AsyncIterator[PitCase]:
    hooks = WebhookReceiver().start()  # the case's agency is never written to here
    try:
        async with PitCase(web_platform.platform, web_platform.smtp, hooks, tmp_path) as case:
            yield case
    finally:
        hooks.stop()


async def screened_case(pit: PitCase) -> tuple[Intake, list[dict[str, Any]], str]:
    """A Leiden case with every consent, screened, its diploma made, the grandmother asked
    to help with homework: the case, the screening's advice and the diploma's id."""
    case = await pit.intake()
    await pit.consent(case)
    screening = await pit.screening(case)
    diploma = await pit.diploma(case)

    async def network_knows_the_case() -> bool:
        path = f"/cases/{case.case_id}/plan"
        return (await pit.call("GET", "network", path, pit.coach)).status_code == 200

    await eventually(network_knows_the_case, "network to know the case", REACTION_TIMEOUT)
    grandmother = await pit.ok(
        "POST", "network", f"/cases/{case.case_id}/members", pit.coach, json=MEMBERS["grandmother"]
    )
    await pit.assign(case, "homework-support", grandmother["member_id"], "2031-03-04")
    return case, screening.advice, diploma.diploma_id


async def family_link(web: WebPlatform, case: Intake) -> str:
    """The family's link to ``case`` from the guardian's real e-mail (the advice or the
    diploma's; the tests' guardians share one address)."""
    pattern = re.compile(re.escape(web.url) + r"/family\?link=([A-Za-z0-9._~-]+)")

    def opens_the_case(token: str) -> bool:
        return jwt.decode(token, options={"verify_signature": False})["case_id"] == case.case_id

    def found() -> str | None:
        for mail in web.smtp.to(GUARDIAN_EMAIL):
            for link in pattern.finditer(mail.text):
                if opens_the_case(link.group(1)):
                    return link.group(0)
        return None

    link: str = await eventually(
        found, "the family's link in the guardian's e-mail", REACTION_TIMEOUT
    )
    return link


def text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def withdraw(driver: WebDriver, label: str) -> None:
    """Presses the withdraw button of the consent whose card is headed ``label``."""
    cards = driver.find_elements(By.CSS_SELECTOR, "article.consent")
    [card] = [c for c in cards if c.find_element(By.TAG_NAME, "h2").text == label]
    click_through(driver, card.find_element(By.CSS_SELECTOR, "button.danger"))
    wait_for(driver, lambda d: d.find_elements(By.ID, "confirmation"), "the confirmation")


async def test_a_parent_sees_the_advice_and_diploma_and_withdraws_a_consent(
    web_platform: WebPlatform, pit: PitCase, open_browser: Callable[..., WebDriver]
) -> None:
    case, advice, diploma_id = await screened_case(pit)
    link = await family_link(web_platform, case)
    browser = open_browser()

    browser.get(link)

    # the link opened the family's page, in the family's language, and left the address
    assert browser.current_url == f"{web_platform.url}/family"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    page = text(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "De pagina van Sam"
    for piece in advice:
        if piece["audience"] in ("parents", "child"):
            assert piece["text"] in page
    assert "Oma Aziza" in page and "Hulp bij huiswerk" in page and "4 maart 2031" in page
    pdf = browser.find_element(By.LINK_TEXT, "Het diploma openen (PDF)")
    assert pdf.get_attribute("href") == f"{web_platform.url}/family/diplomas/{diploma_id}.pdf"
    assert browser.find_elements(By.LINK_TEXT, "Het digitale bewijs downloaden")
    assert_accessible(browser)

    click_through(browser, browser.find_element(By.LINK_TEXT, "Uw toestemmingen"))
    card = "Het diploma van uw kind"
    assert_accessible(browser)
    withdraw(browser, card)

    page = text(browser)
    assert "U trok uw toestemming in: Het diploma van uw kind." in page
    [state] = [
        c.find_element(By.CSS_SELECTOR, ".status").text
        for c in browser.find_elements(By.CSS_SELECTOR, "article.consent")
        if c.find_element(By.TAG_NAME, "h2").text == card
    ]
    assert state == "Ingetrokken"
    newest = browser.find_elements(By.CSS_SELECTOR, "#history-title ~ .table-wrap tbody tr")[0]
    assert [cell.text for cell in newest.find_elements(By.TAG_NAME, "td")][1:] == [
        card,
        "Ingetrokken",
        "U",
    ]
    assert_accessible(browser)

    click_through(browser, browser.find_element(By.LINK_TEXT, "Uw kind"))
    page = text(browser)
    assert not browser.find_elements(By.LINK_TEXT, "Het digitale bewijs downloaden")
    assert "Het digitale bewijs wordt niet aangeboden" in page
    assert browser.find_elements(By.LINK_TEXT, "Het diploma openen (PDF)")  # the diploma stays


async def test_the_family_pages_fit_a_phone(
    web_platform: WebPlatform, pit: PitCase, open_browser: Callable[..., WebDriver]
) -> None:
    case, _, _ = await screened_case(pit)
    link = await family_link(web_platform, case)
    phone = open_browser(PHONE)

    phone.get(link)
    click_through(phone, phone.find_element(By.LINK_TEXT, "Uw toestemmingen"))

    assert phone.find_element(By.TAG_NAME, "h1").text == "Uw toestemmingen"
    # nothing wider than the screen: no sideways scrolling to reach a button
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert_accessible(phone)


async def test_a_link_the_coach_revokes_closes_the_open_pages(
    web_platform: WebPlatform, pit: PitCase, browser: WebDriver
) -> None:
    case, _, _ = await screened_case(pit)
    browser.get(await family_link(web_platform, case))
    assert browser.find_element(By.TAG_NAME, "h1").text == "De pagina van Sam"

    links = await pit.ok("GET", "intake", f"/cases/{case.case_id}/family-links", pit.coach)
    for link in links:
        await pit.ok("DELETE", "intake", f"/family-links/{link['link_id']}", pit.coach)
    browser.refresh()

    assert browser.find_element(By.TAG_NAME, "h1").text == "Deze link opent de pagina niet meer"
    assert "this link was revoked" in text(browser)
    assert_accessible(browser)


def test_a_link_that_is_not_the_familys_shows_the_link_page(
    web_platform: WebPlatform, browser: WebDriver
) -> None:
    browser.get(f"{web_platform.url}/family?link=not-a-link")

    assert browser.find_element(By.TAG_NAME, "h1").text == "This link no longer opens the page"
    assert_accessible(browser)
