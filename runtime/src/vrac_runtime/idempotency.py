"""Helpers that make a handler safe to run twice on the same event.

The effect is keyed by an id derived from the event (a second insert of the same id is a
no-op), or it is a conditional single-document update that a second delivery no longer
matches. (A list of applied event ids in the document would grow without bound on FerretDB,
which ignores ``$slice`` in ``$push``.)
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


def newer_at(path: str, changed_at: Any) -> dict[str, Any]:
    """Filter fragment: nothing is stored at ``path`` yet, or what is there changed before
    ``changed_at`` (a decision that arrives late never overwrites a newer one)."""
    return {"$or": [{path: {"$exists": False}}, {f"{path}.changed_at": {"$lt": changed_at}}]}


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
