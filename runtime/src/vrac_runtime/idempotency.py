"""Helpers that make a handler safe to run twice on the same event.

Two ways, both single-document: an effect keyed by an id derived from the event (a second
insert of the same id is a no-op), or a conditional update that only applies when the
event's ``ce_id`` is not yet in the document's ``applied_events`` and records it.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

APPLIED = "applied_events"
# How many applied event ids a document remembers; redeliveries arrive long before this.
APPLIED_MEMORY = 1000


def not_yet_applied(event_id: str) -> dict[str, Any]:
    """Filter fragment: the document has not applied this event."""
    return {APPLIED: {"$ne": event_id}}


def mark_applied(event_id: str) -> dict[str, Any]:
    """Update fragment: remember that the document applied this event."""
    return {"$push": {APPLIED: {"$each": [event_id], "$slice": -APPLIED_MEMORY}}}


def merge_updates(*updates: dict[str, Any]) -> dict[str, Any]:
    """Combine update documents operator by operator (``$push`` of different fields...)."""
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        for operator, fields in update.items():
            target = merged.setdefault(operator, {})
            clash = set(target).intersection(fields)
            if clash:
                raise ValueError(f"two updates both set {sorted(clash)} with {operator}")
            target.update(fields)
    return merged


async def insert_once(collection: AsyncCollection[Any], document: dict[str, Any]) -> bool:
    """Insert a document with a deterministic ``_id``; False when it already existed."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True
