"""The Mongo side: case and task documents, each carrying its own outbox.

Every write that records an event is one single-document update (state and outbox
together), conditional on what the domain decided from: a case still open, a task still at
the version that was read, a task not yet flagged overdue (the runtime's database makes
such conditions hold, see ``vrac_runtime.store``), and no write ever touches another
aggregate's document: a closed case's tasks are skipped by the sweep, not rewritten.
Documents are mapped by hand (``_*_doc`` and their readers below).

Erasure: the case document's ``erased`` flag is set in the same write as ``closed`` and
``erasure_pending``; ``removals_pending`` lists members who left whose key or tasks' free
text may still be there. Members are only ever appended, never moved, so a member is
addressed by its index (``members.<i>``, guarded by its id): FerretDB 1.24 has no
positional ``$`` update.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts import values as vocab
from vrac_contracts.envelope import Envelope, new_envelope
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseClosed
from vrac_contracts.events.network import TaskDueSoon, TaskEdited, TaskOverdue, TaskReassigned
from vrac_runtime.idempotency import merge_updates
from vrac_runtime.intake_cases import MongoIntakeCases, consents_of
from vrac_runtime.outbox import WITHOUT_OUTBOX, outbox_fields, push_outbox

from vrac_network.domain.case import Case, Member, Relation, RelationKind
from vrac_network.domain.roles import Sector, default_sector
from vrac_network.domain.task import OPEN_STATUSES, Task, TaskStatus
from vrac_network.ports import PendingWork

CASES: Final = "cases"
TASKS: Final = "tasks"
COLLECTIONS: Final = (CASES, TASKS)
_OPEN = [str(s) for s in OPEN_STATUSES]
_OVERDUE_IDS: Final = uuid.UUID("8c3f0e52-6a1d-4b7e-9f21-3d5a7c9e0b64")
_DUE_SOON_IDS: Final = uuid.UUID("2b6f4d1e-93a7-4c08-8e5b-7f1a0c6d9e35")
# what a member keeps after erasure is everything but these
_PERSONAL_MEMBER_FIELDS: Final = ("display_name", "relationship", "email", "phone", "webhook_url")
_UNCHECKED: Final = "text_unchecked"
_CHANGEABLE: Final = {"opened": True, "closed": False, "erased": {"$ne": True}}


def overdue_event_id(task_id: str) -> str:
    """The ``ce_id`` of a task's overdue event: one per task, however many sweeps write it,
    so consumers see a second copy as a redelivery."""
    return str(uuid.uuid5(_OVERDUE_IDS, task_id))


def due_soon_event_id(task_id: str, assignee_id: str, due_date: dt.date) -> str:
    """The ``ce_id`` of a task's reminder: one per task, assignee and due date, so a second
    sweep's copy is a redelivery but the reminder of a new assignee is not."""
    return str(uuid.uuid5(_DUE_SOON_IDS, f"{task_id}/{assignee_id}/{due_date.isoformat()}"))


def _envelope(event: EventData) -> Envelope[Any]:
    if isinstance(event, TaskOverdue):
        return new_envelope(event, id=overdue_event_id(event.task_id))
    if isinstance(event, TaskDueSoon):
        event_id = due_soon_event_id(event.task_id, event.assignee_id, event.due_date)
        return new_envelope(event, id=event_id)
    return new_envelope(event)


def _envelopes(events: Sequence[EventData]) -> list[Envelope[Any]]:
    """Envelopes of the events to queue; a task's overdue event and its reminder get their
    fixed ``ce_id``."""
    return [_envelope(event) for event in events]


