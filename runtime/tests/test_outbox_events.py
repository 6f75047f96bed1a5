"""Domain events queued in a document's outbox, against the real store."""

from __future__ import annotations

from typing import Any

import pytest
from vrac_contracts.catalogue import by_type
from vrac_runtime.outbox import OUTBOX, PENDING_FLAG, append_outbox, insert_with_events, new_outbox

OPENED = by_type("org.vrac.intake.case-opened.v1")


def opened(case_id: str) -> Any:
    return OPENED.model.model_validate({**OPENED.example, "case_id": case_id})


def test_each_event_gets_its_own_envelope_in_the_outbox() -> None:
    fields = new_outbox([opened("case_outbox000001"), opened("case_outbox000002")])
    assert fields[PENDING_FLAG] is True
    ids = [entry["id"] for entry in fields[OUTBOX]]
    assert len(set(ids)) == 2
    assert new_outbox([]) == {OUTBOX: [], PENDING_FLAG: False}


def test_appended_events_set_the_pending_flag() -> None:
    update = append_outbox([opened("case_outbox000001")])
    assert len(update["$push"][OUTBOX]["$each"]) == 1
    assert update["$set"] == {PENDING_FLAG: True}


@pytest.mark.integration
async def test_a_repeated_insert_queues_nothing_and_wakes_no_relay(mongo_db) -> None:
    wakes: list[None] = []
    doc = {"_id": "dip_for_scr_1", "n": 1}
    first = await insert_with_events(
        mongo_db.diplomas, doc, [opened("case_outbox000003")], lambda: wakes.append(None)
    )
    again = await insert_with_events(
        mongo_db.diplomas, doc, [opened("case_outbox000003")], lambda: wakes.append(None)
    )
    assert (first, again) == (True, False) and len(wakes) == 1
    stored = await mongo_db.diplomas.find_one({"_id": "dip_for_scr_1"})
    assert len(stored[OUTBOX]) == 1 and stored[PENDING_FLAG] is True


@pytest.mark.integration
async def test_a_document_made_again_after_its_store_was_lost_queues_the_same_event_ids(
    mongo_db,
) -> None:
    """A restored store re-handles events: the diploma it makes again must not be a second
    diploma-issued for consumers, so its event keeps the id it had the first time."""
    doc = {"_id": "dip_for_scr_2"}
    other = {"_id": "dip_for_scr_3"}
    events = [opened("case_outbox000004"), opened("case_outbox000004")]
    await insert_with_events(mongo_db.diplomas, doc, events, lambda: None)
    await insert_with_events(mongo_db.diplomas, other, events[:1], lambda: None)
    before = await mongo_db.diplomas.find_one({"_id": "dip_for_scr_2"})
    of_other = await mongo_db.diplomas.find_one({"_id": "dip_for_scr_3"})
    await mongo_db.diplomas.drop()
    await insert_with_events(mongo_db.diplomas, dict(doc), events, lambda: None)
    after = await mongo_db.diplomas.find_one({"_id": "dip_for_scr_2"})
    ids = [entry["id"] for entry in before[OUTBOX]]
    assert [entry["id"] for entry in after[OUTBOX]] == ids
    # two events of one document, or the same event of another document: other ids
    assert len({*ids, of_other[OUTBOX][0]["id"]}) == 3
