"""In-memory fakes of the notification ports, for tests without I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from vrac_contracts.events.base import EventData
from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.webhooks import WebhookSubscription
from vrac_notifications.handlers import Deps, RetryPolicy
from vrac_notifications.ports import ConcurrentUpdate, Hook, Mail

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


class MemoryCaseFiles:
    def __init__(self) -> None:
        self.files: dict[str, CaseFile] = {}

    async def get(self, case_id: str) -> CaseFile | None:
        found = self.files.get(case_id)
        return found.model_copy(deep=True) if found else None

    async def save(self, case_file: CaseFile) -> None:
        stored = self.files.get(case_file.case_id)
        if (stored.version if stored else 0) != case_file.version:
            raise ConcurrentUpdate(case_file.case_id)
        case_file.version += 1
        self.files[case_file.case_id] = case_file.model_copy(deep=True)


class MemoryDeliveries:
    def __init__(self) -> None:
        self.rows: dict[str, Delivery] = {}
        self.events: list[EventData] = []

    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]:
        return {k: d.status for k, d in self.rows.items() if d.case_id == case_id}

    async def claim(self, delivery: Delivery) -> bool:
        if delivery.delivery_id in self.rows:
            return False
        self.rows[delivery.delivery_id] = delivery.model_copy()
        return True

    async def release(self, delivery: Delivery) -> bool:
        row = self.rows.get(delivery.delivery_id)
        if row is None or row.status is not DeliveryStatus.WITHHELD:
            return False
        self.rows[delivery.delivery_id] = row.model_copy(
            update={"status": DeliveryStatus.SENDING, "error_code": None}
        )
        return True

    async def record(self, delivery: Delivery, events: Sequence[EventData]) -> bool:
        if not await self.claim(delivery):
            return False
        self.events.extend(events)
        return True

    async def finish(self, delivery: Delivery, events: Sequence[EventData]) -> None:
        self.rows[delivery.delivery_id] = delivery.model_copy()
        self.events.extend(events)

    async def for_case(self, case_id: str) -> list[Delivery]:
        return [d for d in self.rows.values() if d.case_id == case_id]


class MemoryWebhooks:
    def __init__(self) -> None:
        self.subscriptions: dict[str, WebhookSubscription] = {}

    async def get(self, agency_id: str) -> WebhookSubscription | None:
        return self.subscriptions.get(agency_id)

    async def put(self, subscription: WebhookSubscription) -> None:
        self.subscriptions[subscription.agency_id] = subscription


@dataclass
class FlakyChannel:
    """Records what it was given; raises the queued problems first, one per call."""

    problems: list[DeliveryProblem] = field(default_factory=list)
    sent: list[Mail | Hook] = field(default_factory=list)
    calls: int = 0

    def _take(self, item: Mail | Hook) -> None:
        self.calls += 1
        if self.problems:
            raise self.problems.pop(0)
        self.sent.append(item)

    async def send(self, mail: Mail) -> None:
        self._take(mail)

    async def post(self, hook: Hook) -> None:
        self._take(hook)


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
