"""Tokens for tests, minted the way ``python -m vrac_runtime.auth`` mints them locally: by
the development issuer (accepted by services with ``VRAC_DEVELOPMENT=true``), or for role
``service`` by a service's development key, as that service's own call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from vrac_contracts.catalogue import SERVICES
from vrac_runtime.auth import (
    DEVELOPMENT_ISSUER,
    SERVICE_ROLE,
    SigningKeys,
    audience,
    development_token,
)

DEFAULT_CALLER = "notifications"


def token(role: str, pilot: str, subject: str = "u-1", ttl: int = 3600) -> str:
    """A bearer token; for role ``service`` the subject names the calling service (another
    subject stands for notifications, a reader of most services)."""
    if role == SERVICE_ROLE:
        caller = subject if subject in SERVICES else DEFAULT_CALLER
        return development_token(role=role, pilot="*", service=caller, ttl=ttl)
    return development_token(role=role, pilot=pilot, subject=subject, ttl=ttl)


def bearer(role: str, pilot: str, subject: str = "u-1", ttl: int = 3600) -> dict[str, str]:
    """The ``Authorization`` header of :func:`token`."""
    return {"Authorization": f"Bearer {token(role, pilot, subject, ttl)}"}


def _segment(value: Mapping[str, object]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_with_public_key(claims: dict[str, object]) -> str:
    """The classic algorithm confusion: HS256, with the issuer's public key as the secret
    (signed by hand: PyJWT rightly refuses to make one)."""
    public = SigningKeys.development("issuer").keys[0][1].public_key()
    secret = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "development-issuer"}
    signed = f"{_segment(header)}.{_segment(claims)}"
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def refused_tokens(role: str = "admin", pilot: str = "*") -> dict[str, str]:
    """Tokens every service must answer with 401, by what is wrong with them."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": DEVELOPMENT_ISSUER,
        "sub": "intruder",
        "aud": [audience(s) for s in SERVICES],
        "role": role,
        "pilot": pilot,
        "iat": now,
        "exp": now + 600,
    }
    issuer_key = SigningKeys.development("issuer")
    stranger = SigningKeys((("development-issuer", SigningKeys.generate().keys[0][1]),))
    return {
        "expired": issuer_key.sign({**claims, "iat": now - 7200, "exp": now - 3600}),
        "signed by a foreign key": stranger.sign(claims),
        "of a foreign issuer": SigningKeys.generate("elsewhere").sign(
            {**claims, "iss": "https://idp.elsewhere.example/realms/vrac"}
        ),
        "for another audience": issuer_key.sign({**claims, "aud": "vrac-elsewhere"}),
        "without an audience": issuer_key.sign({k: v for k, v in claims.items() if k != "aud"}),
        "HS256 with the public key as secret": _hs256_with_public_key(claims),
        "alg none": jwt.encode(claims, "", algorithm="none", headers={"kid": "development-issuer"}),
    }
