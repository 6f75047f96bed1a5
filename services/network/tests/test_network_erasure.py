"""Erasure over in-memory fakes: a case closed with erasure requested, one member removed,
erasure finished after a failure, and writers acting at the same moment."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from vrac_contracts import values as vocab
from vrac_contracts.events import network as network_events
from vrac_contracts.events.intake import CaseClosed, CaseOpened
from vrac_network import handlers
from vrac_network.domain import commands
from vrac_network.domain.case import Case, Member, NewMember
from vrac_network.domain.errors import (
    AssigneeLeft,
    CaseIsClosed,
    RuleBroken,
    UnknownMember,
)
from vrac_network.domain.task import NewTask, Task
from vrac_network.handlers import Deps
from vrac_testing.keys import KeyStoreAway

from services.network.tests.fakes import NOW, FakeAccess, keys_of, store_of, trail_of
from services.network.tests.network_testkit import GRANDMOTHER, YOUTH_TEAM

CASE = "case_erasure000001"
LEIDEN = FakeAccess("leiden")
LATER = dt.date(2025, 6, 1)


async def opened(deps: Deps) -> None:
    event = CaseOpened(
        case_id=CASE, pilot=vocab.Pilot.LEIDEN, occurred_at=NOW, programme="pit", opened_at=NOW
    )
    await handlers.open_case(deps, event)


def closing(reason: vocab.CloseReason = vocab.CloseReason.ERASURE_REQUESTED) -> CaseClosed:
    return CaseClosed(case_id=CASE, pilot=vocab.Pilot.LEIDEN, occurred_at=NOW, reason=reason)


async def member(deps: Deps, details: NewMember = GRANDMOTHER) -> Member:
    return await handlers.add_member(deps, commands.AddMember(CASE, details), LEIDEN)


async def task_for(deps: Deps, who: Member, text: str = "Reads with Sam") -> Task:
    request = NewTask(vocab.TaskCategory.HOMEWORK_SUPPORT, who.member_id, dt.date(2025, 4, 1), text)
    return await handlers.assign_task(deps, commands.AssignTask(CASE, request), LEIDEN)


async def remove(deps: Deps, who: Member | str) -> None:
    member_id = who if isinstance(who, str) else who.member_id
    await handlers.remove_member(deps, commands.RemoveMember(CASE, member_id), LEIDEN)


def kept_texts(deps: Deps) -> list[str]:
    """Every name, contact, relationship and task text the store still holds of the case."""
    store = store_of(deps)
    texts = [t.description for t in store.tasks.values() if t.case_id == CASE]
    for m in store.cases[CASE].members:
        texts += [m.display_name, m.relationship, m.email, m.phone, m.webhook_url]
    return [text for text in texts if text is not None]


# -- a case erased --


async def test_erasure_keeps_ids_and_codes_and_nothing_personal(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    team = await member(deps, YOUTH_TEAM)
    task = await task_for(deps, oma)
    await handlers.close_case(deps, closing())
    assert kept_texts(deps) == []
    plan = await handlers.show_care_plan(deps, CASE, LEIDEN)
    assert [(e.member.member_id, e.member.kind, e.member.role) for e in plan.members] == [
        (oma.member_id, oma.kind, oma.role),
        (team.member_id, team.kind, team.role),
    ]
    assert plan.members[0].tasks[0].task_id == task.task_id
    assert plan.case.erased and plan.case.closed
    # every key of the case is gone, so the sealed member-added copies no longer open
    assert all(k in keys_of(deps).destroyed for k in (CASE, oma.member_id, team.member_id))
    assert trail_of(deps).erasures == [(CASE, vocab.Pilot.LEIDEN)]
    assert [w async for w in store_of(deps).pending_work()] == []


async def test_an_erased_case_refuses_every_change(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    task = await task_for(deps, oma)
    await handlers.close_case(deps, closing())
    before = list(store_of(deps).outbox)
    for change in (
        member(deps),
        task_for(deps, oma),
        remove(deps, oma),
        handlers.complete_task(deps, commands.CompleteTask(task.task_id), LEIDEN),
    ):
        with pytest.raises(CaseIsClosed):
            await change
    assert store_of(deps).outbox == before


async def test_a_case_closed_without_erasure_keeps_its_network(deps: Deps) -> None:
    await opened(deps)
    await member(deps)
    await handlers.close_case(deps, closing(vocab.CloseReason.COMPLETED))
    assert "Oma Ria" in kept_texts(deps)
    assert trail_of(deps).erasures == []


async def test_an_erasure_that_arrives_before_case_opened_stays_erased(deps: Deps) -> None:
    await handlers.close_case(deps, closing())
    await opened(deps)
    with pytest.raises(CaseIsClosed):
        await member(deps)
    assert (await handlers.show_care_plan(deps, CASE, LEIDEN)).case.erased


async def test_an_erasure_that_failed_half_way_is_finished_by_the_periodic_job(
    deps: Deps,
) -> None:
    await opened(deps)
    oma = await member(deps)
    await task_for(deps, oma)
    keys_of(deps).failures = 2  # the key store is away for the event and the first retry
    with pytest.raises(KeyStoreAway):
        await handlers.close_case(deps, closing())
    # already nothing personal is served, and the erasure is noted as pending
    [shown] = await handlers.list_members(deps, CASE, LEIDEN)
    assert shown.display_name is None
    [pending] = [w async for w in store_of(deps).pending_work()]
    assert pending.erase_case
    assert await handlers.finish_pending_erasures(deps) == 0
    assert oma.member_id not in keys_of(deps).destroyed
    assert await handlers.finish_pending_erasures(deps) == 1
    assert oma.member_id in keys_of(deps).destroyed and kept_texts(deps) == []
    assert [w async for w in store_of(deps).pending_work()] == []
    assert trail_of(deps).erasures == [(CASE, vocab.Pilot.LEIDEN)]


async def test_a_task_written_while_the_case_is_erased_keeps_no_text(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    store = store_of(deps)

    async def erase_meanwhile() -> None:
        # intake's case-closed lands between the task's read of the case and its insert
        await handlers.close_case(deps, closing())

    store.before_insert = erase_meanwhile
    task = await task_for(deps, oma, "Drives Sam to football")
    assert task.description is None
    assert kept_texts(deps) == []


async def test_a_task_whose_writer_died_before_looking_again_is_checked_by_the_job(
    deps: Deps,
) -> None:
    await opened(deps)
    oma = await member(deps)
    store = store_of(deps)

    async def erase_meanwhile() -> None:
        await handlers.close_case(deps, closing())

    async def die() -> None:
        raise ConnectionError("the process dies right after its insert")

    store.before_insert, store.after_insert = erase_meanwhile, die
    with pytest.raises(ConnectionError):
        await task_for(deps, oma, "Drives Sam to football")
    assert kept_texts(deps) == ["Drives Sam to football"]
    await handlers.finish_pending_erasures(deps)
    assert kept_texts(deps) == [] and store.unchecked == set()


async def test_a_member_added_while_the_case_is_erased_is_refused_and_its_key_destroyed(
    deps: Deps,
) -> None:
    await opened(deps)
    store = store_of(deps)
    read = store.get_case

    async def read_then_erase(case_id: str) -> Case | None:
        case = await read(case_id)
        await handlers.close_case(deps, closing())
        return case

    store.get_case = read_then_erase  # type: ignore[method-assign]
    with pytest.raises(CaseIsClosed):
        await member(deps)
    assert store.cases[CASE].members == [] and store.outbox == []
    made = [k for k in keys_of(deps).cases if k.startswith("mbr_")]
    assert made and all(k in keys_of(deps).destroyed for k in made)


# -- one member removed --


async def test_a_member_removed_is_erased_their_key_destroyed_and_member_removed_published(
    deps: Deps,
) -> None:
    await opened(deps)
    oma = await member(deps)
    team = await member(deps, YOUTH_TEAM)
    await remove(deps, oma)
    members = await handlers.list_members(deps, CASE, LEIDEN)
    assert [(m.member_id, m.display_name, m.email, m.removed) for m in members] == [
        (oma.member_id, None, None, True),
        (team.member_id, "Jeugdteam Leiden", None, False),
    ]
    assert oma.member_id in keys_of(deps).destroyed
    assert team.member_id not in keys_of(deps).destroyed
    removed = [e for e in store_of(deps).outbox if isinstance(e, network_events.MemberRemoved)]
    assert [e.member_id for e in removed] == [oma.member_id]
    # removing them again is no error, and publishes nothing more
    await remove(deps, oma)
    assert len([e for e in store_of(deps).outbox if isinstance(e, type(removed[0]))]) == 1
    assert [w async for w in store_of(deps).pending_work()] == []


async def test_the_open_tasks_of_a_member_who_left_stay_without_text_and_move_no_more(
    deps: Deps,
) -> None:
    await opened(deps)
    oma = await member(deps)
    tim = await member(deps, dataclasses.replace(GRANDMOTHER, display_name="Tim"))
    theirs = await task_for(deps, oma, "Oma reads with Sam")
    await remove(deps, oma)
    [kept] = await handlers.tasks_of_case(deps, CASE, LEIDEN)
    assert (kept.task_id, kept.status, kept.description) == (theirs.task_id, theirs.status, None)
    with pytest.raises(AssigneeLeft):
        await handlers.complete_task(deps, commands.CompleteTask(theirs.task_id), LEIDEN)
    # no reminder goes to someone who left
    assert await handlers.sweep_overdue(deps, commands.SweepOverdue(LATER)) == []
    with pytest.raises(RuleBroken):
        await task_for(deps, oma)
    # the rest of the network carries on
    other = await task_for(deps, tim)
    assert other.assignee_id == tim.member_id


async def test_removing_an_unknown_member_or_of_a_closed_case_is_refused(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    with pytest.raises(UnknownMember):
        await remove(deps, "mbr_stranger000001")
    await handlers.close_case(deps, closing(vocab.CloseReason.COMPLETED))
    with pytest.raises(CaseIsClosed):
        await remove(deps, oma)
    assert oma.member_id not in keys_of(deps).destroyed


async def test_a_removal_whose_key_could_not_be_destroyed_is_finished_later(deps: Deps) -> None:
    await opened(deps)
    oma = await member(deps)
    keys = keys_of(deps)
    keys.failures = 1  # the key store is away for the removal itself
    with pytest.raises(KeyStoreAway):
        await remove(deps, oma)
    [pending] = [w async for w in store_of(deps).pending_work()]
    assert (pending.removed, pending.erase_case) == ([oma.member_id], False)
    assert await handlers.finish_pending_erasures(deps) == 1
    assert oma.member_id in keys.destroyed
    assert [w async for w in store_of(deps).pending_work()] == []
