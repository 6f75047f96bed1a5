"""A delivery: one message to one recipient, what became of it, and the events it records.

A delivery to send is ``scheduled``; each attempt is made under a claim (``sending``) and
ends delivered, failed, cancelled, or scheduled again per the ``RetrySchedule``. Every
outcome that is told records its event in ``events``; the repository stores them with it.
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
    SCHEDULED = "scheduled"  # waits for its next attempt (``next_attempt_at``)
    SENDING = "sending"  # a replica holds a claim on it and is sending it
    DELIVERED = "delivered"
    FAILED = "failed"
    WITHHELD = "withheld"  # not sent: a consent it needs is missing
    CANCELLED = "cancelled"  # was scheduled; a withdrawal or the case's closing stopped it

    @property
    def final(self) -> bool:
        """Nothing more happens to it (a withheld one may still be released, see Planned)."""
        return self not in (DeliveryStatus.SCHEDULED, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class RetrySchedule:
    """When a delivery that failed for now is tried again, and when it is given up.

    The wait doubles from ``first_wait`` up to ``max_wait``; after ``retry_for`` from the
    moment the delivery became due, a failure is final.
    """

    retry_for: dt.timedelta = dt.timedelta(hours=24)
    first_wait: dt.timedelta = dt.timedelta(seconds=10)
    max_wait: dt.timedelta = dt.timedelta(seconds=900)

    def next_attempt(
        self, attempts: int, retry_until: dt.datetime, now: dt.datetime
    ) -> dt.datetime | None:
        """The time of the attempt after ``attempts`` failed ones; None: give up."""
        if now >= retry_until:
            return None
        wait = min(self.first_wait * 2 ** max(attempts - 1, 0), self.max_wait)
        return min(now + wait, retry_until)  # one last try when the time is up


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
    attempts: int = 0  # sends tried
    error_code: DeliveryError | None = None
    delivered_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None  # when scheduled
    retry_until: dt.datetime | None = None  # transient failures are final from then on
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def of(cls, planned: Planned, *, case_id: str, pilot: Pilot, now: dt.datetime) -> Delivery:
        """The record of a planned message, before anything happened to it."""
        status = {
            Outcome.SEND: DeliveryStatus.SCHEDULED,
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

    def schedule(
        self, now: dt.datetime, schedule: RetrySchedule, hold: dt.timedelta = dt.timedelta(0)
    ) -> None:
        """Due after ``hold`` (a withdrawal read meanwhile still stops it); transient
        failures are retried until ``schedule.retry_for`` after that."""
        due = now + hold
        self.status, self.error_code = DeliveryStatus.SCHEDULED, None
        self.next_attempt_at, self.retry_until = due, due + schedule.retry_for
        self.updated_at = now

    def succeed(self, now: dt.datetime) -> None:
        self.status, self.next_attempt_at = DeliveryStatus.DELIVERED, None
        self.updated_at = self.delivered_at = now
        self._record(NotificationDelivered, now)

    def fail(self, code: DeliveryError, now: dt.datetime) -> None:
        """Final: refused by the recipient's side, no address, or retried for too long."""
        self.status, self.error_code, self.next_attempt_at = DeliveryStatus.FAILED, code, None
        self.updated_at = now
        self._record(NotificationFailed, now, error_code=code, final=True)

    def retry_at(self, code: DeliveryError, when: dt.datetime, now: dt.datetime) -> None:
        """A transient failure: try again at ``when``. Only the first one is published
        (``final: false``), so a long outage does not flood the topic."""
        self.status, self.error_code, self.next_attempt_at = DeliveryStatus.SCHEDULED, code, when
        self.updated_at = now
        if self.attempts == 1:
            self._record(NotificationFailed, now, error_code=code, final=False)

    def cancel(self, code: DeliveryError, now: dt.datetime) -> None:
        """Final: a consent it needs was withdrawn, or the case closed, before it went out."""
        self.status, self.error_code, self.next_attempt_at = DeliveryStatus.CANCELLED, code, None
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
