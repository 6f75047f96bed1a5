"""Bearer tokens scoped to a pilot, error mapping and health, through a real ASGI client."""

from __future__ import annotations

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from vrac_runtime.auth import (
    LinkGrant,
    Principal,
    SigningKeys,
    requires,
    requires_or_link,
    tokens_of,
)
from vrac_runtime.http import NotFound, health_router, install_error_handlers
from vrac_runtime.settings import ServiceSettings
from vrac_testing.tokens import bearer

COACH_OR_LINK = requires_or_link("coach")


class Body(BaseModel):
    birth_year: int = Field(ge=2005, le=2025)


def build_app(ready: bool = True) -> FastAPI:
    app = FastAPI()
    app.state.settings = ServiceSettings(development=True, service_name="intake")
    install_error_handlers(app)

    async def check() -> None:
        if not ready:
            raise ConnectionError("down")

    app.include_router(health_router({"store": check}))

    @app.get("/cases/{pilot}/{case_id}")
    async def read(pilot: str, case_id: str, who: Principal = Depends(requires("coach"))) -> dict:
        who.ensure_pilot(pilot)
        if case_id != "case_known":
            raise NotFound(f"case {case_id} not found")
        return {"case": case_id}

    @app.get("/files/{name}")
    async def file(name: str, who: Principal | LinkGrant = Depends(COACH_OR_LINK)) -> dict:
        return {"file": name, "by": "link" if isinstance(who, LinkGrant) else who.role}

    @app.post("/children")
    async def create(body: Body, _: Principal = Depends(requires("coach"))) -> dict:
        return {"ok": True}

    return app


def token(role: str = "coach", pilot: str = "leiden") -> dict[str, str]:
    return bearer(role, pilot)


APP = build_app()


def link_to(path: str) -> str:
    return tokens_of(APP).issue_link(path, 60)[1]


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/cases/leiden/case_known")).status_code == 401


async def test_a_token_signed_with_another_key_is_401(client: httpx.AsyncClient) -> None:
    valid = bearer("coach", "leiden")["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(valid, options={"verify_signature": False})
    # the development issuer's kid, but a key of someone else
    forged = SigningKeys((("development-issuer", SigningKeys.generate().keys[0][1]),))
    headers = {"Authorization": f"Bearer {forged.sign(claims)}"}
    reply = await client.get("/cases/leiden/case_known", headers=headers)
    assert (reply.status_code, reply.json()["detail"]) == (401, "the bearer token is not valid")


async def test_a_token_of_another_pilot_is_403(client: httpx.AsyncClient) -> None:
    reply = await client.get("/cases/leiden/case_known", headers=token(pilot="mechelen"))
    assert reply.status_code == 403


async def test_a_role_the_endpoint_does_not_allow_is_403(client: httpx.AsyncClient) -> None:
    reply = await client.get("/cases/leiden/case_known", headers=token(role="agency"))
    assert reply.status_code == 403


async def test_the_right_pilot_gets_the_case_and_an_unknown_id_is_404(client) -> None:
    assert (await client.get("/cases/leiden/case_known", headers=token())).status_code == 200
    missing = await client.get("/cases/leiden/case_nope", headers=token())
    assert missing.status_code == 404
    assert "case_nope" in missing.json()["detail"]


async def test_invalid_input_is_422_naming_the_field_without_echoing_it(client) -> None:
    reply = await client.post("/children", json={"birth_year": 1900}, headers=token())
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "birth_year"
    assert "1900" not in reply.text


async def test_readiness_reports_a_failing_dependency() -> None:
    transport = httpx.ASGITransport(app=build_app(ready=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/health/live")).status_code == 200
        ready = await http.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"store": "failing: ConnectionError"}


async def test_a_signed_link_opens_its_own_path_only(client: httpx.AsyncClient) -> None:
    link = link_to("/files/a.pdf")
    opened = await client.get("/files/a.pdf", params={"link": link})
    assert opened.json() == {"file": "a.pdf", "by": "link"}
    other = await client.get("/files/b.pdf", params={"link": link})
    assert (other.status_code, other.json()["detail"]) == (403, "this link opens another document")
    assert (await client.get("/files/a.pdf", headers=token())).json()["by"] == "coach"


async def test_links_and_bearer_tokens_are_not_interchangeable(client: httpx.AsyncClient) -> None:
    link = link_to("/cases/leiden/case_known")
    as_bearer = {"Authorization": f"Bearer {link}"}
    assert (await client.get("/cases/leiden/case_known", headers=as_bearer)).status_code == 401
    bearer = token()["Authorization"].removeprefix("Bearer ")
    refused = await client.get("/files/a.pdf", params={"link": bearer})
    assert (refused.status_code, refused.json()["detail"]) == (403, "this link is not valid")
