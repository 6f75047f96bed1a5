"""Browser tests' kit: headless Chromium, accessibility checks, and what a failure leaves.

- ``chromium(size)``: Debian's ``chromium`` driven by Debian's ``chromedriver`` (Selenium),
  headless, at a desktop's window size or a phone's screen (``PHONE``). Both come from
  ``make install`` (``deploy/local/browser-tools.sh``); nothing is downloaded here.
- ``assert_accessible(driver)``: runs axe-core, installed from ``tests/browser/package-lock.json``
  into ``tests/browser/node_modules``, in the page, against WCAG 2.2 AA (and the A and AA rules
  of 2.0 and 2.1 it builds on); fails listing every violation and the elements that have it.
- The pytest side (``tests/browser/conftest.py`` imports it): the ``open_browser`` factory and
  the ``browser`` fixture, closed after the test; when a test fails, every browser it opened
  leaves a screenshot and its page's HTML under ``.state/browser/failures/``, named by test, and
  the failure report says where.
- ``click_through(driver, element)``: a click that opens another page, returning once it is
  there.
- ``sign_in(driver, web_url, user)``: a person signs in through the identity provider's real
  login form (Keycloak's), as they would.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from vrac_testing.identity import LocalUser
from vrac_testing.infrastructure import repo_root
from vrac_testing.web import WebPlatform

DESKTOP: Final = (1280, 900)
PHONE: Final = (390, 844)
PHONE_WIDEST: Final = 600  # narrower sizes are phones' screens
# WCAG 2.2 AA, with the A and AA rules of 2.0 and 2.1 that it includes
WCAG_TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
# how long a page may take to get where a step expects it (a wait, never an assertion)
PAGE_SECONDS: Final = 30.0

_DRIVERS = pytest.StashKey[list[WebDriver]]()


# --- the browser -------------------------------------------------------------------------


def _installed(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make install` (Debian's {package})")
    return path


def chromium(size: tuple[int, int] = DESKTOP) -> WebDriver:
    """A headless Chromium session at ``size`` (width, height in CSS pixels); quit it after."""
    options = Options()
    options.binary_location = _installed("chromium", "chromium")
    width, height = size
    if width < PHONE_WIDEST:
        # a window is never narrower than 500 pixels: emulate the phone's screen instead
        metrics = {"width": width, "height": height, "pixelRatio": 3.0, "mobile": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    for argument in (
        "--headless=new",
        f"--window-size={max(width, PHONE_WIDEST)},{height}",
        "--no-sandbox",  # the tests run as root on CI, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--lang=en",
    ):
        options.add_argument(argument)
    # with both paths given, Selenium looks nothing up and downloads nothing
    service = Service(executable_path=_installed("chromedriver", "chromium-driver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PAGE_SECONDS)
    return driver


# --- accessibility -----------------------------------------------------------------------


def axe_source() -> str:
    path = repo_root() / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():
        raise RuntimeError("axe-core is not installed in tests/browser: run `make install`")
    return path.read_text(encoding="utf-8")


_RUN_AXE: Final = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(result => done({violations: result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.map(t => [].concat(t).join(" >>> ")).join(" | ")),
  }))}))
  .catch(error => done({error: String(error)}));
"""


