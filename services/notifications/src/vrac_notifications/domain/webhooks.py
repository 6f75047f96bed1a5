"""An agency's webhook subscription, and the JSON body a webhook carries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from vrac_contracts.values import Pilot

from vrac_notifications.domain.intents import (
    DiplomaMessage,
    Intent,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.templates import Message


@dataclass(frozen=True, kw_only=True)
class WebhookSubscription:
    """Where an agency of a pilot takes its notifications, and the secret that signs them."""

    agency_id: str
    pilot: Pilot
    url: str
    secret: str
    updated_at: dt.datetime

    def serves(self, pilot: Pilot) -> bool:
        return self.pilot is pilot


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
    elif isinstance(intent, DiplomaMessage):
        body |= {"diploma_id": intent.diploma_id, "diploma_url": diploma_url}
    elif isinstance(intent, SchoolAdviceMessage):
        body |= {"screening_id": intent.screening_id, "advice": list(intent.advice_codes)}
    return body
