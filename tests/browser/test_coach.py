"""A coach's journey in a real browser: signing in through Keycloak, registering a family,
recording its consents, entering the screening, adding a grandmother to the network and
giving her a task; every page checked against WCAG 2.2 AA on the way."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from vrac_testing.browser import PHONE, assert_accessible, click_through, sign_in, wait_for
from vrac_testing.identity import IdentityProvider
from vrac_testing.tokens import bearer
from vrac_testing.web import WebPlatform

pytestmark = pytest.mark.integration
PAGE_LANGUAGE = "return document.documentElement.lang"  # asked afresh, whatever page is shown


def fill(driver: WebDriver, field_id: str, value: str) -> None:
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def choose(driver: WebDriver, field_id: str, visible_text: str) -> None:
    Select(driver.find_element(By.ID, field_id)).select_by_visible_text(visible_text)


def submit(driver: WebDriver, button_text: str) -> None:
    click_through(
        driver, driver.find_element(By.XPATH, f"//button[normalize-space()='{button_text}']")
    )


def section_text(driver: WebDriver, section_id: str) -> str:
    return str(driver.find_element(By.ID, section_id).text)


def reload_until(driver: WebDriver, section_id: str, expected: str) -> None:
    """The case page again until ``expected`` shows in a part of it: the services learn of
    a new case, consent or screening from each other's events, a moment later."""

    def shown(d: WebDriver) -> bool:
        if expected in section_text(d, section_id):
            return True
        time.sleep(0.5)
        d.refresh()
        return False

    wait_for(driver, shown, f"{expected!r} in #{section_id}")


