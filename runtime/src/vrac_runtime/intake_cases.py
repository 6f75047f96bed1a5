"""The Mongo side of ``vrac_runtime.intake_facts``: one document per case, in a service's
own collection, holding what intake told it.

A document starts as ``{pilot, opened: False, closed: False, consents: {}}`` plus the
service's own starting fields, whichever event arrives first. ``opened`` and ``closed`` only
ever become true; per consent key the decision with the newest ``changed_at`` wins, so a
late or repeated event changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from vrac_contracts.consent import ConsentState, consent_decision
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.values import Pilot

from vrac_runtime.idempotency import newer_at

CONSENTS = "consents"


def consents_of(doc: Mapping[str, Any]) -> dict[str, ConsentState]:
    """The consent decisions kept in a case document."""
    return {
        key: ConsentState(granted=value["granted"], changed_at=value["changed_at"])
        for key, value in (doc.get(CONSENTS) or {}).items()
    }


class MongoIntakeCases:
    """Records intake's facts in a collection of case documents (``IntakeFacts``)."""

    def __init__(
        self, cases: AsyncCollection[Any], starts_with: Mapping[str, Any] | None = None
    ) -> None:
        self._cases = cases
        # the service's own fields of a new case document (members, erased...)
        self._starts_with = dict(starts_with or {})

    async def record_opened(self, event: CaseOpened) -> None:
        fields = {"opened": True, "programme": event.programme, "opened_at": event.opened_at}
        # case-opened is the authority on the pilot
        await self.upsert(event.case_id, event.pilot, {"pilot": str(event.pilot), **fields})

    async def record_closed(self, event: CaseClosed) -> None:
        fields = {"closed": True, "close_reason": str(event.reason), "closed_at": event.occurred_at}
        await self.upsert(event.case_id, event.pilot, fields)

    async def record_consent(self, event: ConsentRecorded) -> None:
        key, consent = consent_decision(event)
        await self.upsert(event.case_id, event.pilot)
        path = f"{CONSENTS}.{key}"
        await self._cases.update_one(
            {"_id": event.case_id, **newer_at(path, consent.changed_at)},
            {"$set": {path: {"granted": consent.granted, "changed_at": consent.changed_at}}},
        )

    async def upsert(
        self, case_id: str, pilot: Pilot, changes: Mapping[str, Any] | None = None
    ) -> None:
        """Set ``changes`` on the case, creating its document first if need be."""
        changes = dict(changes or {})
        new = {"pilot": str(pilot), "opened": False, "closed": False, CONSENTS: {}}
        new |= self._starts_with
        update: dict[str, Any] = {
            "$setOnInsert": {k: v for k, v in new.items() if k not in changes}
        }
        if changes:
            update["$set"] = changes
        try:
            await self._cases.update_one({"_id": case_id}, update, upsert=True)
        except DuplicateKeyError:
            # another process inserted the case first: the document exists now
            await self._cases.update_one({"_id": case_id}, update)
