"""The audit trail, recording side: who read or changed a case's personal data, and how.

A service attaches :func:`audited` to its router (one router-level dependency) and
:func:`keep_audit` to its app in ``bootstrap``. For every request that reaches a route about
one case, the dependency records an entry when the answer was a success, or a 403 refusal
of a caller it could identify (a data-protection officer wants to see who tried). Not
recorded: a 404 or 422 (nothing was seen or changed), a caller without a valid token or link
(no "who" to record), routes about no case (health, sweeps, agencies' webhooks).

What an entry holds (``AccessRecorded`` in the contracts): the entry id, the case id and
its pilot, the token's subject, role and pilot (for a family's signed link, a ``?link=``
or the family link of ``vrac_runtime.family``: subject ``link``, role ``family``), the
route *template* (``/tasks/{task_id}``, never the concrete path), the action, the method,
the status, when and which service. No names, addresses, bodies or free text: a subject
that is not a plain account id (an e-mail address used as an OpenID Connect subject, say)
is recorded as a digest of it.

The action comes from the method and the route: GET/HEAD read, DELETE delete, PUT/PATCH
update, POST create when the route answers 201 and update otherwise (``/close``,
``/tasks/{task_id}/accept``).

Which case a request is about is the service's knowledge, not the path's: a route addressed
by a task or diploma id names no case. So each service gives a :data:`Locate` function that
finds the case (and its pilot) from the path parameters in its own store; the lookup runs
after the route answered, and only on routes about a case. It runs before the route as
well: a caller whose token is scoped to another pilot, or whose family link opens another
case, gets 403 before the body is validated. A route whose cases are not in
its path (a registration that makes one, a list that shows many) names them itself with
:func:`about`: one entry per case it showed or made.

Durability without slowing a request much: the entry is inserted, before the answer leaves,
into the service's ``audit_outbox`` collection, a document of its own (``_id`` = entry id,
holding the Kafka record ready to send). :class:`AuditRelay`, a periodic job of the service,
publishes a batch of them with the service's idempotent producer, waits for Kafka's
acknowledgement of the whole batch, then deletes exactly those documents in one write. Why
not the aggregates' outbox relay: it removes each document's entries with two updates per
document and leaves the document behind, which suits aggregates that live on, not entries
that only wait to leave; and appending to one document per case made reads of a case wait
on the relay's writes to it (on FerretDB, about 60 ms more per read of a busy case). With
an insert and a batched delete, a case read through intake (FerretDB, a loaded 2-core
machine, 400 reads with and 400 without recording, interleaved) took a median 33 ms against
23 ms: the price of one durable write per read. While
Kafka is away entries wait in the store and the relay tries again each period (each attempt
bounded by its send timeout); a crash between publish and delete re-publishes the same
entries, which the keeper stores once.

A read whose entry cannot be written is refused (503): no personal data leaves without its
record. A change whose entry cannot be written is already done, so it is
answered as done and the failure is logged (never with the case's data); retrying it would
repeat the change.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import new_envelope
from vrac_contracts.events.audit import ACCESS_RECORDED, AccessRecorded, AuditAction
from vrac_contracts.events.intake import CaseClosed

from vrac_runtime.auth import ALL_PILOTS, KeysUnavailable, TokenRefused, tokens_of
from vrac_runtime.errors import DomainError
from vrac_runtime.family import ANOTHER_CASE, is_family_link, verify_family_link
from vrac_runtime.http import domain_error_response
from vrac_runtime.logging import get_logger
from vrac_runtime.outbox import outbox_entries
from vrac_runtime.producer import RenewingProducer
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.values import utc_now

AUDIT_OUTBOX: Final = "audit_outbox"
LINK_SUBJECT: Final = "link"
FAMILY_ROLE: Final = "family"
_PLAIN_SUBJECT = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$")
_PILOT = re.compile(r"^(\*|[a-z]+(-[a-z]+)*)$")
_READS = frozenset({"GET", "HEAD"})
log = get_logger(__name__)


@dataclass(frozen=True)
class CaseRef:
    """The case a request was about, and its pilot."""

    case_id: str
    pilot: str


Locate = Callable[[Request, Mapping[str, str]], Awaitable[CaseRef | None]]
"""Finds the case of a request from its path parameters (None: the route is about no case,
or the case is not known)."""


@dataclass(frozen=True)
class Actor:
    """Who made the request, as the audit trail names them."""

    subject: str
    role: str
    pilot: str | None
    family_case: str | None = None  # the one case a family link opens


LINK_ACTOR: Final = Actor(LINK_SUBJECT, FAMILY_ROLE, None)


def recorded_subject(subject: str) -> str:
    """The subject as recorded: itself when it is a plain account id, else a digest, so an
    e-mail address used as a subject never lands in the trail."""
    if _PLAIN_SUBJECT.fullmatch(subject):
        return subject
    return "sub-" + hashlib.sha256(subject.encode()).hexdigest()[:32]


async def actor_of(request: Request) -> Actor | None:
    """The caller: the family when a valid ``?link=`` opens this path, else the holder of a
    valid bearer token, else None (nobody to record). A link that opens nothing does not
    hide the bearer: a stray ``?link=`` on a bearer route cannot keep a read off the trail."""
    tokens = tokens_of(request.app)
    link = request.query_params.get("link")
    if link is not None:
        try:
            tokens.verify_link(link, request.url.path)
            return LINK_ACTOR
        except TokenRefused:
            pass
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    if is_family_link(token.strip()):
        return await _family_actor(request, token.strip())
    try:
        who = await tokens.verify(token.strip())
    except (TokenRefused, KeysUnavailable, HTTPException):
        return None
    pilot = who.pilot if _PILOT.fullmatch(who.pilot) else None
    return Actor(recorded_subject(who.subject), who.role, pilot)


async def _family_actor(request: Request, token: str) -> Actor | None:
    """The family, as a signed link's reads are recorded, when the family link is valid."""
    try:
        grant = await verify_family_link(request.app, token)
    except (TokenRefused, KeysUnavailable):
        return None
    return Actor(LINK_SUBJECT, FAMILY_ROLE, None, grant.case_id)


