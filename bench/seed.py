"""Documents shaped exactly as the services' adapters write them, inserted in bulk.

Two uses: the registered state of the cases a run measures (for the hand-written
``same_work`` pipeline, which has no intake events to build it from), and a year of data
already in the stores (the ``data_growth`` run): per case the screening's case projection,
screening and diploma, and notifications' case file with the family and a network (a
grandmother and the teacher), the messages it owed (the diploma to the guardian, a task to
the grandmother, the advice for school, withheld without that consent) and their deliveries,
claims and outcomes, each as the relay leaves it once its events went out.

The documents come from the services' own domain objects and mappers, so they follow the
adapters when those change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts import events
from vrac_contracts import values as vocab
from vrac_contracts.advice import AdviceCode
from vrac_contracts.catalogue import spec_for
from vrac_contracts.consent import ConsentState, consent_key
from vrac_notifications.adapters import store as notifications_store
from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.casefile import delivery_id as delivery_id_for
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.intents import (
    DiplomaMessage,
    Intent,
    MessageKind,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_runtime.outbox import OUTBOX, PENDING_FLAG
from vrac_screening.adapters import store as screening_store
from vrac_screening.domain.advice_rules import AdviceChoice
from vrac_screening.domain.diploma import Diploma, diploma_id_for
from vrac_screening.domain.scores import DomainResult, Rating
from vrac_screening.domain.screening import Screening

PILOT = vocab.Pilot.LEIDEN
LANGUAGE = vocab.Language.NL
GUARDIAN_ID = "gdn_bench0000001"
GUARDIAN_EMAIL = "guardian@example.org"
OWNER = "bench-seed"
# an outbox as the relay leaves it once its events went out
RELAYED = {OUTBOX: [], PENDING_FLAG: False}
DIPLOMA_ISSUED = spec_for(events.DiplomaIssued).ce_type
FINDINGS_RECORDED = spec_for(events.FindingsRecorded).ce_type
TASK_ASSIGNED = spec_for(events.TaskAssigned).ce_type


@dataclass
class Documents:
    """Documents per database role (``screening``, ``notifications``) and collection."""

    by_collection: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, role: str, collection: str, *docs: dict[str, Any]) -> None:
        self.by_collection.setdefault((role, collection), []).extend(docs)

    def count(self) -> int:
        return sum(len(docs) for docs in self.by_collection.values())


def _consents(granted_at: dt.datetime) -> dict[str, ConsentState]:
    return {consent_key(vocab.ConsentPurpose.DIPLOMA): ConsentState(True, granted_at)}


def screening_case(case_id: str, at: dt.datetime) -> dict[str, Any]:
    """Screening's projection of a case once intake's case-opened, family-registered and
    diploma consent were handled (``MongoCases``)."""
    consents = {
        key: {"granted": state.granted, "changed_at": state.changed_at}
        for key, state in _consents(at).items()
    }
    return {
        "_id": case_id,
        "pilot": str(PILOT),
        "opened": True,
        "closed": False,
        "consents": consents,
        "erased": False,
        "programme": "pit",
        "opened_at": at,
        "child_first_name": "Sam",
        "language": str(LANGUAGE),
    }


def guardian() -> Contact:
    return Contact(
        recipient_id=GUARDIAN_ID,
        recipient_kind=RecipientKind.GUARDIAN,
        name="Fatima",
        language=LANGUAGE,
        channel=vocab.Channel.EMAIL,
        email=GUARDIAN_EMAIL,
    )


def _member(
    member_id: str, name: str, email: str, kind: vocab.MemberKind, role: vocab.NetworkRole
) -> Contact:
    return Contact(
        recipient_id=member_id,
        recipient_kind=RecipientKind.MEMBER,
        name=name,
        language=LANGUAGE,
        channel=vocab.Channel.EMAIL,
        email=email,
        member_kind=kind,
        role=role,
    )


def _network() -> list[Contact]:
    family, professional = vocab.MemberKind.FAMILY, vocab.MemberKind.PROFESSIONAL
    return [
        _member(
            "mbr_grandmother01", "Oma Ans", "oma@example.org", family, vocab.NetworkRole.SUPPORTER
        ),
        _member(
            "mbr_teacher00001",
            "Juf Marit",
            "teacher@example.org",
            professional,
            vocab.NetworkRole.TEACHER,
        ),
    ]


def case_file_doc(case: CaseFile) -> dict[str, Any]:
    """A case file as ``MongoCaseFiles.save`` writes it."""
    return {
        "_id": case.case_id,
        **notifications_store._case_file_doc(case),
        "version": case.version,
    }


def registered_case_file(case_id: str, at: dt.datetime) -> dict[str, Any]:
    """Notifications' case file once the family (one guardian who reads e-mail) and the
    diploma consent were handled."""
    case = CaseFile(case_id=case_id, pilot=PILOT, version=3)
    case.register_family("Sam", LANGUAGE, [guardian()])
    case.consents = _consents(at)
    return case_file_doc(case)


# -- a year of data --

_EVENTS = uuid.UUID("5b1d7c1e-2f0a-4d8e-9a61-0c3b7e9d2f48")


def _event_id(case_id: str, what: str) -> str:
    """The ``ce_id`` of a past event (a UUID, as every envelope's), fixed per case."""
    return str(uuid.uuid5(_EVENTS, f"{case_id}/{what}"))


def _screening(case_id: str, screening_id: str, at: dt.datetime) -> Screening:
    return Screening(
        screening_id=screening_id,
        case_id=case_id,
        pilot=PILOT,
        language=LANGUAGE,
        results=(
            DomainResult(vocab.Domain.WORKING_MEMORY, vocab.ScoreKind.PERCENTILE, 88, Rating.ABOVE),
            DomainResult(vocab.Domain.READING, vocab.ScoreKind.PERCENTILE, 12, Rating.BELOW),
            DomainResult(vocab.Domain.ATTENTION, vocab.ScoreKind.PERCENTILE, 50, Rating.AVERAGE),
        ),
        strengths=(vocab.Domain.WORKING_MEMORY,),
        growth_areas=(vocab.Domain.READING,),
        advice=(
            AdviceChoice(AdviceCode.MEMORY_FOR_READING, vocab.AdviceAudience.SCHOOL, "r1"),
            AdviceChoice(AdviceCode.QUIET_PLACE_IN_CLASS, vocab.AdviceAudience.SCHOOL, "r2"),
        ),
        screened_on=at.date(),
        recorded_at=at,
    )


def _delivery(
    case_id: str, intent: Intent, contact: Contact, status: DeliveryStatus, at: dt.datetime
) -> Delivery:
    delivered = status is DeliveryStatus.DELIVERED
    return Delivery(
        delivery_id=delivery_id_for(intent.trigger_id, contact.recipient_id),
        case_id=case_id,
        pilot=PILOT,
        recipient_id=contact.recipient_id,
        recipient_kind=contact.recipient_kind,
        channel=vocab.Channel.EMAIL,
        kind=intent.kind,
        trigger_event_id=intent.trigger_id,
        trigger_type=intent.trigger_type,
        status=status,
        created_at=at,
        updated_at=at,
        attempts=1,
        error_code=None if delivered else vocab.DeliveryError.NO_CONSENT,
        delivered_at=at if delivered else None,
    )


def _delivery_docs(delivery: Delivery, at: dt.datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """A delivery and what its attempt left: the claim and the final outcome (a withheld one
    was recorded once, with no attempt)."""
    doc = notifications_store._delivery_doc(delivery)
    if delivery.status is not DeliveryStatus.DELIVERED:
        yield notifications_store.DELIVERIES, doc | RELAYED
        return
    settled = {"next_attempt_at": None, "due_at": None}
    yield notifications_store.DELIVERIES, doc | settled | {"claims": 1, "claim_owner": OWNER}
    yield (
        notifications_store.CLAIMS,
        {
            "_id": f"{delivery.delivery_id}:1",
            "delivery_id": delivery.delivery_id,
            "owner": OWNER,
            "claimed_at": at,
            "expires_at": at + dt.timedelta(minutes=5),
        },
    )
    outcome = {name: doc[name] for name in notifications_store._OUTCOME}
    yield (
        notifications_store.OUTCOMES,
        {"_id": f"{delivery.delivery_id}:final", "delivery_id": delivery.delivery_id}
        | outcome
        | RELAYED,
    )


def year_of_case(i: int, at: dt.datetime, into: Documents) -> None:
    """One past case, as both services hold it a while after it went through."""
    case_id = f"case_year{i:08d}"
    screening_id = f"scr_year{i:08d}"
    screening = _screening(case_id, screening_id, at)
    diploma = Diploma(
        diploma_id=diploma_id_for(screening_id),
        screening_id=screening_id,
        case_id=case_id,
        pilot=PILOT,
        language=LANGUAGE,
        strengths=screening.strengths,
        issued_at=at,
    )
    into.add("screening", screening_store.CASES, screening_case(case_id, at))
    into.add(
        "screening", screening_store.SCREENINGS, screening_store._screening_doc(screening) | RELAYED
    )
    into.add("screening", screening_store.DIPLOMAS, screening_store._diploma_doc(diploma) | RELAYED)

    family, (grandmother, teacher) = guardian(), _network()
    task = TaskMessage(
        trigger_id=_event_id(case_id, "task"),
        trigger_type=TASK_ASSIGNED,
        occurred_at=at,
        kind=MessageKind.TASK_ASSIGNED,
        task_id=f"tsk_year{i:08d}",
        member_id=grandmother.recipient_id,
        category=vocab.TaskCategory.HOMEWORK_SUPPORT,
        due_date=(at + dt.timedelta(days=14)).date(),
    )
    made = DiplomaMessage(
        trigger_id=_event_id(case_id, "diploma"),
        trigger_type=DIPLOMA_ISSUED,
        occurred_at=at,
        diploma_id=diploma.diploma_id,
    )
    advice = SchoolAdviceMessage(
        trigger_id=_event_id(case_id, "findings"),
        trigger_type=FINDINGS_RECORDED,
        occurred_at=at,
        screening_id=screening_id,
        advice_codes=tuple(str(a.code) for a in screening.advice),
    )
    case = CaseFile(case_id=case_id, pilot=PILOT, version=9, consents=_consents(at))
    case.register_family("Sam", LANGUAGE, [family])
    for member in (grandmother, teacher):
        case.add_member(member)
    case.intents = [advice, made, task]
    into.add("notifications", notifications_store.CASE_FILES, case_file_doc(case))
    for intent, contact, status in (
        (made, family, DeliveryStatus.DELIVERED),
        (task, grandmother, DeliveryStatus.DELIVERED),
        (advice, teacher, DeliveryStatus.WITHHELD),
    ):
        for collection, doc in _delivery_docs(_delivery(case_id, intent, contact, status, at), at):
            into.add("notifications", collection, doc)


def year_of_data(cases: int, now: dt.datetime) -> Iterator[Documents]:
    """``cases`` past cases spread over the last year, in chunks of a thousand."""
    step = dt.timedelta(days=365) / max(cases, 1)
    for start in range(0, cases, 1000):
        chunk = Documents()
        for i in range(start, min(cases, start + 1000)):
            year_of_case(i, now - dt.timedelta(days=365) + i * step, chunk)
        yield chunk


async def insert(
    mongodb_url: str, databases: dict[str, str], chunks: Iterable[Documents]
) -> dict[str, int]:
    """Insert every chunk in bulk into the databases named per role; counts per collection."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    counts: dict[str, int] = {}
    try:
        for chunk in chunks:
            for (role, name), docs in chunk.by_collection.items():
                db: AsyncDatabase[Any] = client[databases[role]]
                await db[name].insert_many(docs, ordered=False)
                counts[f"{role}.{name}"] = counts.get(f"{role}.{name}", 0) + len(docs)
    finally:
        await client.close()
    return counts
