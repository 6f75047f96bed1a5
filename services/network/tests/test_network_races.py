"""Writes racing on one document: the service's own commands, sweeps and outbox relay."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events.intake import CaseOpened
from vrac_contracts.events.network import TaskAccepted, TaskAssigned, TaskCompleted, TaskOverdue
from vrac_contracts.ids import new_id
from vrac_contracts.values import Channel, MemberKind, NetworkRole, Pilot, TaskCategory
from vrac_network import handlers
from vrac_network.adapters.store import NetworkStore, overdue_event_id
from vrac_network.domain.case import Case, NewMember
from vrac_network.domain.commands import SweepOverdue
from vrac_network.domain.task import NewTask, assign_task
from vrac_testing.keys import MemoryKeys

from services.network.tests.fakes import FakeLinks, FakeTrail, fake_sign_link

pytestmark = pytest.mark.integration

CASE = "case_networkraces001"
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


async def test_quick_successive_commands_lose_neither_state_nor_events(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    tasks = [await network.assign(CASE, oma["member_id"]) for _ in range(15)]
    for task in tasks:
        assert (await network.act(task["task_id"], "accept")).status_code == 200
        assert (await network.act(task["task_id"], "complete")).status_code == 200
    for task in tasks:
        current = await network.http.get(f"/tasks/{task['task_id']}", headers=network.auth())
        assert current.json()["status"] == "completed", current.json()
    for model in (TaskAssigned, TaskAccepted, TaskCompleted):
        records = await network.published(model, expect=len(tasks))
        ids = {e.data.task_id for e in network.decoded(records)}
        assert ids == {t["task_id"] for t in tasks}, model.__name__


async def test_two_processes_sweeping_at_once_queue_one_overdue_event_id(mongo_db) -> None:
    # two stores with their own locks stand for two service processes on one database
    stores = NetworkStore(mongo_db), NetworkStore(mongo_db)
    keys = MemoryKeys()
    first, second = (
        handlers.Deps(s, s, keys, FakeTrail(), FakeLinks(), fake_sign_link) for s in stores
    )
    await stores[0].record_opened(
        CaseOpened(
            case_id=CASE, pilot=Pilot.LEIDEN, occurred_at=NOW, programme="pit", opened_at=NOW
        )
    )
    case = Case(CASE, Pilot.LEIDEN, opened=True)
    member = case.new_member(
        new_id("member"),
        NewMember(
            MemberKind.FAMILY, NetworkRole.SUPPORTER, "Oma", Channel.EMAIL, email="oma@example.org"
        ),
        NOW,
    )
    case.add_member(member, await keys.seal(CASE, member.member_id, member.details()), NOW)
    assert await stores[0].add_member(case, member)
    task = assign_task(
        case,
        new_id("task"),
        NewTask(TaskCategory.CHECK_IN, member.member_id, dt.date(2025, 4, 1)),
        NOW,
    )
    await stores[0].insert_task(task)
    sweep = SweepOverdue(as_of=dt.date(2025, 5, 1))
    results = await asyncio.gather(
        handlers.sweep_overdue(first, sweep), handlers.sweep_overdue(second, sweep)
    )
    assert [task.task_id] in results
    doc = await mongo_db.tasks.find_one({"_id": task.task_id})
    overdue = [e for e in doc["outbox"] if e["topic"] == spec_for(TaskOverdue).topic]
    # MongoDB lets one write win; where a store lets both through, the copies share one
    # ce_id, so every consumer takes the second for a redelivery
    assert overdue and {e["id"] for e in overdue} == {overdue_event_id(task.task_id)}
    assert doc["overdue"] is True
    assert await handlers.sweep_overdue(first, sweep) == []
