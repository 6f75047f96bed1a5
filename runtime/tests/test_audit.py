"""The audit trail's recording dependency, through a real ASGI client; and its outbox on the
real store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import decode
from vrac_contracts.events.audit import AccessRecorded, NetworkAccessRecorded
from vrac_runtime.audit import (
    AUDIT_OUTBOX,
    AuditOutbox,
    AuditRelay,
    CaseRef,
    about,
    audited,
    record_handled_change,
    recorded_subject,
)
from vrac_runtime.auth import LinkGrant, Principal, SigningKeys, Tokens, requires, requires_or_link
from vrac_runtime.http import NotFound, RuleBroken, install_error_handlers
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.settings import ServiceSettings
from vrac_testing import tokens
from vrac_testing.kafka import read_all

CASE = "case_audited0001"
TASK = "task_audited0001"
OTHER = "case_audited0002"
COACH_OR_LINK = requires_or_link("coach")


class Kept:
    """Stands in for the outbox: the entries in the order they were recorded."""

    def __init__(self, failing: bool = False) -> None:
        self.entries: list[AccessRecorded] = []
        self.failing = failing

    async def record(self, entries: list[AccessRecorded]) -> None:
        if self.failing:
            raise ConnectionError("store away")
        self.entries += entries


async def locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """Cases are known by id; a task belongs to the one case."""
    if params.get("case_id") == CASE or params.get("task_id") == TASK:
        return CaseRef(CASE, "leiden")
    return None


def build_app(kept: Kept) -> FastAPI:
    app = FastAPI()
    app.state.settings = ServiceSettings(development=True, service_name="network")
    app.state.audit = kept
    install_error_handlers(app)
    router = APIRouter(dependencies=[audited(locate)])

    @router.get("/cases/{case_id}/tasks")
    async def tasks(case_id: str, who: Principal = Depends(requires("coach"))) -> list[str]:
        who.ensure_pilot("leiden")
        if case_id != CASE:
            raise NotFound("no such case")
        return [TASK]

    @router.post("/cases/{case_id}/tasks", status_code=201)
    async def assign(case_id: str, _: Principal = Depends(requires("coach"))) -> dict[str, str]:
        return {"task_id": TASK}

    @router.post("/tasks/{task_id}/accept")
    async def accept(task_id: str, _: Principal = Depends(requires("coach"))) -> dict[str, str]:
        return {"status": "accepted"}

    @router.post("/tasks/{task_id}/decline")
    async def decline(task_id: str, _: Principal = Depends(requires("coach"))) -> None:
        raise RuleBroken("reason", "a reason is needed")

    @router.get("/tasks/{task_id}.pdf")
    async def pdf(task_id: str, who: Principal | LinkGrant = Depends(COACH_OR_LINK)) -> str:
        return "pdf"

    @router.get("/cases")
    async def listed(request: Request, _: Principal = Depends(requires("coach"))) -> list[str]:
        about(request, CaseRef(CASE, "leiden"), CaseRef(OTHER, "leiden"))
        return [CASE, OTHER]

    @router.get("/sweeps")
    async def sweeps(_: Principal = Depends(requires("coach"))) -> str:
        return "no case"

    @router.get("/broken/{case_id}")
    async def broken(case_id: str) -> str:
        raise HTTPException(500, "boom")

    app.include_router(router)
    return app


def bearer(role: str = "coach", pilot: str = "leiden", subject: str = "coach-0042") -> dict:
    return tokens.bearer(role, pilot, subject)


@pytest.fixture
def kept() -> Kept:
    return Kept()


@pytest.fixture
async def client(kept: Kept) -> Any:
    transport = httpx.ASGITransport(app=build_app(kept))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_read_records_who_what_and_the_route_template(client, kept) -> None:
    reply = await client.get(f"/cases/{CASE}/tasks", headers=bearer())
    assert reply.status_code == 200
    [entry] = kept.entries
    assert (entry.case_id, entry.pilot, entry.service) == (CASE, "leiden", "network")
    assert (entry.actor_subject, entry.actor_role, entry.actor_pilot) == (
        "coach-0042",
        "coach",
        "leiden",
    )
    assert (entry.action, entry.method, entry.status) == ("read", "GET", 200)
    assert entry.resource == "/cases/{case_id}/tasks"
    assert entry.entry_id.startswith("aud_")


async def test_creates_and_updates_are_told_apart_by_the_answer(client, kept) -> None:
    assert (await client.post(f"/cases/{CASE}/tasks", headers=bearer())).status_code == 201
    assert (await client.post(f"/tasks/{TASK}/accept", headers=bearer())).status_code == 200
    assert [(e.action, e.status, e.resource) for e in kept.entries] == [
        ("create", 201, "/cases/{case_id}/tasks"),
        ("update", 200, "/tasks/{task_id}/accept"),
    ]
    assert len({e.entry_id for e in kept.entries}) == 2


async def test_a_route_names_the_cases_it_showed(client, kept) -> None:
    assert (await client.get("/cases", headers=bearer())).status_code == 200
    assert [(e.case_id, e.resource, e.action) for e in kept.entries] == [
        (CASE, "/cases", "read"),
        (OTHER, "/cases", "read"),
    ]


async def test_a_refused_caller_is_recorded_with_the_refusal(client, kept) -> None:
    other_pilot = await client.get(f"/cases/{CASE}/tasks", headers=bearer(pilot="mechelen"))
    wrong_role = await client.get(f"/cases/{CASE}/tasks", headers=bearer(role="agency"))
    assert (other_pilot.status_code, wrong_role.status_code) == (403, 403)
    assert [(e.actor_pilot, e.actor_role, e.status, e.pilot) for e in kept.entries] == [
        ("mechelen", "coach", 403, "leiden"),
        ("leiden", "agency", 403, "leiden"),
    ]


async def test_nothing_is_recorded_when_nothing_was_seen_or_nobody_is_known(client, kept) -> None:
    assert (await client.get(f"/cases/{CASE}/tasks")).status_code == 401
    claims = {"iss": "vrac-development", "sub": "u", "aud": "vrac-network", "exp": 2**40}
    foreign = SigningKeys((("development-issuer", SigningKeys.generate().keys[0][1]),))
    forged = {"Authorization": "Bearer " + foreign.sign({**claims, "role": "coach"})}
    assert (await client.get(f"/cases/{CASE}/tasks", headers=forged)).status_code == 401
    assert (await client.get("/cases/case_unknown0001/tasks", headers=bearer())).status_code == 404
    assert (await client.post(f"/tasks/{TASK}/decline", headers=bearer())).status_code == 422
    assert (await client.get("/sweeps", headers=bearer())).status_code == 200
    assert kept.entries == []


async def test_the_family_link_is_recorded_as_the_family(client, kept) -> None:
    path = f"/tasks/{TASK}.pdf"
    # the service's own (development) key signs its links, in any of its processes
    signer = Tokens.from_settings(ServiceSettings(development=True, service_name="network"))
    link = signer.issue_link(path, 60)[1]
    assert (await client.get(path, params={"link": link})).status_code == 200
    [entry] = kept.entries
    assert (entry.actor_subject, entry.actor_role, entry.actor_pilot) == ("link", "family", None)
    assert entry.resource == "/tasks/{task_id}.pdf"


async def test_a_stray_link_does_not_keep_a_bearer_read_off_the_trail(client, kept) -> None:
    reply = await client.get(
        f"/cases/{CASE}/tasks", headers=bearer(), params={"link": "not-a-link"}
    )
    assert reply.status_code == 200
    assert [(e.actor_subject, e.actor_role) for e in kept.entries] == [("coach-0042", "coach")]


async def test_an_address_as_subject_is_recorded_as_a_digest(client, kept) -> None:
    headers = bearer(subject="anna@example.org")
    assert (await client.get(f"/cases/{CASE}/tasks", headers=headers)).status_code == 200
    [entry] = kept.entries
    assert "@" not in entry.actor_subject and "anna" not in entry.actor_subject
    assert entry.actor_subject == recorded_subject("anna@example.org")
    assert recorded_subject("coach-0042") == "coach-0042"


async def test_a_read_whose_entry_cannot_be_written_is_refused() -> None:
    transport = httpx.ASGITransport(app=build_app(Kept(failing=True)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        read = await http.get(f"/cases/{CASE}/tasks", headers=bearer())
        change = await http.post(f"/cases/{CASE}/tasks", headers=bearer())
    assert read.status_code == 503 and TASK not in read.text
    # the change is done already: answered as done, not repeated by a client's retry
    assert change.status_code == 201


@pytest.mark.integration
async def test_entries_wait_in_the_store_until_kafka_has_them(mongo_db, make_settings) -> None:
    settings = make_settings("network")
    transport = httpx.ASGITransport(app=build_app(Kept()))
    app = transport.app
    app.state.audit = AuditOutbox(mongo_db)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get(f"/cases/{CASE}/tasks", headers=bearer())).status_code == 200
        assert (await http.get("/cases", headers=bearer())).status_code == 200
    waiting = [doc async for doc in mongo_db[AUDIT_OUTBOX].find({})]
    assert len(waiting) == 3

    # Kafka out of reach (a producer that never connects): the attempt ends at its send
    # timeout and nothing is lost, every entry still waits
    with pytest.raises(TimeoutError):
        await AuditRelay(mongo_db, make_producer(settings), settings, send_timeout=2).flush()
    assert await mongo_db[AUDIT_OUTBOX].count_documents({}) == 3

    topic = spec_for(NetworkAccessRecorded).topic
    await ensure_topics(settings, [settings.topic(topic)])
    producer = make_producer(settings)
    await producer.start()
    try:
        assert await AuditRelay(mongo_db, producer, settings).flush() == 3
    finally:
        await producer.stop()
    assert await mongo_db[AUDIT_OUTBOX].count_documents({}) == 0
    records = await read_all(settings.kafka_bootstrap_servers, settings.topic(topic), expect=3)
    entries = [decode(r.headers, r.value).data for r in records]
    assert sorted(e.case_id for e in entries) == [CASE, CASE, OTHER]
    assert {e.entry_id for e in entries} == {doc["_id"] for doc in waiting}


async def test_a_change_an_event_made_is_recorded_with_the_service_as_actor(mongo_db) -> None:
    await record_handled_change(
        AuditOutbox(mongo_db),
        service="network",
        case_id=CASE,
        pilot="leiden",
        resource="/cases/{case_id}/members",
        trigger_type="org.vrac.intake.case-closed.v1",
    )
    [doc] = [doc async for doc in mongo_db[AUDIT_OUTBOX].find({})]
    record = doc["record"]
    headers = [(name, value.encode()) for name, value in record["headers"].items()]
    entry = decode(headers, record["value"].encode()).data
    assert (entry.actor_subject, entry.actor_role, entry.action) == ("network", "service", "delete")
    assert (entry.method, entry.resource) == ("DELETE", "/cases/{case_id}/members")
    assert entry.trigger_type == "org.vrac.intake.case-closed.v1"
