"""Bounded request bodies and error texts free of the input, on the services as processes.

A body over the limit is refused (413) before the service reads it all or looks at the
token; a refused body's values appear neither in the answer nor in the service's log.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from vrac_testing.processes import Platform
from vrac_testing.tokens import bearer

pytestmark = pytest.mark.integration

LIMIT = 1024 * 1024  # the default VRAC_MAX_BODY_BYTES
SECRET_TEXT = "Jansen-Zwart"  # stands for a child's or a parent's name


def _coach(platform: Platform) -> dict[str, str]:
    return bearer("coach", "leiden", "u-1")


def test_a_declared_length_over_the_limit_is_refused_before_the_token(platform) -> None:
    body = b"[" + b"1," * (LIMIT // 2) + b"1]"
    response = httpx.post(
        f"{platform.url('intake')}/cases",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json() == {"detail": f"the request body is larger than {LIMIT} bytes"}


def test_a_streamed_body_is_refused_once_it_passes_the_limit(platform) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, as an attacker may send
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b" " * 64 * 1024

    try:
        response = httpx.post(
            f"{platform.url('network')}/cases/cas_x/members",
            content=chunks(),
            headers={"Content-Type": "application/json", **_coach(platform)},
            timeout=30,
        )
    except httpx.HTTPError:
        pytest.fail("the service closed the connection instead of answering 413")
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_a_body_within_the_limit_goes_on_to_the_token_check(platform) -> None:
    response = httpx.post(
        f"{platform.url('intake')}/cases",
        content=b"{" + b" " * (LIMIT - 2) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 401


def test_a_refused_body_echoes_no_submitted_value(platform) -> None:
    body = {
        "pilot": "leiden",
        "programme": "pit",
        "child_first_name": f"{SECRET_TEXT}\n",
        "birth_year": SECRET_TEXT,
        "school_name": SECRET_TEXT * 20,
        "guardians": [
            {
                "name": SECRET_TEXT,
                "email": f"{SECRET_TEXT}@@",
                "phone": f"+{SECRET_TEXT}",
                "preferred_channel": SECRET_TEXT,
                "language": SECRET_TEXT,
                SECRET_TEXT.lower(): 1,
            }
        ],
    }
    response = httpx.post(
        f"{platform.url('intake')}/cases", json=body, headers=_coach(platform), timeout=10
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"birth_year", "school_name", "guardians.0.email"} <= fields
    assert SECRET_TEXT not in response.text
    assert SECRET_TEXT not in platform.services["intake"].log.read_text()


def test_a_date_the_parser_cannot_read_is_named_without_its_text(platform) -> None:
    response = httpx.post(
        f"{platform.url('screening')}/cases/cas_x/screenings",
        json={"scores": [{"domain": "reading", "kind": "qualitative"}], "screened_on": "2024-1X"},
        headers=_coach(platform),
        timeout=10,
    )
    assert response.status_code == 422
    error = next(e for e in response.json()["errors"] if e["field"] == "screened_on")
    # pydantic adds the parser's words about the text ("input is too short"): cut
    assert error["problem"] == "Input should be a valid date or datetime"
