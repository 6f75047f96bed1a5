"""The family links intake issued, in MongoDB: one document per link, nothing personal
(ids and times), never the token."""

from __future__ import annotations

from typing import Any, Final

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from vrac_intake.domain.clock import to_stored
from vrac_intake.domain.links import FamilyLink

FAMILY_LINKS: Final = "family_links"


class MongoFamilyLinks:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._links = db[FAMILY_LINKS]

    async def create_indexes(self) -> None:
        await self._links.create_index([("case_id", ASCENDING), ("issued_at", ASCENDING)])

    async def add(self, link: FamilyLink) -> None:
        await self._links.insert_one(_doc(link))

    async def get(self, link_id: str) -> FamilyLink | None:
        doc = await self._links.find_one({"_id": link_id})
        return None if doc is None else _link(doc)

    async def put(self, link: FamilyLink) -> None:
        await self._links.replace_one({"_id": link.link_id}, _doc(link))

    async def of_case(self, case_id: str) -> list[FamilyLink]:
        found = self._links.find({"case_id": case_id}).sort("issued_at", ASCENDING)
        return [_link(doc) async for doc in found]


def _doc(link: FamilyLink) -> dict[str, Any]:
    return {
        "_id": link.link_id,
        "case_id": link.case_id,
        "pilot": link.pilot,
        "guardian_id": link.guardian_id,
        "issued_at": link.issued_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
    }


def _link(doc: dict[str, Any]) -> FamilyLink:
    revoked = doc.get("revoked_at")
    return FamilyLink(
        link_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=doc["pilot"],
        guardian_id=doc["guardian_id"],
        issued_at=to_stored(doc["issued_at"]),
        expires_at=to_stored(doc["expires_at"]),
        revoked_at=None if revoked is None else to_stored(revoked),
    )
