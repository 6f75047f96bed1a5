"""An agency's webhook subscription, and the JSON body a webhook carries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from vrac_contracts.values import Pilot

from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    DiplomaMessage,
    Intent,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.templates import Message

# secrets that sign at once: the current one and at most two still in their overlap
MAX_SIGNING_SECRETS = 3


@dataclass(frozen=True)
class SigningSecret:
    """A Standard Webhooks secret (``whsec_`` + base64 of the key); ``retires_at`` is None
    for the current one, else the end of its overlap with the one that replaced it."""

    value: str
    added_at: dt.datetime
    retires_at: dt.datetime | None = None

    def valid_at(self, now: dt.datetime) -> bool:
        return self.retires_at is None or now < self.retires_at


@dataclass(frozen=True, kw_only=True)
class WebhookSubscription:
    """Where an agency of a pilot takes its notifications, and the secrets that sign them,
    newest first."""

    agency_id: str
    pilot: Pilot
    url: str
    secrets: tuple[SigningSecret, ...]
    updated_at: dt.datetime

    def serves(self, pilot: Pilot) -> bool:
        return self.pilot is pilot

    def signing_secrets(self, now: dt.datetime) -> tuple[str, ...]:
        """Every secret a delivery is signed with now: one signature each."""
        return tuple(s.value for s in self.secrets if s.valid_at(now))

    def registered(
        self, *, pilot: Pilot, url: str, secret: str, now: dt.datetime, overlap: dt.timedelta
    ) -> WebhookSubscription:
        """This subscription after the agency registered again: a new secret becomes the
        current one and the previous one keeps signing beside it for ``overlap``, so the
        agency can switch its receiver without losing a message; the same secret changes
        nothing but the URL."""
        current = self.secrets[0] if self.secrets else None
        if current is not None and current.value == secret and current.retires_at is None:
            kept = self.secrets
        else:
            retiring = [
                s if s.retires_at is not None else SigningSecret(s.value, s.added_at, now + overlap)
                for s in self.secrets
                if s.value != secret
            ]
            kept = (SigningSecret(secret, now), *retiring)
        valid = tuple(s for s in kept if s.valid_at(now))[:MAX_SIGNING_SECRETS]
        return WebhookSubscription(
            agency_id=self.agency_id, pilot=pilot, url=url, secrets=valid, updated_at=now
        )

    @classmethod
    def new(
        cls, *, agency_id: str, pilot: Pilot, url: str, secret: str, now: dt.datetime
    ) -> WebhookSubscription:
        return cls(
            agency_id=agency_id,
            pilot=pilot,
            url=url,
            secrets=(SigningSecret(secret, now),),
            updated_at=now,
        )


def webhook_body(
    *,
    notification_id: str,
    case_id: str,
    pilot: Pilot,
    agency_id: str,
    recipient_id: str,
    intent: Intent,
    message: Message,
    sent_at: dt.datetime,
    diploma_url: str = "",
) -> dict[str, Any]:
    """What an agency's system receives: coded facts to act on, plus the readable message."""
    body: dict[str, Any] = {
        "notification_id": notification_id,
        "kind": str(intent.kind),
        "case_id": case_id,
        "pilot": str(pilot),
        "agency_id": agency_id,
        "recipient_id": recipient_id,
        "trigger_event_id": intent.trigger_id,
        "language": str(message.language),
        "subject": message.subject,
        "text": message.text,
        "sent_at": sent_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    if isinstance(intent, TaskMessage):
        body |= {
            "task_id": intent.task_id,
            "category": str(intent.category) if intent.category else None,
            "due_date": intent.due_date.isoformat() if intent.due_date else None,
        }
    elif isinstance(intent, DeclinedTaskMessage):
        body |= {
            "task_id": intent.task_id,
            "category": str(intent.category) if intent.category else None,
            "decline_reason": str(intent.reason) if intent.reason else None,
        }
    elif isinstance(intent, OverdueTaskNotice):
        body |= {
            "task_id": intent.task_id,
            "category": str(intent.category) if intent.category else None,
            "due_date": intent.due_date.isoformat(),
        }
    elif isinstance(intent, DiplomaMessage):
        body |= {"diploma_id": intent.diploma_id, "diploma_url": diploma_url}
    elif isinstance(intent, SchoolAdviceMessage):
        body |= {"screening_id": intent.screening_id, "advice": list(intent.advice_codes)}
    return body
