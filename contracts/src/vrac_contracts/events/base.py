"""What every event's data has in common."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ..fields import described
from ..ids import CaseId
from ..values import Pilot


class EventData(BaseModel):
    """Base of every event's data.

    Unknown fields are ignored when decoding (``extra="ignore"``), on purpose: producers may
    add optional fields within a major version, and consumers built against an older
    contracts release must keep working. The JSON Schemas therefore allow additional
    properties too. Instances are immutable: an event is a fact.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    case_id: CaseId = described("Pseudonymous id of the case; also the Kafka message key.")
    pilot: Pilot = described("The pilot whose programme the case belongs to.")
    occurred_at: AwareDatetime = described(
        "When the event was recorded by the producing service (RFC 3339, with offset)."
    )
