"""In-memory fakes of the notification ports, for handler tests without I/O."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from vrac_contracts.events.base import EventData
from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.errors import ChangedMeanwhile
from vrac_notifications.domain.templates import Answer
from vrac_notifications.domain.webhooks import WebhookSubscription
from vrac_notifications.ports import Claim, Hook, Mail


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

    async def erasures_pending(self, limit: int) -> list[str]:
        return [k for k, f in self.files.items() if f.erasure_pending][:limit]


class MemoryDeliveries:
    """Delivery rows, and every event they recorded in the order they were stored.

    Claims and outcomes keep the store's rules: an attempt number is taken once, an expired
    one is taken over with the next number, the first final outcome wins."""

    def __init__(self) -> None:
        self.rows: dict[str, Delivery] = {}
        self.events: list[EventData] = []
        self.claims: dict[str, dt.datetime] = {}  # "<delivery id>:<n>" -> expiry
        self.numbers: dict[str, int] = {}  # the latest attempt number taken per delivery
        self.due_at: dict[str, dt.datetime | None] = {}
        self.outcomes: dict[str, Delivery] = {}  # "<delivery id>:final" / ":retrying"

    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]:
        return {k: d.status for k, d in self.rows.items() if d.case_id == case_id}

    def _insert(self, delivery: Delivery) -> bool:
        if delivery.delivery_id in self.rows:
            return False
        self.rows[delivery.delivery_id] = dataclasses.replace(delivery, events=[])
        self.due_at[delivery.delivery_id] = delivery.next_attempt_at
        self.numbers[delivery.delivery_id] = 0
        return True

    async def schedule(self, delivery: Delivery) -> bool:
        return self._insert(delivery)

    async def release(self, delivery: Delivery) -> bool:
        row = self.rows.get(delivery.delivery_id)
        if row is None or row.status is not DeliveryStatus.WITHHELD:
            return False
        self.rows[delivery.delivery_id] = dataclasses.replace(
            row,
            status=DeliveryStatus.SCHEDULED,
            error_code=None,
            next_attempt_at=delivery.next_attempt_at,
            retry_until=delivery.retry_until,
        )
        self.due_at[delivery.delivery_id] = delivery.next_attempt_at
        return True

    async def record(self, delivery: Delivery) -> bool:
        events = delivery.pull_events()
        if not self._insert(delivery):
            return False
        self.due_at[delivery.delivery_id] = None
        self.events.extend(events)
        return True

    async def due(self, now: dt.datetime, limit: int) -> list[str]:
        due = [(at, k) for k, at in self.due_at.items() if at is not None and at <= now]
        return [k for _, k in sorted(due)][:limit]

    async def claim(
        self, delivery_id: str, owner: str, now: dt.datetime, until: dt.datetime, *, early: bool
    ) -> Claim | None:
        row = self.rows.get(delivery_id)
        due_at = self.due_at.get(delivery_id)
        is_due = due_at is not None and due_at <= now
        if row is None or not (
            (row.status is DeliveryStatus.SCHEDULED and (early or is_due))
            or (row.status is DeliveryStatus.SENDING and is_due)
        ):
            return None
        number = self.numbers[delivery_id] + 1
        while f"{delivery_id}:{number}" in self.claims:
            if self.claims[f"{delivery_id}:{number}"] > now:
                return None
            number += 1
        self.claims[f"{delivery_id}:{number}"] = until
        if f"{delivery_id}:final" in self.outcomes:
            self._settle(delivery_id)
            return None
        self.numbers[delivery_id] = number
        self.rows[delivery_id] = dataclasses.replace(row, status=DeliveryStatus.SENDING)
        self.due_at[delivery_id] = until
        return Claim(dataclasses.replace(row, status=DeliveryStatus.SENDING), number, owner, until)

    async def finish(self, delivery: Delivery, claim: Claim) -> bool:
        events = delivery.pull_events()
        key = delivery.delivery_id
        if not delivery.status.final:
            if events and f"{key}:retrying" not in self.outcomes:
                self.outcomes[f"{key}:retrying"] = delivery
                self.events.extend(events)
            if self.numbers[key] != claim.number:
                return False
            self.rows[key] = dataclasses.replace(delivery, events=[])
            self.due_at[key] = delivery.next_attempt_at
            return True
        recorded = f"{key}:final" not in self.outcomes
        if recorded:
            self.outcomes[f"{key}:final"] = dataclasses.replace(delivery, events=[])
            self.events.extend(events)
        self._settle(key)
        return recorded

    def _settle(self, delivery_id: str) -> None:
        self.rows[delivery_id] = self.outcomes[f"{delivery_id}:final"]
        self.due_at[delivery_id] = None

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
class TaskLinkDesk:
    """Network's answer links: one per call, for the member asked about; raises the queued
    problems first, one per call."""

    problems: list[DeliveryProblem] = field(default_factory=list)
    asked: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, case_id: str, task_id: str, member_id: str) -> Answer:
        self.asked.append((case_id, task_id, member_id))
        if self.problems:
            raise self.problems.pop(0)
        url = f"https://network.vrac.example.org/answers/{task_id}?link=for-{member_id}"
        return Answer(url, dt.date(2025, 4, 11))


@dataclass
class Clock:
    """A clock the test moves."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class MemoryAudit:
    """The erasures recorded in the audit trail: (case id, pilot)."""

    erasures: list[tuple[str, str]] = field(default_factory=list)
    failing: int = 0  # the next calls that fail, as a store that is away

    async def erased(self, case_id: str, pilot: str) -> None:
        if self.failing:
            self.failing -= 1
            raise ConnectionError("the audit outbox is away")
        self.erasures.append((case_id, pilot))
