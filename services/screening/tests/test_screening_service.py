"""The screening service against the real Kafka and FerretDB, driven through HTTP and events."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import threading
from typing import Any

import pytest
from pydantic import SecretStr
from pypdf import PdfReader
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events.audit import ACCESS_RECORDED
from vrac_contracts.events.intake import CaseClosed, FamilyRegisteredV2
from vrac_contracts.events.screening import (
    DiplomaIssued,
    FindingsRecorded,
    QuestionnaireSubmittedV2,
    ScreeningCompletedV2,
)
from vrac_contracts.ids import derived_id
from vrac_runtime.audit import AUDIT_OUTBOX
from vrac_runtime.auth import SigningKeys, Tokens
from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON
from vrac_screening.adapters.pdf import render_diploma

pytestmark = pytest.mark.integration

CASE = "case_screeningjourney1"
KEYS = json.dumps(SigningKeys.generate("not-screenings").private_jwks())  # a stranger's key
OTHER = "case_screeningjourney2"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


async def test_a_screening_gives_advice_and_a_diploma_in_the_family_language(screening) -> None:
    await screening.open_case(CASE, name="Sam", language="nl")
    recorded = await screening.screen(CASE, screened_on="2025-03-10")
    assert recorded["strengths"] == ["working-memory", "moral-reasoning"]
    assert recorded["growth_areas"] == ["reading", "emotion-regulation"]
    codes = [a["code"] for a in recorded["advice"]]
    assert codes[:2] == ["memory-for-reading", "show-your-strength"]
    assert {"name-the-feeling", "sense-of-fairness-role", "read-aloud-together"} <= set(codes)
    assert recorded["advice_language"] == "nl"
    assert recorded["advice"][0]["text"].startswith("Laat het kind bij het lezen")
    assert [s["level"] for s in recorded["scores"]] == [
        "strength",
        "growth-area",
        "strength",
        "growth-area",
        "typical",
    ]

    [event] = screening.decoded(await screening.published(FindingsRecorded, expect=1))
    assert event.subject == CASE and event.data.screening_id == recorded["screening_id"]
    assert [a.code for a in event.data.advice] == codes
    assert event.data.language == "nl"
    [public] = screening.decoded(await screening.published(ScreeningCompletedV2, expect=1))
    assert public.data.strengths == ["working-memory", "moral-reasoning"]

    in_french = await screening.http.get(
        f"/screenings/{recorded['screening_id']}",
        params={"language": "fr"},
        headers=screening.auth(role="pilot-lead"),
    )
    assert in_french.status_code == 200
    assert in_french.json()["advice"][0]["text"].startswith("Appuyez-vous sur sa")

    [diploma] = await screening.wait_for_diplomas(CASE)
    assert diploma["diploma_id"] == derived_id("diploma", recorded["screening_id"])
    assert diploma["child_first_name"] == "Sam" and diploma["language"] == "nl"
    assert [s["label"] for s in diploma["strengths"]] == ["Onthouden", "Weten wat goed en fout is"]
    [issued] = screening.decoded(await screening.published(DiplomaIssued, expect=1))
    assert issued.data.diploma_id == diploma["diploma_id"]
    assert issued.data.strengths == ["working-memory", "moral-reasoning"]

    pdf = await screening.http.get(diploma["pdf_url"], headers=screening.auth())
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for words in ("DIPLOMA", "Sam", "Onthouden", "Weten wat goed en fout is", "Leiden"):
        assert words in text
    assert "Remembering things" not in text
    again = await screening.http.get(diploma["pdf_url"], headers=screening.auth())
    assert again.content == pdf.content


async def new_link(screening, diploma_id: str) -> dict[str, Any]:
    """What notifications gets when it asks for a link to send the family."""
    reply = await screening.http.post(
        "/internal/diploma-links",
        json={"diploma_id": diploma_id},
        headers=screening.auth(role="service", subject="notifications"),
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


async def test_a_signed_link_opens_one_diploma_for_the_family(screening) -> None:
    await screening.open_case(CASE, name="Sam", language="nl")
    await screening.screen(CASE, screened_on="2025-03-10")
    [diploma] = await screening.wait_for_diplomas(CASE)
    path = diploma["pdf_url"]
    issued = await new_link(screening, diploma["diploma_id"])
    assert issued["path"] == path
    days = (dt.datetime.fromisoformat(issued["expires_at"]) - dt.datetime.now(dt.UTC)).days
    assert days == 6  # a week by default, not months
    link = {"link": issued["token"]}

    opened = await screening.http.get(path, params=link)
    assert opened.status_code == 200 and "Sam" in pdf_text(opened.content)

    other = await screening.http.get("/diplomas/dip_someoneelse0001.pdf", params=link)
    assert (other.status_code, other.json()["detail"]) == (403, "this link opens another document")
    signer = Tokens.from_settings(screening.settings)
    expired = await screening.http.get(path, params={"link": signer.issue_link(path, -60)[1]})
    assert (expired.status_code, expired.json()["detail"]) == (403, "this link has expired")
    stranger = screening.settings.model_copy(update={"signing_keys": SecretStr(KEYS)})
    foreign = Tokens.from_settings(stranger)
    forged = await screening.http.get(path, params={"link": foreign.issue_link(path, 600)[1]})
    assert (forged.status_code, forged.json()["detail"]) == (403, "this link is not valid")
    assert (await screening.http.get(path)).status_code == 401
    # a link is no bearer token, not even for the diploma it opens
    as_bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert (await screening.http.get(path, headers=as_bearer)).status_code == 401
    assert (
        await screening.http.get(f"/cases/{CASE}/diplomas", headers=as_bearer)
    ).status_code == 401


async def test_only_notifications_asks_for_links(screening) -> None:
    await screening.open_case(CASE, name="Sam", language="nl")
    await screening.screen(CASE, screened_on="2025-03-10")
    [diploma] = await screening.wait_for_diplomas(CASE)
    body = {"diploma_id": diploma["diploma_id"]}
    for headers in (
        screening.auth(role="service", subject="reporting"),
        screening.auth(role="coach"),
    ):
        reply = await screening.http.post("/internal/diploma-links", json=body, headers=headers)
        assert reply.status_code == 403


async def test_a_revoked_link_opens_nothing_and_says_so(screening) -> None:
    await screening.open_case(CASE, name="Sam", language="nl")
    await screening.screen(CASE, screened_on="2025-03-10")
    [diploma] = await screening.wait_for_diplomas(CASE)
    path, diploma_id = diploma["pdf_url"], diploma["diploma_id"]
    kept, lost = await new_link(screening, diploma_id), await new_link(screening, diploma_id)

    listed = await screening.http.get(f"/diplomas/{diploma_id}/links", headers=screening.auth())
    assert {x["link_id"] for x in listed.json()} == {kept["link_id"], lost["link_id"]}
    other_dpo = screening.auth(role="dpo", pilot="mechelen")
    assert (
        await screening.http.delete(f"/links/{lost['link_id']}", headers=other_dpo)
    ).status_code == 403
    dpo = screening.auth(role="dpo")
    assert (
        await screening.http.delete(f"/links/{lost['link_id']}", headers=dpo)
    ).status_code == 204

    refused = await screening.http.get(path, params={"link": lost["token"]})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this link was revoked; ask the coach for a new one"
    assert (await screening.http.get(path, params={"link": kept["token"]})).status_code == 200
    listed = await screening.http.get(f"/diplomas/{diploma_id}/links", headers=screening.auth())
    revoked = {x["link_id"]: x["revoked_at"] is not None for x in listed.json()}
    assert revoked == {kept["link_id"]: False, lost["link_id"]: True}


async def test_the_link_stops_when_diploma_consent_is_withdrawn_or_the_case_closes(
    screening,
) -> None:
    await screening.open_case(CASE, name="Sam", language="nl")
    await screening.screen(CASE, screened_on="2025-03-10")
    [diploma] = await screening.wait_for_diplomas(CASE)
    path = diploma["pdf_url"]
    link = {"link": (await new_link(screening, diploma["diploma_id"]))["token"]}

    async def link_answers(status: int) -> bool:
        return (await screening.http.get(path, params=link)).status_code == status

    assert await link_answers(200)
    await screening.publish(screening.consent(CASE, "diploma", False, "2025-04-01T10:00:00Z"))
    await screening.eventually(lambda: link_answers(403), "the link to stop")
    refused = await screening.http.get(path, params=link)
    assert "diploma consent was withdrawn" in refused.json()["detail"]
    # the coach still reads the case's diploma with a token
    assert (await screening.http.get(path, headers=screening.auth())).status_code == 200

    await screening.publish(screening.consent(CASE, "diploma", True, "2025-04-02T10:00:00Z"))
    await screening.eventually(lambda: link_answers(200), "the link to open again")

    await screening.publish(screening.closed(CASE, "completed"))
    await screening.eventually(lambda: link_answers(403), "the closed case's link to stop")


async def test_a_french_family_gets_a_french_diploma(screening) -> None:
    await screening.open_case(CASE, pilot="lille", name="Zoé", language="fr")
    await screening.screen(CASE, pilot="lille")
    [diploma] = await screening.wait_for_diplomas(CASE, pilot="lille")
    pdf = await screening.http.get(diploma["pdf_url"], headers=screening.auth(pilot="lille"))
    text = pdf_text(pdf.content)
    for words in ("DIPLÔME", "Zoé", "Retenir les choses", "Savoir ce qui est juste", "Lille"):
        assert words in text


async def test_screening_needs_consent_and_the_newest_decision_counts(screening) -> None:
    await screening.open_case(CASE, consents=("diploma",))
    refused = await screening.http.post(
        f"/cases/{CASE}/screenings", json={"scores": screening.SCORES}, headers=screening.auth()
    )
    assert refused.status_code == 409
    assert "consent" in refused.json()["detail"] and "screening" in refused.json()["detail"]

    await screening.publish(screening.consent(CASE, "screening", True, "2025-03-15T10:00:00Z"))
    # an older withdrawal that arrives late changes nothing
    await screening.publish(screening.consent(CASE, "screening", False, "2025-03-14T08:00:00Z"))
    await screening.publish(screening.consent(CASE, "questionnaires", True))
    await screening.wait_for_case(CASE, ("screening", "questionnaires"), None)
    await screening.screen(CASE)

    await screening.publish(screening.consent(CASE, "screening", False, "2025-03-16T10:00:00Z"))

    async def withdrawn() -> bool:
        response = await screening.http.post(
            f"/cases/{CASE}/screenings",
            json={"scores": screening.SCORES},
            headers=screening.auth(),
        )
        return response.status_code == 409

    await screening.eventually(withdrawn, "the withdrawal to count")


async def test_findings_delivered_twice_make_one_diploma(screening) -> None:
    await screening.open_case(CASE)
    recorded = await screening.screen(CASE)
    [record] = await screening.published(FindingsRecorded, expect=1)
    await screening.wait_for_diplomas(CASE)
    # the same event twice more, as redeliveries would bring it
    topic = record.topic.removeprefix(screening.settings.topic_prefix)
    for _ in range(2):
        await screening.send(topic, record.value, record.key, list(record.headers))
    # a later screening of the same case lands behind them on the same partition
    later = await screening.screen(CASE)
    diplomas = await screening.wait_for_diplomas(CASE, count=2)
    assert [d["screening_id"] for d in diplomas] == [
        recorded["screening_id"],
        later["screening_id"],
    ]
    issued = screening.decoded(await screening.published(DiplomaIssued, expect=3, timeout=3))
    assert sorted(e.data.screening_id for e in issued) == sorted(
        [recorded["screening_id"], later["screening_id"]]
    )


async def test_no_diploma_without_consent_until_it_is_given(screening) -> None:
    await screening.open_case(CASE, consents=("screening",))
    recorded = await screening.screen(CASE)
    # another case, with consent, screened after it: once its diploma is made, the diploma
    # maker has handled the first screening too (one partition per topic in tests)
    await screening.open_case(OTHER)
    await screening.screen(OTHER)
    await screening.wait_for_diplomas(OTHER)
    assert await screening.diplomas(CASE) == []
    [issued] = screening.decoded(await screening.published(DiplomaIssued, expect=1))
    assert issued.subject == OTHER

    await screening.publish(screening.consent(CASE, "diploma", True, "2025-03-20T10:00:00Z"))
    [diploma] = await screening.wait_for_diplomas(CASE)
    assert diploma["screening_id"] == recorded["screening_id"]
    issued_now = screening.decoded(await screening.published(DiplomaIssued, expect=2))
    assert sorted(e.subject for e in issued_now) == sorted([CASE, OTHER])


async def test_a_diploma_waits_for_the_child_name(screening) -> None:
    await screening.open_case(CASE, name=None)
    await screening.screen(CASE)
    await screening.published(FindingsRecorded, expect=1)
    assert await screening.diplomas(CASE) == []
    await screening.publish(await screening.family(CASE, "Noor", "nl"))
    [diploma] = await screening.wait_for_diplomas(CASE)
    assert diploma["child_first_name"] == "Noor"


async def test_public_events_carry_no_personal_data_nor_facts_about_the_child(screening) -> None:
    await screening.open_case(CASE, name="Sammie")
    await screening.screen(CASE)
    await screening.wait_for_diplomas(CASE)
    questionnaire = await screening.http.post(
        f"/cases/{CASE}/questionnaires",
        json={"instrument": "kidscreen-10", "respondent": "child", "score": 37},
        headers=screening.auth(),
    )
    assert questionnaire.status_code == 201
    for model in (ScreeningCompletedV2, DiplomaIssued, QuestionnaireSubmittedV2):
        assert spec_for(model).topic.startswith("vrac.public.")
        [record] = await screening.published(model, expect=1)
        assert "Sammie" not in record.value.decode() + repr(record.headers)
    [completed] = screening.bodies(await screening.published(ScreeningCompletedV2, expect=1))
    assert set(completed) == {"case_id", "pilot", "occurred_at", "screening_id", "strengths"}
    [submitted] = screening.bodies(await screening.published(QuestionnaireSubmittedV2, expect=1))
    assert not {"wellbeing_band", "score"} & set(submitted)
    # the growth areas and advice travel on the internal topic only
    assert spec_for(FindingsRecorded).topic.startswith("vrac.internal.")
    [findings] = screening.bodies(await screening.published(FindingsRecorded, expect=1))
    assert findings["growth_areas"] and findings["advice"]


async def test_questionnaires_need_consent_and_are_banded(screening) -> None:
    await screening.open_case(CASE, consents=("screening",))
    body = {"instrument": "sdq", "respondent": "guardian", "score": 18}
    refused = await screening.http.post(
        f"/cases/{CASE}/questionnaires", json=body, headers=screening.auth()
    )
    assert refused.status_code == 409 and "questionnaires" in refused.json()["detail"]
    await screening.publish(screening.consent(CASE, "questionnaires"))
    await screening.wait_for_case(CASE, ("questionnaires",), None)
    done = await screening.http.post(
        f"/cases/{CASE}/questionnaires", json=body, headers=screening.auth()
    )
    assert done.status_code == 201 and done.json()["wellbeing_band"] == "low"
    [event] = screening.decoded(await screening.published(QuestionnaireSubmittedV2, expect=1))
    assert (event.data.instrument, event.data.respondent) == ("sdq", "guardian")
    listed = await screening.http.get(f"/cases/{CASE}/questionnaires", headers=screening.auth())
    assert [q["questionnaire_id"] for q in listed.json()] == [done.json()["questionnaire_id"]]


async def test_unknown_ids_are_404(screening) -> None:
    await screening.open_case("case_screeningother01")
    auth = screening.auth()
    for method, path in (
        ("post", f"/cases/{CASE}/screenings"),
        ("get", f"/cases/{CASE}/screenings"),
        ("get", f"/cases/{CASE}/diplomas"),
        ("post", f"/cases/{CASE}/questionnaires"),
        ("get", "/screenings/scr_doesnotexist01"),
        ("get", "/diplomas/dip_doesnotexist01"),
        ("get", "/diplomas/dip_doesnotexist01.pdf"),
    ):
        body: Any = None
        if path.endswith("screenings") and method == "post":
            body = {"scores": screening.SCORES}
        if path.endswith("questionnaires"):
            body = {"instrument": "sdq", "respondent": "child", "score": 3}
        response = await screening.http.request(method, path, json=body, headers=auth)
        assert response.status_code == 404, (method, path, response.text)


async def test_tokens_roles_and_pilots(screening) -> None:
    await screening.open_case(CASE)
    recorded = await screening.screen(CASE)
    [diploma] = await screening.wait_for_diplomas(CASE)
    reads = (
        f"/cases/{CASE}/screenings",
        f"/screenings/{recorded['screening_id']}",
        f"/cases/{CASE}/diplomas",
        f"/diplomas/{diploma['diploma_id']}",
        diploma["pdf_url"],
        f"/cases/{CASE}/questionnaires",
    )
    for path in reads:
        assert (await screening.http.get(path)).status_code == 401, path
        other = await screening.http.get(path, headers=screening.auth(pilot="mechelen"))
        assert other.status_code == 403, path
        agency = await screening.http.get(path, headers=screening.auth(role="agency"))
        assert agency.status_code == 403, path
        for role in ("coach", "pilot-lead", "service", "admin"):
            ok = await screening.http.get(path, headers=screening.auth(role=role))
            assert ok.status_code == 200, (path, role)
    bad = await screening.http.get(reads[0], headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    body = {"scores": screening.SCORES}
    write = f"/cases/{CASE}/screenings"
    assert (await screening.http.post(write, json=body)).status_code == 401
    lead = await screening.http.post(write, json=body, headers=screening.auth(role="pilot-lead"))
    assert lead.status_code == 403
    other = await screening.http.post(write, json=body, headers=screening.auth(pilot="lille"))
    assert other.status_code == 403


@pytest.mark.parametrize(
    ("scores", "field"),
    [
        ([{"domain": "juggling", "kind": "percentile", "score": 50}], "scores.0.domain"),
        ([{"domain": "maths", "kind": "percentile", "score": 120}], "scores.0.score"),
        ([{"domain": "maths", "kind": "standard-score", "score": 12}], "scores.0.score"),
        ([{"domain": "maths", "kind": "qualitative"}], "scores.0.rating"),
        ([{"domain": "maths", "kind": "percentile"}], "scores.0.score"),
        ([{"domain": "maths", "kind": "qualitative", "rating": "great"}], "scores.0.rating"),
        (
            [
                {"domain": "maths", "kind": "percentile", "score": 50},
                {"domain": "maths", "kind": "percentile", "score": 60},
            ],
            "scores.1.domain",
        ),
        ([], "scores"),
        ("many", "scores"),
    ],
)
async def test_invalid_screenings_are_422_naming_the_field(screening, scores, field) -> None:
    await screening.open_case(CASE)
    response = await screening.http.post(
        f"/cases/{CASE}/screenings", json={"scores": scores}, headers=screening.auth()
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_other_invalid_input_is_422_naming_the_field(screening) -> None:
    await screening.open_case(CASE)
    auth = screening.auth()
    cases = (
        ("post", f"/cases/{CASE}/screenings", {"scores": screening.SCORES, "x": 1}, "x"),
        (
            "post",
            f"/cases/{CASE}/screenings",
            {"scores": screening.SCORES, "screened_on": "2999-01-01"},
            "screened_on",
        ),
        (
            "post",
            f"/cases/{CASE}/questionnaires",
            {"instrument": "kidscreen-10", "respondent": "child", "score": 51},
            "score",
        ),
        (
            "post",
            f"/cases/{CASE}/questionnaires",
            {"instrument": "mood-o-meter", "respondent": "child", "score": 5},
            "instrument",
        ),
        ("get", f"/cases/{CASE}/screenings?language=de", None, "language"),
    )
    for method, path, body, field in cases:
        response = await screening.http.request(method, path, json=body, headers=auth)
        assert response.status_code == 422, path
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    broken = await screening.http.post(
        f"/cases/{CASE}/screenings",
        content=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )
    assert broken.status_code == 422


async def stored_about(screening, case_id: str, name: str) -> list[str]:
    """Every document of the service's database that names the child, or the case but for
    the case's own projection (it stays, erased, to refuse late events) and the audit
    entries waiting to be sent (ids only)."""
    client = screening.mongo()
    db = client[screening.settings.database]
    found = []
    try:
        for collection in await db.list_collection_names():
            async for doc in db[collection].find({}):
                text = repr(doc)
                about_case = case_id in text and doc["_id"] != case_id
                if name in text or (about_case and collection != AUDIT_OUTBOX):
                    found.append(f"{collection}/{doc['_id']}")
    finally:
        await client.close()
    return found


async def wait_until_erased(screening, case_id: str) -> None:
    client = screening.mongo()
    cases = client[screening.settings.database]["cases"]

    async def done() -> bool:
        doc = await cases.find_one({"_id": case_id}) or {}
        return bool(doc.get("erased")) and "erasure_pending" not in doc

    try:
        await screening.eventually(done, f"the erasure of {case_id} to finish")
    finally:
        await client.close()


async def test_a_closed_case_takes_nothing_new_and_erasure_removes_the_child(screening) -> None:
    await screening.open_case(CASE, name="Sammie")
    await screening.screen(CASE)
    questionnaire = await screening.http.post(
        f"/cases/{CASE}/questionnaires",
        json={"instrument": "sdq", "respondent": "child", "score": 5},
        headers=screening.auth(),
    )
    assert questionnaire.status_code == 201
    [diploma] = await screening.wait_for_diplomas(CASE)
    pdf = await screening.http.get(diploma["pdf_url"], headers=screening.auth())
    assert pdf.status_code == 200

    await screening.publish(screening.closed(CASE, "erasure-requested"))
    await wait_until_erased(screening, CASE)

    assert await stored_about(screening, CASE, "Sammie") == []
    for path in (diploma["pdf_url"], f"/diplomas/{diploma['diploma_id']}"):
        assert (await screening.http.get(path, headers=screening.auth())).status_code == 404
    for listed in ("diplomas", "screenings", "questionnaires"):
        answer = await screening.http.get(f"/cases/{CASE}/{listed}", headers=screening.auth())
        assert answer.json() == [], listed
    again = await screening.http.post(
        f"/cases/{CASE}/screenings", json={"scores": screening.SCORES}, headers=screening.auth()
    )
    assert again.status_code == 409 and "closed" in again.json()["detail"]

    # the audit trail says the service erased the case, because of case-closed
    erasures: list[Any] = []

    async def erasure_recorded() -> bool:
        # every entry so far (the reads above made an unknown number of them)
        records = await screening.published(ACCESS_RECORDED["screening"], 10_000, timeout=1)
        erasures[:] = [e.data for e in screening.decoded(records) if e.data.trigger_type]
        return bool(erasures)

    await screening.eventually(erasure_recorded, "the erasure's audit entry")
    [erasure] = erasures
    assert erasure.trigger_type == spec_for(CaseClosed).ce_type
    assert (erasure.case_id, erasure.actor_subject, erasure.action) == (
        CASE,
        "screening",
        "delete",
    )

    # a late copy of family-registered (intake still has the key) does not bring it back
    await screening.publish(await screening.family(CASE, "Sammie"))
    await screening.open_case("case_screeningafter01")  # behind it on the same partition
    assert await stored_about(screening, CASE, "Sammie") == []


async def test_erasure_racing_a_diploma_render_leaves_nothing(start_screening) -> None:
    rendering, finish = threading.Event(), threading.Event()

    def slow_render(sheet: Any, created: Any) -> bytes:
        rendering.set()
        finish.wait(30)  # the name is being printed while the erasure runs
        return render_diploma(sheet, created)

    async with start_screening(deps={"render": slow_render}) as screening:
        await screening.open_case(CASE, name="Sammie")
        await screening.screen(CASE)
        [diploma] = await screening.wait_for_diplomas(CASE)
        download = asyncio.create_task(
            screening.http.get(diploma["pdf_url"], headers=screening.auth())
        )
        assert await asyncio.to_thread(rendering.wait, 30)
        await screening.publish(screening.closed(CASE, "erasure-requested"))
        await wait_until_erased(screening, CASE)
        finish.set()
        assert (await download).status_code == 404
        assert await stored_about(screening, CASE, "Sammie") == []


async def test_a_family_whose_key_intake_destroyed_keeps_no_name(screening) -> None:
    await screening.open_case(CASE, name=None)
    late = await screening.family(CASE, "Sammie")
    await screening.intake.destroy_case(CASE)  # intake erased the case: its key is gone
    await screening.publish(late)
    await screening.open_case(OTHER, name="Noor")  # behind it on the same partition
    assert await stored_about(screening, CASE, "Sammie") == []
    # a key that is gone is no failure: nothing was dead-lettered
    dlq = spec_for(FamilyRegisteredV2).dlq_topic
    assert await screening.read(dlq, expect=1, timeout=3) == []


async def test_a_sealed_value_that_does_not_open_is_dead_lettered_at_once(screening) -> None:
    await screening.open_case(CASE, name=None)
    # the child of another case: sealed with that case's key, it must not open for this one
    moved = (await screening.family(OTHER, "Sammie")).model_dump(mode="json")
    event = FamilyRegisteredV2.model_validate({**moved, "case_id": CASE})
    await screening.publish(event)
    [dead] = await screening.read(spec_for(FamilyRegisteredV2).dlq_topic, expect=1)
    found = {k: v.decode() for k, v in dead.headers}
    assert found[DLQ_REASON] == "permanent" and "Sammie" not in repr(found)
    assert await stored_about(screening, CASE, "Sammie") == []


async def test_malformed_messages_are_dead_lettered_and_the_next_is_handled(screening) -> None:
    await screening.open_case(CASE, name=None)
    completed = spec_for(FindingsRecorded)
    headers = [
        ("ce_id", b"bad-1"),
        ("ce_source", b"/vrac/screening"),
        ("ce_specversion", b"1.0"),
        ("ce_type", completed.ce_type.encode()),
        ("content-type", b"application/json"),
    ]
    # the diploma maker's topic: not JSON
    await screening.send(completed.topic, b"{oops", CASE.encode(), headers)
    # intake's topic, read by the service's own group: valid JSON, wrong shape
    family_spec = spec_for(FamilyRegisteredV2)
    wrong = [(k, v) for k, v in headers if k != "ce_type"] + [
        ("ce_type", family_spec.ce_type.encode())
    ]
    await screening.send(family_spec.topic, b'{"case_id": 7}', CASE.encode(), wrong)

    for spec in (completed, family_spec):
        [dead] = await screening.read(spec.dlq_topic, expect=1)
        found = {k: v.decode() for k, v in dead.headers}
        assert found[DLQ_REASON] == "undecodable" and found[DLQ_ERROR], spec.topic

    # both consumers go on with the next message
    await screening.publish(await screening.family(CASE, "Sam"))
    await screening.wait_for_case(CASE, (), "Sam")
    await screening.screen(CASE)
    await screening.wait_for_diplomas(CASE)
