"""The Keycloak realm exports of the platform, from the catalogue. ``deploy/generate.py`` writes
and checks them with the other generated deploy files (``make generate``).

The files, relative to the repository root:

- ``deploy/keycloak/vrac-realm.json``: the realm a pilot imports into its own Keycloak. Groups,
  client scopes and clients; no users, no client secret, no redirect URI (set the web app's).
- ``deploy/keycloak/local/vrac-realm.json``: the same realm for the local stack's Keycloak,
  plus a confidential client for tests and the command line and one user per role and pilot,
  all with development-only passwords. Never import it anywhere else.

What a token of this realm carries, and why it is built this way:

- ``role`` and ``pilot``, from the user's group. Each pilot has a group (``leiden``) with one
  subgroup per role (``leiden/coach``); the subgroup holds the attributes ``role`` and
  ``pilot``, and a user attribute mapper puts them into the tokens. An administrator at a
  pilot adds a person to ``leiden/coach`` instead of typing claim values, a person who
  changes job changes group, and groups are what Keycloak's LDAP and Active Directory group
  mappers fill, so a municipality's directory can drive them. Consortium-wide roles live in
  ``consortium/<role>`` with ``pilot`` ``*``. No group gives ``service``: the services sign
  their calls to each other with their own keys, and refuse that role from a user issuer.
- ``aud``: one client scope per service (``vrac-intake`` ...) whose audience mapper adds that
  service's audience. The web app gets all five by default; the development client asks for
  the ones it needs (``scope=vrac-intake``), so a token is good only where it was asked for.
- ``sub``, and nothing personal: no name, no e-mail in the access token (the built-in
  ``profile`` and ``email`` scopes are not defined), so no token puts a name into a log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from vrac_contracts.catalogue import SERVICES
from vrac_contracts.values import Pilot
from vrac_runtime.auth import ALL_PILOTS, ROLES

REPO_ROOT: Final = Path(__file__).resolve().parent.parent.parent
REALM: Final = "vrac"
DEPLOYMENT_FILE: Final = "deploy/keycloak/vrac-realm.json"
# Keycloak's --import-realm wants the file named <realm>-realm.json.
LOCAL_FILE: Final = "deploy/keycloak/local/vrac-realm.json"

# Roles a person holds at one pilot, and those that span the consortium (pilot "*"); the
# services' own role is not a person's.
SERVICE_ROLE: Final = "service"
CONSORTIUM_GROUP: Final = "consortium"
CONSORTIUM_ROLES: Final = ("consortium", "admin")
PILOT_ROLES: Final = tuple(r for r in ROLES if r not in ("consortium", SERVICE_ROLE))

CLAIMS_SCOPE: Final = "vrac-claims"
WEB_CLIENT: Final = "vrac-web"
DEV_CLIENT: Final = "vrac-dev"
ACCESS_TOKEN_SECONDS: Final = 300

# Development only: these are public, in git, and valid only in the local realm file.
DEV_CLIENT_SECRET: Final = "vrac-dev-client-secret-dev-only"
DEV_PASSWORD: Final = "dev-only-password"
# The web app on loopback, on any port: Keycloak lets the port of a loopback IP redirect URI
# registered without one vary (RFC 8252, 7.3), as the tests start it on a free port.
LOCAL_REDIRECTS: Final = ("http://127.0.0.1/*", "http://localhost:8000/*")


def audience(service: str) -> str:
    """The ``aud`` value a service accepts (the services' contract)."""
    return f"vrac-{service}"


# --- client scopes ----------------------------------------------------------------------


def _token_claim(claim: str, attribute: str) -> dict[str, Any]:
    return {
        "name": claim,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "consentRequired": False,
        "config": {
            "user.attribute": attribute,
            "claim.name": claim,
            "jsonType.label": "String",
            "multivalued": "false",
            "aggregate.attrs": "false",
            "access.token.claim": "true",
            "id.token.claim": "true",
            "userinfo.token.claim": "true",
            "introspection.token.claim": "true",
        },
    }


def _scope(name: str, description: str, mappers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"},
        "protocolMappers": mappers,
    }


def claims_scope() -> dict[str, Any]:
    subject = {
        "name": "sub",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-sub-mapper",
        "consentRequired": False,
        "config": {"access.token.claim": "true", "introspection.token.claim": "true"},
    }
    return _scope(
        CLAIMS_SCOPE,
        "sub, and role and pilot from the user's group",
        [subject, _token_claim("role", "role"), _token_claim("pilot", "pilot")],
    )


def audience_scope(service: str) -> dict[str, Any]:
    mapper = {
        "name": f"audience {audience(service)}",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "consentRequired": False,
        "config": {
            "included.custom.audience": audience(service),
            "access.token.claim": "true",
            "id.token.claim": "false",
            "introspection.token.claim": "true",
        },
    }
    return _scope(audience(service), f"tokens the {service} service accepts", [mapper])


def client_scopes() -> list[dict[str, Any]]:
    return [claims_scope(), *(audience_scope(s) for s in SERVICES)]


# --- groups -----------------------------------------------------------------------------


def _group(name: str, subgroups: list[dict[str, Any]], **attributes: str) -> dict[str, Any]:
    group: dict[str, Any] = {"name": name, "path": f"/{name}", "subGroups": subgroups}
    group["attributes"] = {key: [value] for key, value in attributes.items()}
    return group


def _role_groups(parent: str, pilot: str, roles: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": role,
            "path": f"/{parent}/{role}",
            "attributes": {"role": [role], "pilot": [pilot]},
            "subGroups": [],
        }
        for role in roles
    ]


