"""Fixtures of the reporting tests; the helpers themselves live in ``reporting_testkit``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reporting_testkit import FakeReadModels
from vrac_reporting.settings import ReportingSettings


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
