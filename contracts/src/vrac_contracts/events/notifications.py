"""Events published by the notifications service (internal)."""

from __future__ import annotations

from pydantic import Field

from ..fields import described
from ..ids import EventId, NotificationId, RecipientId
from ..values import Channel, DeliveryError
from .base import EventData


class _NotificationEvent(EventData):
    notification_id: NotificationId = described("Id of the notification.")
    recipient_id: RecipientId = described("The guardian, member or agency it was sent to.")
    channel: Channel = described("The channel it was sent on.")
    trigger_event_id: EventId = described("The `ce_id` of the event that caused it.")
    attempts: int = Field(description="How many delivery attempts were made.", ge=1, le=1000)


class NotificationDelivered(_NotificationEvent):
    """A notification reached its recipient's channel."""


class NotificationFailed(_NotificationEvent):
    """A notification could not be delivered."""

    error_code: DeliveryError = described("Why delivery failed.")
    final: bool = described("True when no more attempts will be made.", default=True)
