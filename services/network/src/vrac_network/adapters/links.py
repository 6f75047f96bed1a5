"""The helpers' task links, one document each: what the signature covers and when it was
used. Nothing personal is kept here (ids and dates only)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from vrac_network.domain.links import TaskLink

LINKS: Final = "task_links"


class MongoTaskLinks:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._links = db[LINKS]

    async def create_indexes(self) -> None:
        await self._links.create_index([("task_id", ASCENDING)])

    async def add(self, link: TaskLink) -> None:
        await self._links.insert_one(
            {
                "_id": link.link_id,
                "case_id": link.case_id,
                "pilot": link.pilot,
                "task_id": link.task_id,
                "member_id": link.member_id,
                "issued_at": link.issued_at,
                "expires_at": link.expires_at,
                "used_at": None,
            }
        )

    async def get(self, link_id: str) -> TaskLink | None:
        doc = await self._links.find_one({"_id": link_id})
        if doc is None:
            return None
        return TaskLink(
            link_id=doc["_id"],
            case_id=doc["case_id"],
            pilot=doc["pilot"],
            task_id=doc["task_id"],
            member_id=doc["member_id"],
            issued_at=_utc(doc["issued_at"]),
            expires_at=_utc(doc["expires_at"]),
            used_at=_utc(doc["used_at"]) if doc.get("used_at") else None,
        )

    async def claim(self, link_id: str, now: dt.datetime) -> bool:
        result = await self._links.update_one(
            {"_id": link_id, "used_at": None}, {"$set": {"used_at": now}}
        )
        return result.modified_count == 1

    async def release(self, link_id: str) -> None:
        await self._links.update_one({"_id": link_id}, {"$set": {"used_at": None}})


def _utc(moment: dt.datetime) -> dt.datetime:
    # the driver hands back naive datetimes unless told otherwise
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
