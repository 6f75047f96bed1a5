"""Intake's facts about a case, kept on the real store: any order, any repetition."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.consent import ConsentState, consent_decision
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged
from vrac_contracts.values import CloseReason, ConsentPurpose, Pilot
from vrac_runtime.intake_cases import MongoIntakeCases, consents_of
from vrac_testing.builders import consent_changed

CASE = "case_intakefacts01"
T0 = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def opened() -> CaseOpened:
    return CaseOpened(
        case_id=CASE, pilot=Pilot.LEIDEN, occurred_at=T0, programme="pit", opened_at=T0
    )


def closed() -> CaseClosed:
    return CaseClosed(
        case_id=CASE, pilot=Pilot.LEIDEN, occurred_at=T0 + DAY, reason=CloseReason.COMPLETED
    )


def consent(granted: bool, at: dt.datetime, agency_id: str | None = None) -> ConsentChanged:
    purpose = ConsentPurpose.SHARE_WITH_AGENCY if agency_id else ConsentPurpose.SCREENING
    return consent_changed(CASE, purpose, granted, at, agency_id)


def test_a_decision_is_filed_per_purpose_and_per_agency() -> None:
    assert consent_decision(consent(True, T0)) == ("screening", ConsentState(True, T0))
    key, _ = consent_decision(consent(False, T0, "agy_youthteam0001"))
    assert key == "share-with-agency:agy_youthteam0001"


async def test_a_consent_before_the_case_creates_it_not_opened(
    mongo_db: AsyncDatabase[Any],
) -> None:
    cases = MongoIntakeCases(mongo_db["cases"], starts_with={"erased": False})
    await cases.record_consent(consent(True, T0))
    doc = await mongo_db["cases"].find_one({"_id": CASE})
    assert doc is not None
    assert (doc["pilot"], doc["opened"], doc["closed"], doc["erased"]) == (
        "leiden",
        False,
        False,
        False,
    )
    assert consents_of(doc) == {"screening": ConsentState(True, T0)}
    await cases.record_opened(opened())
    doc = await mongo_db["cases"].find_one({"_id": CASE})
    assert doc is not None and doc["opened"] and doc["programme"] == "pit"
    assert consents_of(doc) == {"screening": ConsentState(True, T0)}


async def test_the_newest_decision_wins_and_late_or_repeated_events_change_nothing(
    mongo_db: AsyncDatabase[Any],
) -> None:
    cases = MongoIntakeCases(mongo_db["cases"])
    await cases.record_opened(opened())
    await cases.record_consent(consent(True, T0 + DAY))
    await cases.record_consent(consent(False, T0 + 3 * DAY))
    await cases.record_consent(consent(True, T0 + 2 * DAY))  # late, older
    await cases.record_consent(consent(False, T0 + 3 * DAY))  # again
    await cases.record_closed(closed())
    await cases.record_opened(opened())  # redelivered: the case stays closed
    doc = await mongo_db["cases"].find_one({"_id": CASE})
    assert doc is not None
    assert consents_of(doc) == {"screening": ConsentState(False, T0 + 3 * DAY)}
    assert (doc["opened"], doc["closed"], doc["close_reason"]) == (True, True, "completed")
    assert doc["closed_at"] == T0 + DAY


async def test_first_events_racing_make_one_document(mongo_db: AsyncDatabase[Any]) -> None:
    cases = MongoIntakeCases(mongo_db["cases"])
    await asyncio.gather(
        cases.record_opened(opened()),
        cases.record_closed(closed()),
        cases.record_consent(consent(True, T0)),
    )
    [doc] = [d async for d in mongo_db["cases"].find({})]
    assert (doc["opened"], doc["closed"]) == (True, True)
    assert consents_of(doc) == {"screening": ConsentState(True, T0)}
