"""One platform for the fault tests: the five services as processes, a real SMTP server and a
real webhook receiver, short delivery retries. The tests run in file order on it; each drives
cases of its own pilot, so its report counts only its own cases, and restores what it broke."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vrac_testing.faults import CaseStream, Faults
from vrac_testing.processes import Platform
from vrac_testing.sinks import SmtpSink, WebhookReceiver

# The delivery settings agreed with notifications, small so outages are retried within
# seconds; a claim of a killed process is taken over after 15 s.
DELIVERY_ENV = {
    "VRAC_DELIVERY_BACKOFF_SECONDS": "1",
    "VRAC_DELIVERY_MAX_BACKOFF_SECONDS": "5",
    "VRAC_DELIVERY_POLL_SECONDS": "0.5",
    "VRAC_DELIVERY_CLAIM_SECONDS": "15",
}


_LOGS_SHOWN = 12  # per service, of a failed test's warnings and errors


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed fault test shows the services' last warnings and errors beside its traceback:
    what went wrong inside the platform (the logs carry no personal data)."""
    outcome: Any = yield
    report = outcome.get_result()
    platform = getattr(item, "funcargs", {}).get("platform")
    if report.when == "call" and report.failed and isinstance(platform, Platform):
        for name in platform.services:
            lines = _warnings(platform.logs / f"{name}.log")
            if lines:
                report.sections.append((f"{name}: last warnings and errors", "\n".join(lines)))


def _warnings(log: Path) -> list[str]:
    if not log.exists():
        return []
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except (ValueError, AttributeError):
            continue
        if level in ("warning", "error", "critical"):
            found.append(line[:300])
    return found[-_LOGS_SHOWN:]


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def platform(
    kafka_bootstrap: str,
    mongodb_url: str,
    used_prefixes: set[str],
    smtp: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    platform = Platform(
        kafka_bootstrap,
        mongodb_url,
        f"{prefix}.",
        tmp_path_factory.mktemp("faults") / "logs",
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(smtp.port),
            "VRAC_DEVELOPMENT": "true",  # plain-http webhook receiver on loopback
            "VRAC_RELAY_INTERVAL_SECONDS": "0.2",
            "VRAC_OVERDUE_SWEEP_SECONDS": "0",
            **DELIVERY_ENV,
        },
    )
    platform.start(timeout=120)
    yield platform
    platform.stop()


@pytest.fixture
def faults(platform: Platform) -> Faults:
    return Faults(platform)


@pytest.fixture
def poison() -> set[str]:
    """``ce_id`` of the records a test dead-letters on purpose; any other dead letter fails."""
    return set()


@pytest.fixture
async def new_stream(
    platform: Platform, faults: Faults, hooks: WebhookReceiver
) -> AsyncIterator[Callable[[str], CaseStream]]:
    """``new_stream(pilot)``: a stream of cases of that pilot on the platform."""
    made: list[CaseStream] = []

    def make(pilot: str) -> CaseStream:
        made.append(CaseStream(platform, faults, hooks, pilot))
        return made[-1]

    yield make
    for stream in made:
        await stream.close()
