"""The web app signs people in with the authorization code flow and PKCE against the real
Keycloak, from whatever loopback port it runs on (tests start it on a free one): the local
realm registers its redirect URI without a port, which Keycloak lets vary for a loopback IP."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from vrac_testing.identity import IdentityProvider
from vrac_testing.processes import free_port

pytestmark = pytest.mark.integration

LOGIN_FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.DOTALL)


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_code(
    keycloak: IdentityProvider, client: httpx.Client, redirect_uri: str, verifier: str
) -> str:
    """What a browser does: asks to sign in, fills the login form as leiden-coach, and is sent
    back to ``redirect_uri`` with a code (not followed: nothing listens there)."""
    state = secrets.token_urlsafe(16)
    login_page = client.get(
        f"{keycloak.issuer}/protocol/openid-connect/auth",
        params={
            "client_id": "vrac-web",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
        },
    )
    assert login_page.status_code == 200, login_page.text
    form = LOGIN_FORM.search(login_page.text)
    assert form is not None, "no login form on Keycloak's page"
    user = keycloak.user("coach", "leiden")
    # Keycloak marks its cookies Secure; a browser sends them to http://127.0.0.1 all the
    # same (loopback is a secure context), httpx does not: hand them on as a browser would
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies.jar)
    answer = client.post(
        html.unescape(form.group(1)),
        data={"username": user.username, "password": user.password, "credentialId": ""},
        headers={"Cookie": cookies},
    )
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(redirect_uri + "?")
    query = parse_qs(urlsplit(back).query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(
    keycloak: IdentityProvider, code: str, redirect_uri: str, verifier: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": "vrac-web",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return httpx.post(keycloak.token_url, data=form, timeout=30)


@pytest.mark.parametrize("run", ["one free port", "another free port"])
def test_the_web_app_on_any_loopback_port_signs_a_coach_in(
    keycloak: IdentityProvider, run: str
) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/sign-in/callback"
    verifier = secrets.token_urlsafe(48)
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        code = authorization_code(keycloak, browser, redirect_uri, verifier)

    tokens = exchange(keycloak, code, redirect_uri, verifier)

    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert (claims["iss"], claims["role"], claims["pilot"]) == (keycloak.issuer, "coach", "leiden")


def test_a_code_is_not_exchanged_without_its_verifier(keycloak: IdentityProvider) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/sign-in/callback"
    verifier = secrets.token_urlsafe(48)
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        code = authorization_code(keycloak, browser, redirect_uri, verifier)

    refused = exchange(keycloak, code, redirect_uri, secrets.token_urlsafe(48))

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.2:8000/sign-in/callback",  # another loopback address is not registered
        "http://attacker.example:8000/sign-in/callback",
        "https://127.0.0.1:8000/sign-in/callback",  # another scheme
    ],
)
def test_a_redirect_elsewhere_than_loopback_is_refused(
    keycloak: IdentityProvider, redirect_uri: str
) -> None:
    refused = httpx.get(
        f"{keycloak.issuer}/protocol/openid-connect/auth",
        params={
            "client_id": "vrac-web",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "code_challenge": challenge_of(secrets.token_urlsafe(48)),
            "code_challenge_method": "S256",
        },
        timeout=30,
    )

    assert refused.status_code == 400  # an error page, never a redirect with a code
