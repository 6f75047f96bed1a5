"""The Mongo side: cases (intake's projection), screenings, diplomas, their rendered PDFs
and questionnaires.

Every write that records an event inserts the aggregate together with its ``outbox`` in
one single-document write; nothing appends to an outbox later, so the relay's removal of
sent entries never races another writer. The case projection is written by this
service's own consumer of intake's events, one event at a time, and by the writers of a
case's records, which register there first (``begin_write``): an erasure marks the case in
that same document, so each check and its write cannot be interleaved. The child's name
lives only in the case document and the PDF cache; its screenings, diplomas and
questionnaires are about the child too, and erasure deletes them all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Final

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts import values as vocab
from vrac_contracts.advice import AdviceCode
from vrac_contracts.events.base import EventData
from vrac_runtime.idempotency import insert_once
from vrac_runtime.intake_cases import MongoIntakeCases, consents_of
from vrac_runtime.outbox import OUTBOX, WITHOUT_OUTBOX, insert_with_events, new_outbox

from vrac_screening.domain.advice_rules import AdviceChoice
from vrac_screening.domain.case import Case
from vrac_screening.domain.diploma import Diploma
from vrac_screening.domain.links import DiplomaLink
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.scores import DomainResult, Rating
from vrac_screening.domain.screening import Screening
from vrac_screening.domain.wellbeing import Measurement, rescored

CASES: Final = "cases"
SCREENINGS: Final = "screenings"
DIPLOMAS: Final = "diplomas"
DIPLOMA_PDFS: Final = "diploma_pdfs"
QUESTIONNAIRES: Final = "questionnaires"
DIPLOMA_LINKS: Final = "diploma_links"
MEASUREMENTS: Final = "measurements"
# the collections whose documents carry an outbox
OUTBOX_COLLECTIONS: Final = (SCREENINGS, DIPLOMAS, QUESTIONNAIRES, MEASUREMENTS)
_NO_OUTBOX = WITHOUT_OUTBOX
_SENT = {f"{OUTBOX}.0": {"$exists": False}}
# in a case document: the writes of its records under way, token -> lease expiry
_WRITES: Final = "writes"
# what a read of the case needs: not the writes under way
_CASE_FIELDS: Final = {_WRITES: 0}


def _no_wake() -> None:
    return None


class MongoCases(MongoIntakeCases):
    """Intake's cases as screening knows them, with the child's name and language; written
    only by the consumer of intake's events, one event at a time, and every update is safe
    to apply twice."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        super().__init__(db[CASES], starts_with={"erased": False})

    async def create_indexes(self) -> None:
        # the periodic erasure job asks for the few flagged cases, not every case's document
        await self._cases.create_index([("erasure_pending", ASCENDING)])

    async def get(self, case_id: str) -> Case | None:
        doc = await self._cases.find_one({"_id": case_id}, _CASE_FIELDS)
        return None if doc is None else _case(doc)

    async def keep_family(
        self, case_id: str, pilot: vocab.Pilot, child_first_name: str, language: vocab.Language
    ) -> None:
        await self.upsert(case_id, pilot)
        # an erased case never gets a name back, even from a late redelivery
        await self._cases.update_one(
            {"_id": case_id, "erased": False},
            {"$set": {"child_first_name": child_first_name, "language": str(language)}},
        )

    async def mark_erased(self, case_id: str, pilot: vocab.Pilot) -> None:
        erased: dict[str, Any] = {
            "erased": True,
            "erasure_pending": True,
            "child_first_name": None,
            "language": None,
            "consents": {},
        }
        await self.upsert(case_id, pilot, erased)

    async def begin_write(self, case_id: str, until: dt.datetime) -> str | None:
        # check and register in one update of the case document: on FerretDB the service's
        # database serialises it with mark_erased, on MongoDB it is atomic anyway
        token = f"w{uuid.uuid4().hex}"
        result = await self._cases.update_one(
            {"_id": case_id, "erased": {"$ne": True}}, {"$set": {f"{_WRITES}.{token}": until}}
        )
        return token if result.matched_count else None

    async def begin_write_reading(
        self, case_id: str, until: dt.datetime
    ) -> tuple[str | None, Case | None]:
        token = f"w{uuid.uuid4().hex}"
        doc = await self._cases.find_one_and_update(
            {"_id": case_id, "erased": {"$ne": True}},
            {"$set": {f"{_WRITES}.{token}": until}},
            # no projection: FerretDB 1.24 does not take one in findAndModify
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # erased (or unknown): read as it is, nothing let in
            return None, await self.get(case_id)
        return token, _case(doc)

    async def end_write(self, case_id: str, token: str) -> None:
        await self._cases.update_one({"_id": case_id}, {"$unset": {f"{_WRITES}.{token}": ""}})

    async def writes_in_flight(self, case_id: str, now: dt.datetime) -> int:
        doc = await self._cases.find_one({"_id": case_id}, {_WRITES: 1}) or {}
        return sum(1 for until in (doc.get(_WRITES) or {}).values() if until > now)

    async def erasure_done(self, case_id: str) -> None:
        await self._cases.update_one({"_id": case_id}, {"$unset": {"erasure_pending": ""}})

    async def erasures_pending(self) -> list[str]:
        cursor = self._cases.find({"erasure_pending": True}, {"_id": 1})
        return [str(doc["_id"]) async for doc in cursor]


class _Records:
    """A collection of one kind of record, each inserted with its events in its outbox."""

    def __init__(
        self, db: AsyncDatabase[Any], name: str, on_events: Callable[[], None] = _no_wake
    ) -> None:
        self._records = db[name]
        # told after a write that queued events, so the relay sends them right away
        self._on_events = on_events

    async def create_indexes(self) -> None:
        await self._records.create_index([("case_id", ASCENDING)])

    async def erase_case(self, case_id: str) -> int:
        await self._records.delete_many({"case_id": case_id, **_SENT})
        return await self._records.count_documents({"case_id": case_id})

    async def _insert(self, doc: dict[str, Any], events: list[EventData]) -> None:
        await self._records.insert_one(doc | new_outbox(events))
        self._on_events()

    async def _of_case(self, case_id: str, order: str) -> list[dict[str, Any]]:
        cursor = self._records.find({"case_id": case_id}, _NO_OUTBOX).sort(order, 1)
        return [doc async for doc in cursor]


class MongoScreenings(_Records):
    def __init__(self, db: AsyncDatabase[Any], on_events: Callable[[], None] = _no_wake):
        super().__init__(db, SCREENINGS, on_events)

    async def add(self, screening: Screening) -> None:
        await self._insert(_screening_doc(screening), screening.pull_events())

    async def get(self, screening_id: str) -> Screening | None:
        doc = await self._records.find_one({"_id": screening_id}, _NO_OUTBOX)
        return None if doc is None else _screening(doc)

    async def of_case(self, case_id: str) -> list[Screening]:
        return [_screening(doc) for doc in await self._of_case(case_id, "recorded_at")]


class MongoDiplomas(_Records):
    def __init__(self, db: AsyncDatabase[Any], on_events: Callable[[], None] = _no_wake):
        super().__init__(db, DIPLOMAS, on_events)

    async def add(self, diploma: Diploma) -> bool:
        """Store the diploma with its event; False when it was made before."""
        doc, events = _diploma_doc(diploma), diploma.pull_events()
        return await insert_with_events(self._records, doc, events, self._on_events)

    async def get(self, diploma_id: str) -> Diploma | None:
        doc = await self._records.find_one({"_id": diploma_id}, _NO_OUTBOX)
        return None if doc is None else _diploma(doc)

    async def of_case(self, case_id: str) -> list[Diploma]:
        return [_diploma(doc) for doc in await self._of_case(case_id, "issued_at")]


class MongoQuestionnaires(_Records):
    def __init__(self, db: AsyncDatabase[Any], on_events: Callable[[], None] = _no_wake):
        super().__init__(db, QUESTIONNAIRES, on_events)

    async def add(self, questionnaire: Questionnaire) -> None:
        await self._insert(_questionnaire_doc(questionnaire), questionnaire.pull_events())

    async def of_case(self, case_id: str) -> list[Questionnaire]:
        return [_questionnaire(doc) for doc in await self._of_case(case_id, "submitted_at")]


class MongoMeasurements(_Records):
    """Questionnaires answered item by item: the responses are kept, and scored again by
    their instrument's plug-in when read."""

    def __init__(self, db: AsyncDatabase[Any], on_events: Callable[[], None] = _no_wake):
        super().__init__(db, MEASUREMENTS, on_events)

    async def add(self, measurement: Measurement) -> None:
        await self._insert(_measurement_doc(measurement), measurement.pull_events())

    async def of_case(self, case_id: str) -> list[Measurement]:
        return [_measurement(doc) for doc in await self._of_case(case_id, "submitted_at")]


class MongoPdfCache:
    """Rendered diplomas, kept in the database so every replica serves the same file."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._pdfs = db[DIPLOMA_PDFS]

    async def create_indexes(self) -> None:
        await self._pdfs.create_index([("case_id", ASCENDING)])

    async def get(self, diploma_id: str) -> bytes | None:
        doc = await self._pdfs.find_one({"_id": diploma_id})
        return None if doc is None else bytes(doc["pdf"])

    async def put(self, diploma: Diploma, pdf: bytes, rendered_at: dt.datetime) -> None:
        doc = {
            "_id": diploma.diploma_id,
            "case_id": diploma.case_id,
            "pdf": pdf,
            "rendered_at": rendered_at,
        }
        await insert_once(self._pdfs, doc)

    async def drop_case(self, case_id: str) -> None:
        await self._pdfs.delete_many({"case_id": case_id})


class MongoLinks:
    """The diploma links issued: ids, diploma, case, times; no token, nothing personal."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._links = db[DIPLOMA_LINKS]

    async def create_indexes(self) -> None:
        await self._links.create_index([("diploma_id", ASCENDING)])
        await self._links.create_index([("case_id", ASCENDING)])

    async def add(self, link: DiplomaLink) -> None:
        await self._links.insert_one(_link_doc(link))

    async def get(self, link_id: str) -> DiplomaLink | None:
        doc = await self._links.find_one({"_id": link_id})
        return None if doc is None else _link(doc)

    async def put(self, link: DiplomaLink) -> None:
        await self._links.replace_one({"_id": link.link_id}, _link_doc(link))

    async def of_diploma(self, diploma_id: str) -> list[DiplomaLink]:
        found = self._links.find({"diploma_id": diploma_id}).sort("issued_at", ASCENDING)
        return [_link(doc) async for doc in found]

    async def drop_case(self, case_id: str) -> None:
        await self._links.delete_many({"case_id": case_id})


def _link_doc(link: DiplomaLink) -> dict[str, Any]:
    return {
        "_id": link.link_id,
        "diploma_id": link.diploma_id,
        "case_id": link.case_id,
        "pilot": link.pilot,
        "issued_at": link.issued_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
    }


def _link(doc: dict[str, Any]) -> DiplomaLink:
    return DiplomaLink(
        link_id=doc["_id"],
        diploma_id=doc["diploma_id"],
        case_id=doc["case_id"],
        pilot=doc["pilot"],
        issued_at=doc["issued_at"],
        expires_at=doc["expires_at"],
        revoked_at=doc.get("revoked_at"),
    )


def _case(doc: dict[str, Any]) -> Case:
    reason, language = doc.get("close_reason"), doc.get("language")
    return Case(
        case_id=doc["_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        opened=bool(doc.get("opened")),
        closed=bool(doc.get("closed")),
        erased=bool(doc.get("erased")),
        close_reason=vocab.CloseReason(reason) if reason else None,
        child_first_name=doc.get("child_first_name"),
        language=vocab.Language(language) if language else None,
        consents=consents_of(doc),
    )


def _screening_doc(screening: Screening) -> dict[str, Any]:
    return {
        "_id": screening.screening_id,
        "case_id": screening.case_id,
        "pilot": str(screening.pilot),
        "language": str(screening.language),
        "results": [
            {
                "domain": str(r.domain),
                "kind": str(r.kind),
                "score": r.score,
                "rating": None if r.rating is None else str(r.rating),
            }
            for r in screening.results
        ],
        "strengths": [str(d) for d in screening.strengths],
        "growth_areas": [str(d) for d in screening.growth_areas],
        "advice": [
            {"code": str(a.code), "audience": str(a.audience), "rule": a.rule_id}
            for a in screening.advice
        ],
        # ISO text: BSON has no date-only type
        "screened_on": screening.screened_on.isoformat(),
        "recorded_at": screening.recorded_at,
    }


def _screening(doc: dict[str, Any]) -> Screening:
    return Screening(
        screening_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        language=vocab.Language(doc["language"]),
        results=tuple(
            DomainResult(
                domain=vocab.Domain(r["domain"]),
                kind=vocab.ScoreKind(r["kind"]),
                score=r.get("score"),
                rating=Rating(r["rating"]) if r.get("rating") else None,
            )
            for r in doc["results"]
        ),
        strengths=tuple(vocab.Domain(d) for d in doc["strengths"]),
        growth_areas=tuple(vocab.Domain(d) for d in doc["growth_areas"]),
        advice=tuple(
            AdviceChoice(
                code=AdviceCode(a["code"]),
                audience=vocab.AdviceAudience(a["audience"]),
                rule_id=a["rule"],
            )
            for a in doc["advice"]
        ),
        screened_on=dt.date.fromisoformat(doc["screened_on"]),
        recorded_at=doc["recorded_at"],
    )


def _diploma_doc(diploma: Diploma) -> dict[str, Any]:
    return {
        "_id": diploma.diploma_id,
        "screening_id": diploma.screening_id,
        "case_id": diploma.case_id,
        "pilot": str(diploma.pilot),
        "language": str(diploma.language),
        "strengths": [str(d) for d in diploma.strengths],
        "issued_at": diploma.issued_at,
    }


def _diploma(doc: dict[str, Any]) -> Diploma:
    return Diploma(
        diploma_id=doc["_id"],
        screening_id=doc["screening_id"],
        case_id=doc["case_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        language=vocab.Language(doc["language"]),
        strengths=tuple(vocab.Domain(d) for d in doc["strengths"]),
        issued_at=doc["issued_at"],
    )


def _questionnaire_doc(questionnaire: Questionnaire) -> dict[str, Any]:
    return {
        "_id": questionnaire.questionnaire_id,
        "case_id": questionnaire.case_id,
        "pilot": str(questionnaire.pilot),
        "instrument": str(questionnaire.instrument),
        "respondent": str(questionnaire.respondent),
        "score": questionnaire.score,
        "band": str(questionnaire.band),
        "submitted_at": questionnaire.submitted_at,
    }


def _questionnaire(doc: dict[str, Any]) -> Questionnaire:
    return Questionnaire(
        questionnaire_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        instrument=vocab.Instrument(doc["instrument"]),
        respondent=vocab.Respondent(doc["respondent"]),
        score=int(doc["score"]),
        band=vocab.WellbeingBand(doc["band"]),
        submitted_at=doc["submitted_at"],
    )


def _measurement_doc(measurement: Measurement) -> dict[str, Any]:
    return {
        "_id": measurement.questionnaire_id,
        "case_id": measurement.case_id,
        "pilot": str(measurement.pilot),
        "instrument": str(measurement.instrument),
        "respondent": str(measurement.respondent),
        "occasion": str(measurement.occasion),
        "responses": dict(measurement.responses),
        "submitted_at": measurement.submitted_at,
    }


def _measurement(doc: dict[str, Any]) -> Measurement:
    return rescored(
        questionnaire_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        instrument=vocab.Instrument(doc["instrument"]),
        respondent=vocab.Respondent(doc["respondent"]),
        occasion=vocab.Occasion(doc["occasion"]),
        responses={str(k): int(v) for k, v in doc["responses"].items()},
        submitted_at=doc["submitted_at"],
    )
