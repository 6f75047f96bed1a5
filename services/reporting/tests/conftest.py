"""Fixtures of the reporting tests; helpers live in ``reporting_testkit``, fakes in ``fakes``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from vrac_reporting.settings import ReportingSettings

from services.reporting.tests.fakes import FakeReadModels


@pytest.fixture
def reporting_settings(make_settings) -> Callable[..., ReportingSettings]:
    """Settings of the reporting service wired to this test's Kafka, store and prefix."""

    def factory(**overrides: Any) -> ReportingSettings:
        base = make_settings("reporting").model_dump()
        return ReportingSettings(**{**base, **overrides})

    return factory


@pytest.fixture
def fake_models() -> FakeReadModels:
    return FakeReadModels()
