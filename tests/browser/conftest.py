"""Fixtures of the browser tests (``vrac_testing.browser`` and ``vrac_testing.web``): headless
Chromium per test, screenshots and pages of failed tests under ``.state/browser/failures/``, and
one platform with the web app per module, signing people in through the real Keycloak."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from vrac_testing.browser import (  # noqa: F401 - fixtures and the hook that keeps failures
    browser,
    open_browser,
    pytest_runtest_makereport,
)
from vrac_testing.identity import IdentityProvider, provide
from vrac_testing.web import WebPlatform
from vrac_testing.web import web_platform as start_web_platform


@pytest.fixture(scope="session")
def keycloak() -> Iterator[IdentityProvider]:
    provider = provide()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def web_platform(
    kafka_bootstrap: str,
    mongodb_url: str,
    used_prefixes: set[str],
    keycloak: IdentityProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebPlatform]:
    """The five services and the web app, shared by the tests of one module."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    folder = tmp_path_factory.mktemp("web-platform")
    with start_web_platform(kafka_bootstrap, mongodb_url, prefix, folder, keycloak) as platform:
        yield platform