def register_family(browser: WebDriver, web: WebPlatform) -> str:
    click_through(browser, browser.find_element(By.LINK_TEXT, "Register a family"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Register a family"
    assert_accessible(browser)
    fill(browser, "child_first_name", "Noor")
    fill(browser, "birth_year", "2015")
    fill(browser, "school_name", "De Regenboog")
    choose(browser, "language", "English")
    fill(browser, "guardians-0-name", "Hanna Visser")
    fill(browser, "guardians-0-email", "hanna@example.org")
    submit(browser, "Register")
    wait_for(browser, lambda d: "/cases/case_" in d.current_url, "the new case's page")
    assert "The family is registered" in browser.page_source
    return str(re.search(r"/cases/(case_[0-9a-f]+)", browser.current_url).group(1))  # type: ignore[union-attr]


def record_consent(browser: WebDriver, purpose: str) -> None:
    choose(browser, "consent-purpose", purpose)
    browser.find_element(By.ID, "decision-grant").click()
    choose(browser, "consent-recorded_by", "Hanna Visser")
    submit(browser, "Record the decision")
    wait_for(browser, lambda d: "done=consent" in d.current_url, "the consent recorded")


def test_a_coach_registers_a_family_and_assigns_the_grandmother_a_task(
    browser: WebDriver, web_platform: WebPlatform, keycloak: IdentityProvider
) -> None:
    sign_in(browser, web_platform.url, keycloak.user("coach", "leiden"), next="/cases")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Cases of Leiden"
    assert_accessible(browser)

    case_id = register_family(browser, web_platform)
    assert_accessible(browser)
    for purpose in ("screening", "diploma"):
        record_consent(browser, purpose)
    history = section_text(browser, "consents")
    assert history.count("granted") >= 2 and "Hanna Visser" in history

    click_through(browser, browser.find_element(By.LINK_TEXT, "Enter a screening"))
    assert_accessible(browser)
    choose(browser, "kind-creativity", "percentile")
    fill(browser, "score-creativity", "92")
    choose(browser, "kind-maths", "standard-score")
    fill(browser, "score-maths", "74")
    submit(browser, "Record the screening")
    wait_for(browser, lambda d: "done=screening" in d.current_url, "the screening recorded")
    strengths = section_text(browser, "screening")
    assert "creativity" in strengths and "maths" in strengths
    reload_until(browser, "diploma", "The diploma as PDF")

    reload_until(browser, "network", "Add a member")
    click_through(browser, browser.find_element(By.LINK_TEXT, "Add a member"))
    assert_accessible(browser)
    fill(browser, "display_name", "Oma Riet")
    fill(browser, "relationship", "grandmother")
    choose(browser, "kind", "family")
    choose(browser, "role", "supporter")
    choose(browser, "channel", "email")
    fill(browser, "email", "riet@example.org")
    submit(browser, "Save")
    wait_for(browser, lambda d: "done=member" in d.current_url, "the member added")
    assert "Oma Riet" in section_text(browser, "network")

    choose(browser, "task-category", "homework-support")
    choose(browser, "task-assignee_id", "Oma Riet")
    browser.find_element(By.ID, "task-due_date").send_keys("12202026")
    fill(browser, "task-description", "Tuesdays after school")
    submit(browser, "Assign")
    wait_for(browser, lambda d: "done=task" in d.current_url, "the task assigned")
    board = section_text(browser, "tasks")
    assert "homework-support" in board and "Oma Riet" in board and "assigned" in board
    assert_accessible(browser)

    # the board is network's own record: the task is there, assigned to the grandmother
    tasks = httpx.get(
        f"{web_platform.platform.url('network')}/cases/{case_id}/tasks",
        headers=bearer("coach", "leiden", "coach-check"),
        timeout=30,
    ).json()
    assert [(t["category"], t["status"]) for t in tasks] == [("homework-support", "assigned")]


def test_the_case_list_follows_the_search_as_the_coach_types(
    browser: WebDriver, web_platform: WebPlatform, keycloak: IdentityProvider
) -> None:
    sign_in(browser, web_platform.url, keycloak.user("coach", "leiden"), next="/cases")
    case_id = register_family(browser, web_platform)
    browser.get(f"{web_platform.url}/cases")
    search = browser.find_element(By.ID, "case-search")
    search.send_keys("zzz-no-such-child")  # no button pressed: htmx asks as the coach types

    def rows(d: WebDriver) -> list[str]:
        return [r.text for r in d.find_elements(By.CSS_SELECTOR, "#case-results tbody tr")]

    wait_for(browser, lambda d: rows(d) == ["No case matches."], "the list emptied")
    search.clear()
    search.send_keys("Noo")
    wait_for(browser, lambda d: any(r.startswith("Noor") for r in rows(d)), "Noor listed")
    assert "q=Noo" in browser.current_url  # the address keeps the search, as the button would
    search.clear()
    search.send_keys(case_id)

    def caption(d: WebDriver) -> str:
        return str(d.find_element(By.CSS_SELECTOR, "#case-results caption").text)

    wait_for(browser, lambda d: caption(d) == "1 case", "one case found by its number")
    assert_accessible(browser)


def test_a_refused_form_says_what_is_wrong_beside_the_field(
    browser: WebDriver, web_platform: WebPlatform, keycloak: IdentityProvider
) -> None:
    sign_in(browser, web_platform.url, keycloak.user("coach", "leiden"), next="/cases/new")
    fill(browser, "child_first_name", "Noor")
    fill(browser, "birth_year", "1890")
    fill(browser, "guardians-0-name", "Hanna Visser")
    fill(browser, "guardians-0-email", "hanna@example.org")
    submit(browser, "Register")
    error = browser.find_element(By.ID, "birth_year-error").text
    assert error, "the year of birth's problem is named beside it"
    field = browser.find_element(By.ID, "birth_year")
    assert field.get_attribute("aria-invalid") == "true"
    assert "birth_year-error" in (field.get_attribute("aria-describedby") or "")
    assert_accessible(browser)


def test_the_cases_page_reads_in_dutch_on_a_phone(
    open_browser: object, web_platform: WebPlatform, keycloak: IdentityProvider
) -> None:
    phone = open_browser(PHONE)  # type: ignore[operator]
    sign_in(phone, web_platform.url, keycloak.user("coach", "leiden"), next="/cases")
    register_family(phone, web_platform)  # at least one case number in the list
    phone.get(f"{web_platform.url}/cases")
    choose(phone, "lang-choice", "Nederlands")
    click_through(phone, phone.find_element(By.XPATH, "//form[@action='/language']//button"))
    wait_for(phone, lambda d: d.execute_script(PAGE_LANGUAGE) == "nl", "the page in Dutch")
    assert phone.find_element(By.TAG_NAME, "h1").text == "Casussen van Leiden"
    # the list fits the screen: a long case number wraps instead of pushing the table sideways
    cases = phone.find_element(By.ID, "case-results")
    assert cases.find_elements(By.CSS_SELECTOR, "td.identifier")
    assert phone.execute_script(
        "return arguments[0].scrollWidth <= arguments[0].clientWidth", cases
    )
    assert_accessible(phone)


def test_a_pilot_lead_cannot_open_a_coach_s_pages(
    browser: WebDriver, web_platform: WebPlatform, keycloak: IdentityProvider
) -> None:
    sign_in(browser, web_platform.url, keycloak.user("pilot-lead", "leiden"), next="/cases")
    assert browser.find_element(By.TAG_NAME, "h1").text == "No access"
    assert "Traceback" not in browser.page_source
    assert_accessible(browser)
