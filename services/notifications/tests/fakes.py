"""In-memory fakes of the notification ports, for handler tests without I/O."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from vrac_contracts.events.base import EventData
from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.errors import ChangedMeanwhile
from vrac_notifications.domain.webhooks import WebhookSubscription
from vrac_notifications.ports import Hook, Mail


class MemoryCaseFiles:
    def __init__(self) -> None:
        self.files: dict[str, CaseFile] = {}

    async def get(self, case_id: str) -> CaseFile | None:
        found = self.files.get(case_id)
        return copy.deepcopy(found) if found else None

    async def save(self, case_file: CaseFile) -> None:
        stored = self.files.get(case_file.case_id)
        if (stored.version if stored else 0) != case_file.version:
            raise ChangedMeanwhile(case_file.case_id)
        case_file.version += 1
        self.files[case_file.case_id] = copy.deepcopy(case_file)


class MemoryDeliveries:
    """Delivery rows, and every event they recorded in the order they were stored."""

    def __init__(self) -> None:
        self.rows: dict[str, Delivery] = {}
        self.events: list[EventData] = []

    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]:
        return {k: d.status for k, d in self.rows.items() if d.case_id == case_id}

    async def claim(self, delivery: Delivery) -> bool:
        if delivery.delivery_id in self.rows:
            return False
        self.rows[delivery.delivery_id] = dataclasses.replace(delivery, events=[])
        return True

    async def release(self, delivery: Delivery) -> bool:
        row = self.rows.get(delivery.delivery_id)
        if row is None or row.status is not DeliveryStatus.WITHHELD:
            return False
        self.rows[delivery.delivery_id] = dataclasses.replace(
            row, status=DeliveryStatus.SENDING, error_code=None
        )
        return True

    async def record(self, delivery: Delivery) -> bool:
        events = delivery.pull_events()
        if not await self.claim(delivery):
            return False
        self.events.extend(events)
        return True

    async def finish(self, delivery: Delivery) -> None:
        self.events.extend(delivery.pull_events())
        self.rows[delivery.delivery_id] = dataclasses.replace(delivery, events=[])

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
