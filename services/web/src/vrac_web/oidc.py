"""Signing in with OpenID Connect: the authorization code flow with PKCE, as a public client.

The web app sends the browser to the provider with a one-time ``state``, ``nonce`` and PKCE
challenge kept in the session, takes the code back at ``/sign-in/callback``, trades it (with
the verifier) for tokens, checks the ID token (issuer, audience, nonce, signature by the
provider's published keys) and keeps the access and refresh tokens in the session. The access
token is what the services accept; it carries ``role`` and ``pilot`` from the person's group.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from vrac_runtime.auth import ALGORITHMS, LEEWAY_SECONDS, JwksKeys


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; ``str()`` says why, without tokens."""


@dataclass(frozen=True)
class Challenge:
    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Challenge:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SignedIn:
    access: str
    refresh: str
    expires_at: int
    subject: str
    role: str
    pilot: str


@dataclass
class Provider:
    issuer: str
    client_id: str
    http: httpx.AsyncClient
    _metadata: dict[str, Any] | None = None
    _keys: JwksKeys | None = field(default=None, repr=False)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            answer = await self.http.get(url)
            answer.raise_for_status()
            document = answer.json()
            if document.get("issuer") != self.issuer:
                raise SignInFailed("the provider's discovery document names another issuer")
            self._metadata = document
        return self._metadata

    async def authorization_url(self, redirect_uri: str, challenge: Challenge) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": challenge.state,
            "nonce": challenge.nonce,
            "code_challenge": challenge.code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{(await self.metadata())['authorization_endpoint']}?{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, challenge: Challenge) -> SignedIn:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": challenge.verifier,
        }
        tokens = await self._token(form)
        await self._verify(tokens.get("id_token"), audience=self.client_id, nonce=challenge.nonce)
        return await self._signed_in(tokens)

    async def refresh(self, refresh_token: str) -> SignedIn:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        }
        return await self._signed_in(await self._token(form))

    async def end_session_url(self, after: str) -> str | None:
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        return f"{endpoint}?{urlencode(query)}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        answer = await self.http.post((await self.metadata())["token_endpoint"], data=form)
        if answer.status_code != 200:
            raise SignInFailed(f"the provider refused the sign-in ({answer.status_code})")
        tokens: dict[str, Any] = answer.json()
        return tokens

    async def _signed_in(self, tokens: dict[str, Any]) -> SignedIn:
        access = tokens.get("access_token")
        claims = await self._verify(access, audience=None)
        role, pilot = claims.get("role"), claims.get("pilot")
        if not isinstance(role, str) or not isinstance(pilot, str):
            raise SignInFailed("the account has no role and pilot: ask for a group at the pilot")
        expires = int(claims.get("exp", time.time() + int(tokens.get("expires_in", 60))))
        return SignedIn(
            str(access),
            str(tokens.get("refresh_token", "")),
            expires,
            str(claims["sub"]),
            role,
            pilot,
        )

    async def _verify(self, token: Any, *, audience: str | None, nonce: str = "") -> dict[str, Any]:
        """A token's claims once its signature, issuer, expiry (and audience and nonce, for the
        ID token) hold; the access token's audiences are the services', checked by them."""
        if not isinstance(token, str):
            raise SignInFailed("the provider's answer lacks a token")
        try:
            header = jwt.get_unverified_header(token)
            key = await self._key(str(header.get("kid", "")))
            if key is None or header.get("alg") not in ALGORITHMS:
                raise SignInFailed("a token is signed with a key the provider does not publish")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(header["alg"])],
                issuer=self.issuer,
                audience=audience,
                leeway=LEEWAY_SECONDS,
                options={"verify_aud": audience is not None, "require": ["sub", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            raise SignInFailed("a token from the provider is not valid") from None
        if nonce and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token answers another sign-in")
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if self._keys is None:
            url = (await self.metadata())["jwks_uri"]
            self._keys = JwksKeys(url, lambda: self.http)
        return await self._keys.key(kid)
