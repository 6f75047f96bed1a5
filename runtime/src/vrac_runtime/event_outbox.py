"""An aggregate's recorded events into its document's outbox, in the same write.

The stores all wrap each domain event in a fresh envelope before queuing it; these helpers
do that once, so a store hands over ``pull_events()`` and gets the document fields or the
update fragment that queue them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from vrac_contracts.envelope import new_envelope
from vrac_contracts.events.base import EventData

from vrac_runtime.idempotency import insert_once
from vrac_runtime.outbox import outbox_fields, push_outbox


def new_outbox(events: Iterable[EventData]) -> dict[str, Any]:
    """The fields of a new document whose outbox holds these events."""
    return outbox_fields(new_envelope(event) for event in events)


def append_outbox(events: Iterable[EventData]) -> dict[str, Any]:
    """The update fragment that appends these events to a document's outbox."""
    return push_outbox(new_envelope(event) for event in events)


async def insert_with_events(
    collection: AsyncCollection[Any],
    document: dict[str, Any],
    events: Iterable[EventData],
    on_events: Callable[[], None],
) -> bool:
    """Insert a document with a deterministic ``_id`` and its events queued; False when it
    existed already. Only a new document wakes the relay: a repeat queues nothing."""
    inserted = await insert_once(collection, document | new_outbox(events))
    if inserted:
        on_events()
    return inserted
