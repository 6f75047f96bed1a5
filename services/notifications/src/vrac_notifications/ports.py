"""What the handlers need from the outside world; adapters (and test fakes) provide it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from vrac_contracts.events.sealed import Sealed
from vrac_contracts.values import Language

from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.destinations import IPAddress
from vrac_notifications.domain.webhooks import WebhookSubscription

M = TypeVar("M", bound=BaseModel)


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
    secrets: tuple[str, ...]  # one signature each: the current secret and those retiring
    body: dict[str, Any]


class CaseFiles(Protocol):
    async def get(self, case_id: str) -> CaseFile | None: ...

    async def save(self, case_file: CaseFile) -> None:
        """Store the case file; raises ChangedMeanwhile when its version moved on."""

    async def erasures_pending(self, limit: int) -> list[str]:
        """Ids of cases whose erasure was begun and not finished."""


@dataclass(frozen=True)
class Claim:
    """The right to make one attempt at a delivery: attempt ``number``, held by ``owner``
    until ``expires_at``. Only its holder records what came of the attempt."""

    delivery: Delivery
    number: int
    owner: str
    expires_at: dt.datetime


class Deliveries(Protocol):
    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]: ...

    async def schedule(self, delivery: Delivery) -> bool:
        """Store a new delivery, due at once; False when it already exists."""

    async def release(self, delivery: Delivery) -> bool:
        """Turn a withheld delivery into a scheduled one, due at once; False when it is not
        withheld."""

    async def record(self, delivery: Delivery) -> bool:
        """Store a new delivery that will not be sent (withheld, no address) with the events
        it recorded; False when it exists (its events are then dropped)."""

    async def due(self, now: dt.datetime, limit: int) -> list[str]:
        """Ids of deliveries to attempt now: scheduled and due, or claimed by an owner whose
        claim expired (it crashed). Oldest first."""

    async def claim(
        self, delivery_id: str, owner: str, now: dt.datetime, until: dt.datetime, *, early: bool
    ) -> Claim | None:
        """Take the next attempt at a delivery that is due (``early``: scheduled, due or not),
        or None when it is not, or another owner holds it. Holds across processes: an attempt
        is taken by inserting its id, which the store refuses twice."""

    async def finish(self, delivery: Delivery, claim: Claim) -> bool:
        """Record what came of the claimed attempt. A final outcome (and its events) is
        recorded once per delivery, the first one wins: False when one was already there."""

    async def for_case(self, case_id: str) -> list[Delivery]: ...


class Webhooks(Protocol):
    async def get(self, agency_id: str) -> WebhookSubscription | None: ...

    async def put(self, subscription: WebhookSubscription) -> None: ...


class Destinations(Protocol):
    async def check(self, url: str) -> Sequence[IPAddress]:
        """The addresses of a webhook URL the rules allow; raises RefusedDestination."""


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand the e-mail to the mail server; raises DeliveryProblem when it cannot."""


class HookPoster(Protocol):
    async def post(self, hook: Hook) -> None:
        """POST the signed webhook; raises DeliveryProblem unless the agency took it."""


class SealedReader(Protocol):
    """Opens the personal data that intake and network send sealed (``vrac_runtime.sealing``)."""

    async def open(self, owner: str, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        """The plain value; None when its key was destroyed (the data was erased). Raises
        KeyUnavailable when the owner cannot be asked now, SealBroken when it does not open."""

    def forget_case(self, case_id: str) -> None:
        """Drop every cached key of the case."""

    def forget(self, key_id: str) -> None:
        """Drop one cached key (a person left)."""

    async def aclose(self) -> None: ...


class ErasureAudit(Protocol):
    async def erased(self, case_id: str, pilot: str) -> None:
        """Record in the audit trail that the service erased the case's personal data."""
