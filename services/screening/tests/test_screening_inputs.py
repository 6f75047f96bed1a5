"""Odd input never turns into a 500: the service answers 4xx naming what is wrong."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

CASE = "case_screeninginputs1"


async def test_odd_input_gets_a_4xx(screening) -> None:
    await screening.open_case(CASE)
    auth = screening.auth()
    screening_bodies = [
        {"scores": [{"domain": "maths", "kind": "percentile", "score": True}]},
        {"scores": [{"domain": "maths", "kind": "percentile", "score": "NaN"}]},
        {"scores": [{"domain": "maths", "kind": "percentile", "score": [1]}]},
        {"scores": [{"domain": None, "kind": "percentile", "score": 5}]},
        {"scores": [None]},
        {"scores": {"maths": 5}},
        {"scores": [{"domain": "maths", "kind": "percentile", "score": 5}], "screened_on": "x"},
        {"scores": [{"domain": "maths", "kind": "percentile", "score": 5}] * 17},
        [],
        "scores",
        None,
    ]
    for body in screening_bodies:
        response = await screening.http.post(f"/cases/{CASE}/screenings", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"]
    for raw in (
        b'{"scores": [{"domain": "maths", "kind": "percentile", "score": 1e400}]}',
        b'{"scores": [{"domain": "maths", "kind": "percentile", "score": NaN}]}',
        b'{"scores": [{"domain": "maths", "kind": "percentile", "score": -Infinity}]}',
    ):
        response = await screening.http.post(
            f"/cases/{CASE}/screenings",
            content=raw,
            headers={**auth, "content-type": "application/json"},
        )
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["errors"][0]["field"] == "scores.0.score"
    questionnaire_bodies = [
        {"instrument": "sdq", "respondent": "child", "score": 2.5},
        {"instrument": "sdq", "respondent": "child", "score": 10**30},
        {"instrument": "sdq", "respondent": "robot", "score": 3},
        {"instrument": "sdq", "score": 3},
    ]
    for body in questionnaire_bodies:
        response = await screening.http.post(
            f"/cases/{CASE}/questionnaires", json=body, headers=auth
        )
        assert response.status_code == 422, (body, response.text)
    for path in (
        "/screenings/%00",
        "/screenings/" + "x" * 5000,
        "/diplomas/..%2F..%2Fetc.pdf",
        "/diplomas/.pdf",
        f"/cases/{CASE}%20/diplomas",
    ):
        response = await screening.http.get(path, headers=auth)
        assert response.status_code == 404, (path, response.status_code)
