"""Bearer tokens (JWT, HS256) whose claims give a role and the pilot it is scoped to.

No token: 401. A valid token of another pilot, or a role the endpoint does not allow: 403.
``pilot: "*"`` is for consortium-wide roles (the consortium report, operators). ``dpo``, a
pilot's data-protection officer, reads the audit trail of the pilot's cases and nothing else.

Signed links are for people without an account (a parent opening the child's diploma): a
token that opens one path until it expires. It carries its own audience, so it is never
accepted as a bearer token, nor a bearer token as a link.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

ALL_PILOTS = "*"
LINK_AUDIENCE = "vrac-link"
ROLES = ("coach", "pilot-lead", "consortium", "agency", "service", "admin", "dpo")
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    pilot: str

    def may_see(self, pilot: str) -> bool:
        return self.pilot in (ALL_PILOTS, pilot)

    def ensure_pilot(self, pilot: str) -> None:
        """403 unless this token is scoped to the pilot of the resource."""
        if not self.may_see(pilot):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this case belongs to another pilot")


def issue_token(
    secret: str, *, subject: str, role: str, pilot: str, issuer: str = "vrac", ttl: int = 3600
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "role": role,
        "pilot": pilot,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class ServiceToken:
    """This service's own bearer token for calling another service (role ``service``, all
    pilots, subject the service's name), renewed a minute before it expires."""

    def __init__(self, secret: str, service: str, issuer: str = "vrac", ttl: int = 300) -> None:
        self._secret, self._service, self._issuer, self._ttl = secret, service, issuer, ttl
        self._token, self._until = "", 0.0

    def __call__(self) -> str:
        now = time.time()
        if now > self._until - 60:
            self._token = issue_token(
                self._secret,
                subject=self._service,
                role="service",
                pilot=ALL_PILOTS,
                issuer=self._issuer,
                ttl=self._ttl,
            )
            self._until = now + self._ttl
        return self._token


def verify_token(secret: str, token: str, issuer: str = "vrac") -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.PyJWTError as err:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"invalid bearer token: {err}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    role, pilot = claims.get("role"), claims.get("pilot")
    if role not in ROLES or not isinstance(pilot, str) or not pilot:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "token lacks a known role and a pilot")
    return Principal(subject=str(claims["sub"]), role=role, pilot=pilot)


def issue_link(secret: str, path: str, *, ttl: int, issuer: str = "vrac") -> str:
    """A token that opens ``path`` (e.g. ``/diplomas/dip_x.pdf``) for ``ttl`` seconds."""
    now = int(time.time())
    claims = {"sub": path, "aud": LINK_AUDIENCE, "iss": issuer, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_link(secret: str, token: str, path: str, issuer: str = "vrac") -> None:
    """403 unless ``token`` is a valid, unexpired link to exactly ``path``."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=LINK_AUDIENCE,
            issuer=issuer,
            options={"require": ["sub", "exp", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link has expired") from None
    except jwt.PyJWTError:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link is not valid") from None
    if claims["sub"] != path:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link opens another document")


def requires(*roles: str) -> Callable[..., Principal]:
    """A FastAPI dependency: the caller's principal, when its role is one of ``roles``."""
    allowed: Iterable[str] = roles or ROLES

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        settings = request.app.state.settings
        principal = verify_token(
            settings.jwt_secret.get_secret_value(), credentials.credentials, settings.jwt_issuer
        )
        if principal.role not in allowed and principal.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
        return principal

    return dependency


def requires_or_link(*roles: str) -> Callable[..., Principal | None]:
    """Like ``requires``, but a valid ``?link=`` for the requested path also opens it;
    then there is no principal (``None``)."""
    bearer = requires(*roles)

    def dependency(
        request: Request,
        link: str | None = Query(None, description="A signed link to this path."),
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal | None:
        if link is None:
            return bearer(request, credentials)
        settings = request.app.state.settings
        secret = settings.jwt_secret.get_secret_value()
        verify_link(secret, link, request.url.path, settings.jwt_issuer)
        return None

    return dependency


def main() -> None:
    """``python -m vrac_runtime.auth --role coach --pilot leiden``: a token for local use."""
    from vrac_runtime.settings import ServiceSettings

    parser = argparse.ArgumentParser(description="Issue a bearer token signed with VRAC_JWT_SECRET")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--pilot", required=True, help="a pilot id, or * for all pilots")
    parser.add_argument("--subject", default="local-user")
    parser.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args()
    settings = ServiceSettings()
    print(
        issue_token(
            settings.jwt_secret.get_secret_value(),
            subject=args.subject,
            role=args.role,
            pilot=args.pilot,
            issuer=settings.jwt_issuer,
            ttl=args.ttl,
        )
    )


if __name__ == "__main__":
    main()
