"""How an aggregate records the events it causes and hands them over.

Pure Python, so a ``domain`` package may import it. Every event of a case carries the case's
id and pilot; ``record`` fills them from the aggregate, so a domain writes only what is
specific to each event. The repository stores what ``pull_events`` returns in the outbox of
the same write as the aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from vrac_contracts.events.base import EventData
from vrac_contracts.values import Pilot

E = TypeVar("E", bound=EventData)


class RecordsEvents:
    """Mixin for a dataclass aggregate with ``case_id``, ``pilot`` and the field
    ``events: list[EventData] = field(default_factory=list, repr=False, compare=False)``.
    Works for frozen dataclasses too: the list is changed in place, never replaced."""

    case_id: str
    pilot: Pilot
    events: list[EventData]

    def record(self, event: type[E], occurred_at: dt.datetime, **fields: Any) -> E:
        """Build the event (the contract validates it first: a refused field records
        nothing), append it to ``events`` and return it."""
        built = event.model_validate(
            {"case_id": self.case_id, "pilot": self.pilot, "occurred_at": occurred_at, **fields}
        )
        self.events.append(built)
        return built

    def pull_events(self) -> list[EventData]:
        """The events recorded since the last call, oldest first; ``events`` is left empty."""
        pulled = list(self.events)
        self.events.clear()
        return pulled
