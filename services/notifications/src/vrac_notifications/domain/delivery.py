"""A delivery: one message to one recipient, what became of it, and the event it records.

Every outcome records its event in ``events``; the repository stores them with the outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from vrac_contracts.events.base import EventData
from vrac_contracts.events.notifications import NotificationDelivered, NotificationFailed
from vrac_contracts.values import Channel, DeliveryError, Pilot
from vrac_runtime.aggregate import RecordsEvents

from vrac_notifications.domain.casefile import Outcome, Planned
from vrac_notifications.domain.contacts import RecipientKind
from vrac_notifications.domain.intents import MessageKind


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # claimed; a crash here means it is sent again on redelivery
    DELIVERED = "delivered"
    FAILED = "failed"
    WITHHELD = "withheld"  # not sent: a consent it needs is missing

    @property
    def final(self) -> bool:
        """Nothing more happens to it (a withheld one may still be released, see Planned)."""
        return self is not DeliveryStatus.SENDING


class DeliveryProblem(Exception):
    """A channel could not take the message; ``retryable`` when trying again may help.

    Not a DomainError: it refuses no request, it becomes the delivery's recorded outcome."""

    def __init__(self, code: DeliveryError, retryable: bool, detail: str = "") -> None:
        super().__init__(detail or str(code))
        self.code = code
        self.retryable = retryable


@dataclass(kw_only=True)
class Delivery(RecordsEvents):
    delivery_id: str
    case_id: str
    pilot: Pilot
    recipient_id: str
    recipient_kind: RecipientKind
    channel: Channel
    kind: MessageKind
    trigger_event_id: str
    trigger_type: str
    status: DeliveryStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    attempts: int = 0
    error_code: DeliveryError | None = None
    delivered_at: dt.datetime | None = None
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def of(cls, planned: Planned, *, case_id: str, pilot: Pilot, now: dt.datetime) -> Delivery:
        """The record of a planned message, before anything happened to it."""
        status = {
            Outcome.SEND: DeliveryStatus.SENDING,
            Outcome.WITHHELD: DeliveryStatus.WITHHELD,
            Outcome.UNREACHABLE: DeliveryStatus.FAILED,
        }[planned.outcome]
        return cls(
            delivery_id=planned.delivery_id,
            case_id=case_id,
            pilot=pilot,
            recipient_id=planned.contact.recipient_id,
            recipient_kind=planned.contact.recipient_kind,
            channel=planned.channel,
            kind=planned.intent.kind,
            trigger_event_id=planned.intent.trigger_id,
            trigger_type=planned.intent.trigger_type,
            status=status,
            error_code=planned.error,
            created_at=now,
            updated_at=now,
        )

    def succeed(self, attempts: int, now: dt.datetime) -> None:
        self.status, self.attempts = DeliveryStatus.DELIVERED, attempts
        self.updated_at = self.delivered_at = now
        self._record(NotificationDelivered, now)

    def fail(self, code: DeliveryError, attempts: int, now: dt.datetime) -> None:
        self.status, self.attempts, self.error_code = DeliveryStatus.FAILED, attempts, code
        self.updated_at = now
        self._record(NotificationFailed, now, error_code=code, final=True)

    def refuse(self) -> None:
        """Record a message that was never tried (withheld or without address).

        The contract counts at least one attempt: the one time the message was considered.
        A withheld message is not final: a consent that was in force but read late releases it.
        """
        self.attempts = 1
        code = self.error_code or DeliveryError.OTHER
        final = self.status is not DeliveryStatus.WITHHELD
        self._record(NotificationFailed, self.updated_at, error_code=code, final=final)

    def _record(self, event: type[EventData], now: dt.datetime, **fields: object) -> None:
        """Every outcome names the message, its recipient and what triggered it."""
        self.record(
            event,
            now,
            notification_id=self.delivery_id,
            recipient_id=self.recipient_id,
            channel=self.channel,
            trigger_event_id=self.trigger_event_id,
            attempts=max(self.attempts, 1),
            **fields,
        )
