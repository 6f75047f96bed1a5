"""What the handlers need from the outside world; adapters (and test fakes) provide it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from vrac_contracts.values import Language

from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.webhooks import WebhookSubscription


@dataclass(frozen=True)
class Mail:
    delivery_id: str
    to_address: str
    to_name: str
    subject: str
    text: str
    language: Language


@dataclass(frozen=True)
class Hook:
    delivery_id: str
    kind: str
    url: str
    secret: str
    body: dict[str, Any]


class CaseFiles(Protocol):
    async def get(self, case_id: str) -> CaseFile | None: ...

    async def save(self, case_file: CaseFile) -> None:
        """Store the case file; raises ChangedMeanwhile when its version moved on."""


class Deliveries(Protocol):
    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]: ...

    async def claim(self, delivery: Delivery) -> bool:
        """Store a new delivery about to be sent; False when it already exists."""

    async def release(self, delivery: Delivery) -> bool:
        """Turn a withheld delivery into one about to be sent; False when it is not withheld."""

    async def record(self, delivery: Delivery) -> bool:
        """Store a new, already final delivery with the events it recorded; False when it
        exists (its events are then dropped: the first record published them)."""

    async def finish(self, delivery: Delivery) -> None:
        """Store the outcome of a claimed delivery together with the events it recorded."""

    async def for_case(self, case_id: str) -> list[Delivery]: ...


class Webhooks(Protocol):
    async def get(self, agency_id: str) -> WebhookSubscription | None: ...

    async def put(self, subscription: WebhookSubscription) -> None: ...


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand the e-mail to the mail server; raises DeliveryProblem when it cannot."""


class HookPoster(Protocol):
    async def post(self, hook: Hook) -> None:
        """POST the signed webhook; raises DeliveryProblem unless the agency took it."""