class NetworkStore(MongoIntakeCases):
    """Cases (with their members) and tasks: the ``Cases`` and ``Tasks`` ports. Intake's
    facts about a case are recorded by ``MongoIntakeCases``."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        on_events: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(
            db[CASES],
            starts_with={
                "members": [],
                "erased": False,
                "erasure_pending": False,
                "removals_pending": [],
            },
        )
        self._tasks = db[TASKS]
        # told after a write that queued events, so the relay sends them right away
        self._on_events = on_events

    async def create_indexes(self) -> None:
        await self._tasks.create_index([("case_id", ASCENDING)])
        await self._tasks.create_index([("overdue", ASCENDING), ("due_date", ASCENDING)])
        await self._tasks.create_index([(_UNCHECKED, ASCENDING)])

    async def get_case(self, case_id: str) -> Case | None:
        doc = await self._cases.find_one({"_id": case_id}, WITHOUT_OUTBOX)
        return None if doc is None else _case(doc)

    async def add_member(self, case: Case, member: Member) -> bool:
        """Append the member and the case's events, if the case is still open; else False."""
        result = await self._cases.update_one(
            {"_id": case.case_id, **_CHANGEABLE},
            merge_updates(
                {"$push": {"members": _member_doc(member)}},
                push_outbox(_envelopes(case.pull_events())),
            ),
        )
        self._written(result.modified_count)
        return result.modified_count == 1

    async def remove_member(self, case: Case, member: Member) -> bool:
        """Replace the member by its erased self, note the removal pending and queue the
        case's events, if the case is open and the member not yet removed; else False."""
        index = case.member_index(member.member_id)
        at = f"members.{index}"
        result = await self._cases.update_one(
            {
                "_id": case.case_id,
                **_CHANGEABLE,
                f"{at}.member_id": member.member_id,
                f"{at}.removed_at": None,
            },
            merge_updates(
                {"$set": {at: _member_doc(member), "relations": _relation_docs(case)}},
                {"$addToSet": {"removals_pending": member.member_id}},
                push_outbox(_envelopes(case.pull_events())),
            ),
        )
        self._written(result.modified_count)
        return result.modified_count == 1

    async def edit_member(self, case: Case, member: Member) -> bool:
        """Replace the member by its edited self and queue the case's events, if the case
        is open and the member present; else False."""
        at = f"members.{case.member_index(member.member_id)}"
        result = await self._cases.update_one(
            {
                "_id": case.case_id,
                **_CHANGEABLE,
                f"{at}.member_id": member.member_id,
                f"{at}.removed_at": None,
            },
            merge_updates(
                {"$set": {at: _member_doc(member)}}, push_outbox(_envelopes(case.pull_events()))
            ),
        )
        self._written(result.modified_count)
        return result.modified_count == 1

    async def save_relations(self, case: Case) -> bool:
        result = await self._cases.update_one(
            {"_id": case.case_id, **_CHANGEABLE}, {"$set": {"relations": _relation_docs(case)}}
        )
        return result.matched_count == 1

    async def removal_done(self, case_id: str, member_id: str) -> None:
        await self._cases.update_one({"_id": case_id}, {"$pull": {"removals_pending": member_id}})

    async def mark_erased(self, event: CaseClosed) -> None:
        fields = {
            "closed": True,
            "close_reason": str(event.reason),
            "closed_at": event.occurred_at,
            "erased": True,
            "erasure_pending": True,
        }
        await self.upsert(event.case_id, event.pilot, fields)

    async def erase_members(self, case_id: str) -> None:
        """Null every member's personal fields, by index (members are only appended, and
        none is added to an erased case)."""
        doc = await self._cases.find_one({"_id": case_id}, {"members": 1})
        count = len(doc.get("members") or []) if doc else 0
        if count == 0:
            return
        erased = {
            f"members.{i}.{name}": None for i in range(count) for name in _PERSONAL_MEMBER_FIELDS
        }
        await self._cases.update_one({"_id": case_id, "erased": True}, {"$set": erased})

    async def erasure_done(self, case_id: str) -> None:
        await self._cases.update_one({"_id": case_id}, {"$set": {"erasure_pending": False}})

    async def pending_work(self) -> AsyncIterator[PendingWork]:
        query = {"$or": [{"erasure_pending": True}, {"removals_pending.0": {"$exists": True}}]}
        fields = {"pilot": 1, "erasure_pending": 1, "removals_pending": 1}
        async for doc in self._cases.find(query, fields):
            yield PendingWork(
                case_id=doc["_id"],
                pilot=doc["pilot"],
                erase_case=bool(doc.get("erasure_pending")),
                removed=list(doc.get("removals_pending") or []),
            )

    # -- tasks --

    async def insert_task(self, task: Task) -> None:
        doc = {
            **_task_doc(task),
            **outbox_fields(_envelopes(task.pull_events())),
            # until the handler has looked at the case again (see handlers.assign_task)
            _UNCHECKED: True,
        }
        await self._tasks.insert_one(doc)
        self._written(1)

    async def get_task(self, task_id: str) -> Task | None:
        doc = await self._tasks.find_one({"_id": task_id}, WITHOUT_OUTBOX)
        return None if doc is None else _task(doc)

    async def tasks_of_case(self, case_id: str) -> list[Task]:
        cursor = self._tasks.find({"case_id": case_id}, WITHOUT_OUTBOX).sort("created_at", 1)
        return [_task(doc) async for doc in cursor]

    async def save_task(self, task: Task, read_version: int) -> bool:
        """Write the task's new status and its event, unless someone changed it meanwhile."""
        events = task.pull_events()
        changes = {
            "status": str(task.status),
            "decline_reason": _opt(task.decline_reason),
            "updated_at": task.updated_at,
            "version": read_version + 1,
        }
        # the note is written only when edited, so a transition never brings back a note
        # that an erasure took away after the transition read the task
        if any(isinstance(e, TaskEdited) for e in events):
            changes |= {
                "category": str(task.category),
                "due_date": _day(task.due_date),
                "description": task.description,
            }
        if any(isinstance(e, TaskReassigned) for e in events):
            changes |= {
                "assignee_id": task.assignee_id,
                "assignee_kind": str(task.assignee_kind),
                "reminded_for": None,
            }
        result = await self._tasks.update_one(
            {"_id": task.task_id, "version": read_version},
            merge_updates({"$set": changes}, push_outbox(_envelopes(events))),
        )
        if result.modified_count == 1:
            task.version = read_version + 1
        self._written(result.modified_count)
        return result.modified_count == 1

    async def overdue_candidates(
        self, as_of: dt.date, pilot: str | None = None
    ) -> AsyncIterator[Task]:
        """Open tasks due before ``as_of``, not yet reported overdue (of any case)."""
        query: dict[str, Any] = {
            "overdue": False,
            "status": {"$in": _OPEN},
            "due_date": {"$type": "string", "$lt": as_of.isoformat()},
        }
        if pilot is not None:
            query["pilot"] = pilot
        async for doc in self._tasks.find(query, WITHOUT_OUTBOX).sort("due_date", 1):
            yield _task(doc)

    async def flag_overdue(self, task: Task) -> bool:
        """Flip the overdue flag and queue the event in one write; only one sweep wins."""
        events = task.pull_events()
        reported = [e for e in events if isinstance(e, TaskOverdue)]
        if not reported:
            return False  # the domain did not find it overdue: nothing to write
        result = await self._tasks.update_one(
            {"_id": task.task_id, "overdue": False, "status": {"$in": _OPEN}},
            merge_updates(
                {"$set": {"overdue": True, "overdue_at": reported[0].occurred_at}},
                push_outbox(_envelopes(events)),
            ),
        )
        self._written(result.modified_count)
        return result.modified_count == 1

    async def due_soon_candidates(
        self, as_of: dt.date, until: dt.date, pilot: str | None = None
    ) -> AsyncIterator[Task]:
        """Open tasks due from ``as_of`` to ``until``, of any case (the domain skips those
        already reminded of their due date)."""
        query: dict[str, Any] = {
            "status": {"$in": _OPEN},
            "due_date": {"$type": "string", "$gte": as_of.isoformat(), "$lte": until.isoformat()},
        }
        if pilot is not None:
            query["pilot"] = pilot
        async for doc in self._tasks.find(query, WITHOUT_OUTBOX).sort("due_date", 1):
            yield _task(doc)

    async def flag_due_soon(self, task: Task) -> bool:
        """Note the due date reminded of and queue the event in one write, unless another
        sweep did or the date moved meanwhile."""
        events = task.pull_events()
        if not any(isinstance(e, TaskDueSoon) for e in events) or task.due_date is None:
            return False
        due = task.due_date.isoformat()
        result = await self._tasks.update_one(
            {
                "_id": task.task_id,
                "due_date": due,
                "reminded_for": {"$ne": due},
                "status": {"$in": _OPEN},
            },
            merge_updates({"$set": {"reminded_for": due}}, push_outbox(_envelopes(events))),
        )
        self._written(result.modified_count)
        return result.modified_count == 1

    async def unchecked_tasks(self) -> AsyncIterator[Task]:
        async for doc in self._tasks.find({_UNCHECKED: True}, WITHOUT_OUTBOX):
            yield _task(doc)

    async def text_checked(self, task_id: str) -> None:
        await self._tasks.update_one({"_id": task_id}, {"$unset": {_UNCHECKED: ""}})

    async def erase_texts(
        self, case_id: str, assignee_id: str | None = None, task_id: str | None = None
    ) -> None:
        query: dict[str, Any] = {"case_id": case_id, "description": {"$ne": None}}
        if assignee_id is not None:
            query["assignee_id"] = assignee_id
        if task_id is not None:
            query["_id"] = task_id
        await self._tasks.update_many(query, {"$set": {"description": None}})

    async def is_closed(self, case_id: str) -> bool:
        return await self._cases.count_documents({"_id": case_id, "closed": True}) > 0

    def _written(self, count: int) -> None:
        if count:
            self._on_events()


