"""A real identity provider for tests: Keycloak with the generated local realm.

Where tests find it, in order of preference:

1. ``VRAC_KEYCLOAK_URL``: the base URL of a running Keycloak that imported
   ``deploy/keycloak/local/vrac-realm.json``.
2. The local stack's Keycloak (``VRAC_KEYCLOAK_PORT``, default 8180), started here with
   ``stack.py keycloak-start`` when its realm does not answer, and stopped again at the end of
   the session if this harness started it.

Users, passwords and the development client's secret are read from the local realm file, so
the tests use exactly what the realm was generated with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from vrac_testing.infrastructure import repo_root, stack

REALM = "vrac"
DEV_CLIENT = "vrac-dev"


def local_realm() -> dict[str, Any]:
    path = repo_root() / "deploy" / "keycloak" / "local" / f"{REALM}-realm.json"
    realm: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return realm


@dataclass(frozen=True)
class LocalUser:
    username: str
    password: str
    role: str
    pilot: str


def _group_claims(realm: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Group path -> (role, pilot) for every group that carries both."""
    found: dict[str, tuple[str, str]] = {}

    def walk(groups: Iterable[dict[str, Any]]) -> None:
        for group in groups:
            attributes = group.get("attributes", {})
            if "role" in attributes and "pilot" in attributes:
                found[group["path"]] = (attributes["role"][0], attributes["pilot"][0])
            walk(group.get("subGroups", []))

    walk(realm["groups"])
    return found


@dataclass
class IdentityProvider:
    base_url: str
    realm: dict[str, Any] = field(default_factory=local_realm)
    _cleanups: list[Callable[[], object]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def trusted_issuers(self) -> str:
        """``VRAC_TRUSTED_ISSUERS`` of a service that accepts this provider's tokens."""
        return json.dumps({self.issuer: self.jwks_url})

    @cached_property
    def users(self) -> list[LocalUser]:
        claims = _group_claims(self.realm)
        users = []
        for user in self.realm.get("users", []):
            (group,) = user["groups"]
            role, pilot = claims[group]
            password = user["credentials"][0]["value"]
            users.append(LocalUser(user["username"], password, role, pilot))
        return users

    def user(self, role: str, pilot: str) -> LocalUser:
        return next(u for u in self.users if u.role == role and u.pilot == pilot)

    @cached_property
    def client_secret(self) -> str:
        client = next(c for c in self.realm["clients"] if c["clientId"] == DEV_CLIENT)
        return str(client["secret"])

    def token(self, user: LocalUser, audiences: Iterable[str]) -> str:
        """An access token for ``user`` (password grant of the development client), whose
        ``aud`` holds the audiences asked for, e.g. ``("vrac-intake",)``."""
        form = {
            "grant_type": "password",
            "client_id": DEV_CLIENT,
            "client_secret": self.client_secret,
            "username": user.username,
            "password": user.password,
        }
        scope = " ".join(audiences)
        if scope:  # Keycloak refuses an empty scope parameter
            form["scope"] = scope
        answer = httpx.post(self.token_url, data=form, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            cleanup()


def realm_answers(base_url: str) -> bool:
    url = f"{base_url}/realms/{REALM}/.well-known/openid-configuration"
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def provide() -> IdentityProvider:
    explicit = os.environ.get("VRAC_KEYCLOAK_URL")
    if explicit:
        return IdentityProvider(explicit.rstrip("/"))
    port = int(os.environ.get("VRAC_KEYCLOAK_PORT", "8180"))
    provider = IdentityProvider(f"http://127.0.0.1:{port}")
    if not realm_answers(provider.base_url):
        started = stack("keycloak-start")
        if started.returncode != 0:
            raise RuntimeError(f"Keycloak did not start: {started.stderr.strip()}")
        provider._cleanups.append(lambda: stack("keycloak-stop"))
    return provider
