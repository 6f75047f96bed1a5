"""The web platform of the browser tests: the five services, the real Keycloak and the web app
in front of them, with a person signing in through Keycloak's own login form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from vrac_testing.browser import PHONE, assert_accessible, sign_in, wait_for
from vrac_testing.web import WebPlatform

pytestmark = pytest.mark.integration


def sign_out_buttons(driver: WebDriver) -> list:
    return driver.find_elements(By.XPATH, "//form[@action='/sign-out']//button")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_sign_in_page_meets_wcag_22_aa(
    web_platform: WebPlatform, open_browser: Callable[..., WebDriver], size: str
) -> None:
    driver = open_browser(PHONE) if size == "phone" else open_browser()
    driver.get(f"{web_platform.url}/sign-in")

    assert driver.find_element(By.TAG_NAME, "h1").text == "Sign in"
    assert_accessible(driver)


def test_a_coach_signs_in_with_their_organisations_account_and_out_again(
    web_platform: WebPlatform, browser: WebDriver
) -> None:
    coach = web_platform.identity.user("coach", "leiden")

    sign_in(browser, web_platform.url, coach, next="/signed-in")

    assert browser.current_url == f"{web_platform.url}/signed-in"
    assert sign_out_buttons(browser), "signed in: the page offers to sign out"
    assert_accessible(browser)

    sign_out_buttons(browser)[0].click()
    wait_for(browser, lambda d: not sign_out_buttons(d), "signed out")
    browser.get(f"{web_platform.url}/signed-in")
    assert browser.current_url == f"{web_platform.url}/sign-in"
