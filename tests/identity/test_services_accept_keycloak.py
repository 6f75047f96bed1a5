"""A service configured with the local Keycloak as its trusted issuer serves that provider's
users within their pilot and for the audience they asked for, and nobody else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from vrac_testing.builders import family_registration
from vrac_testing.identity import IdentityProvider
from vrac_testing.processes import Platform

pytestmark = pytest.mark.integration


@pytest.fixture
def intake(
    kafka_bootstrap: str,
    mongodb_url: str,
    test_prefix: str,
    tmp_path: Path,
    keycloak: IdentityProvider,
) -> Iterator[str]:
    """The intake service as its own process, trusting the local Keycloak's realm."""
    platform = Platform(
        kafka_bootstrap,
        mongodb_url,
        f"{test_prefix}.",
        tmp_path / "logs",
        extra_env={"VRAC_TRUSTED_ISSUERS": keycloak.trusted_issuers()},
    )
    platform.start(("intake",))
    yield platform.url("intake")
    platform.stop()


FAMILY = family_registration(
    {"name": "Fatima", "email": "fatima@example.org", "preferred_channel": "email"}
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def open_case(intake: str, headers: dict[str, str]) -> str:
    """A case registered by the caller; its id."""
    opened = httpx.post(f"{intake}/cases", json=FAMILY, headers=headers, timeout=30)
    assert opened.status_code == 201, opened.text
    case_id: str = opened.json()["case_id"]
    return case_id


def test_a_keycloak_coach_works_on_the_cases_of_their_own_pilot(
    intake: str, keycloak: IdentityProvider
) -> None:
    leiden = bearer(keycloak.token(keycloak.user("coach", "leiden"), ["vrac-intake"]))
    case_id = open_case(intake, leiden)

    read = httpx.get(f"{intake}/cases/{case_id}", headers=leiden, timeout=30)
    assert read.status_code == 200
    listed = httpx.get(f"{intake}/cases", params={"pilot": "leiden"}, headers=leiden, timeout=30)
    assert [c["case_id"] for c in listed.json()["cases"]] == [case_id]


def test_a_keycloak_coach_of_another_pilot_is_refused(
    intake: str, keycloak: IdentityProvider
) -> None:
    leiden = bearer(keycloak.token(keycloak.user("coach", "leiden"), ["vrac-intake"]))
    case_id = open_case(intake, leiden)

    mechelen = bearer(keycloak.token(keycloak.user("coach", "mechelen"), ["vrac-intake"]))
    assert httpx.get(f"{intake}/cases/{case_id}", headers=mechelen, timeout=30).status_code == 403
    elsewhere = httpx.post(f"{intake}/cases", json=FAMILY, headers=mechelen, timeout=30)
    assert elsewhere.status_code == 403  # a Mechelen coach opens no Leiden case
    own_list = httpx.get(f"{intake}/cases", params={"pilot": "leiden"}, headers=mechelen)
    assert own_list.status_code == 403


def test_a_keycloak_token_for_another_service_is_refused(
    intake: str, keycloak: IdentityProvider
) -> None:
    coach = keycloak.user("coach", "leiden")
    for_screening = bearer(keycloak.token(coach, ["vrac-screening"]))
    answer = httpx.get(f"{intake}/cases", params={"pilot": "leiden"}, headers=for_screening)
    assert answer.status_code == 401
    no_audience = bearer(keycloak.token(coach, []))
    answer = httpx.get(f"{intake}/cases", params={"pilot": "leiden"}, headers=no_audience)
    assert answer.status_code == 401
