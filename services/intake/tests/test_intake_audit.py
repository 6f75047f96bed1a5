"""The audit trail kept by intake, on the real Kafka and store: what intake records, what it
keeps from other services, and who may ask for it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from vrac_contracts.events.audit import IntakeAccessRecorded, ScreeningAccessRecorded

pytestmark = pytest.mark.integration

Intake = Any  # the conftest's service object


async def audit_of(intake: Intake, case_id: str, expect: int, **params: Any) -> list[dict]:
    """The pilot lead's audit answer, once it holds ``expect`` entries."""
    lead = intake.auth(role="pilot-lead", subject="lead-leiden")
    answer: list[dict] = []

    async def holds_them() -> bool:
        nonlocal answer
        reply = await intake.http.get(f"/cases/{case_id}/audit", headers=lead, params=params)
        assert reply.status_code == 200, reply.text
        answer = reply.json()["entries"]
        return len(answer) >= expect

    await intake.eventually(holds_them, f"{expect} audit entries of {case_id}")
    return answer


def seen(entries: list[dict]) -> list[tuple[str, str, str, str, int]]:
    return [
        (e["service"], e["actor_role"], e["action"], e["resource"], e["status"]) for e in entries
    ]


async def test_who_registered_read_and_changed_the_file_is_answered_oldest_first(
    intake: Intake,
) -> None:
    case_id = (await intake.register())["case_id"]
    assert (await intake.http.get(f"/cases/{case_id}", headers=intake.auth())).status_code == 200
    assert (await intake.consent(case_id, "diploma")).status_code == 201
    other_pilot = intake.auth(pilot="mechelen", subject="coach-9")
    assert (await intake.http.get(f"/cases/{case_id}", headers=other_pilot)).status_code == 403
    assert (await intake.close(case_id)).status_code == 200

    entries = await audit_of(intake, case_id, expect=5)
    assert seen(entries) == [
        ("intake", "coach", "create", "/cases", 201),
        ("intake", "coach", "read", "/cases/{case_id}", 200),
        ("intake", "coach", "create", "/cases/{case_id}/consents", 201),
        ("intake", "coach", "read", "/cases/{case_id}", 403),
        ("intake", "coach", "update", "/cases/{case_id}/close", 200),
    ]
    assert [(e["actor_subject"], e["actor_pilot"]) for e in entries][2:4] == [
        ("coach-1", "leiden"),
        ("coach-9", "mechelen"),
    ]
    # the trail, and the topic it travelled on, hold no personal data of the family
    records = await intake.published(IntakeAccessRecorded, expect=5)
    for text in [str(entries).encode(), *(r.value for r in records)]:
        assert not any(p.encode() in text for p in intake.PERSONAL)


async def test_an_entry_of_another_service_is_kept_once_however_often_it_arrives(
    intake: Intake,
) -> None:
    case_id = (await intake.register())["case_id"]
    entry = ScreeningAccessRecorded.model_validate(
        {
            "case_id": case_id,
            "pilot": "leiden",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            "entry_id": "aud_" + "5c" * 16,
            "service": "screening",
            "actor_subject": "link",
            "actor_role": "family",
            "actor_pilot": None,
            "action": "read",
            "method": "GET",
            "resource": "/diplomas/{diploma_id}.pdf",
            "status": 200,
        }
    )
    sent = await intake.publish(entry)
    await intake.publish(entry, envelope=sent)  # a redelivery: same ce_id, same entry
    await intake.publish(entry)  # a re-publish under a new ce_id: still the same entry
    # intake's registration entry and the family's one read, however often it came
    await intake.eventually(
        lambda: _count(intake, case_id, "/diplomas/{diploma_id}.pdf", 1), "the family's read"
    )
    entries = await audit_of(intake, case_id, expect=2)
    assert [e["resource"] for e in entries].count("/diplomas/{diploma_id}.pdf") == 1
    assert next(e for e in entries if e["service"] == "screening")["actor_role"] == "family"


async def _count(intake: Intake, case_id: str, resource: str, n: int) -> bool:
    lead = intake.auth(role="pilot-lead")
    reply = await intake.http.get(f"/cases/{case_id}/audit", headers=lead)
    return [e["resource"] for e in reply.json()["entries"]].count(resource) == n


async def test_only_the_pilot_s_lead_dpo_and_admins_may_ask_and_nobody_may_alter(
    intake: Intake,
) -> None:
    case_id = (await intake.register())["case_id"]
    path = f"/cases/{case_id}/audit"
    answers = {}
    for role, pilot in [
        ("pilot-lead", "leiden"),
        ("dpo", "leiden"),
        ("admin", "*"),
        ("coach", "leiden"),
        ("agency", "leiden"),
        ("service", "*"),
        ("consortium", "*"),
        ("pilot-lead", "mechelen"),
        ("dpo", "mechelen"),
    ]:
        reply = await intake.http.get(path, headers=intake.auth(role=role, pilot=pilot))
        answers[(role, pilot)] = reply.status_code
    assert [k for k, status in answers.items() if status == 200] == [
        ("pilot-lead", "leiden"),
        ("dpo", "leiden"),
        ("admin", "*"),
    ]
    assert set(answers.values()) == {200, 403}
    assert (await intake.http.get(path)).status_code == 401
    lead = intake.auth(role="pilot-lead")
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert (await intake.http.request(method, path, headers=lead)).status_code == 405


async def test_the_answer_comes_in_pages(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    for _ in range(3):
        await intake.http.get(f"/cases/{case_id}", headers=intake.auth())
    everything = await audit_of(intake, case_id, expect=4)
    lead = intake.auth(role="pilot-lead")
    path = f"/cases/{case_id}/audit"
    first = (await intake.http.get(path, headers=lead, params={"limit": 3})).json()
    second = (await intake.http.get(path, headers=lead, params={"limit": 3, "offset": 3})).json()
    assert first["next_offset"] == 3 and second["next_offset"] is None
    ids = [e["entry_id"] for e in first["entries"] + second["entries"]]
    assert ids == [e["entry_id"] for e in everything]
    too_many = await intake.http.get(path, headers=lead, params={"limit": 100_000})
    assert too_many.status_code == 422 and "limit" in too_many.text
