"""The Mongo store's erasure bookkeeping on the real FerretDB: what the periodic job finds
pending and finishes after a failure, with the runtime's real data keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from vrac_contracts.events.intake import CaseClosed, CaseOpened
from vrac_contracts.values import Channel, CloseReason, MemberKind, NetworkRole, Pilot, TaskCategory
from vrac_network import handlers
from vrac_network.adapters.store import NetworkStore
from vrac_network.domain.case import NewMember
from vrac_network.domain.commands import AddMember, AssignTask, RemoveMember
from vrac_network.domain.task import NewTask
from vrac_runtime.audit import AUDIT_OUTBOX, ErasureTrail
from vrac_runtime.keks import KeyEncryptionKeys
from vrac_runtime.sealing import DataKeys, KeyGone

from services.network.tests.fakes import FakeAccess, FakeLinks, fake_sign_link

pytestmark = pytest.mark.integration

CASE = "case_networkstore001"
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
KEK = "k1:" + "A" * 43
LEIDEN = FakeAccess("leiden")


class KeysAway(DataKeys):
    """The runtime's data keys whose store is away for the next ``failures`` destroys."""

    failures = 0

    async def destroy(self, case_id: str, key_id: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the key store is away")
        await super().destroy(case_id, key_id)

    async def destroy_case(self, case_id: str) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the key store is away")
        return await super().destroy_case(case_id)


@pytest.fixture
async def deps(mongo_db: Any) -> handlers.Deps:
    store = NetworkStore(mongo_db)
    await store.create_indexes()
    keys = KeysAway(mongo_db, KeyEncryptionKeys.parse(KEK))
    await keys.ensure_indexes()
    deps = handlers.Deps(
        cases=store,
        tasks=store,
        keys=keys,
        trail=ErasureTrail(mongo_db, "network", "/cases/{case_id}/plan"),
        links=FakeLinks(),
        sign_link=fake_sign_link,
    )
    await handlers.open_case(
        deps,
        CaseOpened(
            case_id=CASE, pilot=Pilot.LEIDEN, occurred_at=NOW, programme="pit", opened_at=NOW
        ),
    )
    return deps


def helper(name: str) -> NewMember:
    return NewMember(
        MemberKind.INFORMAL, NetworkRole.BUDDY, name, Channel.EMAIL, email=f"{name}@example.org"
    )


async def test_a_removal_and_an_erasure_left_half_done_are_finished_by_the_job(
    deps: handlers.Deps, mongo_db: Any
) -> None:
    assert isinstance(deps.keys, KeysAway)
    ria = await handlers.add_member(deps, AddMember(CASE, helper("ria")), LEIDEN)
    tim = await handlers.add_member(deps, AddMember(CASE, helper("tim")), LEIDEN)
    request = NewTask(TaskCategory.LEISURE_ACTIVITY, tim.member_id, description="Football")
    await handlers.assign_task(deps, AssignTask(CASE, request), LEIDEN)

    deps.keys.failures = 1
    with pytest.raises(ConnectionError):
        await handlers.remove_member(deps, RemoveMember(CASE, ria.member_id), LEIDEN)
    [pending] = [work async for work in deps.cases.pending_work()]
    assert (pending.removed, pending.erase_case) == ([ria.member_id], False)

    deps.keys.failures = 1
    closed = CaseClosed(
        case_id=CASE, pilot=Pilot.LEIDEN, occurred_at=NOW, reason=CloseReason.ERASURE_REQUESTED
    )
    with pytest.raises(ConnectionError):
        await handlers.close_case(deps, closed)
    [pending] = [work async for work in deps.cases.pending_work()]
    assert (pending.removed, pending.erase_case) == ([ria.member_id], True)

    assert await handlers.finish_pending_erasures(deps) == 1
    assert [work async for work in deps.cases.pending_work()] == []
    for member_id in (ria.member_id, tim.member_id):
        with pytest.raises(KeyGone):
            await deps.keys.find(member_id)
    case = await mongo_db.cases.find_one({"_id": CASE})
    assert [m["display_name"] for m in case["members"]] == [None, None]
    assert [m["email"] for m in case["members"]] == [None, None]
    assert await mongo_db.tasks.count_documents({"description": {"$ne": None}}) == 0
    assert await mongo_db.tasks.count_documents({"text_unchecked": True}) == 0
    assert await mongo_db[AUDIT_OUTBOX].count_documents({}) == 1
