"""The PIT journey with each service as its own process over the real Kafka and FerretDB.

The steps are ``demo.scenario``'s, the ones ``make demo`` shows; this test checks what they
returned, then what a withdrawn consent changes, then that the family's erasure leaves none of
their names, addresses or notes in clear in any database or on any topic, dead letters
included.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from vrac_contracts.catalogue import by_type
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.polling import eventually
from vrac_testing.processes import SERVICES, Platform, journey_platform
from vrac_testing.scan import scan_databases, scan_topics
from vrac_testing.sinks import SmtpSink, WebhookReceiver

from demo.scenario import (
    AGENCY,
    AUDITED,
    GRANDMOTHER_EMAIL,
    GUARDIAN_EMAIL,
    MEMBERS,
    REACTION_TIMEOUT,
    TASK_NOTE,
    TEACHER_EMAIL,
    WEBHOOK_SECRET,
    Journey,
    PitCase,
    erase,
    family_advice,
    walk,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, WebhookReceiver]]:
    smtp, hooks = SmtpSink().start(), WebhookReceiver().start()
    yield smtp, hooks
    smtp.stop()
    hooks.stop()


@pytest.fixture
def platform(kafka_bootstrap, mongodb_url, test_prefix, sinks, tmp_path) -> Iterator[Platform]:
    platform = journey_platform(kafka_bootstrap, mongodb_url, test_prefix, tmp_path, sinks[0])
    platform.start()
    yield platform
    platform.stop()


async def test_a_leiden_case_goes_through_the_whole_journey(
    platform, sinks, tmp_path: Path
) -> None:
    smtp, hooks = sinks
    async with PitCase(platform, smtp, hooks, tmp_path) as pit:
        journey = await walk(pit)

        text = "".join(page.extract_text() for page in PdfReader(journey.diploma.path).pages)
        assert "Sam" in text
        assert "DIPLOMA" in text
        # the strengths, in the family's language (nl)
        assert "Onthouden" in text  # working memory
        assert "fantasie" in text  # creativity

        [grandmother] = smtp.to(GRANDMOTHER_EMAIL)
        assert "huiswerk" in grandmother.subject.lower()
        advice = await family_advice(pit)  # under the screening consent
        assert advice.subject == "Wat Sam helpt: advies voor thuis"
        [guardian] = [mail for mail in smtp.to(GUARDIAN_EMAIL) if mail is not advice]
        assert "diploma" in guardian.subject.lower() and "Sam" in guardian.subject
        # the parent opened the link in the e-mail, without an account
        assert journey.notifications.diploma_link in guardian.text
        opened = journey.notifications.link_opened
        assert opened.status_code == 200
        pages = PdfReader(io.BytesIO(opened.content)).pages
        assert "Sam" in "".join(p.extract_text() for p in pages)
        [teacher] = smtp.to(TEACHER_EMAIL)
        assert "school" in teacher.subject.lower()
        assert hooks.hooks and all(hook.signed_with(WEBHOOK_SECRET) for hook in hooks.hooks)

        row = journey.report.leiden()
        assert row["pilot"] == "leiden"
        assert row["cases_opened"] == "suppressed" and row["tasks_assigned"] == "suppressed"
        # one network measured: its figures are hidden like every small count
        assert row["network_cases_measured"] == "suppressed" and row["network_mean_size"] == ""

        # Who saw or changed the child's file: the pilot lead's answer names every service's
        # reads and changes of the journey, the family's link among them, oldest first.
        audit = journey.audit
        assert set(AUDITED) <= audit.seen()
        assert audit.entries[0]["resource"] == "/cases" and audit.entries[0]["action"] == "create"
        # compared as times: a timestamp on a whole second is written without a fraction
        times = [dt.datetime.fromisoformat(e["occurred_at"]) for e in audit.entries]
        assert times == sorted(times)
        coach = {
            (e["actor_subject"], e["actor_pilot"])
            for e in audit.entries
            if e["actor_role"] == "coach"
        }
        assert coach == {("coach-leiden-1", "leiden")}
        family = {
            (e["service"], e["actor_subject"], e["actor_pilot"], e["resource"])
            for e in audit.entries
            if e["actor_role"] == "family"
        }
        assert family == {("screening", "link", None, "/diplomas/{diploma_id}.pdf")}
        answered = str(audit.entries)
        for personal in ("Fatima", "Sam", GUARDIAN_EMAIL, GRANDMOTHER_EMAIL, TEACHER_EMAIL):
            assert personal not in answered
        # the coach who works on the case may not read who saw it, nor may the agency
        audit_path = f"/cases/{journey.intake.case_id}/audit"
        for token in (pit.coach, pit.agency):
            assert (await pit.call("GET", "intake", audit_path, token)).status_code == 403

        # The parents withdraw the youth team's consent: no task can be given to it any more,
        # and it no longer reads the task it had.
        case = journey.intake
        sent_before = len(hooks.hooks)
        await pit.record_consent(case, "share-with-agency", granted=False, agency_id=AGENCY)
        team = journey.network.members["youth team"]
        body = {"category": "meeting", "assignee_id": team}
        path = f"/cases/{case.case_id}/tasks"

        async def refused() -> httpx.Response | None:
            reply = await pit.call("POST", "network", path, pit.coach, json=body)
            assert reply.status_code in (201, 409), reply.text
            return reply if reply.status_code == 409 else None

        refusal = await eventually(
            refused, "network to refuse tasks for the youth team", timeout=REACTION_TIMEOUT
        )
        assert "share-with-agency" in refusal.json()["detail"]
        [(_, _, _, its_task)] = [t for t in journey.tasks.assigned if t[1] == "youth team"]
        read = await pit.call("GET", "network", f"/tasks/{its_task}", pit.agency)
        assert read.status_code == 403
        assert len(hooks.hooks) == sent_before

        # the refused read is in the trail too: the agency, through network, refused
        async def refusal_recorded() -> bool:
            reply = await pit.call("GET", "intake", audit_path, pit.lead, params={"limit": 500})
            return any(
                (e["service"], e["actor_subject"], e["resource"], e["status"])
                == ("network", AGENCY, "/tasks/{task_id}", 403)
                for e in reply.json()["entries"]
            )

        await eventually(
            refusal_recorded, "the agency's refusal in the audit trail", timeout=REACTION_TIMEOUT
        )

        await erasure_reaches_everything(platform, pit, journey)


FAMILY_REGISTERED = by_type("org.vrac.intake.family-registered.v2")
# what must not stand in clear anywhere once the family is erased
PERSONAL = (
    "Sam",
    "Fatima",
    "De Regenboog",
    GUARDIAN_EMAIL,
    GRANDMOTHER_EMAIL,
    TEACHER_EMAIL,
    TASK_NOTE,
    *(MEMBERS[who]["display_name"] for who in ("grandmother", "teacher")),
    "class teacher",
)


async def erasure_reaches_everything(platform: Platform, pit: PitCase, journey: Journey) -> None:
    bootstrap, prefix = platform.kafka_bootstrap, platform.prefix
    databases = [platform.env(name)["VRAC_MONGODB_DATABASE"] for name in SERVICES]
    dead_letters = await _dead_letter_a_sealed_copy(platform, journey.intake.case_id)

    # before: the stores hold the family's details (the scan can find them), the topics only
    # ever carried them sealed, dead letters included
    assert await scan_databases(platform.mongodb_url, databases, PERSONAL)
    hits, read = await scan_topics(bootstrap, prefix, PERSONAL)
    assert hits == [] and read > 0
    assert await pit.data_key_status(journey.intake.case_id) == 200

    erasure = await erase(pit, journey)
    assert erasure.closed["erased"] is True
    assert erasure.keys_answer == 410  # the key that opened the sealed copies is destroyed

    assert await scan_databases(platform.mongodb_url, databases, PERSONAL) == []
    hits, _ = await scan_topics(bootstrap, prefix, PERSONAL)
    assert hits == []
    # the dead-lettered copy is still there, sealed under a key that no longer exists
    for record in dead_letters:
        sealed = json.loads(record.value)["child"]
        assert await pit.data_key_status(sealed["key_id"]) == 410


async def _dead_letter_a_sealed_copy(platform: Platform, case_id: str) -> list:
    """A copy of the family's registration that its readers cannot accept (its programme is
    malformed): they dead-letter it, sealed details and all."""
    topic = platform.prefix + FAMILY_REGISTERED.topic
    [original] = [
        r
        for r in await read_all(platform.kafka_bootstrap, topic, expect=1)
        if r.key.decode() == case_id
    ]
    data = json.loads(original.value)
    data["programme"] = "Not A Programme"
    headers = [
        (name, str(uuid.uuid4()).encode() if name == "ce_id" else value)
        for name, value in original.headers
    ]
    await send_raw(
        platform.kafka_bootstrap, topic, json.dumps(data).encode(), original.key, headers
    )
    dlq = platform.prefix + FAMILY_REGISTERED.dlq_topic

    async def both_readers_gave_up() -> list | None:
        records = await read_all(platform.kafka_bootstrap, dlq, expect=2, timeout=2)
        return records if len(records) >= 2 else None

    return await eventually(
        both_readers_gave_up, "the malformed copy in dead letters", timeout=REACTION_TIMEOUT
    )
