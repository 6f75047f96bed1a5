"""The browser tests' kit checks itself on pages of its own, so a broken browser set-up
(Chromium, its driver, axe-core) shows here first, whatever the web app does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from selenium.webdriver.chrome.webdriver import WebDriver
from vrac_testing.browser import PHONE, assert_accessible
from vrac_testing.processes import free_port

CLEAN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A clean page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>A clean page</h1>
<form><label for="name">Name</label> <input id="name" name="name"> <button>Send</button></form>
</main></body></html>"""

# an image without a text alternative and a field without a label: WCAG 1.1.1 and 4.1.2
BROKEN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A broken page</title></head>
<body><main><h1>A broken page</h1>
<img id="logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input id="unnamed" name="unnamed">
</main></body></html>"""


def pages() -> FastAPI:
    app = FastAPI()
    app.get("/clean", response_class=HTMLResponse)(lambda: CLEAN)
    app.get("/broken", response_class=HTMLResponse)(lambda: BROKEN)
    return app


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The throwaway pages, served on loopback by a thread of this test process."""
    port = free_port()
    server = uvicorn.Server(
        # log_config=None: the test process's logging stays as the suite set it up
        uvicorn.Config(pages(), host="127.0.0.1", port=port, log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test pages' server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_clean_page_passes_the_accessibility_check(browser: WebDriver, site: str) -> None:
    browser.get(f"{site}/clean")

    assert_accessible(browser)


def test_a_page_with_violations_fails_naming_each_rule_and_element(
    browser: WebDriver, site: str
) -> None:
    browser.get(f"{site}/broken")

    with pytest.raises(AssertionError) as failure:
        assert_accessible(browser)

    report = str(failure.value)
    assert f"on {site}/broken" in report
    assert "- image-alt (critical)" in report
    assert "#logo" in report
    assert "#unnamed" in report


def test_a_phone_sized_browser_lays_the_page_out_at_a_phone_width(
    open_browser: Callable[..., WebDriver], site: str
) -> None:
    phone = open_browser(PHONE)
    phone.get(f"{site}/clean")

    assert phone.execute_script("return window.innerWidth") == PHONE[0]


KIT = "from vrac_testing.browser import browser, open_browser, pytest_runtest_makereport\n"
FAILING_TEST = """
def test_looks_for_what_is_not_there(browser):
    browser.get("data:text/html,<title>Before</title><h1>Shown when it failed</h1>")
    assert browser.title == "After"
"""


def test_a_failed_test_leaves_its_screenshot_and_page_and_says_where(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(KIT)
    (tmp_path / "test_failing.py").write_text(FAILING_TEST)
    # the inner run keeps its failures under tmp_path/.state, not in this checkout's
    env = {**os.environ, "VRAC_REPO_ROOT": str(tmp_path)}

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_failing.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert run.returncode == 1, run.stdout + run.stderr
    kept = tmp_path / ".state" / "browser" / "failures"
    screenshot = kept / "test_failing.py__test_looks_for_what_is_not_there.png"
    page = screenshot.with_suffix(".html")
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert "Shown when it failed" in page.read_text()
    assert str(screenshot) in run.stdout
    assert str(page) in run.stdout