def groups() -> list[dict[str, Any]]:
    per_pilot = [_group(p.value, _role_groups(p.value, p.value, PILOT_ROLES)) for p in Pilot]
    consortium = _group(
        CONSORTIUM_GROUP, _role_groups(CONSORTIUM_GROUP, ALL_PILOTS, CONSORTIUM_ROLES)
    )
    return [*per_pilot, consortium]


# --- clients ----------------------------------------------------------------------------


def web_client(redirects: tuple[str, ...]) -> dict[str, Any]:
    """The web app's sign-in: a public client, authorization code with PKCE (S256) only."""
    return {
        "clientId": WEB_CLIENT,
        "name": "VRAC web app",
        "enabled": True,
        "publicClient": True,
        "protocol": "openid-connect",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "redirectUris": list(redirects),
        "webOrigins": ["+"],
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        "fullScopeAllowed": False,
        "defaultClientScopes": [CLAIMS_SCOPE, *(audience(s) for s in SERVICES)],
        "optionalClientScopes": [],
    }


def dev_client() -> dict[str, Any]:
    """Tests and the command line: password grant for the local users; audiences only when
    asked for."""
    return {
        "clientId": DEV_CLIENT,
        "name": "VRAC development client (local realm only)",
        "enabled": True,
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": DEV_CLIENT_SECRET,
        "protocol": "openid-connect",
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": True,
        "serviceAccountsEnabled": False,
        "fullScopeAllowed": False,
        "defaultClientScopes": [CLAIMS_SCOPE],
        "optionalClientScopes": [audience(s) for s in SERVICES],
    }


# --- users (local realm only) -------------------------------------------------------------


def _user(username: str, group_path: str, first: str, last: str) -> dict[str, Any]:
    return {
        "username": username,
        "enabled": True,
        "email": f"{username}@example.invalid",
        "emailVerified": True,
        "firstName": first,
        "lastName": last,
        "credentials": [{"type": "password", "value": DEV_PASSWORD, "temporary": False}],
        "requiredActions": [],
        "groups": [group_path],
    }


def local_users() -> list[dict[str, Any]]:
    """``<pilot>-<role>`` for each pilot role, ``consortium-<role>`` for the others."""
    users = [
        _user(f"{p.value}-{role}", f"/{p.value}/{role}", p.value.title(), role.title())
        for p in Pilot
        for role in PILOT_ROLES
    ]
    users += [
        _user(f"consortium-{role}", f"/{CONSORTIUM_GROUP}/{role}", "Consortium", role.title())
        for role in CONSORTIUM_ROLES
    ]
    return users


# --- the realm ------------------------------------------------------------------------------


def realm(local: bool) -> dict[str, Any]:
    clients = [web_client(LOCAL_REDIRECTS if local else ())]
    if local:
        clients.append(dev_client())
    document: dict[str, Any] = {
        "realm": REALM,
        "displayName": "VRAC (local development only)" if local else "VRAC",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": True,
        "bruteForceProtected": True,
        "accessTokenLifespan": ACCESS_TOKEN_SECONDS,
        "defaultSignatureAlgorithm": "RS256",
        "clientScopes": client_scopes(),
        "defaultDefaultClientScopes": [CLAIMS_SCOPE],
        "defaultOptionalClientScopes": [],
        "groups": groups(),
        "clients": clients,
    }
    if local:
        document["users"] = local_users()
    return document


def render() -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""

    def dump(data: Any) -> str:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    return {DEPLOYMENT_FILE: dump(realm(local=False)), LOCAL_FILE: dump(realm(local=True))}
