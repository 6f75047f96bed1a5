"""The case document as the erasure's gate, on the real store: a write is let in only while
the case is not erased, and no registration is lost however the writes interleave."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from vrac_contracts.values import Pilot
from vrac_screening.adapters.store import MongoCases

from services.screening.tests.screening_events import opened

pytestmark = pytest.mark.integration

CASE = "case_screeningstore01"
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
LEASE = NOW + dt.timedelta(seconds=60)


async def test_writes_let_in_around_the_erasure_mark_are_all_waited_for(mongo_db) -> None:
    cases = MongoCases(mongo_db)
    await cases.record_opened(opened(CASE))
    # writers before, during and after the mark, all at once
    before = [asyncio.create_task(cases.begin_write(CASE, LEASE)) for _ in range(20)]
    mark = asyncio.create_task(cases.mark_erased(CASE, Pilot.LEIDEN))
    after = [asyncio.create_task(cases.begin_write(CASE, LEASE)) for _ in range(20)]
    tokens = await asyncio.gather(*before, *after)
    await mark
    let_in = [token for token in tokens if token is not None]
    assert let_in, "some writers came before the mark"
    # every writer let in is seen by the erasure: none was lost to a concurrent update
    assert await cases.writes_in_flight(CASE, NOW) == len(let_in)
    assert await cases.begin_write(CASE, LEASE) is None
    for token in let_in:
        await cases.end_write(CASE, token)
    assert await cases.writes_in_flight(CASE, NOW) == 0


async def test_a_write_whose_lease_ran_out_holds_the_erasure_back_no_longer(mongo_db) -> None:
    cases = MongoCases(mongo_db)
    await cases.record_opened(opened(CASE))
    assert await cases.begin_write(CASE, LEASE) is not None  # its writer died
    await cases.mark_erased(CASE, Pilot.LEIDEN)
    assert await cases.writes_in_flight(CASE, NOW) == 1
    assert await cases.writes_in_flight(CASE, LEASE + dt.timedelta(seconds=1)) == 0


async def test_an_erasure_stays_pending_until_it_is_done(mongo_db) -> None:
    cases = MongoCases(mongo_db)
    await cases.mark_erased(CASE, Pilot.LEIDEN)  # before any other event of the case
    case = await cases.get(CASE)
    assert case is not None and case.erased and case.pilot is Pilot.LEIDEN
    assert await cases.erasures_pending() == [CASE]
    await cases.erasure_done(CASE)
    assert await cases.erasures_pending() == []
    assert await cases.begin_write(CASE, LEASE) is None