def action_of(method: str, status_code: int) -> AuditAction:
    if method in _READS:
        return "read"
    if method == "DELETE":
        return "delete"
    if method == "POST" and status_code == status.HTTP_201_CREATED:
        return "create"
    return "update"


def status_of(error: BaseException) -> int:
    """The status the app answers ``error`` with (the runtime's one mapping)."""
    if isinstance(error, HTTPException):
        return error.status_code
    if isinstance(error, DomainError):
        return domain_error_response(error).status_code
    if isinstance(error, RequestValidationError):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def worth_recording(status_code: int) -> bool:
    """A success, or a refusal of an identified caller; a 404 or 422 showed nothing."""
    return status_code < 400 or status_code == status.HTTP_403_FORBIDDEN


def new_entry_id() -> str:
    return f"aud_{uuid.uuid4().hex}"


def about(request: Request, *cases: CaseRef) -> None:
    """Name the cases a route showed or made, where its path does not name them."""
    request.state.audit_cases = [*getattr(request.state, "audit_cases", []), *cases]


class AuditOutbox:
    """Queues entries in ``audit_outbox``: one document per entry, inserted (on FerretDB an
    insert takes no lock and reads nothing), until :class:`AuditRelay` sends it."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._pending = db[AUDIT_OUTBOX]

    async def record(self, entries: Sequence[AccessRecorded]) -> None:
        """Queue the entries of one request, in one round trip."""
        if entries:
            documents = [_pending_doc(entry) for entry in entries]
            await self._pending.insert_many(documents, ordered=False)


def _pending_doc(entry: AccessRecorded) -> dict[str, Any]:
    [record] = outbox_entries([new_envelope(entry)])
    return {"_id": entry.entry_id, "record": record}


class AuditRelay:
    """Publishes queued entries a batch at a time, then deletes the batch."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        producer: RenewingProducer,
        settings: ServiceSettings,
        *,
        batch_size: int = 500,
        send_timeout: float = 10.0,
    ) -> None:
        self._pending = db[AUDIT_OUTBOX]
        self._producer = producer
        self._settings = settings
        self._batch = batch_size
        self._send_timeout = send_timeout

    async def flush(self) -> int:
        """Send every queued entry, batch by batch; returns how many went out."""
        sent = 0
        while batch := await self._pending.find({}).limit(self._batch).to_list():
            async with self._producer.round(), asyncio.timeout(self._send_timeout):
                deliveries = [await self._send(doc["record"]) for doc in batch]
                await asyncio.gather(*deliveries)  # one wait for the batch, not one per entry
            await self._pending.delete_many({"_id": {"$in": [doc["_id"] for doc in batch]}})
            sent += len(batch)
        return sent

    async def _send(self, record: dict[str, Any]) -> Any:
        return await self._producer.send(
            self._settings.topic(record["topic"]),
            value=record["value"].encode(),
            key=record["key"].encode(),
            headers=[(name, value.encode()) for name, value in record["headers"].items()],
        )


def keep_audit(app: FastAPI) -> FastAPI:
    """Give the app's audited routes their outbox, and run its relay as a periodic job
    (every ``VRAC_RELAY_INTERVAL_SECONDS``) on the service's producer."""
    runtime = app.state.runtime
    app.state.audit = AuditOutbox(runtime.db)
    relay = AuditRelay(runtime.db, runtime.producer, runtime.settings)

    async def relay_entries() -> None:
        await relay.flush()

    runtime.every("audit-relay", runtime.settings.relay_interval_seconds, relay_entries)
    return app


