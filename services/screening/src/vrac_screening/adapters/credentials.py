"""Signs credentials with each pilot's issuer key (VC-JOSE: a JWT, EdDSA over Ed25519) and
checks them, naming what failed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import jwt
from vrac_contracts.values import Pilot
from vrac_runtime.auth import SigningKeys, verification_keys

from vrac_screening.domain.credential import Places
from vrac_screening.domain.errors import CredentialRefused, NoIssuerKey

MEDIA_TYPE: Final = "application/vc+jwt"
_TYP: Final = "vc+jwt"

MALFORMED: Final = "not a credential: it is not a signed JWT (VC-JOSE) holding a JSON object"
NOT_A_BADGE: Final = "not an OpenBadgeCredential"
FOREIGN: Final = "the issuer is not a pilot of this service"
UNKNOWN_KEY: Final = "signed with a key its issuer does not hold"
ALTERED: Final = (
    "the signature does not match: the credential was altered or its issuer did not sign it"
)


def development_issuer_keys() -> dict[str, SigningKeys]:
    """DEVELOPMENT ONLY: a key per pilot that anyone can derive."""
    return {str(p): SigningKeys.development(f"credential-issuer-{p}") for p in Pilot}


def parse_issuer_keys(text: str) -> dict[str, SigningKeys]:
    """``{"<pilot>": <JWK set of private Ed25519 keys>, ...}``; ValueError naming the pilot."""
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError("not a JSON object of pilot -> JWK set") from None
    if not isinstance(document, dict):
        raise ValueError("not a JSON object of pilot -> JWK set")
    keys: dict[str, SigningKeys] = {}
    for pilot, jwks in document.items():
        if pilot not in {str(p) for p in Pilot}:
            raise ValueError(f"{pilot} is not a pilot")
        try:
            keys[pilot] = SigningKeys.parse(json.dumps(jwks))
        except ValueError as err:
            raise ValueError(f"{pilot}: {err}") from None
    return keys


class CredentialIssuer:
    """The pilots' issuer keys: the first of a pilot's keys signs, all verify (rotation)."""

    def __init__(self, places: Places, keys: Mapping[str, SigningKeys]) -> None:
        self.places = places
        self._keys = dict(keys)
        self._public = {pilot: verification_keys(k.public_jwks()) for pilot, k in keys.items()}

    def public_jwks(self, pilot: str) -> dict[str, Any]:
        if pilot not in self._keys:
            raise NoIssuerKey(f"pilot {pilot} has no issuer key")
        return self._keys[pilot].public_jwks()

    def sign(self, pilot: str, credential: Mapping[str, Any]) -> str:
        if pilot not in self._keys:
            raise NoIssuerKey(f"pilot {pilot} has no issuer key (VRAC_ISSUER_KEYS)")
        kid, key = self._keys[pilot].keys[0]
        headers = {"kid": kid, "typ": _TYP, "cty": "vc"}
        return jwt.encode(dict(credential), key, algorithm="EdDSA", headers=headers)

    def open(self, token: str) -> tuple[str, dict[str, Any]]:
        """The issuing pilot and the credential of a token that this service's issuer keys
        signed, unaltered; else CredentialRefused with the reason."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise CredentialRefused(MALFORMED) from None
        if header.get("typ") != _TYP or header.get("alg") != "EdDSA":
            raise CredentialRefused(MALFORMED)
        types = claims.get("type")
        if not isinstance(types, list) or "OpenBadgeCredential" not in types:
            raise CredentialRefused(NOT_A_BADGE)
        issuer = claims.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        pilot = self.places.pilot_of_issuer(issuer_id) if isinstance(issuer_id, str) else None
        if pilot is None:
            raise CredentialRefused(FOREIGN)
        key = self._public.get(pilot, {}).get(str(header.get("kid")))
        if key is None:
            raise CredentialRefused(UNKNOWN_KEY)
        try:
            checked = jwt.decode(token, key, algorithms=["EdDSA"], options={"verify_aud": False})
        except jwt.PyJWTError:
            raise CredentialRefused(ALTERED) from None
        return pilot, checked