def _opt(value: object | None) -> str | None:
    return None if value is None else str(value)


def _day(value: dt.date | None) -> str | None:
    # ISO text: compares in date order, and BSON has no date-only type
    return value.isoformat() if value else None


def _relation_docs(case: Case) -> list[dict[str, str]]:
    return [
        {"relation_id": r.relation_id, "from_id": r.from_id, "to_id": r.to_id, "kind": str(r.kind)}
        for r in case.relations
    ]


def _relation(doc: dict[str, Any]) -> Relation:
    return Relation(doc["relation_id"], doc["from_id"], doc["to_id"], RelationKind(doc["kind"]))


def _member_doc(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "kind": str(member.kind),
        "role": str(member.role),
        "display_name": member.display_name,
        "relationship": member.relationship,
        "email": member.email,
        "phone": member.phone,
        "webhook_url": member.webhook_url,
        "agency_id": member.agency_id,
        "channel": str(member.channel),
        "language": str(member.language),
        "added_at": member.added_at,
        "removed_at": member.removed_at,
        "sector": str(member.sector),
    }


def _member(doc: dict[str, Any]) -> Member:
    kind, role = vocab.MemberKind(doc["kind"]), vocab.NetworkRole(doc["role"])
    sector = doc.get("sector")
    return Member(
        member_id=doc["member_id"],
        kind=kind,
        role=role,
        # members stored before sectors existed stand where their kind puts them
        sector=Sector(sector) if sector else default_sector(kind, role),
        display_name=doc.get("display_name"),
        channel=vocab.Channel(doc["channel"]),
        language=vocab.Language(doc["language"]),
        added_at=doc["added_at"],
        relationship=doc.get("relationship"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        webhook_url=doc.get("webhook_url"),
        agency_id=doc.get("agency_id"),
        removed_at=doc.get("removed_at"),
    )


def _case(doc: dict[str, Any]) -> Case:
    return Case(
        case_id=doc["_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        opened=bool(doc.get("opened")),
        closed=bool(doc.get("closed")),
        erased=bool(doc.get("erased")),
        members=[_member(m) for m in doc.get("members", [])],
        relations=[_relation(r) for r in doc.get("relations") or []],
        consents=consents_of(doc),
    )


def _task_doc(task: Task) -> dict[str, Any]:
    return {
        "_id": task.task_id,
        "case_id": task.case_id,
        "pilot": str(task.pilot),
        "assignee_id": task.assignee_id,
        "assignee_kind": str(task.assignee_kind),
        "category": str(task.category),
        "status": str(task.status),
        "due_date": _day(task.due_date),
        "description": task.description,
        "decline_reason": _opt(task.decline_reason),
        "overdue": task.overdue,
        "reminded_for": _day(task.reminded_for),
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
    }


def _task(doc: dict[str, Any]) -> Task:
    due, reminded = doc.get("due_date"), doc.get("reminded_for")
    reason = doc.get("decline_reason")
    return Task(
        task_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=vocab.Pilot(doc["pilot"]),
        assignee_id=doc["assignee_id"],
        assignee_kind=vocab.MemberKind(doc["assignee_kind"]),
        category=vocab.TaskCategory(doc["category"]),
        status=TaskStatus(doc["status"]),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        due_date=dt.date.fromisoformat(due) if due else None,
        description=doc.get("description"),
        decline_reason=vocab.DeclineReason(reason) if reason else None,
        overdue=bool(doc.get("overdue")),
        reminded_for=dt.date.fromisoformat(reminded) if reminded else None,
        version=int(doc.get("version", 1)),
    )
