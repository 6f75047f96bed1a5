"""The family's link: signed by intake, for one case, never a staff token nor the reverse."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import Depends, FastAPI
from vrac_runtime.auth import (
    DEVELOPMENT_ISSUER,
    Principal,
    SigningKeys,
    development_token,
    requires,
)
from vrac_runtime.family import FamilyGrant, family_claims, requires_or_family
from vrac_runtime.http import install_error_handlers
from vrac_runtime.settings import ServiceSettings

CASE, OTHER = "case_a1", "case_b2"
COACH_OR_FAMILY = requires_or_family("coach")


def build_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = ServiceSettings(development=True, service_name="screening")
    install_error_handlers(app)

    @app.get("/cases/{case_id}/screenings")
    async def screenings(
        case_id: str, who: Principal | FamilyGrant = Depends(COACH_OR_FAMILY)
    ) -> dict[str, str]:
        if isinstance(who, FamilyGrant):
            who.ensure_case(case_id)
            return {"by": "family", "guardian": who.guardian_id, "link": who.link_id}
        who.ensure_pilot("leiden")
        return {"by": who.role}

    @app.get("/cases/{case_id}/questionnaires")
    async def staff_only(case_id: str, who: Principal = Depends(requires("coach"))) -> dict:
        return {"by": who.role}

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def family_link(signer: str = "intake", ttl: int = 600, **changed: object) -> str:
    claims = family_claims(case_id=CASE, pilot="leiden", guardian_id="guardian_1", ttl=ttl)
    return SigningKeys.development(signer).sign({**claims, **changed})


def as_bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_family_link_opens_its_own_case_as_its_guardian(client) -> None:
    link = family_link()
    opened = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(link))
    assert opened.status_code == 200
    assert opened.json()["by"] == "family" and opened.json()["guardian"] == "guardian_1"
    elsewhere = await client.get(f"/cases/{OTHER}/screenings", headers=as_bearer(link))
    assert (elsewhere.status_code, elsewhere.json()["detail"]) == (
        403,
        "this link opens another family's case",
    )


async def test_a_family_link_is_no_staff_token(client) -> None:
    refused = await client.get(f"/cases/{CASE}/questionnaires", headers=as_bearer(family_link()))
    assert (refused.status_code, refused.json()["detail"]) == (
        401,
        "the bearer token is not valid for this service",
    )


async def test_a_staff_token_is_no_family_link(client) -> None:
    coach = development_token(role="coach", pilot="leiden")
    as_staff = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(coach))
    assert as_staff.json() == {"by": "coach"}  # the staff path: its role and pilot apply
    # a user issuer's token naming the family's audience opens nothing: only intake signs
    now = int(time.time())
    dressed_up = SigningKeys.development("issuer").sign(
        {
            "iss": DEVELOPMENT_ISSUER,
            "aud": "vrac-family",
            "sub": "guardian_1",
            "case_id": CASE,
            "pilot": "leiden",
            "jti": "x1",
            "role": "coach",
            "exp": now + 600,
        }
    )
    refused = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(dressed_up))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this link is not valid")


async def test_only_intakes_key_signs_a_family_link(client) -> None:
    forged = family_link(signer="network", iss="vrac-network")
    refused = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(forged))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this link is not valid")
    wrong_key = family_link(signer="network")  # says intake, signed with another key
    refused = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(wrong_key))
    assert refused.status_code == 401


async def test_an_expired_family_link_says_so(client) -> None:
    expired = family_link(ttl=-3600)
    refused = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(expired))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this link has expired")


async def test_a_family_link_without_its_case_is_not_valid(client) -> None:
    incomplete = family_link(case_id="")
    refused = await client.get(f"/cases/{CASE}/screenings", headers=as_bearer(incomplete))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this link is not valid")
