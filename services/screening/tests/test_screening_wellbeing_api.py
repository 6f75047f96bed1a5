"""Wellbeing over HTTP on the real Kafka and store: item responses in, change out, and every
wrong input a 422 naming its field."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

CASE = "case_wellbeingapi0001"


def who5(*answers: Any) -> dict[str, Any]:
    return {f"q{n}": a for n, a in enumerate(answers, start=1)}


def body(occasion: str = "baseline", **changes: Any) -> dict[str, Any]:
    return {
        "instrument": "who-5",
        "respondent": "child",
        "occasion": occasion,
        "responses": who5(2, 2, 2, 3, 3),
    } | changes


async def test_a_who5_at_baseline_and_follow_up_shows_its_change(screening) -> None:
    await screening.open_case(CASE)
    auth = screening.auth()
    baseline = await screening.http.post(f"/cases/{CASE}/wellbeing", json=body(), headers=auth)
    assert baseline.status_code == 201, baseline.text
    assert baseline.json()["result"] == {
        "raw": 12,
        "value": 48,
        "band": "moderate",
        "category": "poor-wellbeing",
        "subscales": [],
    }
    follow_up = body("follow-up", responses=who5(3, 3, 3, 3, 4))
    response = await screening.http.post(f"/cases/{CASE}/wellbeing", json=follow_up, headers=auth)
    assert response.status_code == 201, response.text

    change = await screening.http.get(f"/cases/{CASE}/wellbeing/change", headers=auth)
    assert change.status_code == 200, change.text
    [who] = change.json()
    assert (who["instrument"], who["respondent"], who["value_name"]) == (
        "who-5",
        "child",
        "percentage",
    )
    assert (who["baseline"]["value"], who["latest"]["value"]) == (48, 64)
    assert (who["difference"], who["change"]) == (16, "improved")
    listed = await screening.http.get(f"/cases/{CASE}/wellbeing", headers=auth)
    assert [m["occasion"] for m in listed.json()] == ["baseline", "follow-up"]
    # a pilot lead of another pilot sees none of it
    other = screening.auth(role="pilot-lead", pilot="mechelen")
    assert (
        await screening.http.get(f"/cases/{CASE}/wellbeing/change", headers=other)
    ).status_code == 403


async def test_wrong_input_is_a_422_naming_the_field(screening) -> None:
    await screening.open_case(CASE)
    auth = screening.auth()
    cases = [
        (body(responses=who5(2, 2, 2, 3)), "responses.q5"),  # an item missing
        (body(responses=who5(2, 2, 9, 3, 3)), "responses.q3"),  # out of range
        (body(responses=who5(2, 2, "2", 3, 3)), "responses.q3"),  # not a number
        (body(responses=who5(2, 2, 2.5, 3, 3)), "responses.q3"),
        (body(responses={**who5(2, 2, 2, 3, 3), "q9": 1}), "responses.q9"),  # not an item
        (body(occasion="halfway"), "occasion"),
        (body(instrument="sdq"), "instrument"),  # licensed, not switched on here
        (body(instrument="vrac-wellbeing-child"), "instrument"),  # a total-score scale
        (body(respondent="teacher"), "respondent"),  # WHO-5 is about one's own wellbeing
        ({k: v for k, v in body().items() if k != "responses"}, "responses"),
        (body(extra=1), "extra"),
    ]
    for sent, field in cases:
        response = await screening.http.post(f"/cases/{CASE}/wellbeing", json=sent, headers=auth)
        assert response.status_code == 422, (sent, response.text)
        assert response.json()["errors"][0]["field"] == field, (sent, response.text)
    # the older total-score route names the instrument too
    older = {"instrument": "who-5", "respondent": "child", "score": 20}
    response = await screening.http.post(f"/cases/{CASE}/questionnaires", json=older, headers=auth)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "instrument"
    assert (await screening.http.get(f"/cases/{CASE}/wellbeing", headers=auth)).json() == []


async def test_the_instruments_route_ships_who5_texts_and_no_licensed_text(
    start_screening,
) -> None:
    async with start_screening(licensed_instruments="sdq") as service:
        response = await service.http.get("/instruments?language=fr", headers=service.auth())
        assert response.status_code == 200, response.text
        found = {i["instrument"]: i for i in response.json()}
        assert set(found) == {"who-5", "sdq"}  # KIDSCREEN-10 is not switched on
        who = found["who-5"]
        assert who["items"][0]["text"].startswith("Je me suis senti")
        assert who["options"][0] == "Jamais" and "World Health Organization" in who["source"]
        sdq = found["sdq"]
        assert sdq["licensed"] and len(sdq["items"]) == 25
        assert {item["text"] for item in sdq["items"]} == {None} and sdq["options"] == []

        # switched on, the SDQ is scored with the parent bands
        await service.open_case(CASE)
        answers = {f"q{n}": 0 for n in range(1, 26)}
        sent = {
            "instrument": "sdq",
            "respondent": "guardian",
            "occasion": "baseline",
            "responses": answers,
        }
        response = await service.http.post(
            f"/cases/{CASE}/wellbeing", json=sent, headers=service.auth()
        )
        assert response.status_code == 201, response.text
        result = response.json()["result"]
        assert (result["raw"], result["category"], result["band"]) == (
            10,
            "close-to-average",
            "high",
        )
