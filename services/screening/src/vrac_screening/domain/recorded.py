"""How an aggregate hands over the events it recorded, as intake's ``Case`` does."""

from __future__ import annotations

from vrac_contracts.events.base import EventData


class RecordsEvents:
    """For dataclasses with ``events: list[EventData]``; the store keeps them in the outbox
    of the same write as the aggregate."""

    events: list[EventData]

    def pull_events(self) -> list[EventData]:
        """The events recorded since the last call (the repository stores them)."""
        pulled = list(self.events)
        self.events.clear()  # in place: the aggregates are frozen
        return pulled
