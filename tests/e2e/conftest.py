"""What the end-to-end modules that share one platform per module use: the receivers, the
five services as processes under a topic prefix of their own (with the settings a module
names in ``PLATFORM_ENV``), and a PIT case on them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from vrac_testing.processes import Platform, journey_platform
from vrac_testing.sinks import SmtpSink, WebhookReceiver

from demo.scenario import PitCase


@pytest.fixture(scope="module")
def sinks() -> Iterator[tuple[SmtpSink, WebhookReceiver]]:
    smtp, hooks = SmtpSink().start(), WebhookReceiver().start()
    yield smtp, hooks
    smtp.stop()
    hooks.stop()


@pytest.fixture(scope="module")
def platform(
    kafka_bootstrap: str,
    mongodb_url: str,
    used_prefixes: set[str],
    sinks: tuple[SmtpSink, WebhookReceiver],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Platform]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    platform = journey_platform(
        kafka_bootstrap, mongodb_url, prefix, tmp_path_factory.mktemp("platform"), sinks[0]
    )
    # a module's own settings of the services, e.g. the web app's address for its links
    platform.extra_env.update(getattr(request.module, "PLATFORM_ENV", {}))
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
async def pit(
    platform: Platform, sinks: tuple[SmtpSink, WebhookReceiver], tmp_path: Path
) -> AsyncIterator[PitCase]:
    smtp, hooks = sinks
    async with PitCase(platform, smtp, hooks, tmp_path) as case:
        yield case
