"""Every service's HTTP API against its own OpenAPI document, with schemathesis.

The five services run as processes (as in the end-to-end tests) over the real Kafka and
store. For each operation schemathesis generates requests from the published document and
sends them with the token of a role the operation allows, and with the tokens it must refuse:
every other role, another pilot's, an expired one, a forged one, none. Whatever the token:
no server error, and every answer (status, content type, body) is one the document
describes. A refused token gets 401 or 403, nothing else.

Generation is derandomized (the same requests on every run) and bounded per operation, so
the suite takes a minute or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from vrac_runtime.auth import ALL_PILOTS, ROLES
from vrac_testing.builders import family_registration
from vrac_testing.polling import eventually
from vrac_testing.processes import SERVICES, Platform
from vrac_testing.tokens import refused_tokens, token

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ALLOWED_EXAMPLES = 20
REFUSED_EXAMPLES = 3
PILOT, OTHER_PILOT = "leiden", "mechelen"
WIDE_ROLES = {"consortium", "service"}  # roles whose tokens speak for every pilot

# Who may call what, as each route declares it (admin may call everything). An operation
# missing here fails the suite: a new route must say who may call it.
READ = ("coach", "pilot-lead", "service")
ROLES_OF: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("intake", "POST", "/cases"): ("coach",),
    ("intake", "GET", "/cases"): READ,
    ("intake", "GET", "/cases/{case_id}"): READ,
    ("intake", "POST", "/cases/{case_id}/consents"): ("coach",),
    ("intake", "GET", "/cases/{case_id}/consents"): READ,
    ("intake", "POST", "/cases/{case_id}/close"): ("coach", "pilot-lead"),
    ("intake", "DELETE", "/cases/{case_id}/guardians/{guardian_id}"): ("coach", "pilot-lead"),
    ("intake", "GET", "/cases/{case_id}/audit"): ("pilot-lead", "dpo"),
    ("intake", "GET", "/cases/{case_id}/family-links"): ("coach", "dpo"),
    ("intake", "DELETE", "/family-links/{link_id}"): ("coach", "dpo"),
    ("screening", "POST", "/cases/{case_id}/screenings"): ("coach",),
    ("screening", "GET", "/cases/{case_id}/screenings"): READ,
    ("screening", "GET", "/screenings/{screening_id}"): READ,
    ("screening", "GET", "/cases/{case_id}/diplomas"): READ,
    ("screening", "GET", "/diplomas/{diploma_id}.pdf"): READ,
    ("screening", "GET", "/diplomas/{diploma_id}"): READ,
    ("screening", "GET", "/diplomas/{diploma_id}/credential"): READ,
    ("screening", "GET", "/diplomas/{diploma_id}/links"): ("coach", "pilot-lead", "dpo"),
    ("screening", "DELETE", "/links/{link_id}"): ("coach", "dpo"),
    ("screening", "POST", "/cases/{case_id}/questionnaires"): ("coach",),
    ("screening", "GET", "/cases/{case_id}/questionnaires"): READ,
    ("screening", "GET", "/instruments"): READ,
    ("screening", "POST", "/cases/{case_id}/wellbeing"): ("coach",),
    ("screening", "GET", "/cases/{case_id}/wellbeing"): READ,
    ("screening", "GET", "/cases/{case_id}/wellbeing/change"): READ,
    ("network", "POST", "/cases/{case_id}/members"): ("coach",),
    ("network", "GET", "/cases/{case_id}/members"): READ,
    ("network", "DELETE", "/cases/{case_id}/members/{member_id}"): ("coach", "pilot-lead"),
    ("network", "POST", "/cases/{case_id}/tasks"): ("coach",),
    ("network", "GET", "/cases/{case_id}/tasks"): READ,
    ("network", "GET", "/cases/{case_id}/plan"): READ,
    ("network", "GET", "/tasks/{task_id}"): (*READ, "agency"),
    ("network", "POST", "/tasks/{task_id}/accept"): ("coach", "agency"),
    ("network", "POST", "/tasks/{task_id}/decline"): ("coach", "agency"),
    ("network", "POST", "/tasks/{task_id}/complete"): ("coach", "agency"),
    ("network", "POST", "/sweeps/overdue"): ("coach",),
    ("network", "PATCH", "/cases/{case_id}/members/{member_id}"): ("coach",),
    ("network", "POST", "/cases/{case_id}/relations"): ("coach",),
    ("network", "DELETE", "/cases/{case_id}/relations/{relation_id}"): ("coach",),
    ("network", "GET", "/cases/{case_id}/map.svg"): READ,
    ("network", "PATCH", "/tasks/{task_id}"): ("coach",),
    ("network", "POST", "/tasks/{task_id}/reassign"): ("coach",),
    ("network", "POST", "/tasks/{task_id}/cancel"): ("coach",),
    ("notifications", "GET", "/cases/{case_id}/deliveries"): ("coach",),
    ("notifications", "PUT", "/agencies/{agency_id}/webhook"): ("agency",),
    ("notifications", "GET", "/agencies/{agency_id}/webhook"): ("agency",),
    ("reporting", "GET", "/reports/pilots/{pilot}"): ("pilot-lead", "coach", "consortium"),
    ("reporting", "GET", "/reports/consortium"): ("consortium",),
    ("reporting", "POST", "/admin/rebuild"): ("admin",),
    ("reporting", "GET", "/admin/rebuild/{generation}"): ("admin",),
}
PUBLIC = {
    "/health/live",
    "/health/ready",
    "/.well-known/jwks.json",
    # a helper's task link: the signed token in the path is the credential
    "/task-links/{token}",
    "/task-links/{token}/answer",
    "/credentials/verify",
    "/credentials/status/{pilot}",
    "/credentials/issuers/{pilot}",
}


@dataclass(frozen=True)
class Identity:
    name: str
    token: Callable[[], str | None]
    """The bearer token, minted as the local development issuer mints them."""


def _token(role: str, pilot: str, ttl: int = 600) -> Callable[[], str]:
    return lambda: token(role, pilot, f"fuzz-{role}", ttl)


def _pilot_for(role: str) -> str:
    return ALL_PILOTS if role in WIDE_ROLES else PILOT


def refused_identities(operation: Any, allowed: tuple[str, ...]) -> list[Identity]:
    """The tokens ``operation`` must refuse: other roles, another pilot, expired, forged, none."""
    refused = [
        Identity(f"role {role}", _token(role, _pilot_for(role)))
        for role in ROLES
        if role not in allowed and role != "admin"
    ]
    if _pinned(operation):  # the request names the pilot: another pilot's token
        role = next(r for r in allowed if r not in WIDE_ROLES | {"admin"})
        refused.append(Identity(f"{role} of {OTHER_PILOT}", _token(role, OTHER_PILOT)))
    # admin tokens that are wrong in one way each: expired, of a foreign issuer, signed by a
    # foreign key, for another audience, HS256 with the public key as secret, alg none
    bad = [Identity(name, lambda t=t: t) for name, t in refused_tokens().items()]
    return [*refused, *bad, Identity("no token", lambda: None)]


def _pinned(operation: Any) -> dict[str, dict[str, str]]:
    """Where an operation names a pilot, the refused calls name ours (not another's token's)."""
    pinned = {}
    for location, container in (("path", operation.path_parameters), ("query", operation.query)):
        if any(parameter.name == "pilot" for parameter in container):
            pinned[location] = {"pilot": PILOT}
    return pinned


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def fuzz_allowed(operation: Any, url: str, token: str | None) -> None:
    """Requests a caller may make: whatever the answer, the document describes it."""

    @_settings(ALLOWED_EXAMPLES)
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=_headers(token), checks=CHECKS)

    run()


def fuzz_refused(
    operation: Any,
    url: str,
    identities: list[Identity],
    pinned: dict[str, dict[str, str]] | None = None,
) -> None:
    """Requests with tokens the operation must refuse: 401 or 403, as the document says."""
    pinned = _pinned(operation) if pinned is None else pinned
    strategy = operation.as_strategy(path_parameters=pinned.get("path"), query=pinned.get("query"))

    @_settings(REFUSED_EXAMPLES * len(identities))
    @given(case=strategy, identity=st.sampled_from(identities))
    def run(case: Any, identity: Identity) -> None:
        headers = _headers(identity.token())
        response = case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
        assert response.status_code in (401, 403), (
            f"{case.method} {case.formatted_path} with the token of {identity.name}: "
            f"{response.status_code}"
        )

    run()


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_one_the_document_describes(platform: Platform, service: str) -> None:
    url = platform.url(service)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        seen += 1
        if operation.path in PUBLIC:
            fuzz_allowed(operation, url, None)
            continue
        key = (service, operation.method.upper(), operation.path)
        assert key in ROLES_OF, f"{key} is not in ROLES_OF: say who may call it"
        allowed = ROLES_OF[key]
        role = allowed[0]
        fuzz_allowed(operation, url, _token(role, _pilot_for(role))())
        fuzz_refused(operation, url, refused_identities(operation, allowed))
    assert seen > 2, "the document lists no operations"


async def test_another_pilots_tokens_open_nothing_of_a_case(platform: Platform) -> None:
    """A Leiden case, known to every service: each operation on it, with a Mechelen token of
    each role the operation allows, is refused."""
    coach = _headers(_token("coach", PILOT)())
    registered = httpx.post(
        f"{platform.url('intake')}/cases",
        json=family_registration(
            {"name": "Fuzz", "email": "fuzz@example.org", "preferred_channel": "email"}
        ),
        headers=coach,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    case_id = registered.json()["case_id"]
    known_at = {
        "screening": f"/cases/{case_id}/screenings",
        "network": f"/cases/{case_id}/plan",
        "notifications": f"/cases/{case_id}/deliveries",
    }
    for service, path in known_at.items():
        url = platform.url(service) + path
        await eventually(
            lambda url=url: httpx.get(url, headers=coach, timeout=5).status_code == 200,
            f"{service} knows the case",
        )
    tried = 0
    for service in ("intake", *known_at):
        url = platform.url(service)
        for result in schemathesis.openapi.from_url(f"{url}/openapi.json").get_all_operations():
            operation = result.ok()
            if not any(p.name == "case_id" for p in operation.path_parameters):
                continue
            allowed = ROLES_OF[(service, operation.method.upper(), operation.path)]
            others = [
                Identity(f"{role} of {OTHER_PILOT}", _token(role, OTHER_PILOT))
                for role in allowed
                if role not in WIDE_ROLES | {"admin"}
            ]
            # refused before the body is validated: never 2xx, 404, 409 or 422
            pinned = {"path": {"case_id": case_id}}
            fuzz_refused(operation, url, others, pinned)
            tried += 1
    assert tried >= 10
