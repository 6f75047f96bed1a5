"""The family's link: what a parent opens the web app with, without an account.

Intake signs it with its own key (``iss`` ``vrac-intake``) for the audience ``vrac-family``;
``sub`` is the guardian it was sent to, with the case (``case_id``) and its pilot
(``pilot``), an id (``jti``) intake keeps to list and revoke it, and an expiry (``exp``).
The web app passes it as the bearer token of its calls to intake, screening and network,
and each verifies it with intake's public keys, the ones intake's service calls are verified
with (in development its development key, in deployment ``VRAC_TRUSTED_SERVICES``).

A family link is never a staff or service token, nor a staff token a family link: staff
tokens name the services as their audiences, never ``vrac-family``; a family link names only
``vrac-family``; and only intake's key may sign one (a user issuer's token for
``vrac-family`` opens nothing). It opens one case: a route checks the grant names the case it
is about (403 otherwise).

Revocation is intake's: only intake keeps the links, so only intake refuses a revoked one.
Screening and network check the signature, the expiry and the case; the web app asks intake
first on every family page, so a revoked link stops there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vrac_runtime.auth import (
    EXPIRED,
    KEYS_AWAY,
    LINK_EXPIRED,
    LINK_INVALID,
    KeysUnavailable,
    LinkGrant,
    Principal,
    TokenRefused,
    requires,
    requires_or_link,
    service_issuer,
    tokens_of,
)

FAMILY_AUDIENCE: Final = "vrac-family"
LINK_SIGNER: Final = "intake"  # the one service whose key signs family links
FAMILY_ISSUER: Final = service_issuer(LINK_SIGNER)
ANOTHER_CASE: Final = "this link opens another family's case"
STAFF_ONLY: Final = "this needs a staff account; the family's link does not open it"

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class FamilyGrant:
    """A valid family link: the case it opens, for which guardian; ``link_id`` revokes it."""

    case_id: str
    pilot: str
    guardian_id: str
    link_id: str
    expires_at: int

    def ensure_case(self, case_id: str) -> None:
        """403 unless the link opens ``case_id``."""
        if case_id != self.case_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, ANOTHER_CASE)


def family_claims(
    *, case_id: str, pilot: str, guardian_id: str, ttl: int, now: int | None = None
) -> dict[str, Any]:
    """The claims of a new family link (its ``jti`` fresh), signed by intake's key."""
    issued = int(time.time()) if now is None else now
    return {
        "iss": FAMILY_ISSUER,
        "aud": FAMILY_AUDIENCE,
        "sub": guardian_id,
        "case_id": case_id,
        "pilot": pilot,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + ttl,
    }


def is_family_link(token: str) -> bool:
    """Whether a bearer token says it is a family link (its signature not checked yet):
    which verification it goes through. A forged claim gains nothing: verification checks
    the audience again, and the key."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return False
    return aud == FAMILY_AUDIENCE or (isinstance(aud, list) and FAMILY_AUDIENCE in aud)


async def verify_family_link(app: FastAPI, token: str) -> FamilyGrant:
    """The grant of a valid family link signed by intake; else TokenRefused with the text
    for the family (``this link has expired``, ``this link is not valid``), or
    KeysUnavailable."""
    try:
        claims, issuer = await tokens_of(app).verified_claims(token, FAMILY_AUDIENCE)
    except TokenRefused as refused:
        if str(refused) == EXPIRED:
            raise TokenRefused(LINK_EXPIRED) from None
        raise TokenRefused(LINK_INVALID) from None
    if issuer.name != FAMILY_ISSUER or issuer.service != LINK_SIGNER:
        raise TokenRefused(LINK_INVALID)  # only intake's key signs family links
    fields = (claims.get("case_id"), claims.get("pilot"), claims.get("jti"))
    if not all(isinstance(f, str) and f for f in fields):
        raise TokenRefused(LINK_INVALID)
    case_id, pilot, link_id = (str(f) for f in fields)
    return FamilyGrant(case_id, pilot, str(claims["sub"]), link_id, int(claims["exp"]))


async def open_family_link(app: FastAPI, token: str) -> FamilyGrant:
    """The grant of a family link, or the HTTP refusal: 401 with the reason in plain words
    (expired, not valid), 503 when intake's keys cannot be fetched."""
    try:
        return await verify_family_link(app, token)
    except TokenRefused as refused:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(refused), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    except KeysUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, KEYS_AWAY) from None


def requires_or_family(
    *roles: str,
) -> Callable[..., Awaitable[Principal | FamilyGrant]]:
    """Like ``requires``, but a family link as the bearer token also passes: then the answer
    is its grant, and the route checks it names the case (``FamilyGrant.ensure_case``)."""
    staff = requires(*roles)

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal | FamilyGrant:
        token = family_bearer(credentials)
        if token is not None:
            return await open_family_link(request.app, token)
        return await staff(request, credentials)

    return dependency


def family_bearer(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The bearer token when it is a family link, else None."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    return credentials.credentials if is_family_link(credentials.credentials) else None


def requires_family_or_link(
    *roles: str, opens: Callable[[Request], str] | None = None
) -> Callable[..., Awaitable[Principal | FamilyGrant | LinkGrant]]:
    """``requires_or_link`` whose bearer may also be a family link: a document the family
    opens with a signed ``?link=`` from an e-mail, or from the web app with its family link."""
    return requires_or_link(*roles, opens=opens, bearer=requires_or_family(*roles))


def staff_only(who: Principal | FamilyGrant) -> Principal:
    """The staff principal; 403 for a family link on a route it does not open."""
    if isinstance(who, FamilyGrant):
        raise HTTPException(status.HTTP_403_FORBIDDEN, STAFF_ONLY)
    return who
