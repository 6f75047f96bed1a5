"""Cases in MongoDB: one document per case, holding its state and its own outbox.

Every write is a single-document write of the new state together with the events the
change recorded, so a case never changes without its events, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts import values as vocab
from vrac_runtime.idempotency import merge_updates
from vrac_runtime.outbox import WITHOUT_OUTBOX, append_outbox, insert_with_events
from vrac_runtime.store import DocumentLocks

from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.consent import ConsentDecision, Recorder
from vrac_intake.domain.errors import ChangedMeanwhile
from vrac_intake.domain.family import Guardian

CASES: Final = "cases"
COLLECTIONS: Final = (CASES,)
FINGERPRINT: Final = "registration_fingerprint"
# set while the case owes the destruction of data keys, for the periodic job to find
KEYS_OWED: Final = "erasure_pending"
# what a read never needs: pending events and the registration fingerprint
_HIDDEN: Final = {**WITHOUT_OUTBOX, FINGERPRINT: 0}


class MongoCases:
    """The ``Cases`` repository of the running service."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        on_events: Callable[[], None] = lambda: None,
    ) -> None:
        self._cases = db[CASES]
        # commands on one case run one after another, so neither fails on the other's write
        self._commands = DocumentLocks()
        # told after a write that queued events, so the relay sends them at once
        self._on_events = on_events

    async def create_indexes(self) -> None:
        await self._cases.create_index([("pilot", ASCENDING), ("opened_at", DESCENDING)])
        await self._cases.create_index(KEYS_OWED)

    def lock(self, case_id: str) -> AbstractAsyncContextManager[None]:
        return self._commands.hold(case_id)

    async def add(self, case: Case, fingerprint: str | None = None) -> bool:
        doc = {**_state(case), "_id": case.case_id, "version": case.version}
        if fingerprint is not None:
            doc[FINGERPRINT] = fingerprint
        return await insert_with_events(self._cases, doc, case.pull_events(), self._on_events)

    async def fingerprint(self, case_id: str) -> str | None:
        doc = await self._cases.find_one({"_id": case_id}, {FINGERPRINT: 1})
        return None if doc is None else doc.get(FINGERPRINT)

    async def get(self, case_id: str) -> Case | None:
        doc = await self._cases.find_one({"_id": case_id}, _HIDDEN)
        return None if doc is None else _case(doc)

    async def save(self, case: Case) -> None:
        """Write the case's new state and its recorded events, if nobody wrote in between.

        The caller holds the case's command lock; the version check guards against another
        process writing the same case."""
        events = case.pull_events()
        update = merge_updates(
            {"$set": {**_state(case), "version": case.version + 1}},
            append_outbox(events),
            # the fingerprint is a digest of the family's details: it goes with them
            {"$unset": {FINGERPRINT: ""}} if case.erased or case.removed_guardians else {},
        )
        result = await self._cases.update_one(
            {"_id": case.case_id, "version": case.version}, update
        )
        if result.modified_count != 1:
            raise ChangedMeanwhile(f"case {case.case_id} changed meanwhile; try again")
        case.version += 1
        if events:
            self._on_events()

    async def search(
        self, pilot: vocab.Pilot | None, status: CaseStatus | None, limit: int, offset: int
    ) -> list[Case]:
        query: dict[str, Any] = {}
        if pilot is not None:
            query["pilot"] = str(pilot)
        if status is not None:
            query["status"] = str(status)
        cursor = (
            self._cases.find(query, _HIDDEN)
            .sort([("opened_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_case(doc) async for doc in cursor]

    async def owing_keys(self, limit: int) -> list[str]:
        cursor = self._cases.find({KEYS_OWED: True}, {"_id": 1}).sort("_id").limit(limit)
        return [str(doc["_id"]) async for doc in cursor]


# -- mapping between the aggregate and its document --


def _state(case: Case) -> dict[str, Any]:
    return {
        "pilot": str(case.pilot),
        "programme": case.programme,
        "language": str(case.language),
        "child_first_name": case.child_first_name,
        "birth_year": case.birth_year,
        "school_name": case.school_name,
        "guardians": [_guardian_doc(g) for g in case.guardians],
        "opened_at": case.opened_at,
        "registered_by": case.registered_by,
        "status": str(case.status),
        "closed_at": case.closed_at,
        "close_reason": None if case.close_reason is None else str(case.close_reason),
        "closed_by": case.closed_by,
        "erased": case.erased,
        "consents": [_decision_doc(d) for d in case.consents],
        "removed_guardians": list(case.removed_guardians),
        "keys_to_destroy": list(case.keys_to_destroy),
        KEYS_OWED: bool(case.keys_to_destroy),
    }


def _guardian_doc(guardian: Guardian) -> dict[str, Any]:
    return {
        "guardian_id": guardian.guardian_id,
        "name": guardian.name,
        "email": guardian.email,
        "phone": guardian.phone,
        "preferred_channel": str(guardian.preferred_channel),
        "language": str(guardian.language),
    }


def _decision_doc(decision: ConsentDecision) -> dict[str, Any]:
    who = decision.recorded_by
    return {
        "purpose": str(decision.purpose),
        "agency_id": decision.agency_id,
        "granted": decision.granted,
        "role": str(who.role),
        "guardian_id": who.guardian_id,
        "user": who.user,
        "decided_at": decision.decided_at,
        "recorded_at": decision.recorded_at,
    }


def _case(doc: dict[str, Any]) -> Case:
    reason = doc.get("close_reason")
    return Case(
        case_id=doc["_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        programme=doc["programme"],
        language=vocab.Language(doc["language"]),
        child_first_name=doc.get("child_first_name"),
        birth_year=doc.get("birth_year"),
        school_name=doc.get("school_name"),
        guardians=tuple(_guardian(g) for g in doc.get("guardians", [])),
        opened_at=doc["opened_at"],
        registered_by=doc.get("registered_by", ""),
        status=CaseStatus(doc["status"]),
        closed_at=doc.get("closed_at"),
        close_reason=None if reason is None else vocab.CloseReason(reason),
        closed_by=doc.get("closed_by"),
        erased=bool(doc.get("erased", False)),
        consents=[_decision(d) for d in doc.get("consents", [])],
        removed_guardians=list(doc.get("removed_guardians", [])),
        keys_to_destroy=list(doc.get("keys_to_destroy", [])),
        version=int(doc["version"]),
    )


def _guardian(doc: dict[str, Any]) -> Guardian:
    return Guardian(
        guardian_id=doc["guardian_id"],
        name=doc.get("name"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        preferred_channel=vocab.Channel(doc["preferred_channel"]),
        language=vocab.Language(doc["language"]),
    )


def _decision(doc: dict[str, Any]) -> ConsentDecision:
    return ConsentDecision(
        purpose=vocab.ConsentPurpose(doc["purpose"]),
        agency_id=doc.get("agency_id"),
        granted=bool(doc["granted"]),
        recorded_by=Recorder(
            role=vocab.ActorRole(doc["role"]),
            guardian_id=doc.get("guardian_id"),
            user=doc.get("user"),
        ),
        decided_at=doc["decided_at"],
        recorded_at=doc["recorded_at"],
    )