def audited(locate: Locate) -> Any:
    """The router-level dependency that records an entry for each request about a case.

    It runs around the route (``scope="function"``), so it sees the route's answer or
    refusal, and its record is written before the answer is sent.
    """

    async def record(request: Request) -> AsyncIterator[None]:
        try:
            await _refuse_another_pilot(request, locate)
            yield
        except Exception as error:
            await _record_quietly(request, locate, status_of(error))
            raise
        route = request.scope.get("route")
        answered = getattr(route, "status_code", None) or status.HTTP_200_OK
        try:
            await _record(request, locate, answered)
        except Exception as error:
            log.error(
                "audit entry not recorded",
                resource=_template(request),
                error_type=type(error).__name__,
            )
            if request.method in _READS:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    "the audit trail is unavailable; try again shortly",
                ) from None

    return Depends(record, scope="function")


async def _refuse_another_pilot(request: Request, locate: Locate) -> None:
    """403 for a caller of another pilot, before the route validates the body: a cross-pilot
    request learns nothing from which of its fields are wrong. The route still checks the
    token's role and the pilot of what it touches."""
    actor = await actor_of(request)
    if actor is not None and actor.family_case is not None:
        case = await locate(request, request.path_params)
        if case is not None and case.case_id != actor.family_case:
            raise HTTPException(status.HTTP_403_FORBIDDEN, ANOTHER_CASE)
        return
    if actor is None or actor is LINK_ACTOR or actor.pilot in (None, ALL_PILOTS):
        return  # no valid token (the route answers 401), a link, or all pilots
    case = await locate(request, request.path_params)
    if case is not None and case.pilot != actor.pilot:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this case belongs to another pilot")


def _template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "/"


async def _record_quietly(request: Request, locate: Locate, status_code: int) -> None:
    """Record a refusal; a failure to do so must not change the refusal's answer."""
    try:
        await _record(request, locate, status_code)
    except Exception as error:
        log.error(
            "audit entry not recorded",
            resource=_template(request),
            error_type=type(error).__name__,
        )


async def _record(request: Request, locate: Locate, status_code: int) -> None:
    if not worth_recording(status_code):
        return
    actor = await actor_of(request)
    if actor is None:
        return
    cases: list[CaseRef] = getattr(request.state, "audit_cases", [])
    if not cases:
        found = await locate(request, request.path_params)
        cases = [] if found is None else [found]
    service = request.app.state.settings.service_name
    at = utc_now()
    entries = [
        ACCESS_RECORDED[service](
            case_id=case.case_id,
            pilot=case.pilot,
            occurred_at=at,
            entry_id=new_entry_id(),
            service=service,
            actor_subject=actor.subject,
            actor_role=actor.role,
            actor_pilot=actor.pilot,
            action=action_of(request.method, status_code),
            method=request.method,
            resource=_template(request),
            status=status_code,
        )
        for case in cases
    ]
    trail: AuditOutbox = request.app.state.audit
    await trail.record(entries)


async def record_handled_change(
    trail: AuditOutbox,
    *,
    service: str,
    case_id: str,
    pilot: str,
    resource: str,
    trigger_type: str,
    action: AuditAction = "delete",
) -> None:
    """Record a change of a case's personal data that an event made (not a request): the
    actor is the service itself. Call it after the change is durable; a redelivered event
    records it again, which tells a data-protection officer no more than that it ran twice."""
    entry = ACCESS_RECORDED[service](
        case_id=case_id,
        pilot=pilot,
        occurred_at=utc_now(),
        entry_id=new_entry_id(),
        service=service,
        actor_subject=service,
        actor_role="service",
        actor_pilot="*",
        action=action,
        method=_METHOD_OF[action],
        resource=resource,
        status=200,
        trigger_type=trigger_type,
    )
    await trail.record([entry])


_METHOD_OF: Final[dict[str, Literal["GET", "POST", "PUT", "DELETE"]]] = {
    "read": "GET",
    "create": "POST",
    "update": "PUT",
    "delete": "DELETE",
}


class ErasureTrail:
    """Where a service records that it erased a case on ``case-closed``: an entry with the
    service as actor and the case-closed type as trigger, in the service's audit outbox."""

    def __init__(self, db: AsyncDatabase[Any], service: str, resource: str) -> None:
        self._outbox = AuditOutbox(db)
        self._service = service
        self._resource = resource  # the route template of what was erased

    async def erased(self, case_id: str, pilot: str) -> None:
        await record_handled_change(
            self._outbox,
            service=self._service,
            case_id=case_id,
            pilot=pilot,
            resource=self._resource,
            trigger_type=spec_for(CaseClosed).ce_type,
        )
