"""Bearer tokens (JWT, HS256) whose claims give a role and the pilot it is scoped to.

No token: 401. A valid token of another pilot, or a role the endpoint does not allow: 403.
``pilot: "*"`` is for consortium-wide roles (the consortium report, operators).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

ALL_PILOTS = "*"
ROLES = ("coach", "pilot-lead", "consortium", "agency", "service", "admin")
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
