"""The platform the API tests call: the five services as processes, started once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from vrac_testing.processes import Platform


@pytest.fixture(scope="package")
def platform(kafka_bootstrap, mongodb_url, used_prefixes, tmp_path_factory) -> Iterator[Platform]:
    """One platform for the package's tests: they only read, or write under random ids."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    logs: Path = tmp_path_factory.mktemp("api-logs")
    platform = Platform(kafka_bootstrap, mongodb_url, f"{prefix}.", logs)
    platform.start()
    yield platform
    platform.stop()
