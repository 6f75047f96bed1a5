"""The handlers' world over in-memory fakes (``fakes.py``), and real envelopes to feed it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from vrac_contracts.events.base import EventData
from vrac_notifications.handlers import Deps, RetryPolicy

from services.notifications.tests.fakes import (
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


@pytest.fixture
def world() -> World:
    case_files, deliveries, webhooks = MemoryCaseFiles(), MemoryDeliveries(), MemoryWebhooks()
    mailer, poster = FlakyChannel(), FlakyChannel()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    deps = Deps(
        case_files=case_files,
        deliveries=deliveries,
        webhooks=webhooks,
        mailer=mailer,
        poster=poster,
        diploma_link=lambda d: f"https://screening.vrac.example.org/diplomas/{d}.pdf?link=signed",
        retry=RetryPolicy(attempts=3, backoff_seconds=0.5),
        clock=lambda: NOW,
        sleep=sleep,
    )
    return World(deps, case_files, deliveries, webhooks, mailer, poster, waits)


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
