"""The handlers' world over in-memory fakes (``fakes.py``), and real envelopes to feed it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from vrac_contracts.events.base import EventData
from vrac_notifications.domain.delivery import RetrySchedule
from vrac_notifications.handlers import Deps

from services.notifications.tests.fakes import (
    Clock,
    FlakyChannel,
    MemoryCaseFiles,
    MemoryDeliveries,
    MemoryWebhooks,
)

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


@dataclass
class World:
    deps: Deps
    case_files: MemoryCaseFiles
    deliveries: MemoryDeliveries
    webhooks: MemoryWebhooks
    mailer: FlakyChannel
    poster: FlakyChannel
    waits: list[float]
    clock: Clock
    observed: list[tuple[str, str]]


@pytest.fixture
def world() -> World:
    case_files, deliveries, webhooks = MemoryCaseFiles(), MemoryDeliveries(), MemoryWebhooks()
    mailer, poster = FlakyChannel(), FlakyChannel()
    waits: list[float] = []
    clock = Clock(NOW)
    observed: list[tuple[str, str]] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    deps = Deps(
        case_files=case_files,
        deliveries=deliveries,
        webhooks=webhooks,
        mailer=mailer,
        poster=poster,
        diploma_link=lambda d: f"https://screening.vrac.example.org/diplomas/{d}.pdf?link=signed",
        schedule=RetrySchedule(
            retry_for=dt.timedelta(hours=24),
            first_wait=dt.timedelta(seconds=10),
            max_wait=dt.timedelta(seconds=900),
        ),
        claim_seconds=120,
        owner="replica-a",
        clock=clock,
        sleep=sleep,
        observe=lambda channel, outcome: observed.append((str(channel), outcome)),
    )
    return World(deps, case_files, deliveries, webhooks, mailer, poster, waits, clock, observed)


@pytest.fixture
def envelope():
    """``envelope(TaskAssigned, assignee_id=...)``: a real envelope from the catalogue example."""
    from vrac_contracts.catalogue import spec_for
    from vrac_contracts.envelope import new_envelope

    def make(model: type[EventData], *, ce_id: str | None = None, **overrides: object):
        spec = spec_for(model)
        data = model.model_validate({**spec.example, **overrides})
        return new_envelope(data, id=ce_id)

    return make