def accessibility_violations(
    driver: WebDriver, tags: tuple[str, ...] = WCAG_TAGS
) -> list[dict[str, Any]]:
    """axe-core's violations of the current page: rule ``id``, ``impact``, ``help`` and the
    failing ``nodes`` (their CSS selectors)."""
    driver.execute_script(axe_source())
    driver.set_script_timeout(PAGE_SECONDS)
    outcome: dict[str, Any] = driver.execute_async_script(_RUN_AXE, list(tags))
    if "error" in outcome:
        raise RuntimeError(f"axe-core could not check {driver.current_url}: {outcome['error']}")
    violations: list[dict[str, Any]] = outcome["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)


def assert_accessible(driver: WebDriver, tags: tuple[str, ...] = WCAG_TAGS) -> None:
    """Fails when axe-core finds a violation of ``tags`` (WCAG 2.2 AA) on the current page."""
    violations = accessibility_violations(driver, tags)
    if violations:
        raise AssertionError(
            f"{len(violations)} accessibility violation(s) on {driver.current_url}:\n"
            + describe(violations)
        )


# --- what a failure leaves -----------------------------------------------------------------


def failures_folder() -> Path:
    return repo_root() / ".state" / "browser" / "failures"


def failure_name(nodeid: str) -> str:
    """A file name for a test: ``tests/browser/test_x.py::test_y[a]`` ->
    ``tests_browser_test_x.py__test_y_a``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.replace("::", "__")).strip("_")


def keep_failure(driver: WebDriver, name: str) -> list[Path]:
    """The screenshot and the HTML of the page ``driver`` shows, as ``<name>.png`` and
    ``<name>.html`` under the failures folder; returns their paths."""
    folder = failures_folder()
    folder.mkdir(parents=True, exist_ok=True)
    screenshot, page = folder / f"{name}.png", folder / f"{name}.html"
    driver.save_screenshot(str(screenshot))
    page.write_text(driver.page_source, encoding="utf-8")
    return [screenshot, page]


def keep_failures(item: pytest.Item, report: pytest.TestReport) -> None:
    """On a failed setup or call, what each browser of the test shows, and where it went."""
    if not report.failed or report.when == "teardown":
        return
    drivers = item.stash.get(_DRIVERS, [])
    kept: list[str] = []
    for number, driver in enumerate(drivers, start=1):
        name = failure_name(item.nodeid) + (f"-{number}" if len(drivers) > 1 else "")
        try:
            kept += [f"{path} ({driver.current_url})" for path in keep_failure(driver, name)]
        except Exception as error:  # a crashed browser must not hide the test's own failure
            kept.append(f"browser {number}: nothing kept ({type(error).__name__}: {error})")
    funcargs = getattr(item, "funcargs", {})
    kept += [
        f"logs of the services and the web app: {value.platform.logs}"
        for value in funcargs.values()
        if isinstance(value, WebPlatform)
    ]
    if kept:
        report.sections.append(("browser failure: screenshot and page kept", "\n".join(kept)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    keep_failures(item, outcome.get_result())


@pytest.fixture
def open_browser(request: pytest.FixtureRequest) -> Iterator[Callable[..., WebDriver]]:
    """``open_browser()`` (desktop) or ``open_browser(PHONE)``: a new headless Chromium, kept
    on failure and quit after the test."""
    drivers = request.node.stash.setdefault(_DRIVERS, [])

    def open_one(size: tuple[int, int] = DESKTOP) -> WebDriver:
        driver = chromium(size)
        drivers.append(driver)
        return driver

    yield open_one
    for driver in drivers:
        driver.quit()


@pytest.fixture
def browser(open_browser: Callable[..., WebDriver]) -> WebDriver:
    """A desktop-sized headless Chromium for this test."""
    return open_browser()


# --- signing in ------------------------------------------------------------------------


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    return WebDriverWait(driver, PAGE_SECONDS).until(condition, f"waited for {what}")


def click_through(driver: WebDriver, element: WebElement) -> None:
    """Clicks a link or a form's button and returns once the next page has replaced this
    one: the click may return before a form's answer arrives, and a step read then would
    see the page it left."""
    leaving = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait_for(driver, staleness_of(leaving), "the next page")


def sign_in(driver: WebDriver, web_url: str, user: LocalUser, next: str = "/") -> None:
    """Signs ``user`` in as a person does: the web app's "sign in with your organisation"
    (``/sign-in/start``) sends the browser to the identity provider, whose login form (Keycloak's)
    is filled in; returns once the browser is back on the web app (at ``next``)."""
    base = web_url.rstrip("/")
    driver.get(f"{base}/sign-in/start?{urlencode({'next': next})}")
    wait_for(driver, lambda d: d.find_elements(By.ID, "kc-form-login"), "the login form")
    driver.find_element(By.ID, "username").send_keys(user.username)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.ID, "kc-login").click()
    wait_for(driver, lambda d: d.current_url.startswith(base + "/"), "the web app again")
