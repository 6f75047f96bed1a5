"""Tokens of the real Keycloak, with the generated realm, are what the services expect:
``iss`` the realm, ``aud`` the services asked for, ``role`` and ``pilot`` from the user's
group, signed with a key of the realm's JWKS, and nothing personal inside."""

from __future__ import annotations

from functools import cache
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from vrac_contracts.catalogue import SERVICES
from vrac_runtime.auth import ROLES
from vrac_testing.identity import IdentityProvider

pytestmark = pytest.mark.integration

AUDIENCES = tuple(f"vrac-{service}" for service in SERVICES)
# claims that would carry a person's name or address into every service's hands
PERSONAL_CLAIMS = {"name", "given_name", "family_name", "email", "preferred_username"}


@cache
def jwks(url: str) -> jwt.PyJWKClient:
    """The realm's public keys, fetched once (and again for an unknown key id)."""
    return jwt.PyJWKClient(url)


def verified(keycloak: IdentityProvider, token: str, audience: str) -> dict:
    """The claims of ``token``, checked as a service does: signature against the realm's
    JWKS, issuer, audience and expiry."""
    key = jwks(keycloak.jwks_url).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key,
        algorithms=["RS256", "ES256", "EdDSA"],
        audience=audience,
        issuer=keycloak.issuer,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )


def test_every_local_user_gets_the_role_and_pilot_of_its_group(
    keycloak: IdentityProvider,
) -> None:
    # every role a person can hold, at every pilot (and consortium-wide), has a user
    assert {u.role for u in keycloak.users} == set(ROLES) - {"service"}
    for user in keycloak.users:
        token = keycloak.token(user, AUDIENCES)
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        for audience in AUDIENCES:
            claims = verified(keycloak, token, audience)
            assert (claims["role"], claims["pilot"]) == (user.role, user.pilot), user.username
        assert set(claims["aud"]) == set(AUDIENCES)
        assert claims["sub"]
        assert not PERSONAL_CLAIMS & set(claims), user.username


def test_a_token_is_good_only_for_the_services_it_was_asked_for(
    keycloak: IdentityProvider,
) -> None:
    coach = keycloak.user("coach", "leiden")
    token = keycloak.token(coach, ["vrac-screening"])
    assert verified(keycloak, token, "vrac-screening")["pilot"] == "leiden"
    with pytest.raises(jwt.InvalidAudienceError):
        verified(keycloak, token, "vrac-intake")
    bare = keycloak.token(coach, [])
    with pytest.raises(jwt.PyJWTError):
        verified(keycloak, bare, "vrac-intake")


def test_a_wrong_password_gets_no_token(keycloak: IdentityProvider) -> None:
    coach = keycloak.user("coach", "leiden")
    wrong = type(coach)(coach.username, coach.password + "x", coach.role, coach.pilot)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        keycloak.token(wrong, AUDIENCES)
    assert refused.value.response.status_code == 401


def test_the_web_app_signs_in_with_pkce_only(keycloak: IdentityProvider) -> None:
    authorize = f"{keycloak.issuer}/protocol/openid-connect/auth"
    asked = {
        "client_id": "vrac-web",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": "http://127.0.0.1:8000/signed-in",
        "state": "s1",
    }
    without = httpx.get(authorize, params=asked, follow_redirects=False, timeout=30)
    assert without.status_code == 302
    sent_back = parse_qs(urlsplit(without.headers["location"]).query)
    assert sent_back["error"] == ["invalid_request"]
    assert "code_challenge" in sent_back["error_description"][0]

    challenge = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    with_pkce = httpx.get(
        authorize,
        params={**asked, **challenge, "code_challenge_method": "S256"},
        follow_redirects=False,
        timeout=30,
    )
    assert with_pkce.status_code == 200  # the sign-in page
    assert "kc-form-login" in with_pkce.text

    elsewhere = {**asked, **challenge, "code_challenge_method": "S256"}
    elsewhere["redirect_uri"] = "https://attacker.example/steal"
    refused = httpx.get(authorize, params=elsewhere, follow_redirects=False, timeout=30)
    assert refused.status_code == 400  # never redirected to an unregistered address
